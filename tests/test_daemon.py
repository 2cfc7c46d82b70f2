"""`dcatwatch serve` as a real subprocess on loopback: harvest, /metrics, health, SIGTERM,
SIGKILL mid-harvest and restart (the demo: tests/test_demo.py)."""

from __future__ import annotations

import json
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import FIXTURES, ROOT
from tests.helpers import harvest_json, run, write_config
from tests.servers import LoopbackServer, Stalling

CATALOG = (FIXTURES / "agency-catalog.ttl").read_text(encoding="utf-8")
NEW_DATASET = ('\n<https://data.example.se/dataset/ny> a dcat:Dataset ; dct:title "Ny"@sv ; '
               'dct:publisher <http://dataportal.se/organisation/SE2021005448> .\n')
GRACE = 25.0  # the default [daemon] shutdown_grace
# The contract families of ARCHITECTURE.md, as their TYPE lines name them.
CONTRACT = {
    "dcatwatch_build_info": "gauge",
    "dcatwatch_source_up": "gauge",
    "dcatwatch_source_last_success_timestamp_seconds": "gauge",
    "dcatwatch_source_last_attempt_timestamp_seconds": "gauge",
    "dcatwatch_source_datasets": "gauge",
    "dcatwatch_harvest_runs_total": "counter",
    "dcatwatch_harvest_failures_total": "counter",
    "dcatwatch_harvest_duration_seconds": "histogram",
    "dcatwatch_datasets_processed_total": "counter",
    "dcatwatch_http_requests_total": "counter",
    "dcatwatch_http_response_bytes_total": "counter",
    "dcatwatch_agency_info": "gauge",
    "dcatwatch_agency_datasets": "gauge",
    "dcatwatch_agency_api_share_ratio": "gauge",
    "dcatwatch_agency_document_only_ratio": "gauge",
    "dcatwatch_agency_api_document_index": "gauge",
    "dcatwatch_agency_mqa_points": "gauge",
    "dcatwatch_agencies_with_api_ratio": "gauge",
    "dcatwatch_emails_sent_total": "counter",
    "dcatwatch_email_failures_total": "counter",
}
LEVELS = ("api", "machine_readable", "document_only", "unknown")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Daemon:
    """A `dcatwatch serve` subprocess; its output goes to files in the test's directory."""

    def __init__(self, config: Path, port: int, *args: str) -> None:
        self.port = port
        self.log = config.parent / f"daemon-{time.monotonic_ns()}.log"
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "dcatwatch", "--log-level", "info", "--config",
                 str(config), "serve", *args], stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def get(self, path: str, accept: str | None = None) -> tuple[int, str, str]:
        """(status, content type, body) of GET ``path`` on the daemon's endpoints."""
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}",
                                         headers={"Accept": accept} if accept else {})
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(request, timeout=5) as response:
                return (response.status, response.headers["Content-Type"],
                        response.read().decode())
        except urllib.error.HTTPError as error:
            return error.code, error.headers["Content-Type"], error.read().decode()

    def samples(self) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
        """Every sample of /metrics: (name, labels) → value."""
        _, _, body = self.get("/metrics")
        return {(s.name, frozenset(s.labels.items())): s.value
                for family in text_string_to_metric_families(body) for s in family.samples}

    def wait_for(self, ready: Callable[[dict[tuple[str, frozenset[tuple[str, str]]], float]],
                                       bool], timeout: float = 30.0) -> dict[Any, float]:
        """Scrape until ``ready(samples)``; fail with the daemon's output after ``timeout``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"daemon exited:\n{self.output()}"
            try:
                samples = self.samples()
            except OSError:  # not listening yet
                samples = {}
            if samples and ready(samples):
                return samples
            time.sleep(0.2)
        pytest.fail(f"daemon not ready after {timeout} s:\n{self.output()}")

    def stop(self, signum: int = signal.SIGTERM, timeout: float = GRACE + 10) -> tuple[int, float]:
        """Send ``signum``; (exit status, seconds until the exit)."""
        started = time.monotonic()
        self.process.send_signal(signum)
        status = self.process.wait(timeout)
        return status, time.monotonic() - started

    def end(self) -> None:
        """Stop the daemon if it still runs: SIGTERM, then SIGKILL."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(GRACE + 5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


