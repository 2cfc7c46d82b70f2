"""A PostgreSQL outage does not strand a run: a real `dcatwatch serve` on a throwaway
PostgreSQL server that the test stops mid-harvest and mid-validation and starts again.
While it is down /metrics answers and /readyz fails; when it is back, no run stays
`running`, the interrupted run is marked failed, and the work is done again within the
retry interval."""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.exc import DBAPIError

from tests.conftest import FIXTURES
from tests.helpers import sql, write_config
from tests.servers import LoopbackServer, Stalling
from tests.test_daemon import Daemon, daemons, free_port, value  # noqa: F401 - fixture
from tests.test_daemon_pool import AGENCY, LinkHost, catalogue, link_host  # noqa: F401

CATALOG = (FIXTURES / "agency-catalog.ttl").read_text(encoding="utf-8")
RETRY = 3.0  # [daemon] retry_failed_after in these tests


class ThrowawayPostgres:
    """A PostgreSQL server of its own (Debian's binaries, as scripts/test-postgres.sh),
    on a free port with a data directory under /tmp, that a test may stop and start."""

    def __init__(self) -> None:
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not found:
            pytest.skip("PostgreSQL server binaries (/usr/lib/postgresql/*/bin) not installed")
        self.bin = Path(found[-1]).parent
        self.port = free_port()
        self.data = Path(tempfile.mkdtemp(prefix="dcatwatch-outage-pg-"))
        if os.getuid() == 0:
            shutil.chown(self.data, "postgres")
        self._as_postgres(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres",
                          "-A", "trust")
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _as_postgres(self, *command: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []
        result = subprocess.run([*prefix, *command], capture_output=True, text=True,
                                timeout=120, check=False)
        if result.returncode:
            pytest.skip(f"cannot run a throwaway PostgreSQL: {result.stderr.strip()[-300:]}")

    def start(self) -> None:
        self._as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l",
                          str(self.data / "server.log"), "-w", "-o",
                          f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 "
                          "-c fsync=off", "start")

    def stop(self) -> None:
        self._as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.data), "-w", "-m", "fast",
                          "stop")

    def remove(self) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []
        subprocess.run([*prefix, str(self.bin / "pg_ctl"), "-D", str(self.data), "-m",
                        "immediate", "stop"], capture_output=True, timeout=60, check=False)
        shutil.rmtree(self.data, ignore_errors=True)


@pytest.fixture
def postgres() -> Iterator[ThrowawayPostgres]:
    server = ThrowawayPostgres()
    try:
        server.start()
        yield server
    finally:
        server.remove()


def rows(config: Path, query: str) -> list[tuple] | None:
    """The rows, or None while the database cannot answer (down, or not created yet)."""
    try:
        return sql(config, query)
    except DBAPIError:
        return None


def wait_rows(config: Path, query: str, expected: list[tuple], daemon: Daemon,
              timeout: float = 60) -> float:
    """Wait until ``query`` gives ``expected``; the seconds it took."""
    started = time.monotonic()
    while (found := rows(config, query)) != expected:
        assert time.monotonic() - started < timeout, f"{found}\n{daemon.output()}"
        time.sleep(0.2)
    return time.monotonic() - started


