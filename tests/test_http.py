"""The HTTP client against a real loopback server: timeouts, retries, politeness, redirects,
caps, the SSRF guard, conditional GET and probes.

Every connection the client opens goes through ``loopback_only``, which fails the test if
anything but a loopback address is ever connected to.
"""

from __future__ import annotations

import asyncio
import gzip
import ipaddress
import shutil
import socket
import ssl
import subprocess
import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
import urllib3.util.connection

from dcatwatch.config import HttpSettings
from dcatwatch.errors import ConfigError, FetchError
from dcatwatch.http.aclient import AsyncFetcher
from dcatwatch.http.addresses import (
    AddressPolicy,
    GuardedAdapter,
    Kind,
    RefusedAddressError,
    check_url,
    classify,
)
from dcatwatch.http.client import CacheValidators, FetchResult, HttpClient
from dcatwatch.http.politeness import HostGate, backoff_after, parse_retry_after
from tests.servers import LoopbackServer, Request, Response

MB = 1 << 20


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Record every socket destination and refuse anything but loopback."""
    real = urllib3.util.connection.create_connection
    destinations: list[tuple[str, int]] = []

    def guarded(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        assert ipaddress.ip_address(address[0]).is_loopback, f"connect to {address[0]}"
        destinations.append(address)
        return real(address, *args, **kwargs)

    monkeypatch.setattr(urllib3.util.connection, "create_connection", guarded)
    return destinations


@pytest.fixture
def names(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """Fake DNS: host name -> addresses; each lookup pops the first answer while several are
    left. Other names resolve normally."""
    table: dict[str, list[str]] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        answers = table.get(host)
        if answers is None:
            return real(host, port, *args, **kwargs)
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answer, port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return table


def make_client(hook: Callable[[int, int], None] | None = None, gate: HostGate | None = None,
                **overrides: Any) -> HttpClient:
    """A client for loopback tests: private networks allowed, no pause, fast backoff."""
    options: dict[str, Any] = {"allow_private_networks": True, "min_delay": 0.0,
                               "backoff_base": 0.01, "backoff_max": 0.05}
    options.update(overrides)
    return HttpClient(HttpSettings(**options), on_response=hook, gate=gate or HostGate())


def sequence(*responses: Response) -> Callable[[Request], Response]:
    """A handler answering with ``responses`` in turn, repeating the last."""
    queue = list(responses)
    return lambda _request: queue.pop(0) if len(queue) > 1 else queue[0]


def fails(code: str, call: Callable[[], object]) -> FetchError:
    with pytest.raises(FetchError) as info:
        call()
    assert info.value.code == code, info.value
    return info.value


def consume(result: FetchResult) -> bytes:
    """The body of a fetch, its temporary file deleted."""
    assert result.path is not None
    body = result.path.read_bytes()
    result.path.unlink()
    return body


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- address classification and URL checks -------------------------------------------------

@pytest.mark.parametrize(("address", "kind"), [
    ("8.8.8.8", None), ("2a00:1450:4001::1", None), ("193.10.64.1", None),
    ("127.0.0.1", Kind.LOOPBACK), ("127.255.0.9", Kind.LOOPBACK), ("::1", Kind.LOOPBACK),
    ("10.0.0.1", Kind.PRIVATE), ("172.16.5.4", Kind.PRIVATE), ("172.32.0.1", None),
    ("192.168.1.1", Kind.PRIVATE), ("fd12:3456::1", Kind.PRIVATE),
    ("100.64.0.1", Kind.SHARED), ("100.128.0.1", None),
    ("169.254.169.254", Kind.METADATA), ("169.254.1.1", Kind.LINK_LOCAL),
    ("fe80::1", Kind.LINK_LOCAL), ("fd00:ec2::254", Kind.METADATA),
    ("100.100.100.200", Kind.METADATA),
    ("0.0.0.0", Kind.UNSPECIFIED), ("::", Kind.UNSPECIFIED),
    ("224.0.0.1", Kind.MULTICAST), ("ff02::1", Kind.MULTICAST),
    ("255.255.255.255", Kind.RESERVED), ("240.0.0.1", Kind.RESERVED),
    ("192.0.2.1", Kind.RESERVED), ("2001:db8::1", Kind.RESERVED),
    ("::ffff:127.0.0.1", Kind.LOOPBACK), ("::ffff:10.1.2.3", Kind.PRIVATE),
    ("::ffff:169.254.169.254", Kind.METADATA), ("::ffff:8.8.8.8", None),
    ("64:ff9b::a00:1", Kind.PRIVATE), ("2002:a00:1::1", Kind.PRIVATE),
    ("2002:808:808::1", None),
])
def test_classify(address: str, kind: Kind | None) -> None:
    assert classify(ipaddress.ip_address(address)) == kind


def test_policy_opens_private_ranges_but_never_link_local() -> None:
    ip = ipaddress.ip_address
    default = AddressPolicy()
    assert default.refusal(ip("127.0.0.1")) is Kind.LOOPBACK
    open_policy = AddressPolicy(allow_private_networks=True)
    for address in ("127.0.0.1", "10.0.0.1", "fd12::1", "100.64.0.1", "::ffff:192.168.0.1"):
        assert open_policy.refusal(ip(address)) is None
    for address in ("169.254.169.254", "fe80::1", "fd00:ec2::254", "0.0.0.0", "224.0.0.1"):
        assert open_policy.refusal(ip(address)) is not None
    loopback = AddressPolicy.from_settings(False, ["127.0.0.0/8"])
    assert loopback.refusal(ip("127.0.0.1")) is None
    assert loopback.refusal(ip("::ffff:127.0.0.1")) is None
    assert loopback.refusal(ip("10.0.0.1")) is Kind.PRIVATE
    assert AddressPolicy.from_settings(False, ["169.254.0.0/16"]).refusal(
        ip("169.254.169.254")) is Kind.METADATA
    with pytest.raises(ConfigError):
        AddressPolicy.from_settings(False, ["10.0.0.0/33"])


@pytest.mark.parametrize(("url", "code"), [
    ("file:///etc/passwd", "fetch.refused_scheme"), ("ftp://example.org/x", "fetch.refused_scheme"),
    ("gopher://example.org/", "fetch.refused_scheme"), ("example.org/catalog", "fetch.invalid_url"),
    ("http:///path", "fetch.invalid_url"), ("http://example.org:99999/", "fetch.invalid_url"),
])
def test_check_url_refuses(url: str, code: str) -> None:
    fails(code, lambda: check_url(url))
    with make_client() as client:
        fails(code, lambda: client.fetch(url))


def test_loopback_refused_by_default(server: LoopbackServer,
                                     loopback_only: list[tuple[str, int]]) -> None:
    url = server.route("/catalog.ttl", b"<a> <b> <c> .")
    with HttpClient(gate=HostGate()) as client:
        error = fails("fetch.refused_address", lambda: client.fetch(url))
        assert "127.0.0.1 is a loopback address" in error.message
        assert "allow_private_networks = true" in error.message
        fails("fetch.refused_address", lambda: client.fetch(f"http://[::1]:{server.port}/"))
    assert server.requests == [] and loopback_only == []
    with make_client() as client:
        assert consume(client.fetch(url)) == b"<a> <b> <c> ."


def test_allowed_networks_open_loopback_only(server: LoopbackServer) -> None:
    url = server.route("/catalog.ttl", b"<a> <b> <c> .")
    with make_client(allow_private_networks=False, allowed_networks=("127.0.0.0/8",)) as client:
        assert consume(client.fetch(url)) == b"<a> <b> <c> ."


def test_redirect_to_refused_address_never_connects(
        server: LoopbackServer, loopback_only: list[tuple[str, int]]) -> None:
    cases: list[tuple[str, dict[str, Any]]] = [
        ("http://169.254.169.254/latest/meta-data/", {"allow_private_networks": True}),
        ("http://[fe80::1]/", {"allow_private_networks": True}),
        ("http://10.0.0.1/catalog", {"allow_private_networks": False,
                                     "allowed_networks": ("127.0.0.0/8",)}),
    ]
    for number, (target, settings) in enumerate(cases):
        url = server.route(f"/start{number}", status=302, headers={"Location": target})
        with make_client(**settings) as client:
            error = fails("fetch.refused_address", partial(client.fetch, url))
        assert f"redirected to {target}" in error.message and error.url == url
    assert {host for host, _port in loopback_only} == {"127.0.0.1"}


def test_redirect_to_other_scheme_refused(server: LoopbackServer) -> None:
    url = server.route("/start", status=301, headers={"Location": "file:///etc/passwd"})
    with make_client() as client:
        fails("fetch.refused_scheme", lambda: client.fetch(url))


def test_host_name_is_resolved_once_and_pinned(
        server: LoopbackServer, names: dict[str, list[str]],
        loopback_only: list[tuple[str, int]]) -> None:
    server.route("/catalog.ttl", b"ok")
    names["catalog.example"] = ["127.0.0.1", "10.0.0.1"]  # a rebinding resolver
    url = f"http://catalog.example:{server.port}/catalog.ttl"
    settings: dict[str, Any] = {"allow_private_networks": False,
                                "allowed_networks": ("127.0.0.0/8",)}
    with make_client(**settings) as client:
        for _ in range(2):  # the second fetch reuses the checked connection
            assert consume(client.fetch(url)) == b"ok"
    assert names["catalog.example"] == ["10.0.0.1"]  # one lookup: the one checked
    assert loopback_only == [("127.0.0.1", server.port)]
    assert server.requests[0].headers["host"] == f"catalog.example:{server.port}"
    with make_client(**settings) as client:
        error = fails("fetch.refused_address", lambda: client.fetch(url))
    assert "catalog.example resolves to 10.0.0.1, a private address" in error.message
    assert len(loopback_only) == 1


def test_host_refused_if_any_address_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    def answers(host: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
                for a in ("93.184.216.34", "192.168.1.10")]

    monkeypatch.setattr(socket, "getaddrinfo", answers)
    with pytest.raises(RefusedAddressError, match=r"192\.168\.1\.10, a private address"):
        AddressPolicy().resolve("mixed.example", 80)


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[int, Path, dict[str, str]]]:
    """An HTTPS server on loopback with a self-signed certificate for catalog.example;
    yields its port, the certificate and what it saw (SNI, Host)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=catalog.example", "-addext",
                    "subjectAltName=DNS:catalog.example", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    seen: dict[str, str] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen["host"] = self.headers["Host"]
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda _sock, name, _context: seen.update(sni=name)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    yield httpd.server_address[1], cert, seen
    httpd.shutdown()
    httpd.server_close()


