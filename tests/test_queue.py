"""The queue backend's parts: the [queue] configuration check, `dcatwatch runs`, `db upgrade`
installing the job queue, queueing locks, the queue metrics and the replica label."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import FIXTURES, POSTGRES_ADMIN_URL, postgres_database
from tests.helpers import harvest_json, run, sql, write_config
from tests.servers import LoopbackServer

needs_postgres = pytest.mark.skipif(not POSTGRES_ADMIN_URL, reason="no PostgreSQL: export "
                                    "DCATWATCH_TEST_POSTGRES_URL=$(scripts/test-postgres.sh)")


def test_postgres_backend_needs_a_postgres_store(tmp_path: Path) -> None:
    config = write_config(tmp_path, [], queue={"backend": "postgres"})
    status, _, err = run("--config", str(config), "config", "check")
    assert status == 2
    assert "queue.backend" in err and "PostgreSQL database.url" in err


def test_unknown_backend_is_named(tmp_path: Path) -> None:
    config = write_config(tmp_path, [], queue={"backend": "redis"})
    status, _, err = run("--config", str(config), "config", "check")
    assert status == 2 and "queue.backend" in err


def test_runs_lists_harvests_with_filters(tmp_path: Path, server: LoopbackServer) -> None:
    url = server.route_file("/cat.ttl", FIXTURES / "agency-catalog.ttl", "text/turtle")
    config = write_config(tmp_path, [{"name": "a", "type": "dcat", "url": url},
                                     {"name": "b", "type": "dcat",
                                      "url": server.url("/missing.ttl")}])
    harvest_json(config)
    status, out, err = run("--config", str(config), "runs", "--json")
    assert status == 0, err
    runs = json.loads(out)
    assert {(r["source"], r["kind"], r["status"]) for r in runs} == {
        ("a", "harvest", "ok"), ("b", "harvest", "failed")}
    failed = next(r for r in runs if r["source"] == "b")
    assert failed["error"] and failed["finished_at"] and failed["worker"] is None
    assert set(failed) == {"source", "kind", "status", "scheduled_for", "started_at",
                           "finished_at", "worker", "error"}
    status, out, _ = run("--config", str(config), "runs", "--json", "--source", "a")
    assert [r["source"] for r in json.loads(out)] == ["a"]
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    status, out, _ = run("--config", str(config), "runs", "--json", "--since", later)
    assert json.loads(out) == []
    status, out, _ = run("--config", str(config), "runs")
    assert status == 0 and out.splitlines()[0].split()[:3] == ["source", "kind", "status"]
    status, _, err = run("--config", str(config), "runs", "--since", "yesterday")
    assert status == 2 and "ISO 8601" in err


def test_replica_label_on_process_counters() -> None:
    from dcatwatch.queue.metrics import ReplicaCollector

    own = CollectorRegistry()
    Counter("dcatwatch_harvest_runs", "runs", registry=own).inc(3)
    exposed = CollectorRegistry()
    exposed.register(ReplicaCollector(own, "host-42"))
    samples = [s for f in text_string_to_metric_families(generate_latest(exposed).decode())
               for s in f.samples if s.name == "dcatwatch_harvest_runs_total"]
    assert [(s.labels, s.value) for s in samples] == [({"replica": "host-42"}, 3.0)]


@needs_postgres
def test_db_upgrade_installs_the_queue_and_serve_needs_it(tmp_path: Path) -> None:
    with postgres_database() as url:
        config = write_config(tmp_path, [], database=url, server={"port": 0},
                              queue={"backend": "postgres"})
        status, _, err = run("--config", str(config), "serve")
        assert status == 2 and "dcatwatch db upgrade" in err
        status, out, err = run("--config", str(config), "db", "upgrade")
        assert status == 0, err
        assert "job queue schema (procrastinate): created" in out
        status, out, err = run("--config", str(config), "db", "upgrade")
        assert status == 0 and "job queue schema (procrastinate): present" in out


@needs_postgres
def test_queueing_lock_and_queue_metrics(tmp_path: Path) -> None:
    from dcatwatch import config as config_module
    from dcatwatch.queue.app import Jobs
    from dcatwatch.queue.metrics import QueueCollector
    from dcatwatch.store.core import Store

    with postgres_database() as url:
        config = write_config(tmp_path, [{"name": "a", "type": "dcat",
                                          "url": "http://127.0.0.1:9/a.ttl"}],
                              database=url, queue={"backend": "postgres"})
        assert run("--config", str(config), "db", "upgrade")[0] == 0
        settings = config_module.load(config)
        jobs = Jobs(settings)
        with jobs.app.open():
            assert jobs.defer_harvest("a", None) is True
            assert jobs.defer_harvest("a", None) is False  # one waiting harvest per source
            assert jobs.defer_score() is True
            assert jobs.defer_report("1", "2026-12") is True
            assert jobs.defer_report("1", "2026-12") is False  # one per (agency, period)
            assert jobs.defer_validate("a") is True
        # what a worker takes first (procrastinate: highest priority, then oldest): the short
        # scoring run that shows a harvest's figures, then harvests, then validations, which
        # wait for the links the harvests feed
        taken = [name.removeprefix("dcatwatch.") for name, in sql(
            config, "SELECT task_name FROM procrastinate_jobs WHERE status = 'todo' "
            "ORDER BY priority DESC, id")]
        assert taken == ["score", "harvest", "report", "validate"]
        with Store.open(url) as store:
            registry = CollectorRegistry()
            registry.register(QueueCollector(store, 30))
            text = generate_latest(registry).decode()
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for f in text_string_to_metric_families(text) for s in f.samples}
    assert samples[("dcatwatch_queue_jobs", (("state", "waiting"), ("task", "harvest")))] == 1
    assert samples[("dcatwatch_queue_jobs", (("state", "waiting"), ("task", "report")))] == 1
    assert samples[("dcatwatch_queue_jobs", (("state", "running"), ("task", "harvest")))] == 0
    assert samples[("dcatwatch_queue_oldest_waiting_seconds", (("task", "harvest"),))] >= 0
    assert samples[("dcatwatch_queue_oldest_waiting_seconds", (("task", "dispatch"),))] == 0
    assert samples[("dcatwatch_queue_stalled_jobs", ())] == 0
    # every queue family the alerts and the dashboard name is one the collector exports
    deploy = Path(__file__).resolve().parent.parent / "deploy"
    named = set()
    for file in (deploy / "prometheus" / "alerts.yaml",
                 deploy / "grafana" / "dashboards" / "dcatwatch.json"):
        named |= set(re.findall(r"\b(dcatwatch_queue_[a-z_]+)\b", file.read_text("utf-8")))
    assert named and named <= {name for name, _ in samples}, named
