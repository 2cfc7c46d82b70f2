"""The link engine against real loopback hosts (127.0.0.x, one address per host): a URL
listed by many sources is asked once; one request at a time per host with ``min_delay``
between the end of a response and the next request, measured at the servers; the previous
lease holder's pause is honoured; the async client's address guard; a dead host's files are
not downloaded by the data checks."""

from __future__ import annotations

import asyncio
import itertools
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from dcatwatch.config import HttpSettings, ValidationSettings
from dcatwatch.errors import FetchError
from dcatwatch.http.aclient import AsyncFetcher
from dcatwatch.http.client import HttpClient
from dcatwatch.http.leases import LocalLeases
from dcatwatch.store.core import Store
from dcatwatch.validators.data import DataTarget, check_data
from dcatwatch.validators.linkengine import EngineSettings, LinkEngine

NOW = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
LOOPBACK = HttpSettings(allowed_networks=["127.0.0.0/8"], min_delay=0)


class Host:
    """An HTTP/1.1 server on ``address`` answering after ``delay`` seconds; it logs each
    request's path, arrival and the end of its response, and counts connections."""

    def __init__(self, address: str, delay: float = 0.0, status: int = 200,
                 location: str | None = None, head_status: int | None = None) -> None:
        self.spans: list[tuple[str, float, float]] = []
        self.connections = 0
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                with owner._lock:
                    owner.connections += 1
                super().setup()

            def log_message(self, *args: object) -> None:
                pass

            def _answer(self) -> None:
                arrived = time.monotonic()
                time.sleep(delay)
                self.send_response(head_status if head_status and self.command == "HEAD"
                                   else status)
                if location:
                    self.send_header("Location", location)
                self.send_header("Content-Type", "text/csv")
                self.send_header("Content-Length", "0")
                self.end_headers()
                self.wfile.flush()
                with owner._lock:
                    owner.spans.append((self.path, arrived, time.monotonic()))

            do_HEAD = do_GET = _answer

        self.httpd = ThreadingHTTPServer((address, 0), Handler)
        self.port = self.httpd.server_address[1]
        self.address = address
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def url(self, path: str, name: str | None = None) -> str:
        return f"http://{name or self.address}:{self.port}{path}"

    def paths(self) -> Counter[str]:
        return Counter(path for path, _, _ in self.spans)

    def most_at_once(self) -> int:
        events = sorted([(a, 1) for _, a, _ in self.spans] + [(b, -1) for _, _, b in self.spans])
        most = now = 0
        for _, step in events:
            now += step
            most = max(most, now)
        return most

    def gaps(self) -> list[float]:
        """From the end of each response to the arrival of the next request."""
        spans = sorted((a, b) for _, a, b in self.spans)
        return [start - end for (_, end), (start, _) in itertools.pairwise(spans)]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(f"sqlite:///{tmp_path}/links.db") as opened:
        yield opened


def engine(store: Store, http: HttpSettings = LOOPBACK, in_flight: int = 50,
           leases: LocalLeases | None = None) -> LinkEngine:
    return LinkEngine(store, EngineSettings(http, in_flight=in_flight, timeout=5, recheck_hours=0,
                                            host_failures=3), now=lambda: NOW, leases=leases)


def in_threads(target: object, lists: list[list[str]]) -> None:
    threads = [threading.Thread(target=target, args=(urls,)) for urls in lists]  # type: ignore[arg-type]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)


def test_a_url_listed_by_many_sources_is_asked_once(store: Store) -> None:
    host = Host("127.0.0.2", delay=0.01)
    try:
        urls = [host.url(f"/f/{n}.csv") for n in range(30)]
        sources = [urls, urls[::-1], urls[5:20], urls[::2], urls, urls[10:]]
        with engine(store) as links:
            in_threads(links.check, sources)
        assert host.paths() == Counter({f"/f/{n}.csv": 1 for n in range(30)})
        with store.read() as unit:
            rows = unit.checks.history(urls)
        assert len(rows) == 30 and {row.verdict for row in rows.values()} == {"ok"}
    finally:
        host.close()