def wait_not_ready(daemon: Daemon, timeout: float = 30, reason: str = "") -> str:
    """Wait until /readyz fails (saying ``reason``, when given); its body. /metrics answers
    all along."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            status, _, body = daemon.get("/readyz")
        except OSError:  # not listening yet
            status, body = 0, ""
        if status == 503 and reason in body:
            break
        assert time.monotonic() < deadline, daemon.output()
        time.sleep(0.2)
    assert daemon.get("/metrics")[0] == 200
    return body


@pytest.mark.slow
def test_postgres_stopped_mid_harvest(server: LoopbackServer, postgres: ThrowawayPostgres,
                                      tmp_path: Path, daemons: list[Daemon]) -> None:
    stalling = Stalling(CATALOG.encode())
    server.handle("/catalog.ttl", stalling)
    port = free_port()
    config = write_config(
        tmp_path, [{"name": "exempel", "type": "dcat", "url": server.url("/catalog.ttl")}],
        database=postgres.url, server={"host": "127.0.0.1", "port": port},
        daemon={"retry_failed_after": RETRY})
    daemon = Daemon(config, port)
    daemons.append(daemon)
    assert stalling.started.wait(60), daemon.output()
    wait_rows(config, "SELECT status FROM harvest_run", [("running",)], daemon)

    postgres.stop()
    stalling.released.set()  # the harvest ends while the store is down
    body = wait_not_ready(daemon)
    assert body.startswith("not ready: store ")  # unreachable, or not writable
    deadline = time.monotonic() + 30
    while "harvest could not record its end" not in daemon.output():
        assert time.monotonic() < deadline, daemon.output()
        time.sleep(0.2)
    assert "cannot be written" in daemon.output() and postgres.url.split("@")[1] in \
        daemon.output()  # the log line names the database (no password in this URL)
    server.route("/catalog.ttl", CATALOG.encode(), content_type="text/turtle")

    postgres.start()
    took = wait_rows(config, "SELECT status FROM harvest_run ORDER BY id",
                     [("failed",), ("ok",)], daemon)
    assert took < RETRY + 10, f"retried {took:.1f} s after the store came back"
    errors = json.loads(sql(config, "SELECT errors FROM harvest_run ORDER BY id")[0][0])
    assert "interrupted" in errors[0]["message"]
    samples = daemon.wait_for(lambda s: value(s, "dcatwatch_source_datasets",
                                              source="exempel") == 3)
    assert value(samples, "dcatwatch_runs_interrupted_total", kind="harvest") == 1
    assert sql(config, "SELECT count(*) FROM dataset WHERE removed_at IS NULL") == [(3,)]
    deadline = time.monotonic() + 15
    while daemon.get("/readyz")[0] != 200:
        assert time.monotonic() < deadline, daemon.output()
        time.sleep(0.2)
    assert daemon.stop()[0] == 0, daemon.output()
    assert sql(config, "SELECT count(*) FROM harvest_run WHERE status = 'running'") == [(0,)]
    assert sql(config, "SELECT count(*) FROM validation_run WHERE status = 'running'") == \
        [(0,)]


@pytest.mark.slow
def test_postgres_stopped_mid_validation(server: LoopbackServer, link_host: LinkHost,
                                         postgres: ThrowawayPostgres, tmp_path: Path,
                                         daemons: list[Daemon]) -> None:
    datasets = 20
    server.route("/catalog.ttl", catalogue(link_host.base, datasets),
                 content_type="text/turtle")
    port = free_port()
    config = write_config(
        tmp_path, [{"name": "stor", "type": "dcat", "url": server.url("/catalog.ttl")}],
        agencies=[{"id": AGENCY, "name": "Skatteverket"}], database=postgres.url,
        server={"host": "127.0.0.1", "port": port}, validation={"link_timeout": 10},
        daemon={"retry_failed_after": RETRY})
    daemon = Daemon(config, port)
    daemons.append(daemon)
    wait_rows(config, "SELECT status FROM validation_run", [("running",)], daemon)
    deadline = time.monotonic() + 30
    while not link_host.hits:  # checking links now
        assert time.monotonic() < deadline, daemon.output()
        time.sleep(0.1)

    postgres.stop()
    link_host.fast.set()  # the checks end, and their writes fail
    wait_not_ready(daemon)
    deadline = time.monotonic() + 30
    while "validation interrupted" not in daemon.output():
        assert time.monotonic() < deadline, daemon.output()
        time.sleep(0.2)

    postgres.start()
    took = wait_rows(config, "SELECT status FROM validation_run ORDER BY id",
                     [("failed",), ("ok",)], daemon)
    assert took < RETRY + 10, f"validated again {took:.1f} s after the store came back"
    summary = json.loads(sql(config, "SELECT summary FROM validation_run ORDER BY id")[0][0])
    assert "interrupted" in summary["error"]["message"]
    assert sql(config, "SELECT count(*) FROM link_check WHERE reachable") == [(datasets,)]
    assert sql(config, "SELECT status FROM harvest_run") == [("ok",)]  # nothing else lost
    samples = daemon.wait_for(
        lambda s: value(s, "dcatwatch_runs_interrupted_total", kind="validation") == 1)
    assert sum(v for (name, labels), v in samples.items()
               if name == "dcatwatch_agency_datasets") == datasets
    assert daemon.stop()[0] == 0, daemon.output()


def admin(url: str, *statements: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            for statement in statements:
                connection.execute(text(statement))
    finally:
        engine.dispose()


@pytest.mark.slow
def test_read_only_postgres_fails_readiness_then_recovers(
        server: LoopbackServer, postgres: ThrowawayPostgres, tmp_path: Path,
        daemons: list[Daemon]) -> None:
    server.route("/catalog.ttl", CATALOG.encode(), content_type="text/turtle")
    port = free_port()
    config = write_config(
        tmp_path, [{"name": "exempel", "type": "dcat", "url": server.url("/catalog.ttl")}],
        database=postgres.url, server={"host": "127.0.0.1", "port": port})
    daemon = Daemon(config, port)
    daemons.append(daemon)
    daemon.wait_for(lambda s: value(s, "dcatwatch_source_datasets", source="exempel") == 3)

    admin(postgres.url, "ALTER SYSTEM SET default_transaction_read_only = on",
          "SELECT pg_reload_conf()")
    body = wait_not_ready(daemon, timeout=30)  # the idle daemon's write probe notices
    assert "store not writable" in body and "read-only" in body
    assert "cannot be written" in daemon.output()
    samples = daemon.samples()  # /metrics still answers, from the store it can read
    assert value(samples, "dcatwatch_source_datasets", source="exempel") == 3

    admin(postgres.url, "SET default_transaction_read_only = off",
          "ALTER SYSTEM RESET default_transaction_read_only", "SELECT pg_reload_conf()")
    deadline = time.monotonic() + 15
    while daemon.get("/readyz")[0] != 200:
        assert time.monotonic() < deadline, daemon.output()
        time.sleep(0.2)
    assert "can be written again" in daemon.output()
    assert daemon.stop()[0] == 0, daemon.output()


def test_serve_on_a_read_only_store_keeps_serving_without_a_traceback(
        tmp_path: Path, daemons: list[Daemon]) -> None:
    from tests.helpers import run

    port = free_port()
    writable = write_config(tmp_path, [{"name": "exempel", "type": "dcat",
                                        "url": "http://127.0.0.1:9/catalog.ttl"}],
                            server={"host": "127.0.0.1", "port": port})
    assert run("--config", str(writable), "db", "upgrade")[0] == 0
    config = write_config(tmp_path, [{"name": "exempel", "type": "dcat",
                                      "url": "http://127.0.0.1:9/catalog.ttl"}],
                          database=f"sqlite:///file:{tmp_path}/dcatwatch.db?mode=ro&uri=true",
                          server={"host": "127.0.0.1", "port": port})
    daemon = Daemon(config, port)
    daemons.append(daemon)
    # (until the daemon has tried to write, it may say "scheduler not running")
    body = wait_not_ready(daemon, reason="store not writable")
    assert "store not writable" in body and "readonly" in body
    deadline = time.monotonic() + 10
    while "cannot be written" not in daemon.output():
        assert time.monotonic() < deadline, daemon.output()
        time.sleep(0.2)
    assert "dcatwatch.db" in daemon.output() and "Traceback" not in daemon.output()
    status, seconds = daemon.stop()
    assert status == 0 and seconds < 10, daemon.output()