def test_tls_verifies_the_host_name_while_the_address_is_pinned(
        tls_server: tuple[int, Path, dict[str, str]], names: dict[str, list[str]],
        loopback_only: list[tuple[str, int]]) -> None:
    port, cert, seen = tls_server
    names["catalog.example"] = ["127.0.0.1"]
    names["wrong.example"] = ["127.0.0.1"]
    adapter = GuardedAdapter(AddressPolicy(allow_private_networks=True))
    try:
        request = requests.Request("GET", f"https://catalog.example:{port}/").prepare()
        with adapter.send(request, verify=str(cert), timeout=5) as response:
            assert response.content == b"ok"
        assert seen == {"sni": "catalog.example", "host": f"catalog.example:{port}"}
        wrong = requests.Request("GET", f"https://wrong.example:{port}/").prepare()
        with pytest.raises(requests.exceptions.SSLError, match=r"wrong\.example"):
            adapter.send(wrong, verify=str(cert), timeout=5)
    finally:
        adapter.close()
    with make_client() as client:  # the client verifies against the public roots
        error = fails("fetch.connection",
                      lambda: client.fetch(f"https://catalog.example:{port}/"))
    assert "certificate verify failed" in error.message
    assert len(loopback_only) == 3  # TLS failures are not retried


# --- timeouts -------------------------------------------------------------------------------

