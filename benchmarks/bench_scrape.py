"""Time /metrics scrapes of a store with many agencies, sources and score snapshots.

    python benchmarks/bench_scrape.py [--agencies 600] [--datasets 50] [--sources 300]
        [--history 100] [--scrapes 50] [--proposed-indexes] [--database URL] [--smoke]

Fills a fresh store (SQLite in a temporary directory unless ``--database`` names an empty
one): ``--sources`` sources, ``--agencies`` × ``--datasets`` datasets with descriptions of a
realistic size (some held for removal), ``--history`` score snapshots of every agency
(figures from the real aggregation of random levels), then serves the real endpoints and
times HTTP GETs of /metrics over loopback: the first scrape after a new snapshot (which
builds the agency families) and the steady state. Target: under 100 ms with 600 agencies.
``--proposed-indexes`` adds the two indexes proposed for the store: without them, counting
held removals reads the whole ``dataset`` table and finding the latest snapshot's rows reads
the whole ``agency_score`` history.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, insert, text

from dcatwatch.metrics import Instruments, MetricsServer, StoreCollector, new_registry
from dcatwatch.scoring.aggregate import Agency, DatasetRow, Scores, aggregate
from dcatwatch.store.core import Store
from dcatwatch.store.db import open_store
from dcatwatch.store.models import Agency as AgencyRow
from dcatwatch.store.models import Dataset, Source

SMOKE = {"agencies": 30, "datasets": 10, "sources": 10, "history": 5, "scrapes": 5}
PROPOSED_INDEXES = (
    "CREATE INDEX ix_dataset_held ON dataset (source) WHERE removal_held_at IS NOT NULL",
    "CREATE INDEX ix_agency_score_scored_at ON agency_score (scored_at)")
FILLER = "".join(f'<https://data.example.se/d/x> <http://purl.org/dc/terms/p{i}> "{"v" * 60}" .\n'
                 for i in range(40))  # ≈ 3.5 kB, like a harvested description


def fill(engine: Engine, agencies: int, datasets: int, sources: int, history: int,
         rng: random.Random) -> Scores:
    """Write the synthetic store; returns the latest scores."""
    now = datetime.now(UTC)
    ids = [f"2021{n:06d}" for n in range(agencies)]
    rows = [DatasetRow(agency, rng.choice((0, 1, 1, 2, 2, 2, 3)), mqa_points=rng.uniform(50, 400))
            for agency in ids for _ in range(datasets)]
    scores = aggregate(rows, [Agency(agency, f"Myndighet {n}") for n, agency in enumerate(ids)])
    with engine.begin() as conn:
        conn.execute(insert(AgencyRow.__table__), [
            {"id": agency, "name": f"Myndighet {n}", "in_registry": True, "flagged": False,
             "publisher_iris": "[]"} for n, agency in enumerate(ids)])
        conn.execute(insert(Source.__table__), [
            {"name": f"source-{n}", "type": "dcat", "url": f"https://example.se/{n}.rdf",
             "schedule": "0 5 * * *", "enabled": True, "last_status": "ok", "datasets": datasets,
             "last_attempt_at": now, "last_success_at": now} for n in range(sources)])
        batch = []
        for n, row in enumerate(rows):
            batch.append({"source": f"source-{n % sources}", "iri": f"https://example.se/d/{n}",
                          "agency_id": row.agency_id, "content_hash": f"{n:064d}",
                          "description": FILLER, "first_seen_at": now, "last_seen_at": now,
                          "changed_at": now,
                          "removal_held_at": now if n % 997 == 0 else None})
            if len(batch) == 5000:
                conn.execute(insert(Dataset.__table__), batch)
                batch = []
        if batch:
            conn.execute(insert(Dataset.__table__), batch)
    for run in range(history):
        snapshot(engine, scores, now - timedelta(hours=history - run))
    return scores


def snapshot(engine: Engine, scores: Scores, stamp: datetime) -> None:
    """Append one snapshot as the scoring service does."""
    with Store(engine).write() as unit:
        unit.scores.snapshot([agency.to_dict() for agency in scores.agencies],
                                 scores.national and scores.national.to_dict(), stamp)


def serve_metrics(engine: Engine) -> MetricsServer:
    """THE IN-PROCESS PART (dcatwatch internals; adapt here when they change): the daemon's
    /metrics endpoint over ``engine``, started on a free loopback port. ``fill`` and
    ``snapshot`` write the store's tables directly, as the schema stands."""
    registry = new_registry()
    Instruments(registry)
    registry.register(StoreCollector(Store(engine)))
    server = MetricsServer("127.0.0.1", 0, registry, lambda: None)
    server.start()
    return server


