"""`config check` warns about what is valid but surely not meant: a cron that never fires,
an allowed_networks range holding public addresses; --strict refuses them."""

from __future__ import annotations

from pathlib import Path

import pytest

from dcatwatch import config
from tests.helpers import run, write_config

SOURCE = {"name": "src", "type": "dcat", "url": "https://data.example.se/catalog.ttl"}


def _check(path: Path, *extra: str) -> tuple[int, str, str]:
    return run("--config", str(path), "config", "check", *extra)


def test_a_cron_that_never_fires_and_a_public_network_warn(tmp_path: Path) -> None:
    path = write_config(tmp_path, [SOURCE | {"schedule": "* * 31 2 *"}],
                        http={"allowed_networks": ["0.0.0.0/0", "10.1.0.0/16"]})
    status, out, err = _check(path)
    assert status == 0
    assert out.strip() == "configuration OK: 1 sources, 0 agencies, 2 warnings"
    lines = err.strip().splitlines()
    assert len(lines) == 2 and all(line.startswith("dcatwatch: warning: ") for line in lines)
    assert "sources[0] (src).schedule: the cron '* * 31 2 *' never fires" in lines[0]
    assert "http.allowed_networks: '0.0.0.0/0' holds public addresses" in lines[1]
    assert "10.1.0.0/16" not in lines[1].split("(e.g.")[0]  # the private range is fine
    status, out, err = _check(path, "--strict")
    assert status == 2
    assert out.strip() == "configuration refused (--strict): 2 warnings; 1 sources, 0 agencies"
    assert err.count("dcatwatch: warning: ") == 2


def test_a_clean_configuration_has_no_warnings(tmp_path: Path) -> None:
    path = write_config(tmp_path, [SOURCE | {"schedule": "0 5 29 2 *"}],  # leap days: fires
                        http={"allowed_networks": ["10.0.0.0/8", "192.168.4.0/24",
                                                   "fd00::/8", "127.0.0.0/8"]})
    for strict in ((), ("--strict",)):
        status, out, err = _check(path, *strict)
        assert (status, err) == (0, "")
        assert out.strip() == "configuration OK: 1 sources, 0 agencies"


@pytest.mark.parametrize(("network", "public"), [
    ("0.0.0.0/0", True), ("::/0", True), ("8.8.8.0/24", True), ("10.0.0.0/7", True),
    ("172.16.0.0/11", True), ("10.0.0.0/8", False), ("172.20.0.0/16", False),
    ("100.64.0.0/10", False), ("fc00::/7", False), ("2001:db8::/32", True),
])
def test_networks_holding_public_addresses(network: str, public: bool) -> None:
    settings = config.Settings.model_validate({"http": {"allowed_networks": [network]}})
    assert bool(config.warnings(settings)) is public


@pytest.mark.parametrize("cron", ["0 5 30 2 *", "0 0 31 4,6,9,11 *"])
def test_other_impossible_dates_warn(cron: str) -> None:
    settings = config.Settings.model_validate({"sources": [SOURCE | {"schedule": cron}],
                                               "reports": {"schedule": cron}})
    found = config.warnings(settings)
    assert [w.split(":")[0] for w in found] == ["sources[0] (src).schedule", "reports.schedule"]


def test_a_disabled_source_s_cron_does_not_warn() -> None:
    settings = config.Settings.model_validate(
        {"sources": [SOURCE | {"schedule": "* * 31 2 *", "enabled": False}]})
    assert config.warnings(settings) == []