def test_read_timeout_from_settings_or_per_call(server: LoopbackServer) -> None:
    url = server.route("/slow", b"late", delay=1.0)
    hook: list[tuple[int, int]] = []
    with make_client(lambda status, size: hook.append((status, size)),
                     read_timeout=0.2) as client:
        started = time.monotonic()
        error = fails("fetch.timeout", lambda: client.fetch(url))
        assert time.monotonic() - started < 0.9
    assert "no response within 0.2 s ([http] read_timeout)" in error.message
    assert server.hits("/slow") == 1 and hook == [(0, 0)]  # timeouts are not retried
    with make_client(read_timeout=60) as client:
        started = time.monotonic()
        fails("fetch.timeout", lambda: client.fetch(url, timeout=0.2))
        assert time.monotonic() - started < 0.9


def test_total_deadline_cuts_a_slow_drip(server: LoopbackServer, tmp_path: Path) -> None:
    def drip() -> Iterator[bytes]:
        for _ in range(100):
            yield b"x"
            time.sleep(0.1)

    url = server.route("/drip", drip())
    with make_client(read_timeout=5.0, total_timeout=0.6) as client:
        started = time.monotonic()
        error = fails("fetch.timeout", lambda: client.fetch(url, directory=tmp_path))
    assert 0.5 < time.monotonic() - started < 1.5
    assert "still arriving" in error.message and "total_timeout = 0.6 s" in error.message
    assert list(tmp_path.iterdir()) == []


