"""The daemon's HTTP endpoints on ``[server] host/port`` (stdlib server, one thread per request).

* ``/metrics``: Prometheus text format, or OpenMetrics when the ``Accept`` header asks for
  ``application/openmetrics-text``.
* ``/healthz``: 200 while the process serves requests (liveness).
* ``/readyz``: 200 when the readiness check returns no problem, else 503 with the reason
  (the daemon checks that the store answers and the scheduler runs).
* whatever ``pages`` adds (the web view, :mod:`dcatwatch.web`), else ``/`` lists the above.

Routing is a table of (path pattern, view); a view takes a :class:`Request` and returns a
:class:`Response` (datasette's habit), so :meth:`MetricsServer.respond` is a pure function
tests call directly. GET and HEAD only; a connection idle for ``idle_timeout`` seconds is
closed; a client that goes away mid-answer is one debug line, never a traceback.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from prometheus_client import CollectorRegistry

from dcatwatch.metrics.exposition import CachedExposition

log = logging.getLogger(__name__)
Readiness = Callable[[], str | None]  # None when ready, else why not
FORMATS = ("text/plain", "application/openmetrics-text")
IDLE_TIMEOUT = 10.0  # seconds a connection may wait for (the rest of) a request
GONE = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError)
INDEX = """<!doctype html><html lang="en"><title>dcatwatch</title><h1>dcatwatch</h1>
<ul><li><a href="/metrics">/metrics</a><li><a href="/healthz">/healthz</a>
<li><a href="/readyz">/readyz</a></ul>
"""


@dataclass(frozen=True, slots=True)
class Request:
    """One GET (or HEAD): the decoded path, the query and the ``Accept`` header, with the
    values the route's pattern captured in ``params``."""

    path: str
    query: Mapping[str, list[str]] = field(default_factory=dict)
    accept: str = ""
    params: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, target: str, accept: str = "") -> Request:
        """The request for a request target such as ``/dataset?iri=…`` (also for tests)."""
        parts = urlsplit(target)
        return cls(unquote(parts.path) or "/", parse_qs(parts.query), accept)

    def arg(self, name: str) -> str | None:
        """The first value of the query parameter ``name`` (None when absent)."""
        values = self.query.get(name)
        return values[0] if values else None


@dataclass(frozen=True, slots=True)
class Response:
    """What a view answers: status, content type, body and extra headers."""

    status: int
    content_type: str
    body: bytes
    headers: tuple[tuple[str, str], ...] = field(default=())

    @classmethod
    def text(cls, text: str, status: int = 200) -> Response:
        """A plain-text answer."""
        return cls(status, "text/plain; charset=utf-8", text.encode())

    @classmethod
    def html(cls, html: str, status: int = 200,
             headers: tuple[tuple[str, str], ...] = ()) -> Response:
        """An HTML answer."""
        return cls(status, "text/html; charset=utf-8", html.encode(), headers)


View = Callable[[Request], Response]
Route = tuple[str, View]  # a regular expression the whole path must match, and its view


class MetricsServer:
    """Serves the endpoints in a background thread; :meth:`close` stops it."""

    def __init__(self, host: str, port: int, registry: CollectorRegistry,
                 readiness: Readiness, pages: Iterable[Route] = (),
                 idle_timeout: float = IDLE_TIMEOUT) -> None:
        self.exposition = CachedExposition(registry)
        self.readiness = readiness
        own: list[Route] = [("/metrics", self._metrics), ("/healthz", self._healthz),
                            ("/readyz", self._readyz)]
        pages = list(pages)
        if not any(pattern == "/" for pattern, _ in pages):
            own.append(("/", lambda _request: Response.html(INDEX)))
        self.routes = [(re.compile(pattern), view) for pattern, view in [*own, *pages]]
        self.httpd = _Server((host, port), _handler(self, idle_timeout))
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

    def respond(self, request: Request) -> Response:
        """The answer to a GET of ``request``: the first route whose pattern matches the
        whole path, else 404. A failing view is a 500, never a dead endpoint."""
        for pattern, view in self.routes:
            match = pattern.fullmatch(request.path)
            if match is None:
                continue
            try:
                return view(Request(request.path, request.query, request.accept,
                                    match.groupdict()))
            except Exception:  # noqa: BLE001 - a failing collector or page must not kill us
                log.exception("%s failed", request.path)
                return Response.text("error\n", 500)
        return Response.text("not found\n", 404)

    def _metrics(self, request: Request) -> Response:
        body, content_type = self.exposition.render(request.accept)
        return Response(200, content_type, body)

    def _healthz(self, _request: Request) -> Response:
        return Response.text("ok\n")

    def _readyz(self, _request: Request) -> Response:
        problem = self.readiness()
        if problem is None:
            return Response.text("ready\n")
        return Response.text(f"not ready: {problem}\n", 503)


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # listen backlog: a burst of connections is not dropped to retry
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away is routine (one debug line); anything else is logged with
        its traceback through logging, never printed raw to stderr."""
        error = sys.exc_info()[1]
        if isinstance(error, GONE):
            log.debug("client %s went away: %s", client_address[0], type(error).__name__)
        else:
            log.error("request from %s failed", client_address[0], exc_info=True)


def _handler(server: MetricsServer, idle_timeout: float) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        timeout = idle_timeout  # applied to the socket: an idle connection is closed

        def do_GET(self) -> None:  # noqa: N802
            self._answer(with_body=True)

        def do_HEAD(self) -> None:  # noqa: N802
            self._answer(with_body=False)

        def _refuse(self) -> None:
            self._send(Response(405, "text/plain; charset=utf-8", b"method not allowed\n",
                                (("Allow", "GET, HEAD"),)), with_body=True)

        do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _refuse  # noqa: N815

        def _answer(self, with_body: bool) -> None:
            request = Request.of(self.path, self.headers.get("Accept", ""))
            self._send(server.respond(request), with_body)

        def _send(self, response: Response, with_body: bool) -> None:
            try:
                self.send_response(response.status)
                self.send_header("Content-Type", response.content_type)
                self.send_header("Content-Length", str(len(response.body)))
                for name, value in response.headers:
                    self.send_header(name, value)
                self.end_headers()
                if with_body:
                    self.wfile.write(response.body)
            except GONE as error:
                log.debug("client %s went away: %s", self.client_address[0],
                          type(error).__name__)
                self.close_connection = True

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            log.debug("%s " + format, self.address_string(), *args)

        def log_error(self, format: str, *args: object) -> None:  # noqa: A002
            log.debug("%s " + format, self.address_string(), *args)  # e.g. a timed-out request

    return Handler
