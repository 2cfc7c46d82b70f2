"""The daemon's HTTP endpoints on ``[server] host/port`` (stdlib server, one thread per request).

* ``/metrics``: Prometheus text format, or OpenMetrics when the ``Accept`` header asks for
  ``application/openmetrics-text``.
* ``/healthz``: 200 while the process serves requests (liveness).
* ``/readyz``: 200 when the readiness check returns no problem, else 503 with the reason
  (the daemon checks that the store answers and the scheduler runs).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CollectorRegistry

from dcatwatch.metrics.exposition import CachedExposition

log = logging.getLogger(__name__)
Readiness = Callable[[], str | None]  # None when ready, else why not
FORMATS = ("text/plain", "application/openmetrics-text")
INDEX = b"""<!doctype html><title>dcatwatch</title><h1>dcatwatch</h1>
<ul><li><a href="/metrics">/metrics</a><li><a href="/healthz">/healthz</a>
<li><a href="/readyz">/readyz</a></ul>
"""


class MetricsServer:
    """Serves the endpoints in a background thread; :meth:`close` stops it."""

    def __init__(self, host: str, port: int, registry: CollectorRegistry,
                 readiness: Readiness) -> None:
        self.exposition = CachedExposition(registry)
        self.readiness = readiness
        self.httpd = ThreadingHTTPServer((host, port), _handler(self))
        self.httpd.daemon_threads = True
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="metrics-http",
                                        daemon=True)

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.httpd.server_address[:2]
        return str(host), int(port)

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def warm(self) -> None:
        """Render /metrics in both formats now, so the next scrape reuses the slow parts."""
        for accept in FORMATS:
            self.exposition.render(accept)

    def respond(self, path: str, accept: str) -> tuple[int, str, bytes]:
        """(status, content type, body) for a GET of ``path``."""
        if path == "/metrics":
            body, content_type = self.exposition.render(accept)
            return 200, content_type, body
        if path == "/healthz":
            return 200, "text/plain; charset=utf-8", b"ok\n"
        if path == "/readyz":
            problem = self.readiness()
            if problem is None:
                return 200, "text/plain; charset=utf-8", b"ready\n"
            return 503, "text/plain; charset=utf-8", f"not ready: {problem}\n".encode()
        if path == "/":
            return 200, "text/html; charset=utf-8", INDEX
        return 404, "text/plain; charset=utf-8", b"not found\n"


def _handler(server: MetricsServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            try:
                status, content_type, body = server.respond(self.path.split("?")[0],
                                                            self.headers.get("Accept", ""))
            except Exception:  # noqa: BLE001 - a failing collector must not kill the endpoint
                log.exception("%s failed", self.path)
                status, content_type, body = 500, "text/plain; charset=utf-8", b"error\n"
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            log.debug("%s " + format, self.address_string(), *args)

    return Handler