def test_links_fed_after_a_harvest_are_not_asked_again_by_the_validation(
        store: Store) -> None:
    """The daemon feeds a source's links as soon as it is harvested; its validation then
    waits for those checks (or reads them stored) instead of asking again."""
    host = Host("127.0.0.2", delay=0.02)
    try:
        urls = [host.url(f"/f/{n}.csv") for n in range(20)]
        with engine(store) as links:
            started = time.monotonic()
            links.feed(urls[:15])
            assert time.monotonic() - started < 0.5  # feeding does not wait for the checks
            links.check(urls)
            with store.read() as unit:
                rows = unit.checks.history(urls)
            assert len(rows) == 20 and {row.verdict for row in rows.values()} == {"ok"}
        assert host.paths() == Counter({f"/f/{n}.csv": 1 for n in range(20)})
    finally:
        host.close()


def test_one_request_at_a_time_per_host_min_delay_apart_seen_by_the_servers(
        store: Store) -> None:
    hosts = [Host("127.0.0.2", delay=0.03), Host("127.0.0.5", delay=0.03)]
    try:
        urls = [[host.url(f"/f/{n}.csv") for n in range(12)] for host in hosts]
        sources = [urls[0][:8] + urls[1][4:], urls[1][:8] + urls[0][4:], urls[0] + urls[1]]
        started = time.monotonic()
        with engine(store, LOOPBACK.model_copy(update={"min_delay": 0.1})) as links:
            in_threads(links.check, sources)
        elapsed = time.monotonic() - started
        for host in hosts:
            assert sum(host.paths().values()) == 12
            assert host.most_at_once() == 1
            assert min(host.gaps()) >= 0.1 - 0.002
        # the hosts were worked side by side: about 12 × 0.13 s, not twice that
        assert elapsed < 2 * 12 * 0.13
        first, second = ([a for _, a, _ in host.spans] for host in hosts)
        assert min(second) < max(first) and min(first) < max(second)
    finally:
        for host in hosts:
            host.close()


def test_data_downloads_take_their_turn_in_the_host_lanes(store: Store) -> None:
    """Data downloads and link probes on one host, at the same time from several threads:
    still one request at a time, min_delay apart, as the server sees it."""
    host = Host("127.0.0.2", delay=0.03)
    http = LOOPBACK.model_copy(update={"min_delay": 0.1})
    settings = ValidationSettings(recheck_hours=0, workers=4)
    try:
        links = [host.url(f"/link/{n}.csv") for n in range(6)]
        files = [DataTarget(host.url(f"/data/{n}.csv"), "csv") for n in range(6)]
        with engine(store, http) as lanes, HttpClient(http) as client:
            data = threading.Thread(target=check_data, args=(store, client, files, settings),
                                    kwargs={"now": lambda: NOW, "lanes": lanes})
            data.start()
            lanes.check(links)
            data.join(30)
        assert sum(host.paths().values()) == 12
        assert host.most_at_once() == 1
        assert min(host.gaps()) >= 0.1 - 0.002
    finally:
        host.close()


def test_the_previous_lease_holders_pause_is_honoured(store: Store) -> None:
    """A lane starts no earlier than the not_before its host's lease was released with (by
    another worker, or a Retry-After), and releases the lease when its queue is empty."""
    host = Host("127.0.0.2")
    leases = LocalLeases()
    offset = time.time() - time.monotonic()
    try:
        with engine(store, leases=leases) as links:
            assert links._loop is not None
            not_before = time.time() + 0.6

            async def held_elsewhere() -> None:
                await leases.acquire("127.0.0.2")
                await leases.release("127.0.0.2", not_before)
            asyncio.run_coroutine_threadsafe(held_elsewhere(), links._loop).result(5)
            links.check([host.url("/a.csv"), host.url("/b.csv")])
            assert leases.held() == []
        first = min(arrived for _, arrived, _ in host.spans) + offset  # as time.time()
        assert first >= not_before - 0.005
    finally:
        host.close()


def test_the_async_guard_refuses_private_addresses() -> None:
    """Without allow_private_networks, loopback is refused by IP literal and by name; a
    redirect from an allowed address to a refused one is refused at that hop; the refused
    server never sees a connection."""
    refused = Host("127.0.0.3")
    allowed = Host("127.0.0.2", status=302, location=refused.url("/secret"))

    async def probe(settings: HttpSettings, url: str) -> FetchError:
        fetcher = AsyncFetcher(settings)
        try:
            with pytest.raises(FetchError) as caught:
                await fetcher.probe(url, timeout=5)
        finally:
            await fetcher.close()
        return caught.value

    try:
        strict = HttpSettings(min_delay=0)
        for url in (refused.url("/x"), refused.url("/x", name="localhost"),
                    "http://169.254.169.254/latest/meta-data/", "http://[::1]:1/x"):
            error = asyncio.run(probe(strict, url))
            assert error.code == "fetch.refused_address", (url, error)
        only_two = HttpSettings(min_delay=0, allowed_networks=["127.0.0.2/32"])
        error = asyncio.run(probe(only_two, allowed.url("/moved")))
        assert error.code == "fetch.refused_address"
        assert "redirected to" in error.message and "127.0.0.3" in error.message
        assert refused.connections == 0
        assert allowed.paths() == Counter({"/moved": 1})
    finally:
        allowed.close()
        refused.close()


