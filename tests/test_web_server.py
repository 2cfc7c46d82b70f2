"""The metrics server's route table, against a real server on loopback: GET and HEAD, other
methods refused, idle connections closed, a client going away logged as one debug line."""

from __future__ import annotations

import http.client
import logging
import socket
import struct
import time
from collections.abc import Iterator

import pytest

from dcatwatch.metrics import Instruments, MetricsServer, new_registry
from dcatwatch.metrics.server import Request, Response

BIG = b"x" * (32 << 20)  # more than loopback socket buffers hold


def _pages() -> list[tuple[str, object]]:
    def echo(request: Request) -> Response:
        return Response.text(f"{request.params['name']}|{request.arg('q')}\n")

    def fail(_request: Request) -> Response:
        raise RuntimeError("boom")

    return [("/echo/(?P<name>[^/]+)", echo), ("/fail", fail),
            ("/big", lambda _r: Response(200, "application/octet-stream", BIG))]


@pytest.fixture
def served() -> Iterator[MetricsServer]:
    registry = new_registry()
    Instruments(registry)
    server = MetricsServer("127.0.0.1", 0, registry, lambda: None, pages=_pages(),
                           idle_timeout=0.5)
    server.start()
    try:
        yield server
    finally:
        server.close()


def _request(server: MetricsServer, method: str, path: str) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection(*server.address, timeout=5)
    try:
        connection.request(method, path)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def test_routes_answer_get_and_head_alike(served: MetricsServer) -> None:
    status, headers, body = _request(served, "GET", "/metrics")
    assert status == 200 and b"dcatwatch_harvest_runs_total" in body
    head_status, head_headers, head_body = _request(served, "HEAD", "/metrics")
    assert head_status == 200 and head_body == b""
    assert head_headers["Content-Type"] == headers["Content-Type"]
    assert int(head_headers["Content-Length"]) > 0
    assert _request(served, "HEAD", "/healthz")[::2] == (200, b"")
    assert _request(served, "GET", "/readyz")[::2] == (200, b"ready\n")
    assert _request(served, "GET", "/echo/a%20b?q=%C3%A5")[::2] == (200, "a b|å\n".encode())
    assert _request(served, "GET", "/echo/a/b")[0] == 404  # the whole path must match
    assert _request(served, "GET", "/")[0] == 200  # the endpoint list, no web view mounted


def test_other_methods_are_refused_with_allow(served: MetricsServer) -> None:
    for method in ("POST", "PUT", "DELETE", "PATCH", "OPTIONS"):
        status, headers, _ = _request(served, method, "/metrics")
        assert (status, headers["Allow"]) == (405, "GET, HEAD"), method


def test_a_failing_view_is_a_500_and_the_server_lives_on(
        served: MetricsServer, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, "dcatwatch.metrics.server"):
        assert _request(served, "GET", "/fail")[::2] == (500, b"error\n")
    assert any("/fail failed" in r.getMessage() for r in caplog.records)
    assert _request(served, "GET", "/healthz")[0] == 200


def test_respond_is_a_pure_function() -> None:
    registry = new_registry()
    server = MetricsServer("127.0.0.1", 0, registry, lambda: "store down", pages=_pages())
    try:
        assert server.respond(Request.of("/readyz")) == Response.text("not ready: store down\n",
                                                                      503)
        assert server.respond(Request.of("/echo/x?q=1")).body == b"x|1\n"
        assert server.respond(Request.of("/nothing")).status == 404
    finally:
        server.httpd.server_close()


def test_idle_connections_are_closed(served: MetricsServer) -> None:
    sockets = [socket.create_connection(served.address, timeout=5) for _ in range(50)]
    sockets[0].sendall(b"GET /metr")  # half a request line, then silence
    started = time.monotonic()
    try:
        for sock in sockets:
            assert sock.recv(1024) in (b"", )  # closed by the server, nothing answered
        assert time.monotonic() - started < 4
    finally:
        for sock in sockets:
            sock.close()
    assert _request(served, "GET", "/healthz")[0] == 200


def test_a_client_going_away_is_one_debug_line(
        served: MetricsServer, caplog: pytest.LogCaptureFixture,
        capfd: pytest.CaptureFixture[str]) -> None:
    with caplog.at_level(logging.DEBUG, "dcatwatch.metrics.server"):
        for _ in range(3):
            sock = socket.create_connection(served.address, timeout=5)
            sock.sendall(b"GET /big HTTP/1.0\r\n\r\n")
            sock.recv(1024)  # the answer has begun
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()  # reset: the rest of the body has nowhere to go
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and sum(
                "went away" in r.getMessage() for r in caplog.records) < 3:
            time.sleep(0.05)
    gone = [r for r in caplog.records if "went away" in r.getMessage()]
    assert len(gone) == 3 and {r.levelno for r in gone} == {logging.DEBUG}
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info]
    assert "Traceback" not in capfd.readouterr().err
    assert _request(served, "GET", "/healthz")[0] == 200
