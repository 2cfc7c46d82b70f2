"""A real HTTP server on loopback for tests: a table of routes, each a canned response.

    with LoopbackServer() as server:
        server.route("/catalog.rdf", body=b"...", content_type="application/rdf+xml")
        url = server.url("/catalog.rdf")

A route may also be a callable ``handler(request) -> Response`` for dynamic behaviour
(conditional GET, failures on the n-th call, slow or endless bodies). Every request is
recorded in ``server.requests``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]


@dataclass
class Response:
    status: int = 200
    body: bytes | Iterable[bytes] = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering


Handler = Callable[[Request], Response]


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        """Clients that hang up early (size caps, refused bodies) are part of the tests."""


class LoopbackServer:
    """A threaded HTTP/1.1 server on 127.0.0.1 with a route table."""

    def __init__(self) -> None:
        self.routes: dict[str, Handler] = {}
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

            def _serve(self, with_body: bool) -> None:
                request = Request(self.command, self.path,
                                  {k.lower(): v for k, v in self.headers.items()})
                with server._lock:
                    server.requests.append(request)
                handler = server.routes.get(self.path) or server.routes.get(self.path.split("?")[0])
                response = handler(request) if handler else Response(404, b"not found")
                if response.delay:
                    time.sleep(response.delay)
                body = response.body
                chunks = [body] if isinstance(body, bytes) else body
                self.send_response(response.status)
                headers = {"Content-Type": "application/octet-stream", **response.headers}
                streaming = not isinstance(body, bytes)
                if streaming:
                    headers["Connection"] = "close"
                else:
                    headers.setdefault("Content-Length", str(len(body)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                if not with_body or response.status in (204, 304):
                    return
                try:
                    for chunk in chunks:
                        self.wfile.write(chunk)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                if streaming:
                    self.close_connection = True

            def do_GET(self) -> None:  # noqa: N802
                self._serve(with_body=True)

            def do_HEAD(self) -> None:  # noqa: N802
                self._serve(with_body=False)

        self.httpd = _QuietServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,),
                                        daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def route(self, path: str, body: bytes | Iterable[bytes] = b"", status: int = 200,
              content_type: str | None = None, headers: dict[str, str] | None = None,
              delay: float = 0.0) -> str:
        """Serve a fixed response at ``path``; returns its URL."""
        all_headers = dict(headers or {})
        if content_type:
            all_headers["Content-Type"] = content_type
        self.routes[path] = lambda _request: Response(status, body, all_headers, delay)
        return self.url(path)

    def route_file(self, path: str, file: Path, content_type: str | None = None) -> str:
        """Serve a file's bytes at ``path``; returns its URL."""
        return self.route(path, file.read_bytes(), content_type=content_type)

    def handle(self, path: str, handler: Handler) -> str:
        """Serve ``path`` with a callable; returns its URL."""
        self.routes[path] = handler
        return self.url(path)

    def hits(self, path: str) -> int:
        """How many requests asked for ``path`` (query string ignored)."""
        return sum(1 for r in self.requests if r.path.split("?")[0] == path)

    def __enter__(self) -> LoopbackServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class Stalling:
    """A Turtle response that sends half its body, then waits until ``released`` (a run
    caught in the middle); ``started`` is set when the first half is out."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.started = threading.Event()
        self.released = threading.Event()

    def __call__(self, _request: Request) -> Response:
        return Response(200, self._chunks(), {"Content-Type": "text/turtle"})

    def _chunks(self) -> Iterator[bytes]:
        half = len(self.body) // 2
        yield self.body[:half]
        self.started.set()
        self.released.wait(60)
        yield self.body[half:]