class Dripping:
    """A raw loopback server answering every request with ``opening``, then with one byte
    every 0.1 s for ever: headers, or a TLS handshake, that never end."""

    def __init__(self, opening: bytes) -> None:
        self.opening = opening
        self.answering = threading.Event()  # set once a request has been answered
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.05)
        self.port: int = self.listener.getsockname()[1]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def url(self, scheme: str = "http") -> str:
        return f"{scheme}://127.0.0.1:{self.port}/catalog.ttl"

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                connection, _ = self.listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=self._drip, args=(connection,), daemon=True).start()

    def _drip(self, connection: socket.socket) -> None:
        with connection, suppress(OSError):
            connection.recv(65536)
            connection.sendall(self.opening)
            self.answering.set()
            while not self.stop.wait(0.1):
                connection.sendall(b"X")

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        self.listener.close()


@pytest.fixture
def dripping() -> Iterator[Callable[[bytes], Dripping]]:
    servers: list[Dripping] = []

    def start(opening: bytes) -> Dripping:
        servers.append(Dripping(opening))
        return servers[-1]

    yield start
    for drip in servers:
        drip.close()


def test_total_deadline_cuts_slow_headers_and_handshakes(
        server: LoopbackServer, names: dict[str, list[str]],
        dripping: Callable[[bytes], Dripping]) -> None:
    headers = dripping(b"HTTP/1.1 200 OK\r\n").url()
    handshake = dripping(bytes.fromhex("1603034000")).url("https")  # a 16 kB TLS record
    asked, answers = threading.Event(), []

    def slow_answer(_request: Request) -> Response:
        asked.set()
        return Response(200, b"late", delay=3.5)

    names["other.example"] = ["127.0.0.1"]  # another host name: not held up by the turn
    slow = server.handle("/slow", slow_answer).replace("127.0.0.1", "other.example")
    hook: list[tuple[int, int]] = []
    with make_client(total_timeout=30.0) as patient, \
            make_client(lambda status, size: hook.append((status, size)), read_timeout=0.5,
                        total_timeout=1.0) as client:
        fetch = threading.Thread(target=lambda: answers.append(consume(patient.fetch(slow))))
        fetch.start()  # a deadline far off, set first, does not hold back the nearer ones
        assert asked.wait(5)
        calls: list[tuple[str, Callable[[str], object]]] = [
            (headers, client.fetch), (handshake, client.fetch),
            (headers, partial(probe, read_timeout=0.5, total_timeout=1.0))]
        for url, call in calls:
            started = time.monotonic()
            error = fails("fetch.timeout", partial(call, url))
            assert 0.9 < time.monotonic() - started < 1.6, url
            assert error.url == url
            assert "no complete response when [http] total_timeout = 1 s ran out" in error.message
        fetch.join(10)
    assert hook == [(0, 0)] * 2  # not retried
    assert answers == [b"late"]


def test_a_stuck_fetch_gives_up_the_host_turn_at_its_deadline(
        server: LoopbackServer, dripping: Callable[[bytes], Dripping]) -> None:
    drip = dripping(b"HTTP/1.1 200 OK\r\n")
    stuck = drip.url()  # the same host as the server's, so the same turn
    fine = server.route("/catalog.ttl", b"ok")
    outcomes: dict[str, tuple[str, float]] = {}

    def run(name: str, url: str) -> None:
        started = time.monotonic()
        try:
            outcome = consume(client.fetch(url)).decode()
        except FetchError as error:
            outcome = error.code
        outcomes[name] = (outcome, time.monotonic() - started)

    with make_client(read_timeout=0.5, total_timeout=1.0) as client:
        threads = [threading.Thread(target=run, args=args, daemon=True)
                   for args in [("first", stuck), ("behind", stuck), ("fine", fine)]]
        threads[0].start()
        assert drip.answering.wait(5)
        time.sleep(0.2)
        for thread in threads[1:]:
            thread.start()
        for thread in threads:
            thread.join(10)
    assert outcomes.keys() == {"first", "behind", "fine"}, outcomes
    assert outcomes["first"][0] == "fetch.timeout" and outcomes["first"][1] < 1.5
    assert outcomes["fine"][0] == "ok" and outcomes["fine"][1] < 2.5
    # the ~0.8 s spent waiting for the turn does not count; then its own second runs out
    assert outcomes["behind"][0] == "fetch.timeout" and 1.4 < outcomes["behind"][1] < 2.5


def test_watched_connections_are_kept_alive_and_leave_no_descriptors(
        server: LoopbackServer, loopback_only: list[tuple[str, int]]) -> None:
    if not Path("/proc/self/fd").is_dir():
        pytest.skip("counting descriptors needs /proc")
    url = server.route("/catalog.ttl", b"ok")
    with make_client() as client:
        consume(client.fetch(url))
        descriptors = len(list(Path("/proc/self/fd").iterdir()))
        for _ in range(10):
            consume(client.fetch(url))
        assert len(list(Path("/proc/self/fd").iterdir())) <= descriptors
    assert len(loopback_only) == 1  # one connection, kept alive throughout


