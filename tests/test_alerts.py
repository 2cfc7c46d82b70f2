"""deploy/: Prometheus config and alert rules (promtool checks and rule unit tests), and the
Grafana dashboard (structure; every metric it or an alert names is one dcatwatch exports)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from dcatwatch.metrics import Instruments, StoreCollector, new_registry
from dcatwatch.store.core import Store
from tests.conftest import FIXTURES, ROOT
from tests.helpers import harvest_json, run, write_config
from tests.servers import LoopbackServer

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
    assert "SUCCESS: 9 rules found" in _promtool("check", "rules", "alerts.yaml")


def test_alert_rule_unit_tests_pass() -> None:
    assert "SUCCESS" in _promtool("test", "rules", "alerts_test.yaml")


def test_every_alert_has_severity_summary_and_description() -> None:
    text = (PROMETHEUS / "alerts.yaml").read_text(encoding="utf-8")
    alerts = re.split(r"\n\s+- alert: ", text)[1:]
    assert len(alerts) == 9
    for alert in alerts:
        name = alert.split("\n", 1)[0]
        assert re.fullmatch(r"Dcatwatch[A-Z][A-Za-z]+", name)
        assert re.search(r"severity: (critical|warning)\n", alert), name
        assert "summary: " in alert and "description: " in alert, name


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """Every sample name dcatwatch exports, with a harvested and scored store behind it."""
    tmp_path = tmp_path_factory.mktemp("store")
    with LoopbackServer() as server:
        server.route("/catalog.ttl", (FIXTURES / "agency-catalog.ttl").read_bytes(),
                     content_type="text/turtle")
        config = write_config(tmp_path, [{"name": "exempel", "type": "dcat",
                                          "url": server.url("/catalog.ttl")}])
        assert harvest_json(config)[0] == 0
    assert run("--config", str(config), "scores", "--snapshot")[0] == 0
    registry: CollectorRegistry = new_registry()
    Instruments(registry)
    registry.register(StoreCollector(Store.open(f"sqlite:///{tmp_path}/dcatwatch.db")))
    families = text_string_to_metric_families(generate_latest(registry).decode())
    return {sample.name for family in families for sample in family.samples}


def test_alerts_and_dashboard_only_name_exported_metrics(exported: set[str]) -> None:
    named = set(METRIC.findall((PROMETHEUS / "alerts.yaml").read_text(encoding="utf-8")))
    named |= set(METRIC.findall(DASHBOARD.read_text(encoding="utf-8")))
    # the queue's families come from a PostgreSQL job table: tests/test_queue.py checks them
    named = {name for name in named if not name.startswith("dcatwatch_queue_")}
    assert named and named <= exported, named - exported


def test_dashboard_is_provisionable() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert dashboard["uid"] == "dcatwatch-overview" and dashboard["id"] is None
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["agency"]["query"]["query"] == "query_result(dcatwatch_agency_info)"
    titles = [p["title"] for p in dashboard["panels"] if p["type"] == "row"]
    assert titles == ["Sweden", "Agencies ranked by API–document index", "Agency: ${agency}",
                      "Harvest health", "Queue (backend = postgres)"]
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