def test_the_async_client_names_socket_failures_as_the_sync_one() -> None:
    """Refused connections and silent servers: the same codes and causes (so blame)."""
    with socket.create_server(("127.0.0.4", 0)) as probe:
        closed_port = probe.getsockname()[1]
    silent = socket.create_server(("127.0.0.3", 0))

    async def errors() -> list[FetchError]:
        fetcher = AsyncFetcher(LOOPBACK.model_copy(update={"connect_timeout": 1}))
        found = []
        for url in (f"http://127.0.0.4:{closed_port}/x",
                    f"http://127.0.0.3:{silent.getsockname()[1]}/x"):
            try:
                await fetcher.probe(url, timeout=0.3)
            except FetchError as error:
                found.append(error)
        await fetcher.close()
        return found

    try:
        refused, timeout = asyncio.run(errors())
    finally:
        silent.close()
    assert (refused.code, refused.cause, refused.blame) == ("fetch.connection", "refused",
                                                            "agency")
    assert (timeout.code, timeout.cause, timeout.blame) == ("fetch.timeout", "timeout",
                                                            "unknown")


def test_a_dead_hosts_files_are_not_downloaded(store: Store) -> None:
    silent = socket.create_server(("127.0.0.3", 0))
    accepted: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                accepted.append(silent.accept()[0])
            except OSError:
                return
    threading.Thread(target=accept, daemon=True).start()
    urls = [f"http://127.0.0.3:{silent.getsockname()[1]}/f/{n}.csv" for n in range(20)]
    http = LOOPBACK.model_copy(update={"read_timeout": 0.3, "retries": 3})
    settings = ValidationSettings(recheck_hours=0, link_timeout=0.3, workers=4)
    try:
        with LinkEngine(store, EngineSettings.of(http, settings), now=lambda: NOW) as links, \
                HttpClient(http) as client:
            assert links.check(urls) == 20
            asked = len(accepted)
            assert asked <= 3  # the breaker
            started = time.monotonic()
            checked = check_data(store, client, [DataTarget(url, "csv") for url in urls],
                                 settings, now=lambda: NOW, lanes=links)
            assert checked == 0 and len(accepted) == asked
            assert time.monotonic() - started < 2
        with store.read() as unit:
            rows = unit.checks.data_checks(urls)
        assert len(rows) == 20
        assert all(row.reason and row.reason.startswith("not downloaded: the link check failed")
                   for row in rows.values())
    finally:
        silent.close()
        for conn in accepted:
            conn.close()


def test_a_probes_get_fallback_and_redirect_hops_wait_min_delay() -> None:
    """Within one probe (the lane's turn), the GET after a HEAD answered 405 and every
    redirect hop wait ``min_delay`` after the previous response, as the server sees it."""
    refuses_head = Host("127.0.0.2", head_status=405)
    loops = Host("127.0.0.3", status=301, location="/again")
    http = LOOPBACK.model_copy(update={"min_delay": 0.2, "max_redirects": 2})

    async def probe(url: str) -> object:
        fetcher = AsyncFetcher(http)
        try:
            return await fetcher.probe(url)
        except FetchError as error:
            return error
        finally:
            await fetcher.close()
    try:
        fell_back = asyncio.run(probe(refuses_head.url("/f.csv")))
        redirected = asyncio.run(probe(loops.url("/start")))
        assert getattr(fell_back, "status", None) == 200
        assert isinstance(redirected, FetchError)
        assert redirected.code == "fetch.too_many_redirects"
        assert len(refuses_head.spans) == 2 and len(loops.spans) == 3
        for host in (refuses_head, loops):
            assert host.most_at_once() == 1
            assert min(host.gaps()) >= 0.2 - 0.002
    finally:
        refuses_head.close()
        loops.close()