# --- retries --------------------------------------------------------------------------------

def test_retries_503_then_succeeds(server: LoopbackServer) -> None:
    url = server.handle("/flaky", sequence(Response(503), Response(503), Response(200, b"ok")))
    hook: list[tuple[int, int]] = []
    with make_client(lambda status, size: hook.append((status, size))) as client:
        result = client.fetch(url)
    assert result.status == 200 and server.hits("/flaky") == 3
    assert hook == [(503, 0), (503, 0), (200, 2)]
    assert consume(result) == b"ok"


def test_gives_up_after_retries_and_never_retries_other_4xx(server: LoopbackServer) -> None:
    down = server.route("/down", status=502)
    gone = server.route("/gone", status=404)
    with make_client(retries=2) as client:
        error = fails("fetch.http_status", lambda: client.fetch(down))
        assert error.status == 502 and "gave up after 3 attempts" in error.message
        assert fails("fetch.http_status", lambda: client.fetch(gone)).status == 404
    assert server.hits("/down") == 3 and server.hits("/gone") == 1


def test_connection_errors_are_retried_and_counted() -> None:
    hook: list[tuple[int, int]] = []
    with make_client(lambda status, size: hook.append((status, size))) as client:
        error = fails("fetch.connection",
                      lambda: client.fetch(f"http://127.0.0.1:{closed_port()}/"))
    assert "Connection refused" in error.message and "gave up after 4 attempts" in error.message
    assert hook == [(0, 0)] * 4


def test_broken_transfer_is_retried(server: LoopbackServer) -> None:
    cut = Response(200, b"x" * 10, {"Content-Length": "1000", "Connection": "close"})
    url = server.handle("/cut", sequence(cut, Response(200, b"y" * 1000)))
    hook: list[tuple[int, int]] = []
    with make_client(lambda status, size: hook.append((status, size))) as client:
        assert consume(client.fetch(url)) == b"y" * 1000
    assert hook == [(0, 0), (200, 1000)]


def test_retry_after_is_honoured(server: LoopbackServer) -> None:
    url = server.handle("/busy", sequence(Response(429, headers={"Retry-After": "1"}),
                                          Response(200, b"ok")))
    with make_client() as client:
        started = time.monotonic()
        result = client.fetch(url)
    assert time.monotonic() - started >= 1.0
    assert consume(result) == b"ok" and server.hits("/busy") == 2


def test_retry_after_beyond_the_cap_fails_fast(server: LoopbackServer) -> None:
    url = server.route("/later", status=503, headers={"Retry-After": "3600"})
    with make_client(retry_after_max=60) as client:
        started = time.monotonic()
        error = fails("fetch.http_status", lambda: client.fetch(url))
    assert time.monotonic() - started < 0.5
    assert "retry after 3600 s" in error.message and "retry_after_max = 60 s" in error.message
    assert server.hits("/later") == 1


def test_a_retry_past_the_deadline_fails_at_once(server: LoopbackServer) -> None:
    url = server.route("/slow-down", status=503, headers={"Retry-After": "5"})
    hook: list[tuple[int, int]] = []
    with make_client(lambda status, size: hook.append((status, size)),
                     total_timeout=2.0) as client:
        started = time.monotonic()
        error = fails("fetch.http_status", lambda: client.fetch(url))
    assert time.monotonic() - started < 0.5
    assert error.message == ("HTTP 503 Service Unavailable; a retry in 5 s would pass "
                             "[http] total_timeout = 2 s")
    assert server.hits("/slow-down") == 1 and hook == [(503, 0)]
    with make_client(retries=0) as client:
        assert fails("fetch.http_status", lambda: client.fetch(url)).message \
            .endswith("; gave up after 1 attempt")


def test_a_retry_wait_holds_back_the_host_not_the_thread(server: LoopbackServer) -> None:
    """The wait before a retry is the host's pause: another fetch from that host waits it out
    too, while the retrying fetch sleeps only when it takes its next turn."""
    arrived: dict[str, list[float]] = {"/busy": [], "/other": []}

    def handler(request: Request) -> Response:
        arrived[request.path].append(time.monotonic())
        if request.path == "/busy" and len(arrived["/busy"]) == 1:
            return Response(429, headers={"Retry-After": "1"})
        return Response(200, b"ok")

    busy, other = server.handle("/busy", handler), server.handle("/other", handler)
    with make_client() as client:
        retrying = threading.Thread(target=lambda: consume(client.fetch(busy)))
        retrying.start()
        while not arrived["/busy"]:
            time.sleep(0.01)
        assert consume(client.fetch(other)) == b"ok"
        retrying.join()
    first = arrived["/busy"][0]
    assert arrived["/other"][0] - first >= 0.95 and arrived["/busy"][1] - first >= 0.95


