"""Held removals need time or a person: an emptied catalogue's datasets are removed only
after [harvest] removal_hold_hours across at least 3 successful runs, or when an operator
runs `harvest --confirm-removals`."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from prometheus_client import generate_latest

from dcatwatch.harvester.apply import HOLD_RUNS, removal_hold
from dcatwatch.metrics import StoreCollector, new_registry
from dcatwatch.store.core import Store
from tests.conftest import FIXTURES
from tests.helpers import harvest_json, run, sql, write_config
from tests.servers import LoopbackServer

CATALOG = (FIXTURES / "agency-catalog.ttl").read_bytes()
EMPTY = b"""@prefix dcat: <http://www.w3.org/ns/dcat#> . @prefix dct: <http://purl.org/dc/terms/> .
<https://data.example.se/catalog> a dcat:Catalog ; dct:title "Tom"@sv ."""
NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def _emptied(server: LoopbackServer, tmp_path: Path, database: str | None = None,
             hours: float | None = None) -> Path:
    """A source with 3 harvested datasets whose catalogue is now empty."""
    server.route("/c.ttl", CATALOG, content_type="text/turtle")
    harvest = {} if hours is None else {"harvest": {"removal_hold_hours": hours}}
    config = write_config(tmp_path, [{"name": "src", "type": "dcat", "url": server.url("/c.ttl")}],
                          database=database, **harvest)
    status, [first] = harvest_json(config)
    assert (status, first["datasets"]) == (0, 3)
    server.route("/c.ttl", EMPTY, content_type="text/turtle")
    return config


def _held_metric(database: str) -> str:
    """The ``dcatwatch_source_held_removals`` line of a fresh scrape of the store."""
    registry = new_registry()
    with Store.open(database) as store:
        registry.register(StoreCollector(store))
        text = generate_latest(registry).decode()
    [line] = [line for line in text.splitlines()
              if line.startswith('dcatwatch_source_held_removals{source="src"}')]
    return line


def _counts(result: dict) -> tuple[int, int, int]:
    return result["removed"], result["held_removals"], result["datasets"]


def _held_error(result: dict) -> dict:
    [error] = [e for e in result["errors"] if e["code"] == "run.held_removals"]
    return error


def test_quick_harvests_of_an_emptied_catalogue_remove_nothing(
        server: LoopbackServer, tmp_path: Path, database_url: str) -> None:
    config = _emptied(server, tmp_path, database_url)  # default: 72 hours
    before = datetime.now(UTC)
    for number in range(1, 5):  # more runs than HOLD_RUNS, seconds apart
        status, [result] = harvest_json(config)
        assert (status, result["status"]) == (0, "ok")
        assert _counts(result) == (0, 3, 3), number
        due = datetime.fromisoformat(result["removals_due_at"])
        assert timedelta(hours=71.9) < due - before < timedelta(hours=72.1)
        message = _held_error(result)["message"]
        assert f"{due:%Y-%m-%d %H:%M} UTC" in message
        assert "`dcatwatch harvest --confirm-removals src` removes them now" in message
        assert f"{number} successful run" in message
    assert sql(config, "SELECT count(*) FROM dataset WHERE removed_at IS NULL") == [(3,)]
    assert _held_metric(database_url).endswith(" 3.0")  # operators see them in /metrics
    # the operator decides: removed at once
    status, out, err = run("--config", str(config), "harvest", "--confirm-removals", "src")
    assert (status, err) == (0, "") and "3 held datasets removed" in out
    assert sql(config, "SELECT count(*) FROM dataset WHERE removed_at IS NULL") == [(0,)]
    _, [after] = harvest_json(config)
    assert _counts(after) == (0, 0, 0) and after["removals_due_at"] is None
    assert _held_metric(database_url).endswith(" 0.0")


def test_removals_apply_after_the_hold_time_and_three_runs(
        server: LoopbackServer, tmp_path: Path, database_url: str) -> None:
    hours = 1.5 / 3600  # 1.5 seconds
    config = _emptied(server, tmp_path, database_url, hours)
    _, [first] = harvest_json(config)
    assert _counts(first) == (0, 3, 3)
    time.sleep(1.7)  # the hold time has passed, but only the 2nd run misses them
    _, [second] = harvest_json(config)
    assert _counts(second) == (0, 3, 3)
    assert "after 1 more successful run that miss them" in _held_error(second)["message"]
    _, [third] = harvest_json(config)
    assert _counts(third) == (3, 0, 0)
    assert third["removals_due_at"] is None
    assert not [e for e in third["errors"] if e["code"] == "run.held_removals"]


def test_three_quick_runs_wait_for_the_hold_time(server: LoopbackServer, tmp_path: Path) -> None:
    config = _emptied(server, tmp_path, hours=5.0 / 3600)
    results = [harvest_json(config)[1][0] for _ in range(3)]
    due = datetime.fromisoformat(results[0]["removals_due_at"])
    assert datetime.now(UTC) < due, "the runs took longer than the hold time"
    assert [_counts(r) for r in results] == [(0, 3, 3)] * 3  # 3 runs, but within 5 seconds
    assert {r["removals_due_at"] for r in results} == {results[0]["removals_due_at"]}
    time.sleep(max((due - datetime.now(UTC)).total_seconds(), 0) + 1.2)  # whole seconds
    _, [fourth] = harvest_json(config)
    assert _counts(fourth) == (3, 0, 0)


def test_a_catalogue_that_comes_back_restarts_the_hold(server: LoopbackServer,
                                                       tmp_path: Path) -> None:
    config = _emptied(server, tmp_path, hours=0)
    harvest_json(config)
    harvest_json(config)  # two runs missed them …
    server.route("/c.ttl", CATALOG, content_type="text/turtle")
    _, [back] = harvest_json(config)  # … then the catalogue lists them again
    assert _counts(back) == (0, 0, 3)
    assert sql(config, "SELECT count(*) FROM dataset WHERE removal_held_at IS NOT NULL") == [(0,)]
    server.route("/c.ttl", EMPTY, content_type="text/turtle")
    for _ in range(HOLD_RUNS - 1):  # the earlier misses no longer count
        _, [result] = harvest_json(config)
        assert _counts(result) == (0, 3, 3)
    _, [last] = harvest_json(config)
    assert _counts(last) == (3, 0, 0)


def test_the_rule_is_one_pure_function() -> None:
    hours = 72.0
    assert removal_hold(False, None, 1, NOW, hours) is None  # the guard did not trip
    assert removal_hold(False, NOW - timedelta(hours=1), 2, NOW, hours) is None
    # newly held: due after the hold time from now
    assert removal_hold(True, None, 1, NOW, hours) == NOW + timedelta(hours=72)
    since = NOW - timedelta(hours=80)
    assert removal_hold(True, since, HOLD_RUNS, NOW, hours) is None
    assert removal_hold(True, since, HOLD_RUNS - 1, NOW, hours) == since + timedelta(hours=72)
    recent = NOW - timedelta(hours=10)
    assert removal_hold(True, recent, 10, NOW, hours) == recent + timedelta(hours=72)
    # SQLite gives times back without a zone: read as UTC
    naive = since.replace(tzinfo=None)
    assert removal_hold(True, naive, HOLD_RUNS, NOW, hours) is None
    assert removal_hold(True, naive, 1, NOW, hours) == since + timedelta(hours=72)
    # no hold time: still HOLD_RUNS runs
    assert removal_hold(True, NOW, HOLD_RUNS - 1, NOW, 0) == NOW
    assert removal_hold(True, NOW, HOLD_RUNS, NOW, 0) is None
