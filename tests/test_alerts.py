"""deploy/: Prometheus config and alert rules (promtool checks and rule unit tests), and the
Grafana dashboard (structure; every metric it or an alert names is one dcatwatch exports)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import ROOT
from tests.helpers import write_config
from tests.test_daemon import Daemon, free_port

DEPLOY = ROOT / "deploy"
PROMETHEUS = DEPLOY / "prometheus"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "dcatwatch.json"
METRIC = re.compile(r"\b(dcatwatch_[a-z_]+)\b")


def promtool() -> str:
    """The promtool binary; skips locally without it, fails in CI (which installs it)."""
    found = shutil.which("promtool")
    if found is None:
        reason = "promtool not found (apt-get install prometheus)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return found


def _promtool(*args: str) -> str:
    done = subprocess.run([promtool(), *args], cwd=PROMETHEUS, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_prometheus_config_and_rules_are_valid() -> None:
    assert "SUCCESS" in _promtool("check", "config", "prometheus.yml")
    assert "SUCCESS: 14 rules found" in _promtool("check", "rules", "alerts.yaml")


def test_alert_rule_unit_tests_pass() -> None:
    assert "SUCCESS" in _promtool("test", "rules", "alerts_test.yaml")


def test_every_alert_has_severity_summary_and_description() -> None:
    text = (PROMETHEUS / "alerts.yaml").read_text(encoding="utf-8")
    alerts = re.split(r"\n\s+- alert: ", text)[1:]
    assert len(alerts) == 14
    for alert in alerts:
        name = alert.split("\n", 1)[0]
        assert re.fullmatch(r"Dcatwatch[A-Z][A-Za-z]+", name)
        assert re.search(r"severity: (critical|warning)\n", alert), name
        assert "summary: " in alert and "description: " in alert, name


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, set[str]]:
    """What a running daemon exports, by family: ``dcatwatch serve --demo`` (harvested,
    validated and scored) scraped once its agencies are scored. Families with no sample yet
    (a source failing, a histogram before its first run) are listed by their TYPE line."""
    tmp_path = tmp_path_factory.mktemp("demo")
    port = free_port()
    config = write_config(tmp_path, [], server={"host": "127.0.0.1", "port": port})
    demo = Daemon(config, port, "--demo", "--demo-dir", str(tmp_path / "state"))
    try:
        demo.wait_for(lambda samples: sum(
            v for (name, _), v in samples.items() if name == "dcatwatch_agency_datasets") == 12,
            timeout=60)
        _, _, body = demo.get("/metrics")
    finally:
        demo.end()
    return {family.name: {sample.name for sample in family.samples} | {family.name}
            for family in text_string_to_metric_families(body)}


def _sample_names(families: dict[str, set[str]]) -> set[str]:
    return set().union(*families.values())


def test_alerts_and_dashboard_only_name_exported_metrics(exported: dict[str, set[str]]) -> None:
    named = set(METRIC.findall((PROMETHEUS / "alerts.yaml").read_text(encoding="utf-8")))
    named |= set(METRIC.findall(DASHBOARD.read_text(encoding="utf-8")))
    # the queue's families come from a PostgreSQL job table: tests/test_queue.py checks them
    named = {name for name in named if not name.startswith("dcatwatch_queue_")}
    exported_names = _sample_names(exported)
    assert named and named <= exported_names, named - exported_names


# Families a running daemon exports that no dcatwatch panel needs to plot: the process and
# platform collectors' generic families (CPU, memory, file descriptors, GC, the Python
# version), which any generic process dashboard shows; `dcatwatch_build_info` carries the
# Python version dcatwatch runs on.
UNPLOTTED_PREFIXES = ("process_", "python_")
# the families issue 25 found on no panel, and the two added for it (as the parser names them)
ISSUE_25_UNPLOTTED = ("link_checks_queued", "link_checks_in_flight", "link_checks",
                      "link_round_duration_seconds", "report_deliveries",
                      "source_unattributed_datasets", "runs_interrupted", "store_up",
                      "store_read_duration_seconds", "scores_timestamp_seconds", "build_info",
                      "source_failing", "runs_interrupted_recent")


def test_every_exported_family_is_on_a_dashboard_panel(exported: dict[str, set[str]]) -> None:
    plotted: set[str] = set()
    for dashboard in (DEPLOY / "grafana" / "dashboards").glob("*.json"):
        for panel in json.loads(dashboard.read_text(encoding="utf-8"))["panels"]:
            for target in panel.get("targets", []):
                plotted |= set(METRIC.findall(target["expr"]))
    own = {name for name in exported if not name.startswith(UNPLOTTED_PREFIXES)}
    assert all(name.startswith("dcatwatch_") for name in own)
    assert {f"dcatwatch_{name}" for name in ISSUE_25_UNPLOTTED} <= own  # the daemon's own
    missing = {family for family in own if not exported[family] & plotted}
    assert not missing, f"exported but on no Grafana panel: {sorted(missing)}"


def test_dashboard_is_provisionable() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert dashboard["uid"] == "dcatwatch-overview" and dashboard["id"] is None
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["agency"]["query"]["query"] == "query_result(dcatwatch_agency_info)"
    titles = [p["title"] for p in dashboard["panels"] if p["type"] == "row"]
    assert titles == ["Sweden", "Agencies ranked by API–document index", "Agency: ${agency}",
                      "Harvest health", "Link checks", "Reports, scores and the service",
                      "Queue (backend = postgres)"]
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            assert target["datasource"]["uid"] == "${datasource}", panel["title"]
            assert target["expr"], panel["title"]
    drill_down = [p for p in dashboard["panels"] if "$agency" in json.dumps(p.get("targets"))]
    assert len(drill_down) >= 5
    provider = (DEPLOY / "grafana" / "provisioning" / "dashboards" / "dcatwatch.yaml").read_text()
    assert "type: file" in provider and "path: /var/lib/grafana/dashboards/dcatwatch" in provider
    source = (DEPLOY / "grafana" / "provisioning" / "datasources" / "dcatwatch.yaml").read_text()
    assert "type: prometheus" in source and "${PROMETHEUS_URL}" in source


def test_deploy_readme_lists_every_file() -> None:
    readme = (DEPLOY / "README.md").read_text(encoding="utf-8")
    for path in sorted(DEPLOY.rglob("*")):
        if path.is_file() and path.name != "README.md":
            relative = path.relative_to(DEPLOY)
            assert f"`{relative}`" in readme, relative