def scrape(url: str) -> tuple[float, int]:
    """Seconds for one GET of ``url``, and the body's size."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    started = time.perf_counter()
    with opener.open(url, timeout=30) as response:
        size = len(response.read())
    return time.perf_counter() - started, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agencies", type=int, default=600)
    parser.add_argument("--datasets", type=int, default=50, help="per agency")
    parser.add_argument("--sources", type=int, default=300)
    parser.add_argument("--history", type=int, default=100, help="snapshots per agency")
    parser.add_argument("--scrapes", type=int, default=50)
    parser.add_argument("--proposed-indexes", action="store_true",
                        help="add the indexes proposed for dataset and agency_score")
    parser.add_argument("--database", help="an empty database URL (default: temporary SQLite)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--smoke", action="store_true",
                        help=f"small sizes (CI runs every benchmark so): {SMOKE}")
    args = parser.parse_args()
    if args.smoke:
        vars(args).update(SMOKE)

    with tempfile.TemporaryDirectory() as tmp:
        url = args.database or f"sqlite:///{Path(tmp) / 'bench.db'}"
        engine = open_store(url)
        started = time.perf_counter()
        scores = fill(engine, args.agencies, args.datasets, args.sources, args.history,
                      random.Random(args.seed))
        if args.proposed_indexes:
            with engine.begin() as conn:
                for index in PROPOSED_INDEXES:
                    conn.execute(text(index))
        print(f"store: {args.agencies} agencies × {args.datasets} datasets, {args.sources} "
              f"sources, {args.history} snapshots{', proposed indexes' if args.proposed_indexes else ''} "
              f"({time.perf_counter() - started:.1f} s to fill)")
        server = serve_metrics(engine)
        metrics = f"http://127.0.0.1:{server.address[1]}/metrics"
        try:
            cold, size = scrape(metrics)
            warm = sorted(scrape(metrics)[0] for _ in range(args.scrapes))
            snapshot(engine, scores, datetime.now(UTC))  # e.g. `dcatwatch scores --snapshot`
            after_scoring, _ = scrape(metrics)
            snapshot(engine, scores, datetime.now(UTC))  # the daemon's scoring warms up
            started = time.perf_counter()
            server.warm()
            warming = time.perf_counter() - started
            after_warm, _ = scrape(metrics)
        finally:
            server.close()
        ms = [1000 * t for t in warm]
        p95 = ms[min(len(ms) - 1, round(0.95 * len(ms)))]
        print(f"/metrics: {size / 1024:.0f} kB. Steady state over {len(ms)} scrapes: median "
              f"{statistics.median(ms):.1f} ms, p95 {p95:.1f} ms, max {ms[-1]:.1f} ms.\n"
              f"First scrape {1000 * cold:.1f} ms; first after a new snapshot "
              f"{1000 * after_scoring:.1f} ms, or {1000 * after_warm:.1f} ms after the daemon's "
              f"warm-up ({1000 * warming:.1f} ms, off the scrape path).")
    print(f"agencies: {args.agencies}\nmetrics_kb: {size / 1024:.0f}\n"
          f"scrape_median_ms: {statistics.median(ms):.1f}\nscrape_p95_ms: {p95:.1f}\n"
          f"first_scrape_ms: {1000 * cold:.1f}\n"
          f"first_after_snapshot_ms: {1000 * after_scoring:.1f}")


if __name__ == "__main__":
    main()