def test_retry_after_parsing_and_backoff() -> None:
    now = datetime.now(UTC)
    assert parse_retry_after("7") == 7.0 and parse_retry_after(" 7 ") == 7.0
    assert parse_retry_after("86400") == 86400.0  # the server's figure, not urllib3's 6 h cap
    in_30 = parse_retry_after(format_datetime(now + timedelta(seconds=30), usegmt=True))
    assert in_30 is not None and 28.0 < in_30 <= 30.0
    later = now + timedelta(seconds=600)  # RFC 9110's two obsolete date forms, both GMT
    for obsolete in (f"{later:%A, %d-%b-%y %H:%M:%S} GMT",
                     f"{later:%a %b} {later.day:2d} {later:%H:%M:%S %Y}"):
        in_600 = parse_retry_after(obsolete)
        assert in_600 is not None and 598.0 < in_600 <= 600.0, obsolete
    assert parse_retry_after(format_datetime(now - timedelta(hours=1), usegmt=True)) == 0.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None
    assert parse_retry_after("-3") is None and parse_retry_after("1.5") is None
    assert all(0.5 <= backoff_after(1, 1.0, 30.0) <= 1.0 for _ in range(50))
    assert all(2.0 <= backoff_after(3, 1.0, 30.0) <= 4.0 for _ in range(50))
    assert all(15.0 <= backoff_after(11, 1.0, 30.0) <= 30.0 for _ in range(50))
    assert len({backoff_after(2, 1.0, 30.0) for _ in range(50)}) > 1  # jittered


# --- politeness -----------------------------------------------------------------------------

def timed(server: LoopbackServer, path: str, delay: float = 0.0) -> tuple[str, list[float]]:
    """A route recording when each request arrived; returns its URL and the times."""
    times: list[float] = []

    def handler(_request: Request) -> Response:
        times.append(time.monotonic())
        return Response(200, b"ok", delay=delay)

    return server.handle(path, handler), times


def test_min_delay_between_requests_to_one_host(server: LoopbackServer) -> None:
    url, times = timed(server, "/paced")
    with make_client(min_delay=0.4) as client:
        for _ in range(2):
            consume(client.fetch(url))
        for _ in range(2):
            consume(client.fetch(url, min_delay=0.0))
    assert times[1] - times[0] >= 0.4
    assert times[2] - times[1] >= 0.35  # the pause after the 2nd request was set at 0.4 s
    assert times[3] - times[2] < 0.2


def test_one_request_at_a_time_per_host(server: LoopbackServer,
                                        names: dict[str, list[str]]) -> None:
    active, peak, lock = [0], [0], threading.Lock()

    def handler(_request: Request) -> Response:
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.3)
        with lock:
            active[0] -= 1
        return Response(200, b"ok")

    url = server.handle("/one", handler)
    names["other.example"] = ["127.0.0.1"]

    def run_two(first: str, second: str) -> float:
        peak[0] = 0
        with make_client() as client:
            threads = [threading.Thread(target=lambda u=u: consume(client.fetch(u)))
                       for u in (first, second)]
            started = time.monotonic()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            return time.monotonic() - started

    assert run_two(url, url) >= 0.6 and peak[0] == 1
    other = url.replace("127.0.0.1", "other.example")
    assert run_two(url, other) < 0.55 and peak[0] == 2  # another host name has its own turn


# --- redirects ------------------------------------------------------------------------------

def test_redirects_followed_and_final_url_recorded(server: LoopbackServer) -> None:
    final = server.route("/new", b"moved")
    with make_client() as client:
        for status in (301, 302, 303, 307, 308):
            url = server.route(f"/old{status}", status=status, headers={"Location": "/new"})
            result = client.fetch(url)
            assert (result.url, result.final_url, result.status) == (url, final, 200)
            assert consume(result) == b"moved"


def test_redirect_loop_is_capped(server: LoopbackServer) -> None:
    url = server.route("/loop", status=302, headers={"Location": "/loop"})
    with make_client(max_redirects=3) as client:
        error = fails("fetch.too_many_redirects", lambda: client.fetch(url))
    assert "max_redirects = 3" in error.message
    assert server.hits("/loop") == 4


