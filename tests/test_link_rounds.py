"""Link-check rounds at the politeness limit, against real loopback hosts: 127.0.0.2 answers,
127.0.0.3 accepts connections and never answers, 127.0.0.4 refuses them. A dead host costs a
handful of requests per round (circuit breaker, no retries within a round), a healthy host's
links are all checked once, a 429 is waited out, results are stored as they arrive, the
daemon's instruments see the round, and ``validate`` logs progress when not on a terminal."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from dcatwatch.http.client import HttpClient, HttpSettings
from dcatwatch.metrics.instruments import Instruments, new_registry
from dcatwatch.store.core import Store
from dcatwatch.validators.linkengine import EngineSettings, LinkEngine
from tests.helpers import check_links, harvest_json, write_config
from tests.servers import LoopbackServer, Request, Response

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)


class Healthy:
    """An HTTP server on ``host`` answering 200 to everything; counts requests per path."""

    def __init__(self, host: str) -> None:
        self.requests: Counter[tuple[str, str]] = Counter()
        self.times: list[float] = []  # when each request came
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _answer(self) -> None:
                owner.requests[(self.command, self.path)] += 1
                owner.times.append(time.monotonic())
                self.send_response(200)
                self.send_header("Content-Type", "text/csv")
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_HEAD = do_GET = _answer  # noqa: N815

        self.httpd = ThreadingHTTPServer((host, 0), Handler)
        self.port = self.httpd.server_address[1]
        self.host = host
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class Silent:
    """Accepts TCP connections on ``host`` and never answers; counts the connections."""

    def __init__(self, host: str) -> None:
        self.sock = socket.create_server((host, 0))
        self.port = self.sock.getsockname()[1]
        self.host = host
        self.connections = 0
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            self.held.append(conn)

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    def close(self) -> None:
        self.sock.close()
        for conn in self.held:
            conn.close()


def _refusing_url(host: str, path: str) -> str:
    probe = socket.create_server((host, 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now: connections are refused
    return f"http://{host}:{port}{path}"


@pytest.fixture
def hosts() -> Iterator[tuple[Healthy, Silent]]:
    healthy, silent = Healthy("127.0.0.2"), Silent("127.0.0.3")
    yield healthy, silent
    healthy.close()
    silent.close()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(f"sqlite:///{tmp_path}/links.db") as opened:
        yield opened


def client(**settings: object) -> HttpClient:
    # retries as in production: a link check must not use them on a dead host
    chosen = {"allowed_networks": ("127.0.0.0/8",), "min_delay": 0, "retries": 3} | settings
    return HttpClient(HttpSettings(**chosen))  # type: ignore[arg-type]


def test_a_dead_host_costs_a_handful_of_requests_a_healthy_one_is_checked_in_full(
        hosts: tuple[Healthy, Silent], store: Store) -> None:
    healthy, silent = hosts
    good = [healthy.url(f"/data/{n}.csv") for n in range(20)]
    dead = [silent.url(f"/data/{n}.csv") for n in range(20)]
    refused = [_refusing_url("127.0.0.4", "/data/")[:-1] + f"/{n}.csv" for n in range(20)]
    registry = new_registry()
    instruments = Instruments(registry)
    started = time.monotonic()
    with client() as http:
        checked = check_links(store, http, good + dead + refused + good, workers=4, timeout=0.5,
                              recheck_hours=0, now=lambda: NOW, host_failures=3,
                              metrics=instruments)
    elapsed = time.monotonic() - started
    assert checked == 60  # each URL once, the repeated ones too
    assert healthy.requests == Counter({("HEAD", f"/data/{n}.csv"): 1 for n in range(20)})
    assert silent.connections == 3  # the breaker: not 20, and no retries
    assert elapsed < 5  # 3 timeouts of 0.5 s, not 20 × 4 attempts with backoff
    with store.read() as unit:
        rows = unit.checks.history(good + dead + refused)
    assert all(rows[url].verdict == "ok" for url in good)
    codes = Counter(rows[url].error_code for url in dead)
    assert codes == Counter({"fetch.timeout": 3, "fetch.host_unavailable": 17})
    # a silent server while another host answers: the agency's (unconfirmed so far)
    assert {rows[url].verdict for url in dead} == {"failing"}
    assert Counter(rows[url].cause for url in refused) == Counter({"refused": 20})
    assert Counter(rows[url].error_code for url in refused)["fetch.host_unavailable"] == 17
    value = registry.get_sample_value
    assert value("dcatwatch_link_checks_total", {"result": "ok"}) == 20
    assert value("dcatwatch_link_checks_total", {"result": "failing"}) == 40
    assert value("dcatwatch_link_checks_total", {"result": "inconclusive"}) == 0
    assert value("dcatwatch_link_checks_queued") == value("dcatwatch_link_checks_in_flight") == 0
    assert 0 < value("dcatwatch_link_round_duration_seconds") <= elapsed


def test_rounds_sharing_the_engine_check_their_hosts_side_by_side(store: Store) -> None:
    """The daemon's validations share one LinkEngine: two sources, each on its own host,
    validated at once are checked at the same time, each host still one URL at a time
    ``min_delay`` apart. A host resting between requests holds no slot, so even one slot
    serves both hosts in turn while the other rests."""
    first, second = Healthy("127.0.0.2"), Healthy("127.0.0.5")
    try:
        for slots in (2, 1):
            for host in (first, second):
                host.times.clear()
                host.requests.clear()
            path = f"/shared-{slots}"
            with client(min_delay=0.1) as http, LinkEngine(store, EngineSettings(
                    http.settings, in_flight=slots, timeout=5, recheck_hours=0),
                    now=lambda: NOW) as engine:
                rounds = [threading.Thread(target=engine.check, args=(
                    [host.url(f"{path}/{n}.csv") for n in range(5)],))
                    for host in (first, second)]
                for thread in rounds:
                    thread.start()
                for thread in rounds:
                    thread.join(30)
            for host in (first, second):
                assert host.requests == Counter({("HEAD", f"{path}/{n}.csv"): 1
                                                 for n in range(5)})
                gaps = [b - a for a, b in zip(host.times, host.times[1:], strict=False)]
                assert min(gaps) >= 0.095  # politeness holds per host
            assert min(second.times) < max(first.times) and \
                min(first.times) < max(second.times)  # side by side
            with store.read() as unit:
                rows = unit.checks.history([host.url(f"{path}/{n}.csv")
                                            for host in (first, second) for n in range(5)])
            assert len(rows) == 10 and {row.verdict for row in rows.values()} == {"ok"}
    finally:
        first.close()
        second.close()


def test_monitor_side_failures_are_asked_again_next_round(store: Store) -> None:
    """A host skipped by the breaker after timeouts while no other host answered is
    inconclusive, and inconclusive links are due again however recently checked."""
    silent = Silent("127.0.0.3")
    try:
        urls = [silent.url(f"/{n}") for n in range(6)]
        with client() as http:
            check_links(store, http, urls, workers=2, timeout=0.3, recheck_hours=24,
                        now=lambda: NOW, host_failures=2)
            with store.read() as unit:
                rows = unit.checks.history(urls)
            assert {row.verdict for row in rows.values()} == {"inconclusive"}
            assert silent.connections == 2
            again = check_links(store, http, urls, workers=2, timeout=0.3, recheck_hours=24,
                                now=lambda: NOW, host_failures=2)
        assert again == 6 and silent.connections == 4
    finally:
        silent.close()


def test_a_host_answering_429_is_waited_for_not_failed(server: LoopbackServer,
                                                       store: Store) -> None:
    calls: list[float] = []

    def busy(request: Request) -> Response:
        calls.append(time.monotonic())
        if len(calls) == 1:
            return Response(429, b"", {"Retry-After": "1"})
        return Response(200, b"", {"Content-Type": "text/csv"})

    url = server.handle("/busy.csv", busy)
    with client() as http:
        check_links(store, http, [url], workers=1, timeout=5, recheck_hours=0, now=lambda: NOW)
    with store.read() as unit:
        row = unit.checks.history([url])[url]
    assert (row.verdict, row.status) == ("ok", 200)
    assert len(calls) == 2 and calls[1] - calls[0] >= 0.95


def test_results_are_stored_as_they_arrive(hosts: tuple[Healthy, Silent],
                                           store: Store) -> None:
    healthy, silent = hosts
    good = [healthy.url(f"/{n}.csv") for n in range(5)]
    slow = silent.url("/slow.csv")
    with client() as http:
        worker = threading.Thread(target=check_links, args=(store, http, [slow, *good]),
                                  kwargs={"workers": 2, "timeout": 4, "recheck_hours": 0,
                                          "now": lambda: NOW})
        worker.start()
        deadline = time.monotonic() + 3.5
        stored: dict[str, object] = {}
        while time.monotonic() < deadline and len(stored) < 5:
            time.sleep(0.2)
            with store.read() as unit:
                stored = unit.checks.history(good)
        still_running = worker.is_alive()
        worker.join()
    assert len(stored) == 5 and still_running  # a killed run would have kept these


CATALOG = """@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix dct: <http://purl.org/dc/terms/> .
<https://data.example.se/catalog> a dcat:Catalog ; dct:title "Test"@sv ;
    dcat:dataset <https://data.example.se/dataset/d> .
