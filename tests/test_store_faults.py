"""A database that cannot be used (read-only, full, locked, another schema) is one line
naming the file or server and what to do, exit status 1, from every command; no traceback."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from dcatwatch.errors import StoreFault
from dcatwatch.store import db
from tests.conftest import FIXTURES, POSTGRES_ADMIN_URL, postgres_database
from tests.helpers import run, write_config
from tests.servers import LoopbackServer

CATALOG = (FIXTURES / "agency-catalog.ttl").read_bytes()


def dcatwatch(config: Path, *args: str, prefix: tuple[str, ...] = ()
              ) -> subprocess.CompletedProcess[str]:
    """``python -m dcatwatch --config CONFIG ARGS`` as a real process (after ``prefix``)."""
    return subprocess.run([*prefix, sys.executable, "-m", "dcatwatch", "--config", str(config),
                           *args], capture_output=True, text=True, timeout=120)


def _one_line(done: subprocess.CompletedProcess[str], code: str) -> str:
    assert done.returncode == 1, (done.stderr, done.stdout, done.args)
    assert "Traceback" not in done.stderr
    line = done.stderr.strip()
    assert "\n" not in line, line
    assert line.startswith(f"dcatwatch: {code}: "), line
    return line


def _source(server: LoopbackServer) -> dict[str, str]:
    server.route("/c.ttl", CATALOG, content_type="text/turtle")
    return {"name": "src", "type": "dcat", "url": server.url("/c.ttl")}


def _harvested(server: LoopbackServer, directory: Path) -> Path:
    """A SQLite file in ``directory`` holding one harvest of a source."""
    config = write_config(directory, [_source(server)])
    assert run("--config", str(config), "harvest")[0] == 0
    return directory / "dcatwatch.db"


@pytest.mark.parametrize("command", [("harvest",), ("scores", "--snapshot"),
                                     ("harvest", "--confirm-removals", "src")])
def test_read_only_sqlite_file_is_one_line(server: LoopbackServer, tmp_path: Path,
                                           command: tuple[str, ...]) -> None:
    database = _harvested(server, tmp_path)
    readonly = tmp_path / "ro"
    readonly.mkdir()
    config = write_config(readonly, [_source(server)],
                          database=f"sqlite:///file:{database}?mode=ro&uri=true")
    line = _one_line(dcatwatch(config, *command), "store.read_only")
    assert f"the database file {database} is read-only" in line
    assert "make the file and its directory writable" in line


def test_read_only_mount_is_one_line(server: LoopbackServer, tmp_path: Path) -> None:
    """A real read-only file system: a read-only bind mount in a private mount namespace."""
    unshare = shutil.which("unshare")
    if unshare is None or os.geteuid() != 0:
        pytest.skip("needs root and unshare(1) for a read-only bind mount")
    store = tmp_path / "store"
    store.mkdir()
    database = _harvested(server, store)
    probe = subprocess.run([unshare, "-m", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"unshare -m not permitted here: {probe.stderr.decode().strip()}")
    mount = f"mount --bind {store} {store} && mount -o remount,bind,ro {store} && exec \"$@\""
    config = write_config(tmp_path, [_source(server)], database=f"sqlite:///{database}")
    for command in (("harvest",), ("scores", "--snapshot")):
        done = dcatwatch(config, *command, prefix=(unshare, "-m", "sh", "-c", mount, "sh"))
        line = _one_line(done, "store.read_only")
        assert f"the database file {database} is read-only" in line
    assert os.access(database, os.W_OK)  # the mount was private to those processes


def test_full_disk_is_one_line(server: LoopbackServer, tmp_path: Path) -> None:
    """A real full file system: a tiny tmpfs in a private mount namespace."""
    unshare = shutil.which("unshare")
    if unshare is None or os.geteuid() != 0:
        pytest.skip("needs root and unshare(1) for a small tmpfs")
    small = tmp_path / "small"
    small.mkdir()
    config = write_config(tmp_path, [_source(server)], database=f"sqlite:///{small}/x.db")
    script = (f"mount -t tmpfs -o size=1m tmpfs {small} && \"$@\" db upgrade >/dev/null && "
              f"(head -c 4m /dev/zero > {small}/filler 2>/dev/null; true) && \"$@\" harvest")
    done = subprocess.run([unshare, "-m", "sh", "-c", script, "sh", sys.executable, "-m",
                           "dcatwatch", "--config", str(config)],
                          capture_output=True, text=True, timeout=120)
    if "mount:" in done.stderr:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    line = _one_line(done, "store.full")
    assert f"the database file {small}/x.db cannot grow: the disk or quota is full" in line
    assert "free space there" in line


def test_sqlite_faults_are_classified_from_real_driver_errors(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/f.db"
    engine = db.open_store(url)
    # full: SQLite's page cap is the same SQLITE_FULL a full disk gives
    with engine.begin() as connection, pytest.raises(OperationalError) as raised:
        connection.exec_driver_sql("PRAGMA max_page_count = 1")
        connection.exec_driver_sql("CREATE TABLE filler (x TEXT)")
        connection.exec_driver_sql("INSERT INTO filler VALUES (hex(randomblob(100000)))")
    fault = db.fault_of(raised.value)
    assert fault is not None and fault.code == "store.full"
    assert f"the database file {tmp_path}/f.db cannot grow" in fault.message
    engine.dispose()
    # locked: another connection holds the write lock past the busy timeout
    holder = sqlite3.connect(tmp_path / "f.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # the write lock, held
    waiter = create_engine(url, connect_args={"timeout": 0.1})
    with waiter.connect() as connection, pytest.raises(OperationalError) as raised:
        connection.exec_driver_sql("INSERT INTO alembic_version VALUES ('x')")
    holder.rollback()
    holder.close()
    waiter.dispose()
    fault = db.store_fault(raised.value, url)
    assert fault is not None and fault.code == "store.locked"
    assert "stayed locked past the busy timeout (database is locked)" in fault.message
    assert "wait for it, then run again" in fault.message
    # anything else is not a store fault (a bug keeps its traceback)
    assert db.store_fault(ValueError("x"), url) is None


@pytest.mark.parametrize(("revision", "says"), [
    ("0001", "but this dcatwatch needs {head}: run `dcatwatch db upgrade` first"),
    ("9999", "newer than this dcatwatch knows ({head}): run the dcatwatch version"),
])
def test_another_schema_is_one_line(tmp_path: Path, revision: str, says: str) -> None:
    config = write_config(tmp_path, [])
    assert run("--config", str(config), "db", "upgrade")[0] == 0
    engine = create_engine(f"sqlite:///{tmp_path}/dcatwatch.db")
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = :r"), {"r": revision})
    engine.dispose()
    for command in (("harvest",), ("scores",), ("coverage",)):
        status, out, err = run("--config", str(config), *command)
        assert (status, out) == (1, "")
        line = err.strip()
        assert "\n" not in line and line.startswith("dcatwatch: store.schema: ")
        assert f"the database file {tmp_path}/dcatwatch.db is at {revision}" in line
        assert says.format(head=db.HEAD) in line


def test_read_only_postgresql_is_one_line(server: LoopbackServer, tmp_path: Path) -> None:
    if not POSTGRES_ADMIN_URL:
        pytest.skip("no PostgreSQL: export DCATWATCH_TEST_POSTGRES_URL")
    with postgres_database() as url:
        config = write_config(tmp_path, [_source(server)], database=url)
        assert run("--config", str(config), "db", "upgrade")[0] == 0
        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        name = engine.url.database
        with engine.connect() as connection:  # as a hot standby answers writes
            connection.execute(text(f'ALTER DATABASE "{name}" SET '
                                    "default_transaction_read_only = on"))
        engine.dispose()
        done = dcatwatch(config, "harvest")
        line = _one_line(done, "store.read_only")
        assert "connect to the primary server, as a user that may write" in line
        assert "the database postgresql" in line


def test_store_fault_is_a_dcatwatch_error() -> None:
    fault = StoreFault("store.locked", "m")
    assert fault.to_dict() == {"code": "store.locked", "message": "m", "url": None}
    assert "wait for it to finish" in fault.hint


def test_a_run_the_store_refuses_to_record_is_the_store_fault(server: LoopbackServer,
                                                               tmp_path: Path) -> None:
    """Not a failed harvest of the source (which the daemon would retry an hour later) but
    the store's fault, which the daemon retries as soon as the store is back."""
    from dcatwatch.config import load
    from dcatwatch.harvester.run import harvest_source
    from dcatwatch.http.client import HttpClient
    from dcatwatch.store.core import Store, StoreError

    database = _harvested(server, tmp_path)
    (tmp_path / "ro").mkdir()
    config = write_config(tmp_path / "ro", [_source(server)],
                          database=f"sqlite:///file:{database}?mode=ro&uri=true")
    settings = load(config)
    store = Store(db.make_engine(settings.database.url))
    with HttpClient(settings.http) as client, pytest.raises(StoreError) as refused:
        harvest_source(store, settings, settings.sources[0], client)
    fault = db.fault_of(refused.value)
    assert fault is not None and fault.code == "store.read_only"
