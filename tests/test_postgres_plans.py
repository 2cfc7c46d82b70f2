"""The hot queries keep their index plans on PostgreSQL at scale.

A store is loaded as a national deployment fills it: a large source written by the harvest's
own change detection in one transaction (the counts and removals read inside that
transaction, right after the bulk insert: where the planner once had no statistics), a few
small sources, scores, the link checks they read and snapshots. Each hot query is run
through its repository with the statements captured, and ``EXPLAIN (FORMAT JSON)`` of each
must not scan a large table sequentially (a query that reads one source, agency or batch),
nor join with a nested loop that compares every pair of rows (a join filter, or a sequential
scan as its inner side). ``DCATWATCH_PLAN_DATASETS`` sets the large source's size.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, event

from dcatwatch.dcat.model import Agent, DatasetEntry, DistributionLink, pack_description
from dcatwatch.harvester.apply import apply_datasets
from dcatwatch.store.core import Store, Unit
from dcatwatch.store.runs import RunCounts
from tests.conftest import POSTGRES_ADMIN_URL, postgres_database

pytestmark = pytest.mark.skipif(
    not POSTGRES_ADMIN_URL,
    reason="no PostgreSQL: export DCATWATCH_TEST_POSTGRES_URL=$(scripts/test-postgres.sh)")

BIG = int(os.environ.get("DCATWATCH_PLAN_DATASETS", "30000"))  # datasets of the large source
SMALL = ("liten-a", "liten-b", "liten-c")  # small sources, 300 datasets each
AGENCIES = 200  # Sweden publishes from some hundreds of agencies
LARGE_TABLES = {"dataset", "distribution", "dataset_score", "dataset_score_link",
                "link_check", "agency_score", "harvest_run", "validation_run",
                "procrastinate_jobs", "procrastinate_events"}
# what autovacuum analyzes within a minute of a commit; dataset and distribution are left to
# the harvest's own refresh (the statistics it plans its next reads from are the ones tested)
AUTOVACUUMED = ("dataset_score", "dataset_score_link", "link_check", "agency_score",
                "harvest_run", "validation_run", "source_schedule", "procrastinate_jobs",
                "procrastinate_events")
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def entries(source: str, count: int) -> list[DatasetEntry]:
    """``count`` datasets of ``source``, 2 or 3 distributions each (2.5 on average), every
    twentieth without a publisher."""
    publishers = [Agent(f"https://myndighet{a}.example.se/org") for a in range(AGENCIES)]
    made = []
    for n in range(count):
        iri = f"https://{source}.example.se/dataset/{n}"
        links = [DistributionLink(f"{iri}/dist/{k}", access_url=f"https://files{n % 97}."
                                  f"example.se/{source}/{n}/{k}.csv", format="text/csv")
                 for k in range(2 + n % 2)]
        made.append(DatasetEntry(
            iri, f"{source}-{n}-v1", pack_description(
                f'<{iri}> <http://purl.org/dc/terms/title> "Datamängd {n} av {source}" .\n'),
            f"Datamängd {n}", None if n % 20 == 7 else publishers[n % AGENCIES],
            distributions=links))
    return made


def agency_of(agent: Agent | None) -> str | None:
    return None if agent is None else "a" + agent.iri.split("myndighet")[1].split(".")[0]


def harvest(unit: Unit, source: str, made: list[DatasetEntry], at: datetime) -> None:
    """Apply a complete run listing ``made``, as the harvest does."""
    apply_datasets(unit, source, made, agency_of, at, RunCounts(), complete=True,
                   threshold=0.5)


@dataclass
class Loaded:
    store: Store
    in_harvest: dict[str, list[dict[str, Any]]]  # plans read inside the large harvest
    at: datetime  # when the large source was harvested


@contextmanager
def captured(connection: Connection) -> Iterator[list[tuple[str, Any]]]:
    """The SELECT, UPDATE and DELETE statements run on ``connection`` in the block."""
    statements: list[tuple[str, Any]] = []

    def note(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any,
             executemany: bool) -> None:
        if not executemany and statement.lstrip()[:6].upper() in ("SELECT", "UPDATE", "DELETE"):
            statements.append((statement, parameters))

    event.listen(connection, "before_cursor_execute", note)
    try:
        yield statements
    finally:
        event.remove(connection, "before_cursor_execute", note)


def plans(unit: Unit, call: Callable[[Unit], object]) -> list[dict[str, Any]]:
    """``EXPLAIN (FORMAT JSON)`` of each statement ``call`` runs through ``unit``."""
    with captured(unit.connection) as statements:
        call(unit)
    assert statements, "the call ran no query"
    return [unit.connection.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {statement}",
                                            parameters).scalar_one()[0]["Plan"]
            for statement, parameters in statements]


def nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from nodes(child)


def faults(plan: dict[str, Any], *, whole: bool) -> list[str]:
    """What is wrong with ``plan``: a nested loop comparing every pair (join filter, or a
    sequential scan of a large table as its inner side) and, unless the query reads a
    ``whole`` table, a sequential scan of a large table."""
    found = []
    for node in nodes(plan):
        kind = node["Node Type"]
        if kind == "Seq Scan" and node.get("Relation Name") in LARGE_TABLES and not whole:
            found.append(f"Seq Scan on {node['Relation Name']}")
        if kind == "Nested Loop":
            if "Join Filter" in node:
                found.append(f"Nested Loop with Join Filter {node['Join Filter']}")
            inner = node["Plans"][1]
            if any(n["Node Type"] == "Seq Scan" and n.get("Relation Name") in LARGE_TABLES
                   for n in nodes(inner)):
                found.append("Nested Loop over a Seq Scan of a large table")
    return found


def load_checks_and_scores(store: Store) -> None:
    """Scores of every current dataset, the link checks they read, a year of snapshots."""
    with store.read() as unit:
        rows = unit.scores.to_score(unit.scores.stale(every=True))
        urls = {r.dataset_id: r.access_url for r in unit.connection.exec_driver_sql(
            "SELECT dataset_id, access_url FROM distribution")}
    stamp = T0 + timedelta(days=1)
    with store.write() as unit:
        unit.checks.save_links([{"url": url, "status": 200, "content_type": "text/csv",
                                 "final_url": url, "elapsed_s": 0.1, "reachable": True,
                                 "reason": "", "error_code": None, "cause": None,
                                 "last_checked_at": stamp, "last_success_at": stamp,
                                 "first_failure_at": None, "consecutive_failures": 0,
                                 "agency_failure_at": None, "blame": None, "verdict": "ok"}
                                for url in sorted(set(urls.values()))])
        unit.scores.save(
            [{"dataset_id": r.id, "agency_id": r.agency_id, "level": 2, "strong": True,
              "open": True, "api_by_title_only": False, "mqa_points": 200.0,
              "mqa_band": "good", "mqa_unknown_points": 0.0, "content_hash": r.content_hash,
              "details": "{}", "scored_at": stamp, "service_inputs": None} for r in rows],
            [{"dataset_id": r.id, "url": urls[r.id], "status": 200, "content_type": "text/csv",
              "reachable": True} for r in rows])
        for day in range(365):
            at = T0 - timedelta(days=day)
            unit.scores.snapshot([{"id": f"a{a}", "datasets": 10, "api": 1,
                                   "machine_readable": 5, "document_only": 3, "unknown": 1,
                                   "api_share": 0.1, "document_only_share": 0.3,
                                   "api_document_index": 50.0, "mqa_points": 200.0,
                                   "mqa_band": "good"} for a in range(AGENCIES)], None, at)
        # a month of half-hourly runs of each source, and their validations
        unit.connection.exec_driver_sql(
            "INSERT INTO harvest_run (source, started_at, finished_at, status, duration_s, "
            "errors, datasets, distributions, data_services, agencies, added, updated, "
            "unchanged, removed, held_removals, pages) SELECT s, t, t + interval '1 minute', "
            "'ok', 60, '[]', 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 FROM unnest(CAST(%(sources)s AS text[])) s, "
            "generate_series(CAST(%(first)s AS timestamptz), %(last)s, interval '30 minutes') t",
            {"sources": ["riket", *SMALL], "first": T0 - timedelta(days=30), "last": T0})
        unit.connection.exec_driver_sql(
            "INSERT INTO validation_run (source, started_at, finished_at, status, summary) "
            "SELECT source, started_at, finished_at, 'ok', '{}' FROM harvest_run")


def load_queue(store: Store, url: str) -> None:
    """procrastinate's tables holding a month of finished jobs (one per run, with their
    events), a few waiting and running ones, and the schedules of the sources."""
    import procrastinate

    from dcatwatch.queue.app import conninfo

    app = procrastinate.App(connector=procrastinate.SyncPsycopgConnector(conninfo=conninfo(url)))
    with app.open():
        app.schema_manager.apply_schema()
    with store.write() as unit:
        run = unit.connection.exec_driver_sql
        run("INSERT INTO source_schedule (source, schedule, next_run_at) SELECT name, "
            "'*/30 * * * *', %(at)s "
            "FROM source", {"at": T0})
        run("INSERT INTO procrastinate_workers (last_heartbeat) SELECT now() "
            "FROM generate_series(1, 3)")
        run("INSERT INTO procrastinate_jobs (queue_name, task_name, lock, args, status, "
            "scheduled_at, attempts) SELECT 'dcatwatch', t, 'source:' || source, "
            "jsonb_build_object('source', source), 'succeeded', started_at, 1 "
            "FROM harvest_run, unnest(ARRAY['harvest', 'validate']) t")
        run("INSERT INTO procrastinate_jobs (queue_name, task_name, lock, args, status, "
            "scheduled_at, worker_id) SELECT 'dcatwatch', 'harvest', 'source:' || name, '{}', "
            "CAST(CASE WHEN name = 'riket' THEN 'doing' ELSE 'todo' END AS "
            "procrastinate_job_status), %(at)s, CASE WHEN name = 'riket' THEN 1 END FROM source",
            {"at": T0})
        run("INSERT INTO procrastinate_events (job_id, type, at) SELECT id, "
            "CAST(e AS procrastinate_job_event_type), scheduled_at FROM procrastinate_jobs, "
            "unnest(ARRAY['deferred', 'started', 'succeeded']) e")


@pytest.fixture(scope="module")
def loaded() -> Iterator[Loaded]:
    with postgres_database() as url, Store.open(url) as store:
        with store.write() as unit:
            unit.sources.sync([{"name": name, "type": "dcat", "url": f"https://{name}.se/"}
                               for name in ("riket", *SMALL)])
        for n, source in enumerate(SMALL):
            with store.write() as unit:
                harvest(unit, source, entries(source, 300), T0 - timedelta(days=n + 1))
        at = T0
        with store.write() as unit:
            harvest(unit, "riket", entries("riket", BIG), at)
            in_harvest = {"counts": plans(unit, lambda u: u.datasets.counts("riket")),
                          "unlisted": plans(unit, lambda u: u.datasets.unlisted("riket", at))}
        # a second run lists 5 % fewer: removals, and a held one
        with store.write() as unit:
            harvest(unit, "riket", entries("riket", BIG)[: BIG * 95 // 100], at + timedelta(1))
        load_checks_and_scores(store)
        load_queue(store, url)
        with store.write() as unit:
            unit.connection.exec_driver_sql(f"ANALYZE {', '.join(AUTOVACUUMED)}")
        yield Loaded(store, in_harvest, at)


def test_counts_right_after_a_bulk_harvest_are_planned_with_statistics(loaded: Loaded) -> None:
    """The counts a harvest reads in its own transaction after writing 1000s of rows (once a
    nested loop that compared every distribution with every dataset: minutes for 60 000)."""
    for name, found in loaded.in_harvest.items():
        assert [f for plan in found for f in faults(plan, whole=True)] == [], name


SOURCE, AGENCY = SMALL[1], "a3"
# a batch of URLs or ids as small a part of the test's tables (30 000s of rows) as IN_LIST
# (1000) is of a national store's (link_check, dataset_score: 300 000s of rows); a larger
# share is read faster by a sequential scan, and PostgreSQL rightly plans one
BATCH = 100
# the checked URLs: the last distribution's of each dataset (2 of an even-numbered one)
URLS = [f"https://files{n % 97}.example.se/riket/{n}/1.csv" for n in range(0, 2 * BATCH, 2)]
IDS = list(range(1, BATCH + 1))
IRIS = [f"https://riket.example.se/dataset/{n}" for n in range(BATCH)]
SELECTIVE: dict[str, Callable[[Unit], object]] = {
    "datasets.counts": lambda u: u.datasets.counts(SOURCE),
    "datasets.unlisted": lambda u: u.datasets.unlisted(SOURCE, T0),
    "datasets.existing": lambda u: u.datasets.existing("riket", IRIS),
    "datasets.has_current": lambda u: u.datasets.has_current(SOURCE),
    "datasets.any_held": lambda u: u.datasets.any_held("riket"),
    "datasets.held_since": lambda u: u.datasets.held_since(SOURCE),
    "datasets.count_current": lambda u: u.datasets.count_current(SOURCE),
    "datasets.current_descriptions": lambda u: u.datasets.current_descriptions(
        SOURCE, after=0, limit=500),
    "datasets.current_descriptions (every source, a batch)":
        lambda u: u.datasets.current_descriptions(after=1000, limit=500),
    "datasets.runs_missing_since": lambda u: u.datasets.runs_missing_since(
        SOURCE, [T0 - timedelta(days=2)]),
    "datasets.unattributed (scrape)": lambda u: u.datasets.unattributed(),
    "datasets.held_removals (scrape)": lambda u: u.datasets.held_removals(),
    "datasets.listing": lambda u: u.datasets.listing(agency=AGENCY, source=SOURCE),
    "datasets.descriptions": lambda u: u.datasets.descriptions(IDS),
    "scores.current_of_agency": lambda u: u.scores.current_of_agency(AGENCY),
    "scores.to_score": lambda u: u.scores.to_score(IDS),
    "scores.details": lambda u: u.scores.details(IDS),
    "scores.read_no_services": lambda u: u.scores.read_no_services(IRIS),
    "scores.of_dataset": lambda u: u.scores.of_dataset("https://riket.example.se/dataset/5"),
    "scores.latest_snapshot": lambda u: u.scores.latest_snapshot(AGENCY),
    "scores.snapshot_before": lambda u: u.scores.snapshot_before(AGENCY, T0),
    "scores.agency_snapshot (scrape)": lambda u: u.scores.agency_snapshot(T0),
    "scores.latest_national (scrape)": lambda u: u.scores.latest_national(),
    "checks.recent_links (due link checks)": lambda u: u.checks.recent_links(
        URLS, T0, T0 - timedelta(hours=6)),
    "checks.link_infos": lambda u: u.checks.link_infos(URLS),
    "checks.link_histories": lambda u: u.checks.link_histories(URLS),
    "checks.history": lambda u: u.checks.history(URLS),
    "checks.unreachable": lambda u: u.checks.unreachable(URLS, ["fetch.timeout"]),
    "datasets.current_of_agencies (coverage)": lambda u: u.datasets.current_of_agencies(
        [AGENCY, "a7"]),
    "runs.running": lambda u: u.runs.running(SOURCE),
    "runs.recover_interrupted": lambda u: u.runs.recover_interrupted(T0, {}),
    "checks.recover_interrupted": lambda u: u.checks.recover_interrupted(T0),
    "runs.latest_of_catalogues": lambda u: u.runs.latest_of_catalogues(AGENCY),
    "services.count": lambda u: u.services.count(SOURCE),
    "queue.claim_due": lambda u: u.queue.claim_due(T0, lambda _: T0 + timedelta(hours=1)),
    "queue.stamp_harvest": lambda u: u.queue.stamp_harvest(SOURCE, "w-1", T0, T0),
    "queue.mark_interrupted": lambda u: u.queue.mark_interrupted(SOURCE, T0),
    "queue.stamp_validations": lambda u: u.queue.stamp_validations(
        u.queue.last_validation_id() - 5, "w-1", T0),
    "queue.queue_depth (scrape)": lambda u: u.queue.queue_depth(),
    "queue.stalled_jobs (scrape)": lambda u: u.queue.stalled_jobs(60),
    "queue.list_runs (a source, a day)": lambda u: u.queue.list_runs(
        SOURCE, since=T0 - timedelta(days=1)),
}
WHOLE: dict[str, Callable[[Unit], object]] = {  # they read every current dataset
    "datasets.counts (the large source)": lambda u: u.datasets.counts("riket"),
    "datasets.unlisted (the large source)": lambda u: u.datasets.unlisted("riket", T0),
    "scores.stale": lambda u: u.scores.stale(),
    "scores.copies": lambda u: u.scores.copies(),
    "scores.service_inputs": lambda u: u.scores.service_inputs(),
}


@pytest.mark.parametrize("name", sorted(SELECTIVE))
def test_a_hot_query_reading_a_part_uses_indexes(loaded: Loaded, name: str) -> None:
    with loaded.store.read() as unit, unit.connection.begin_nested() as writes:
        found = plans(unit, SELECTIVE[name])
        writes.rollback()  # what the queue's claims and stamps wrote
    assert [f for plan in found for f in faults(plan, whole=False)] == [], found


@pytest.mark.parametrize("name", sorted(WHOLE))
def test_a_hot_query_reading_everything_joins_without_nested_loops(loaded: Loaded,
                                                                  name: str) -> None:
    with loaded.store.read() as unit:
        found = plans(unit, WHOLE[name])
    assert [f for plan in found for f in faults(plan, whole=True)] == [], found


def test_the_checks_catch_a_degraded_plan(loaded: Loaded) -> None:
    """Without its indexes the planner must scan: the check sees it (it can fail)."""
    with loaded.store.read() as unit:
        unit.connection.exec_driver_sql("SET LOCAL enable_indexscan = off")
        unit.connection.exec_driver_sql("SET LOCAL enable_bitmapscan = off")
        unit.connection.exec_driver_sql("SET LOCAL enable_hashjoin = off")
        unit.connection.exec_driver_sql("SET LOCAL enable_mergejoin = off")
        found = plans(unit, SELECTIVE["datasets.counts"])
    assert "Seq Scan on dataset" in [f for plan in found for f in faults(plan, whole=False)]
    assert any("Nested Loop" in f for plan in found for f in faults(plan, whole=True))


def test_statements_are_planned_for_their_values(loaded: Loaded) -> None:
    """psycopg prepares a statement run five times on a connection, and PostgreSQL soon runs
    a prepared one from a generic plan made for any source: change detection, run once per
    batch, then filtered every row of a large source (a retried 60 000-dataset harvest took
    minutes). The store's connections prepare nothing."""
    with loaded.store.read() as unit:
        for _ in range(8):
            unit.datasets.existing("riket", IRIS)
        prepared = unit.connection.exec_driver_sql(
            "SELECT count(*) FROM pg_prepared_statements").scalar()
    assert prepared == 0
