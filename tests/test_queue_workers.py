"""Three real `dcatwatch serve` workers on one PostgreSQL queue (``[queue] backend =
"postgres"``): a dozen loopback sources on a one-minute schedule are each harvested exactly
once per scheduled minute, spread over the workers; a worker SIGKILLed mid-harvest has its
job finished by another within the stalled-job interval; no run stays ``running``."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import POSTGRES_ADMIN_URL, ROOT, postgres_database
from tests.helpers import run, sql, write_config
from tests.servers import LoopbackServer, Response

pytestmark = pytest.mark.skipif(not POSTGRES_ADMIN_URL, reason="no PostgreSQL: export "
                                "DCATWATCH_TEST_POSTGRES_URL=$(scripts/test-postgres.sh)")
SOURCES = 12
SLOW = "s00"  # the source whose harvest the test interrupts
SLOW_DELAY = 6.0  # seconds its catalogue takes to answer
STALLED_AFTER = 4.0


def catalogue(index: int) -> bytes:
    return f"""@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix dct: <http://purl.org/dc/terms/> .
<https://data.example.se/s{index}/catalog> a dcat:Catalog ; dct:title "Katalog {index}"@sv ;
  dcat:dataset <https://data.example.se/s{index}/dataset/1> .
<https://data.example.se/s{index}/dataset/1> a dcat:Dataset ; dct:title "Data {index}"@sv ;
  dct:publisher <http://dataportal.se/organisation/SE2021005448> .
