"""Scores do not wait for link checks: a real `dcatwatch serve` harvesting 200 datasets whose
links live on one slow, politely treated host shows every agency's figures in /metrics
within seconds of the harvest, while the links are still being checked in their own pool;
the scores are redone when the checks end."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.helpers import sql, write_config
from tests.servers import LoopbackServer, Request, Response
from tests.test_daemon import Daemon, daemons, free_port, value  # noqa: F401 - fixture

AGENCY = "2021005448"
OTHER = "2021006297"
STOR_VALIDATIONS = "SELECT status FROM validation_run WHERE source = 'stor'"
DATASETS = 200
LINK_DELAY = 0.4  # seconds each link answer takes while the links are slow


class LinkHost:
    """A loopback HTTP server on its own address (one host for every link) that answers
    each request after ``delay`` seconds (0 once :attr:`fast` is set) with a small CSV."""

    def __init__(self, address: str, delay: float) -> None:
        self.delay = delay
        self.fast = threading.Event()
        self.hits = 0
        self._lock = threading.Lock()
        host = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

            def _answer(self, body: bool) -> None:
                with host._lock:
                    host.hits += 1
                if not host.fast.is_set():
                    host.fast.wait(host.delay)
                data = b"kommun,skattesats\nA,32.1\nB,33.0\n"
                self.send_response(200)
                self.send_header("Content-Type", "text/csv")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if body:
                    self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802
                self._answer(True)

            def do_HEAD(self) -> None:  # noqa: N802
                self._answer(False)

        self.httpd = ThreadingHTTPServer((address, 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://{address}:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,),
                                        daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.fast.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def catalogue(links: str, datasets: int = DATASETS, agency: str = AGENCY,
              name: str = "d") -> bytes:
    """A Turtle catalogue of ``datasets`` CSV datasets of ``agency``, links at ``links``;
    datasets are named ``name`` and a number."""
    lines = ["@prefix dcat: <http://www.w3.org/ns/dcat#> .",
             "@prefix dct: <http://purl.org/dc/terms/> .",
             "@prefix foaf: <http://xmlns.com/foaf/0.1/> .",
             f"<https://data.example.se/catalog/{name}> a dcat:Catalog ; dct:title \"K\"@sv ;",
             f"  dct:publisher <http://dataportal.se/organisation/SE{agency}> ;",
             "  dcat:dataset " + ", ".join(f"<https://data.example.se/dataset/{name}{i}>"
                                           for i in range(datasets)) + " .",
             f"<http://dataportal.se/organisation/SE{agency}> a foaf:Organization ;",
             "  foaf:name \"Myndighet\"@sv ."]
    for i in range(datasets):
        lines += [f"<https://data.example.se/dataset/{name}{i}> a dcat:Dataset ;",
                  f"  dct:title \"Data {i}\"@sv ; dct:description \"Tabell {i}.\"@sv ;",
                  f"  dct:publisher <http://dataportal.se/organisation/SE{agency}> ;",
                  f"  dcat:distribution <https://data.example.se/dataset/{name}{i}/csv> .",
                  f"<https://data.example.se/dataset/{name}{i}/csv> a dcat:Distribution ;",
                  f"  dcat:accessURL <{links}/files/{name}{i}.csv> ;",
                  f"  dcat:downloadURL <{links}/files/{name}{i}.csv> ;",
                  "  dct:format \"text/csv\" ."]
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture
def link_host() -> Iterator[LinkHost]:
    try:
        host = LinkHost("127.0.0.2", LINK_DELAY)
    except OSError as exc:  # pragma: no cover - loopback aliases missing
        pytest.skip(f"cannot listen on 127.0.0.2: {exc}")
    yield host
    host.close()


def agency_total(samples: dict, agency: str = AGENCY) -> float:
    return sum(v for (name, labels), v in samples.items()
               if name == "dcatwatch_agency_datasets" and dict(labels).get("agency") == agency)


@pytest.mark.slow
def test_scores_show_before_the_slow_link_checks_end(
        server: LoopbackServer, link_host: LinkHost, tmp_path: Path,
        daemons: list[Daemon]) -> None:
    server.route("/catalog.ttl", catalogue(link_host.base), content_type="text/turtle")
    # a second source, failing at first: its retry needs the one harvest slot while the
    # first source's links are still being checked
    small = catalogue(link_host.base, 3, agency=OTHER, name="s")
    asked: list[int] = []

    def flaky(_request: Request) -> Response:
        asked.append(1)
        if len(asked) == 1:
            return Response(500, b"busy")
        return Response(200, small, {"Content-Type": "text/turtle"})

    server.handle("/small.ttl", flaky)
    port = free_port()
    config = write_config(
        tmp_path, [{"name": "stor", "type": "dcat", "url": server.url("/catalog.ttl")},
                   {"name": "liten", "type": "dcat", "url": server.url("/small.ttl")}],
        agencies=[{"id": AGENCY, "name": "Skatteverket"}, {"id": OTHER, "name": "Annat"}],
        server={"host": "127.0.0.1", "port": port},
        http={"min_delay": 0.1},  # per-host politeness: the links go one after another
        validation={"workers": 4, "link_timeout": 10},
        daemon={"max_concurrent_harvests": 1, "max_concurrent_checks": 1,
                "retry_failed_after": 2})
    daemon = Daemon(config, port)
    daemons.append(daemon)

    daemon.wait_for(lambda s: value(s, "dcatwatch_source_datasets", source="stor") == DATASETS,
                    timeout=60)
    harvested = time.monotonic()
    samples = daemon.wait_for(lambda s: agency_total(s) == DATASETS, timeout=60)
    waited = time.monotonic() - harvested
    checked = link_host.hits
    print(f"agency figures {waited:.2f} s after the harvest; {checked} links checked by then")
    assert waited < 30, f"agency figures {waited:.1f} s after the harvest"
    # the figures came before the checks were done: links are still being checked
    assert checked < DATASETS, f"{checked} link requests before the figures"
    deadline = time.monotonic() + 30
    while sql(config, STOR_VALIDATIONS) != [("running",)]:
        assert time.monotonic() < deadline, daemon.output()
        time.sleep(0.2)
    assert link_host.hits < DATASETS
    # the checks hold no harvest slot: the other source's retry runs meanwhile
    samples = daemon.wait_for(lambda s: agency_total(s, OTHER) == 3, timeout=30)
    assert link_host.hits < DATASETS, "the retry waited for the link checks"
    assert value(samples, "dcatwatch_harvest_failures_total") == 1
    before = value(samples, "dcatwatch_agency_mqa_points", agency=AGENCY)
    assert before is not None
    assert daemon.get("/readyz")[0] == 200

    link_host.fast.set()  # let the checks finish; the scores follow their results
    deadline = time.monotonic() + 120
    while sql(config, STOR_VALIDATIONS) != [("ok",)]:
        assert time.monotonic() < deadline, daemon.output()
        time.sleep(0.5)
    samples = daemon.wait_for(
        lambda s: (value(s, "dcatwatch_agency_mqa_points", agency=AGENCY) or 0) > before,
        timeout=30)
    assert agency_total(samples) == DATASETS
    assert sql(config, "SELECT count(*) FROM link_check WHERE reachable AND url LIKE "
               "'%/files/d%'") == [(DATASETS,)]
    assert daemon.stop()[0] == 0, daemon.output()