def test_auth_and_headers_stay_with_the_first_origin(server: LoopbackServer) -> None:
    with LoopbackServer() as elsewhere:
        target = elsewhere.route("/catalog", b"ok")
        server.route("/private", status=302, headers={"Location": "/moved"})
        server.route("/moved", status=307, headers={"Location": target})
        with make_client() as client:
            result = client.fetch(server.url("/private"), auth=("user", "secret"),
                                  headers={"X-Api-Key": "key", "user-agent": "harvester/1"},
                                  cached=CacheValidators('"v1"', "Wed, 01 Jan 2025 00:00:00 GMT"),
                                  accept="text/turtle")
        assert consume(result) == b"ok"
        forwarded = elsewhere.requests[0].headers
    for sent in (request.headers for request in server.requests):  # both hops: one origin
        assert sent["authorization"].startswith("Basic ") and sent["x-api-key"] == "key"
        assert sent["if-none-match"] == '"v1"' and "if-modified-since" in sent
    assert forwarded == {"host": f"127.0.0.1:{elsewhere.port}", "user-agent": "harvester/1",
                         "accept": "text/turtle", "accept-encoding": "gzip, deflate"}


# --- size caps and decoding -----------------------------------------------------------------

@pytest.fixture(scope="module")
def bomb() -> bytes:
    """50 MB of zeros, gzip-compressed (about 50 kB)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(MB)
    return b"".join([*(compressor.compress(zeros) for _ in range(50)), compressor.flush()])


def test_content_length_over_cap_fails_before_download(server: LoopbackServer,
                                                       tmp_path: Path) -> None:
    url = server.route("/big", bytes(2000))
    with make_client(max_bytes=1000) as client:
        error = fails("fetch.too_large", lambda: client.fetch(url, directory=tmp_path))
    assert "Content-Length 2000 exceeds" in error.message
    assert list(tmp_path.iterdir()) == []


def test_body_over_cap_without_content_length(server: LoopbackServer, tmp_path: Path) -> None:
    url = server.route("/stream", iter([bytes(600)] * 4))
    with make_client(max_bytes=1000) as client:
        error = fails("fetch.too_large", lambda: client.fetch(url, directory=tmp_path))
    assert "exceeds [http] max_bytes = 1000" in error.message
    assert list(tmp_path.iterdir()) == []


def test_gzip_bomb_refused(server: LoopbackServer, tmp_path: Path, bomb: bytes) -> None:
    url = server.route("/bomb", bomb, headers={"Content-Encoding": "gzip"})
    with make_client(max_bytes=MB) as client:
        error = fails("fetch.decompression_bomb", lambda: client.fetch(url, directory=tmp_path))
    assert "expands beyond [http] max_bytes" in error.message
    assert list(tmp_path.iterdir()) == []


def test_expansion_ratio_refused_early_in_bounded_memory(server: LoopbackServer, tmp_path: Path,
                                                         bomb: bytes) -> None:
    url = server.route("/bomb", bomb, headers={"Content-Encoding": "gzip"})
    with make_client(max_bytes=1 << 30) as client:
        tracemalloc.start()
        try:
            error = fails("fetch.decompression_bomb",
                          lambda: client.fetch(url, directory=tmp_path))
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert "max_expansion_ratio = 200" in error.message
    assert peak < 4 * MB
    assert list(tmp_path.iterdir()) == []


def test_wire_cap(server: LoopbackServer) -> None:
    url = server.route("/members", gzip.compress(b"") * 500, headers={"Content-Encoding": "gzip"})
    with make_client(max_wire_bytes=4000) as client:
        error = fails("fetch.too_large", lambda: client.fetch(url))
    assert "4000" in error.message


def test_compressed_bodies_are_decoded(server: LoopbackServer) -> None:
    body = b"<http://example.org/d> a <http://www.w3.org/ns/dcat#Dataset> .\n" * 100
    encodings: list[tuple[str, bytes]] = [
        ("gzip", gzip.compress(body)), ("deflate", zlib.compress(body)),
        ("deflate", zlib.compress(body)[2:-4]),  # raw deflate, as IIS sends it
        ("gzip", gzip.compress(body[:10]) + gzip.compress(body[10:])),  # two members
    ]
    with make_client() as client:
        for number, (encoding, encoded) in enumerate(encodings):
            url = server.route(f"/c{number}", encoded, headers={"Content-Encoding": encoding})
            result = client.fetch(url)
            assert (result.size, result.wire_size) == (len(body), len(encoded))
            assert consume(result) == body, encoding
    assert server.requests[0].headers["accept-encoding"] == "gzip, deflate"


def test_prefix_keeps_the_first_decoded_bytes_of_any_body(server: LoopbackServer,
                                                          tmp_path: Path) -> None:
    body = b"0123456789" * 50_000
    packed = gzip.compress(body)
    plain = server.route("/plain", body)
    zipped = server.route("/zipped", packed, headers={"Content-Encoding": "gzip"})
    empty = gzip.compress(b"")
    members = server.route("/members", iter(lambda: empty * 100, b""),
                           headers={"Content-Encoding": "gzip"})
    hook: list[tuple[int, int]] = []
    with make_client(lambda status, size: hook.append((status, size)), max_bytes=1000,
                     total_timeout=5.0) as client:
        fails("fetch.too_large", lambda: client.fetch(plain, directory=tmp_path))
        result = client.fetch(plain, directory=tmp_path, prefix=3000)
        assert (result.status, result.size) == (200, 3000)
        assert consume(result) == body[:3000]
        result = client.fetch(zipped, directory=tmp_path, prefix=100_000)
        assert (result.size, result.wire_size) == (100_000, len(packed))  # decoded bytes count
        assert consume(result) == body[:100_000]
        started = time.monotonic()
        error = fails("fetch.too_large",
                      lambda: client.fetch(members, directory=tmp_path, prefix=100))
    assert time.monotonic() - started < 2.0  # cut at the wire cap, not by the deadline
    assert f"more than {2 * 100 + (1 << 16)} bytes received" in error.message
    assert hook == [(200, 0), (200, 3000), (200, 100_000), (200, 0)]  # caps: (status, 0)
    assert list(tmp_path.iterdir()) == []


def test_corrupt_and_unknown_encodings(server: LoopbackServer) -> None:
    truncated = server.route("/cut", gzip.compress(bytes(1000))[:-12],
                             headers={"Content-Encoding": "gzip"})
    brotli = server.route("/br", b"\x0b\x02\x80hello\x03", headers={"Content-Encoding": "br"})
    with make_client() as client:
        assert "ends early" in fails("fetch.bad_encoding", lambda: client.fetch(truncated)).message
        assert "Content-Encoding: br" in fails("fetch.bad_encoding",
                                               lambda: client.fetch(brotli)).message


# --- conditional GET ------------------------------------------------------------------------

def test_conditional_get_304(server: LoopbackServer) -> None:
    def handler(request: Request) -> Response:
        if request.headers.get("if-none-match") == '"v1"':
            return Response(304, headers={"ETag": '"v1"'})
        return Response(200, b"body", headers={"ETag": '"v1"'})

    url = server.handle("/cat", handler)
    hook: list[tuple[int, int]] = []
    with make_client(lambda status, size: hook.append((status, size))) as client:
        first = client.fetch(url)
        assert first.validators == CacheValidators('"v1"', None)
        second = client.fetch(url, cached=CacheValidators('"v1"', "Wed, 01 Jan 2025 00:00:00 GMT"))
    assert second.not_modified and second.path is None and second.size == 0
    assert server.requests[1].headers["if-modified-since"] == "Wed, 01 Jan 2025 00:00:00 GMT"
    assert hook == [(200, 4), (304, 0)]
    assert consume(first) == b"body"


# --- probes (the link engine's async client) -------------------------------------------------

def probe(url: str, **overrides: Any) -> FetchResult:
    """``AsyncFetcher.probe`` with loopback allowed, in an event loop of its own."""
    async def run() -> FetchResult:
        fetcher = AsyncFetcher(HttpSettings(allow_private_networks=True, min_delay=0,
                                            **overrides))
        try:
            return await fetcher.probe(url)
        finally:
            await fetcher.close()
    return asyncio.run(run())


def test_probe_falls_back_to_get_on_405(server: LoopbackServer) -> None:
    def handler(request: Request) -> Response:
        if request.method == "HEAD":
            return Response(405)
        return Response(200, iter([b"x" * 1000] * 10_000), {"Content-Type": "text/csv"})

    url = server.handle("/data.csv", handler)
    started = time.monotonic()
    result = probe(url)
    assert time.monotonic() - started < 1.0
    assert (result.status, result.content_type, result.path) == (200, "text/csv", None)
    assert [r.method for r in server.requests] == ["HEAD", "GET"]
    assert result.elapsed > 0


def test_probe_reports_statuses_and_follows_redirects(server: LoopbackServer) -> None:
    server.route("/moved", status=301, headers={"Location": "/missing"})
    result = probe(server.url("/moved"))
    assert (result.status, result.final_url) == (404, server.url("/missing"))
    assert [r.method for r in server.requests] == ["HEAD", "HEAD"]