@pytest.fixture
def daemons() -> Iterator[list[Daemon]]:
    """Daemons a test started; any still running at its end are stopped."""
    started: list[Daemon] = []
    yield started
    for daemon in started:
        daemon.end()


def value(samples: dict[Any, float], name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def type_lines(body: str) -> dict[str, str]:
    return dict(re.findall(r"^# TYPE (\S+) (\S+)$", body, re.MULTILINE))


def test_serve_harvests_exposes_the_contract_and_stops_on_sigterm(
        server: LoopbackServer, tmp_path: Path, daemons: list[Daemon]) -> None:
    server.route("/catalog.ttl", CATALOG.encode(), content_type="text/turtle")
    port = free_port()
    config = write_config(
        tmp_path, [{"name": "exempel", "type": "dcat", "url": server.url("/catalog.ttl")}],
        agencies=[{"id": "2021005448", "name": "Skatteverket"},
                  {"id": "2021000001", "name": "Tomma verket"}],  # registry, no datasets
        server={"host": "127.0.0.1", "port": port})
    daemon = Daemon(config, port)
    daemons.append(daemon)
    samples = daemon.wait_for(lambda s: sum(
        v for (name, _), v in s.items() if name == "dcatwatch_agency_datasets") == 3)

    _, content_type, body = daemon.get("/metrics")
    assert content_type.startswith("text/plain; version=0.0.4")
    types = type_lines(body)
    assert {name: types.get(name) for name in CONTRACT} == CONTRACT
    assert value(samples, "dcatwatch_source_up", source="exempel") == 1
    assert value(samples, "dcatwatch_source_datasets", source="exempel") == 3
    attempt = value(samples, "dcatwatch_source_last_attempt_timestamp_seconds", source="exempel")
    success = value(samples, "dcatwatch_source_last_success_timestamp_seconds", source="exempel")
    assert attempt and success and time.time() - 60 < attempt <= success <= time.time()
    assert value(samples, "dcatwatch_harvest_runs_total") == 1
    assert value(samples, "dcatwatch_harvest_failures_total") == 0
    assert value(samples, "dcatwatch_harvest_duration_seconds_count") == 1
    assert value(samples, "dcatwatch_datasets_processed_total", action="added") == 3
    assert value(samples, "dcatwatch_datasets_processed_total", action="removed") == 0
    assert value(samples, "dcatwatch_http_requests_total", code_class="2xx") == 1
    assert value(samples, "dcatwatch_http_requests_total", code_class="5xx") == 0
    assert value(samples, "dcatwatch_http_response_bytes_total") == len(CATALOG.encode())
    assert value(samples, "dcatwatch_emails_sent_total") == 0

    status, out, err = run("--config", str(config), "scores", "--json")
    assert status == 0, err
    scores = json.loads(out)
    exposed = {dict(labels)["agency"]: dict(labels)["name"] for (name, labels) in samples
               if name == "dcatwatch_agency_info"}
    assert exposed == {a["id"]: a["name"] for a in scores["agencies"]}
    for agency in scores["agencies"]:
        one = agency["id"]
        assert {level: value(samples, "dcatwatch_agency_datasets", agency=one, level=level)
                for level in LEVELS} == {level: agency[level] for level in LEVELS}
        assert value(samples, "dcatwatch_agency_api_share_ratio", agency=one) == \
            agency["api_share"]
        assert value(samples, "dcatwatch_agency_document_only_ratio", agency=one) == \
            agency["document_only_share"]
        assert value(samples, "dcatwatch_agency_api_document_index", agency=one) == \
            agency["api_document_index"]
        assert value(samples, "dcatwatch_agency_mqa_points", agency=one) == agency["mqa_points"]
    assert value(samples, "dcatwatch_agencies_with_api_ratio") == \
        scores["national"]["agencies_with_api_share"]
    assert "Tomma verket" in exposed.values()
    assert not any(name != "dcatwatch_agency_info" and "name" in dict(labels)
                   for name, labels in samples)  # names only in agency_info

    _, content_type, body = daemon.get("/metrics", accept="application/openmetrics-text")
    assert content_type.startswith("application/openmetrics-text")
    assert body.endswith("# EOF\n") and "dcatwatch_harvest_runs_total 1.0" in body
    assert daemon.get("/healthz")[0] == 200
    assert daemon.get("/readyz")[:1] == (200,)

    status, seconds = daemon.stop(signal.SIGTERM)
    assert status == 0, daemon.output()
    assert seconds < GRACE
    assert "stopped" in daemon.output()


def test_sigkill_mid_harvest_then_restart_carries_on(
        server: LoopbackServer, tmp_path: Path, daemons: list[Daemon]) -> None:
    server.route("/catalog.ttl", CATALOG.encode(), content_type="text/turtle")
    port = free_port()
    config = write_config(
        tmp_path, [{"name": "exempel", "type": "dcat", "url": server.url("/catalog.ttl")}],
        server={"host": "127.0.0.1", "port": port})
    status, [first] = harvest_json(config)  # the CLI: 3 datasets; the daemon is yet to see it
    assert status == 0 and first["added"] == 3
    database = sqlite3.connect(tmp_path / "dcatwatch.db")

    def rows(query: str) -> list[tuple[Any, ...]]:
        return database.execute(query).fetchall()

    updated = (CATALOG + NEW_DATASET).encode()
    stalling = Stalling(updated)
    server.handle("/catalog.ttl", stalling)
    killed = Daemon(config, port)
    daemons.append(killed)
    assert stalling.started.wait(30), killed.output()
    deadline = time.monotonic() + 10
    while rows("SELECT status FROM harvest_run ORDER BY id") != [("ok",), ("running",)]:
        assert time.monotonic() < deadline, rows("SELECT * FROM harvest_run")
        time.sleep(0.1)
    assert killed.stop(signal.SIGKILL)[0] == -signal.SIGKILL
    stalling.released.set()
    # nothing lost: the interrupted run applied nothing, the datasets are as before
    assert rows("SELECT count(*) FROM dataset WHERE removed_at IS NULL") == [(3,)]
    assert rows("SELECT status FROM harvest_run ORDER BY id") == [("ok",), ("running",)]

    server.route("/catalog.ttl", updated, content_type="text/turtle")
    restarted = Daemon(config, port)
    daemons.append(restarted)
    samples = restarted.wait_for(lambda s: value(s, "dcatwatch_harvest_runs_total") == 2 and
                                 value(s, "dcatwatch_source_datasets", source="exempel") == 4)
    assert value(samples, "dcatwatch_harvest_failures_total") == 1  # the interrupted run
    assert value(samples, "dcatwatch_source_up", source="exempel") == 1
    assert value(samples, "dcatwatch_datasets_processed_total", action="added") == 1
    runs = rows("SELECT status, errors FROM harvest_run ORDER BY id")
    assert [status for status, _ in runs] == ["ok", "failed", "ok"]
    assert "interrupted" in json.loads(runs[1][1])[0]["message"]
    assert rows("SELECT count(*), count(DISTINCT iri) FROM dataset") == [(4, 4)]
    assert rows("SELECT count(*) FROM dataset WHERE removed_at IS NOT NULL") == [(0,)]
    assert restarted.stop(signal.SIGTERM)[0] == 0, restarted.output()
    database.close()
