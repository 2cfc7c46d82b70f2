"""Latency of the web view's three page kinds over loopback HTTP, at national scale.

    python benchmarks/bench_web.py [--agencies 600] [--datasets 100000] [--requests 200]
        [--history 12] [--database URL] [--smoke]

1. generates a synthetic DCAT-AP-SE catalogue (``benchmarks/generate.py``: ``--datasets``
   datasets of ``--agencies`` agencies, APIs, files and documents) and serves it on loopback;
2. harvests it into a fresh store (SQLite in a temporary directory unless ``--database`` names
   an empty one) and scores it with a snapshot, as ``dcatwatch harvest`` and
   ``dcatwatch scores --snapshot`` do;
3. appends ``--history`` monthly snapshots before it (the figures of the real one, each index
   moved a little), so the national trend and the agency chart have months to show;
4. serves the real metrics server with the web view mounted; the first page starts the
   warm-up that renders the national page in every order and every agency page ahead
   (:mod:`dcatwatch.web.cache`), timed until it ends, with GETs of each kind meanwhile (an
   agency page not rendered yet is made while its GET waits);
5. times ``--requests`` GETs of each page kind: ``/`` (every sort order), ``/agency/<id>``
   (kept pages) and ``/dataset?iri=…`` (made per request), random agencies and datasets,
   Swedish and English;
6. takes a new snapshot (every page out of date) and times as many GETs again: kept pages
   are served while they are rendered again.

Prints the warm-up's time and CPU, the kept pages' size, and p50/p99 per page kind during
the warm-up, after it (the target) and after the new snapshot.
Target: p99 ≤ 100 ms at 600 agencies and 100 000 datasets.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import io
import json
import os
import random
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

import generate  # noqa: E402

from dcatwatch.store.core import Store  # noqa: E402
from dcatwatch.store.scores import NATIONAL_FIGURES  # noqa: E402

SMOKE = {"agencies": 30, "datasets": 600, "requests": 20, "history": 3}
KINDS = ("national", "agency", "dataset")


def serve_catalogue(root: Path) -> ThreadingHTTPServer:
    """Python's file server on ``root``, on a free loopback port, in a thread."""
    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0),
                                functools.partial(Quiet, directory=str(root)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


def fill(root: Path, database: str, agencies: int, datasets: int, history: int) -> float:
    """Harvest and score the synthetic catalogue into ``database``, with ``history`` earlier
    monthly snapshots; returns the seconds it took."""
    from dcatwatch.cli import main as dcatwatch
    from dcatwatch.scoring.service import score

    started = time.perf_counter()
    generate.write(datasets, root / "catalogue.nt", "ntriples", agencies=agencies)
    httpd = serve_catalogue(root)
    config = root / "dcatwatch.toml"
    config.write_text(
        f'[database]\nurl = "{database}"\n[http]\nallow_private_networks = true\n'
        f'min_delay = 0\n[[sources]]\nname = "synthetic"\ntype = "dataportal"\n'
        f'url = "http://127.0.0.1:{httpd.server_address[1]}/catalogue.nt"\n', encoding="utf-8")
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # the harvest's table
            status = dcatwatch(["--config", str(config), "--log-level", "error", "harvest"])
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert status == 0, "the harvest failed"
    store = Store.open(database)
    run = score(store, snapshot=True)
    rng = random.Random(1)
    with store.write() as unit:
        for months in range(history, 0, -1):
            agency_rows = []
            for agency in run.scores.agencies:
                row = agency.to_dict()
                if row["api_document_index"] is not None:
                    row["api_document_index"] = round(max(0.0, min(100.0, row[
                        "api_document_index"] - rng.uniform(0, 3 * months))), 1)
                agency_rows.append(row)
            national = run.scores.national.to_dict() if run.scores.national else None
            unit.scores.snapshot(agency_rows, national,
                                 run.scored_at - timedelta(days=30 * months))
    store.engine.dispose()
    return time.perf_counter() - started


def targets(database: str, count: int, rng: random.Random) -> dict[str, list[str]]:
    """``count`` request targets of each page kind."""

    store = Store.open(database)
    with store.read() as unit:
        agency_ids = [a.id for a in unit.agencies.listed()]
        iris = [row.iri for row in unit.datasets.listing()]
    store.engine.dispose()
    sorts = ["index", "api", "mqa", "datasets", "name", "trend"]

    def language() -> str:
        return rng.choice(["sv", "en"])

    def national() -> str:
        return "/?" + urlencode({"sort": rng.choice(sorts), "order": rng.choice(["asc", "desc"]),
                                 "lang": language()})

    return {
        "national": [national() for _ in range(count)],
        "agency": [f"/agency/{rng.choice(agency_ids)}?lang={language()}" for _ in range(count)],
        "dataset": ["/dataset?" + urlencode({"iri": rng.choice(iris), "lang": language()})
                    for _ in range(count)],
    }


def get(url: str) -> float:
    """Seconds for one GET of ``url`` (must answer 200)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    started = time.perf_counter()
    with opener.open(url, timeout=60) as response:
        response.read()
        assert response.status == 200, url
    return time.perf_counter() - started


def timed(base: str, asked: dict[str, list[str]], going: Callable[[], bool] = lambda: True,
          pause: float = 0.0) -> dict[str, list[float]]:
    """Milliseconds of the GETs of ``asked``, the kinds interleaved (each sees the same
    load), while ``going()`` holds."""
    found: dict[str, list[float]] = {kind: [] for kind in KINDS}
    for index in range(len(asked[KINDS[0]])):
        if not going():
            break
        for kind in KINDS:
            found[kind].append(1000 * get(base + asked[kind][index]))
        time.sleep(pause)
    return found


def new_snapshot(store: Store) -> None:
    """A snapshot taken now with every index of the latest one a point higher."""
    with store.read() as unit:
        latest = unit.scores.national_latest()
        agencies = [json.loads(row.details) for row in unit.scores.agency_details(
            latest.scored_at)]
    national = {name: latest._mapping[name] for name in NATIONAL_FIGURES}
    for agency in agencies:
        if agency["api_document_index"] is not None:
            agency["api_document_index"] = min(100.0, agency["api_document_index"] + 1)
    with store.write() as unit:
        unit.scores.snapshot(agencies, national, datetime.now(UTC))


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agencies", type=int, default=600)
    parser.add_argument("--datasets", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200, help="per page kind")
    parser.add_argument("--history", type=int, default=12, help="earlier monthly snapshots")
    parser.add_argument("--database", help="an empty database URL (default: temporary SQLite)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--smoke", action="store_true",
                        help=f"small sizes (CI runs every benchmark so): {SMOKE}")
    args = parser.parse_args()
    if args.smoke:
        vars(args).update(SMOKE)

    from dcatwatch.config import ReportsSettings
    from dcatwatch.metrics import MetricsServer, new_registry
    from dcatwatch.web.app import WebView

    with tempfile.TemporaryDirectory() as tmp:
        database = args.database or f"sqlite:///{Path(tmp) / 'bench.db'}"
        filling = fill(Path(tmp), database, args.agencies, args.datasets, args.history)
        print(f"store: {args.datasets} datasets of {args.agencies} agencies harvested and "
              f"scored, {args.history} earlier snapshots ({filling:.1f} s)")
        store = Store.open(database)
        view = WebView(store, ReportsSettings())
        server = MetricsServer("127.0.0.1", 0, new_registry(), lambda: None, pages=view.routes)
        server.start()
        base = f"http://127.0.0.1:{server.address[1]}"
        phases: dict[str, dict[str, list[float]]] = {}
        try:
            started, cpu = time.perf_counter(), time.process_time()
            first = 1000 * get(base + "/")  # made while it waits; starts the warm-up
            phases["during the warm-up"] = timed(
                base, targets(database, args.requests, random.Random(args.seed + 1)),
                lambda: view.cache.busy, pause=0.5)
            view.cache.wait()  # once per process, in the background
            warm, warm_cpu = time.perf_counter() - started, time.process_time() - cpu
            pages, kept = view.cache.kept()
            print(f"first page {first:.0f} ms; warm-up: {pages} pages rendered ahead in "
                  f"{warm:.1f} s ({warm_cpu:.1f} s CPU, {1000 * warm_cpu / pages:.0f} ms CPU "
                  f"a page), kept in {kept / 1e6:.1f} MB")
            timings = phases["after the warm-up"] = timed(
                base, targets(database, args.requests, random.Random(args.seed)))
            load = os.getloadavg()
            new_snapshot(store)  # as a scoring run does: every page is out of date
            phases["after a new snapshot"] = timed(
                base, targets(database, args.requests, random.Random(args.seed + 2)))
        finally:
            server.close()
    print("load average after the warm-up (the machine's other work inflates the tails): "
          + ", ".join(f"{value:.1f}" for value in load))
    for phase, found in phases.items():
        for kind in KINDS:
            if found[kind]:
                ms = found[kind]
                print(f"{kind:<9} {len(ms):3} GETs {phase:<20}: p50 "
                      f"{statistics.median(ms):6.1f} ms, p99 {percentile(ms, 0.99):6.1f} ms, "
                      f"max {max(ms):6.1f} ms")
    for kind in KINDS:
        print(f"{kind}_p50_ms: {statistics.median(timings[kind]):.1f}\n"
              f"{kind}_p99_ms: {percentile(timings[kind], 0.99):.1f}")


if __name__ == "__main__":
    main()