<https://data.example.se/dataset/d> a dcat:Dataset ; dct:title "D"@sv ;
    dct:publisher <http://dataportal.se/organisation/SE2021005448> ;
{distributions} .
"""


def test_validate_logs_progress_when_not_on_a_terminal(server: LoopbackServer,
                                                       tmp_path: Path) -> None:
    def slow(request: Request) -> Response:
        return Response(200, b"", {"Content-Type": "text/csv"}, delay=0.25)

    urls = [server.handle(f"/slow/{n}.csv", slow) for n in range(8)]
    distributions = " ;\n".join(
        f'    dcat:distribution [ a dcat:Distribution ; dcat:accessURL <{url}> ]' for url in urls)
    catalog = server.route("/catalog.ttl", CATALOG.format(distributions=distributions).encode(),
                           content_type="text/turtle")
    config = write_config(tmp_path, [{"name": "exempel", "type": "dcat", "url": catalog}],
                          validation={"data": False, "workers": 1})
    status, [result] = harvest_json(config)
    assert status == 0 and result["distributions"] == 8
    env = {**os.environ, "DCATWATCH_VALIDATION_PROGRESS_SECONDS": "0.3",
           "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "dcatwatch", "--config", str(config),
                           "validate", "--json"], capture_output=True, text=True, env=env,
                          timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["summary"]["link_verdicts"]["ok"] == 8
    lines = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    progress = [line["message"] for line in lines if line["logger"] == "dcatwatch.progress"]
    assert len(progress) >= 3, done.stderr
    links = [message for message in progress if message.startswith("links: ")]
    assert links and all(" checked, " in m and "/s, ETA " in m for m in links)
    assert any("/8 checked" in m for m in links)