""".encode()


class Worker:
    def __init__(self, config: Path, number: int) -> None:
        self.log = config.parent / f"worker-{number}.log"
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "dcatwatch", "--log-level", "info", "--config",
                 str(config), "serve", "--concurrency", "2"],
                stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        self.port = 0

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"worker exited:\n{self.output()}"
            found = re.search(r"ready; metrics on http://127\.0\.0\.1:(\d+)/", self.output())
            if found:
                self.port = int(found.group(1))
                return
            time.sleep(0.2)
        pytest.fail(f"worker not ready:\n{self.output()}")

    def metrics(self) -> list[tuple[str, dict[str, str], float]]:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(f"http://127.0.0.1:{self.port}/metrics", timeout=5) as response:
            body = response.read().decode()
        return [(s.name, s.labels, s.value) for f in text_string_to_metric_families(body)
                for s in f.samples]


@pytest.fixture
def workers() -> Iterator[list[Worker]]:
    started: list[Worker] = []
    yield started
    for worker in started:
        if worker.process.poll() is None:
            worker.process.kill()
            worker.process.wait(10)


def wait_until(check, timeout: float, what: str, workers: list[Worker]):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.5)
    logs = "\n".join(w.output()[-3000:] for w in workers)
    pytest.fail(f"timed out waiting for {what}\n{logs}")


@pytest.mark.slow
def test_three_workers_share_scheduled_harvests_and_recover_a_killed_one(
        tmp_path: Path, workers: list[Worker]) -> None:
    with postgres_database() as url, LoopbackServer() as site:
        sources = []
        for index in range(SOURCES):
            name = f"s{index:02d}"
            body = catalogue(index)
            delay = SLOW_DELAY if name == SLOW else 0.0
            site.handle(f"/{name}.ttl", lambda _r, b=body, d=delay: Response(
                200, b, {"Content-Type": "text/turtle"}, d))
            sources.append({"name": name, "type": "dcat", "url": site.url(f"/{name}.ttl"),
                            "schedule": "* * * * *"})
        config = write_config(tmp_path, sources, database=url, server={"port": 0},
                              queue={"backend": "postgres", "stalled_after": STALLED_AFTER,
                                     "poll_interval": 0.5},
                              daemon={"shutdown_grace": 10, "retry_failed_after": 0})
        status, out, err = run("--config", str(config), "db", "upgrade")
        assert status == 0, err
        assert "job queue schema (procrastinate): created" in out

        for number in range(3):
            workers.append(Worker(config, number))
        for worker in workers:
            worker.wait_ready()
        # the first minute all three workers are ready for (a loaded machine may start them
        # late: a minute chosen before they were up could pass unscheduled)
        started = datetime.now(UTC) + timedelta(seconds=5)
        first = (started + timedelta(minutes=1)).replace(second=0, microsecond=0)
        second = first + timedelta(minutes=1)
        pids = {w.process.pid: w for w in workers}

        # the slow source's harvest for the first scheduled minute: kill its worker mid-run
        def slow_running() -> str | None:
            rows = sql(config, f"SELECT worker FROM harvest_run WHERE source = '{SLOW}' AND "
                       f"status = 'running' AND worker IS NOT NULL AND scheduled_for = "
                       f"'{first.isoformat()}'")
            return rows[0][0] if rows else None

        victim_name = wait_until(slow_running, 120, "the slow source's first scheduled run",
                                 workers)
        victim = pids[int(victim_name.rsplit("-", 1)[1])]
        victim.process.send_signal(signal.SIGKILL)
        victim.process.wait(10)
        killed_at = datetime.now(UTC)
        survivors = [w for w in workers if w is not victim]

        def second_minute_done() -> bool:
            rows = sql(config, f"SELECT count(DISTINCT source) FROM harvest_run WHERE "
                       f"status = 'ok' AND scheduled_for = '{second.isoformat()}'")
            return rows[0][0] == SOURCES

        wait_until(second_minute_done, 150, "every source's run of the second minute",
                   survivors)
        samples = survivors[0].metrics()
        for worker in survivors:
            worker.process.send_signal(signal.SIGTERM)
        for worker in survivors:
            assert worker.process.wait(30) == 0, worker.output()

        runs = sql(config, "SELECT source, status, scheduled_for, worker, finished_at "
                   "FROM harvest_run ORDER BY id")
    scheduled = [r for r in runs if r[2] is not None and r[2] >= first]
    ok = Counter((r[0], r[2]) for r in scheduled if r[1] == "ok")
    # exactly once per source and scheduled minute: none twice, none missed
    table = "\n".join(" ".join(str(v) for v in r) for r in runs)
    assert set(ok) == {(f"s{i:02d}", m) for i in range(SOURCES) for m in (first, second)}, table
    assert set(ok.values()) == {1}
    # spread over the workers: all three took part (the victim at least with the run it
    # was killed in), and both survivors finished scheduled runs
    assert {r[3] for r in scheduled if r[1] == "ok"} >= {f"{victim_name.rsplit('-', 1)[0]}-"
                                                          f"{w.process.pid}" for w in survivors}
    assert len({r[3] for r in runs if r[3]}) == 3
    # the killed worker's run is marked interrupted, and another worker finished the job
    # within the stalled-job interval (plus the slow catalogue's own delay)
    slow = [r for r in scheduled if r[0] == SLOW and r[2] == first]
    assert [r[1] for r in slow] == ["interrupted", "ok"]
    assert slow[0][3] == victim_name and slow[1][3] != victim_name
    assert slow[1][4] - killed_at < timedelta(seconds=STALLED_AFTER * 3 + SLOW_DELAY + 5)
    assert not [r for r in runs if r[1] == "running"]
    # metrics per replica: process counters carry the replica, the queue is exported
    replicas = {labels.get("replica") for name, labels, _ in samples
                if name == "dcatwatch_harvest_runs_total"}
    assert replicas and None not in replicas
    assert any(name == "dcatwatch_queue_jobs" and labels == {"task": "harvest",
                                                              "state": "waiting"}
               for name, labels, _ in samples)


@pytest.mark.slow
def test_sigterm_lets_a_running_job_finish_within_the_grace_else_another_worker_takes_it(
        tmp_path: Path, workers: list[Worker]) -> None:
    with postgres_database() as url, LoopbackServer() as site:
        site.handle("/slow.ttl", lambda _r: Response(200, catalogue(0),
                                                     {"Content-Type": "text/turtle"}, 3.0))
        sources = [{"name": "slow", "type": "dcat", "url": site.url("/slow.ttl"),
                    "schedule": "0 0 1 1 *"}]  # due once, at the first start

        def configure(grace: float) -> Path:
            return write_config(tmp_path, sources, database=url, server={"port": 0},
                                queue={"backend": "postgres", "stalled_after": STALLED_AFTER,
                                       "poll_interval": 0.5},
                                daemon={"shutdown_grace": grace, "retry_failed_after": 0})

        config = configure(10)
        assert run("--config", str(config), "db", "upgrade")[0] == 0

        def running() -> list[tuple[object, ...]]:
            return sql(config, "SELECT id, worker FROM harvest_run WHERE status = 'running' "
                       "AND worker IS NOT NULL")

        # a grace longer than the job: the harvest finishes, then the worker exits 0
        workers.append(Worker(config, 0))
        workers[0].wait_ready()
        wait_until(running, 30, "the harvest to start", workers)
        workers[0].process.send_signal(signal.SIGTERM)
        assert workers[0].process.wait(20) == 0
        assert [r[0] for r in sql(config, "SELECT status FROM harvest_run")] == ["ok"]

        # a grace shorter than the job: the worker exits at once; the next worker retries it
        with postgres_database() as fresh:
            url = fresh
            config = configure(0.5)
            assert run("--config", str(config), "db", "upgrade")[0] == 0
            workers.append(Worker(config, 1))
            workers[1].wait_ready()
            wait_until(running, 30, "the harvest to start", workers)
            stopped = time.monotonic()
            workers[1].process.send_signal(signal.SIGTERM)
            assert workers[1].process.wait(20) == 0
            assert time.monotonic() - stopped < 2.5  # did not wait for the 3 s answer
            workers.append(Worker(config, 2))
            workers[2].wait_ready()
            wait_until(lambda: sql(config, "SELECT 1 FROM harvest_run WHERE status = 'ok'"),
                       30, "another worker to run the abandoned job", workers)
            workers[2].process.send_signal(signal.SIGTERM)
            assert workers[2].process.wait(20) == 0
            statuses = [r[0] for r in sql(config, "SELECT status FROM harvest_run ORDER BY id")]
            status, out, err = run("--config", str(config), "runs", "--json", "--source",
                                   "slow")
    assert statuses == ["interrupted", "ok"]
    assert status == 0, err
    harvests = [r for r in json.loads(out) if r["kind"] == "harvest"]  # newest first
    assert [r["status"] for r in harvests] == ["ok", "interrupted"]
    assert [r["worker"].rsplit("-", 1)[1] for r in harvests] == [
        str(workers[2].process.pid), str(workers[1].process.pid)]
    assert "stopped or was killed" in harvests[1]["error"]
    assert all(r["scheduled_for"] and r["finished_at"] for r in harvests)
