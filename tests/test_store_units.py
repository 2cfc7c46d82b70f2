"""The store's units of work: URLs, transactions, timestamps, the row shapes the harvest
writes, and where the per-source lock lives."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import insert, select, text

from dcatwatch.errors import ConfigError, DcatwatchError
from dcatwatch.store import locks
from dcatwatch.store.core import Store
from dcatwatch.store.db import HEAD, current_revision
from dcatwatch.store.models import HarvestRun
from dcatwatch.store.runs import RunCounts, RunResult
from dcatwatch.store.tables import RUNS, SOURCES


def test_sqlite_urls_open_relative_and_absolute_paths(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for url, path in ((f"sqlite:///{tmp_path}/abs.db", tmp_path / "abs.db"),
                      ("sqlite:///rel.db", tmp_path / "rel.db")):
        with Store.open(url) as store:
            assert current_revision(store.engine) == HEAD
        assert path.exists()


def test_an_unsupported_url_names_the_key() -> None:
    with pytest.raises(ConfigError) as caught:
        Store.open("mysql://localhost/x")
    assert caught.value.key == "database.url"
    assert "mysql://" in str(caught.value)


def test_a_failed_unit_leaves_nothing(tmp_path: Path) -> None:
    with Store.open(f"sqlite:///{tmp_path}/s.db") as store:
        row = {"name": "s", "type": "dcat", "url": "http://x/"}
        with pytest.raises(RuntimeError), store.write() as unit:
            unit.connection.execute(insert(SOURCES), [row])
            raise RuntimeError("the run broke")
        with store.write() as unit:
            unit.connection.execute(insert(SOURCES), [row, {**row, "name": "t"}])
        with store.read() as unit:
            names = unit.connection.execute(text("SELECT name FROM source ORDER BY name")).all()
    assert names == [("s",), ("t",)]


def test_timestamps_written_by_a_repository_read_back(database_url: str) -> None:
    moment = datetime(2026, 11, 22, 8, 30, 0, 0, tzinfo=UTC)  # no microseconds: the edge case
    with Store.open(database_url) as store:
        with store.write() as unit:
            unit.sources.sync([{"name": "s", "type": "dcat", "url": "http://x/",
                                "schedule": "0 5 * * *", "enabled": True}])
            unit.sources.record_outcome("s", "ok", 0, moment)
        with store.read() as unit:
            stored = unit.connection.execute(
                select(SOURCES.c.last_success_at, SOURCES.c.enabled)).one()
    assert stored.last_success_at.replace(tzinfo=UTC) == moment
    assert stored.enabled is True


def test_the_run_counts_are_columns_of_harvest_run() -> None:
    columns = HarvestRun.__table__.c  # type: ignore[attr-defined]
    for name in RunCounts.model_fields:
        assert name in columns, name
        assert columns[name].type.python_type is int


def test_the_sqlite_lock_file_is_not_beside_the_database(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runtime = tmp_path / "run"
    runtime.mkdir()
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    repo = tmp_path / "repo"
    repo.mkdir()
    with Store.open(f"sqlite:///{repo}/dcatwatch.db") as store:
        with locks.source_lock(store.engine, "exempel") as held:
            assert held
            with locks.source_lock(store.engine, "exempel") as again:
                assert not again  # flock: a second open file description is refused
            with locks.source_lock(store.engine, "annan") as other:
                assert other
        assert not [name for name in os.listdir(repo) if "lock" in name]
    assert len(list((runtime / "dcatwatch-locks").iterdir())) == 2
    # the same file by another path is the same lock
    link = tmp_path / "link"
    link.symlink_to(repo)
    assert locks.lock_path(f"{link}/dcatwatch.db", "exempel") == \
        locks.lock_path(f"{repo}/dcatwatch.db", "exempel")


def test_a_run_stores_its_errors_as_json_with_a_dataset_only_when_named(
        database_url: str) -> None:
    moment = datetime(2026, 11, 22, 8, 30, tzinfo=UTC)
    errors = [DcatwatchError("page.cap", "stopped", "http://x/"),
              DcatwatchError("record.invalid", "no title", "http://x/",
                             dataset="http://x/d/1")]
    with Store.open(database_url) as store:
        with store.write() as unit:
            run_id = unit.runs.start("s", moment)
            unit.runs.finish(run_id, RunResult("s", "partial", RunCounts(pages=1),
                                               errors=errors), moment)
        with store.read() as unit:
            stored = unit.connection.execute(select(RUNS.c.status, RUNS.c.pages, RUNS.c.errors)
                                             .where(RUNS.c.id == run_id)).one()
    assert (stored.status, stored.pages) == ("partial", 1)
    assert json.loads(stored.errors) == [
        {"code": "page.cap", "message": "stopped", "url": "http://x/"},
        {"code": "record.invalid", "message": "no title", "url": "http://x/",
         "dataset": "http://x/d/1"}]
