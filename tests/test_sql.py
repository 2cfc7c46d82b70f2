"""The harvest's DB-API path into the store: URLs, transactions, timestamps as SQLAlchemy
reads them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from dcatwatch.errors import ConfigError
from dcatwatch.store import sql
from dcatwatch.store.db import open_store
from dcatwatch.store.tables import SOURCES


def test_sqlite_urls_open_relative_and_absolute_paths(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for url, path in ((f"sqlite:///{tmp_path}/abs.db", tmp_path / "abs.db"),
                      ("sqlite:///rel.db", tmp_path / "rel.db")):
        with sql.connect(url) as store:
            store.execute("CREATE TABLE t (x INTEGER)")
        assert path.exists()


def test_an_unsupported_url_names_the_key() -> None:
    with pytest.raises(ConfigError) as caught:
        sql.connect("mysql://localhost/x")
    assert caught.value.key == "database.url"
    assert "mysql://" in str(caught.value)


def test_a_failed_transaction_leaves_nothing_and_a_missing_schema_has_no_revision(
        tmp_path: Path) -> None:
    with sql.connect(f"sqlite:///{tmp_path}/s.db") as store:
        assert store.revision() is None
        store.execute("CREATE TABLE t (x INTEGER)")
        with pytest.raises(RuntimeError), store.transaction():
            store.execute("INSERT INTO t VALUES (1)")
            raise RuntimeError("the run broke")
        with store.transaction():
            store.executemany("INSERT INTO t VALUES (?)", [(2,), (3,)])
        assert store.all("SELECT x FROM t ORDER BY x") == [(2,), (3,)]


def test_timestamps_written_by_the_driver_read_back_through_sqlalchemy(
        database_url: str) -> None:
    url = database_url
    engine = open_store(url)
    moment = datetime(2026, 11, 22, 8, 30, 0, 0, tzinfo=UTC)  # no microseconds: the edge case
    with sql.connect(url) as store:
        assert store.revision() == sql.HEAD
        with store.transaction():
            store.execute("INSERT INTO source (name, type, url, schedule, enabled, datasets, "
                          "last_success_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                          ("s", "dcat", "http://x/", "0 5 * * *", True, 0,
                           store.time(moment)))
    with engine.connect() as conn:
        stored = conn.execute(select(SOURCES.c.last_success_at, SOURCES.c.enabled)).one()
    engine.dispose()
    assert stored.last_success_at.replace(tzinfo=UTC) == moment
    assert stored.enabled is True
