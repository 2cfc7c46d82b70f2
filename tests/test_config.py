"""Configuration: file discovery, environment overrides, and errors that name the key."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dcatwatch import config
from dcatwatch.errors import ConfigError
from tests.helpers import run

GOOD = """
[database]
url = "sqlite:///x.db"
[[sources]]
name = "skatteverket"
type = "dcat"
url = "https://www.skatteverket.se/datasets/dcat"
schedule = "0 5 * * *"
[[agencies]]
id = "2021005448"
name = "Skatteverket"
email = "oppnadata@skatteverket.se"
"""
SMTP = """[smtp]
host = "smtp.example.se"
port = 587
security = "starttls"
sender = "oppnadata@example.se"
"""  # not the defaults: `config check` warns about those when an agency gets reports


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "dcatwatch.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_good_file_loads_with_defaults(tmp_path: Path) -> None:
    settings = config.load(write(tmp_path, GOOD), environ={})
    assert settings.sources[0].name == "skatteverket"
    assert settings.server.port == 9108
    assert settings.http.allow_private_networks is False
    assert settings.harvest.removal_threshold == 0.3
    assert settings.agencies[0].email == "oppnadata@skatteverket.se"


def test_environment_overrides_file(tmp_path: Path) -> None:
    settings = config.load(write(tmp_path, GOOD), environ={
        "DCATWATCH_DATABASE_URL": "sqlite:///other.db", "DCATWATCH_SERVER_PORT": "9200",
        "DCATWATCH_HTTP_ALLOW_PRIVATE_NETWORKS": "true"})
    assert settings.database.url == "sqlite:///other.db"
    assert settings.server.port == 9200
    assert settings.http.allow_private_networks is True


@pytest.mark.parametrize(("text", "key", "problem"), [
    (GOOD.replace('type = "dcat"', 'type = "ckan"'), "sources[0] (skatteverket).type", "dcat"),
    (GOOD.replace('name = "skatteverket"', 'name = "Skatte Verket"'), "sources[0]", "pattern"),
    (GOOD.replace('"0 5 * * *"', '"every day"'), "sources[0] (skatteverket).schedule", "cron"),
    (GOOD.replace("https://www.skatteverket.se/datasets/dcat", "ftp://x"),
     "sources[0] (skatteverket).url", "http(s) URL"),
    (GOOD + "[server]\nport = 99999\n", "server.port", "less than or equal"),
    (GOOD + "[http]\nallow_private = true\n", "http.allow_private", "unknown key"),
    (GOOD + GOOD.split("[[agencies]]")[0].split("[database]\nurl = \"sqlite:///x.db\"")[1],
     "sources", "duplicate name 'skatteverket'"),
    ("[database\nurl = 1", "(file)", "not valid TOML"),
])
def test_bad_config_names_key_and_problem(tmp_path: Path, text: str, key: str,
                                          problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        config.load(write(tmp_path, text), environ={})
    assert caught.value.message.startswith(key), caught.value.message
    assert problem in caught.value.message


def test_cli_exits_2_on_bad_config(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace('type = "dcat"', 'type = "ckan"'))
    status, _, err = run("--config", str(path), "harvest")
    assert status == 2
    assert "configuration error: sources[0] (skatteverket).type" in err


def test_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    status, _, err = run("--config", str(tmp_path / "absent.toml"), "config", "check")
    assert status == 2
    assert "absent.toml not found" in err


def test_config_file_discovery(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DCATWATCH_CONFIG", raising=False)
    assert config.config_path(None) == Path("dcatwatch.toml")
    monkeypatch.setenv("DCATWATCH_CONFIG", "/etc/dcatwatch/dcatwatch.toml")
    assert config.config_path(None) == Path("/etc/dcatwatch/dcatwatch.toml")
    assert config.config_path("given.toml") == Path("given.toml")


def test_shipped_example_config_is_valid() -> None:
    example = Path(__file__).resolve().parent.parent / "dcatwatch.example.toml"
    settings = config.load(example, environ={})
    assert {s.type for s in settings.sources} == {"dcat", "dataportal"}
    assert all(s.url.startswith("https://") for s in settings.sources)


def test_reference_documents_every_setting() -> None:
    from dcatwatch.config_docs import reference

    text = reference()
    for name, field in config.Settings.model_fields.items():
        model = field.annotation
        model = getattr(model, "__args__", [model])[0]
        for key in model.model_fields:
            assert f"| `{key}` |" in text, f"{name}.{key} is undocumented"


def test_committed_reference_is_current() -> None:
    from dcatwatch.config_docs import reference

    committed = Path(__file__).resolve().parent.parent / "docs" / "configuration.md"
    assert committed.read_text(encoding="utf-8") == reference() + "\n", (
        "docs/configuration.md is stale: run `dcatwatch config docs > docs/configuration.md`")


def test_environment_lists_and_misplaced_sections(tmp_path: Path) -> None:
    settings = config.load(write(tmp_path, GOOD), environ={
        "DCATWATCH_HTTP_ALLOWED_NETWORKS": "10.1.0.0/16, 192.168.5.0/24"})
    assert settings.http.allowed_networks == ["10.1.0.0/16", "192.168.5.0/24"]
    with pytest.raises(ConfigError, match="http.allowed_networks.*not an IP network"):
        config.load(write(tmp_path, GOOD), environ={"DCATWATCH_HTTP_ALLOWED_NETWORKS": "bogus"})
    misplaced = GOOD.replace('[database]\nurl = "sqlite:///x.db"', 'database = "x"')
    with pytest.raises(ConfigError, match="database: Input should be a valid dictionary"):
        config.load(write(tmp_path, misplaced), environ={"DCATWATCH_DATABASE_URL": "sqlite://"})


BAD_CRONS = [
    (GOOD.replace('"0 5 * * *"', '"61 * * * *"'), "sources[0] (skatteverket).schedule"),
    (GOOD.replace('"0 5 * * *"', '"0 5 * * 1#2"'), "sources[0] (skatteverket).schedule"),
    (GOOD + "[daemon]\nlink_recheck = \"0 3 * * 8\"\n", "daemon.link_recheck"),
    (GOOD + "[reports]\nschedule = \"0 25 * * *\"\n", "reports.schedule"),
]
CRON_IDS = ["minute-61", "weekday-1#2", "weekday-8", "hour-25"]


@pytest.mark.parametrize(("text", "key"), BAD_CRONS, ids=CRON_IDS)
def test_config_check_parses_crons_as_serve_does(tmp_path: Path, text: str, key: str) -> None:
    status, out, err = run("--config", str(write(tmp_path, text)), "config", "check")
    assert (status, out) == (2, "")
    assert f"configuration error: {key}: cannot use the cron" in err


@pytest.mark.parametrize(("text", "key"), BAD_CRONS, ids=CRON_IDS)
def test_loading_refuses_the_crons_the_daemon_refuses(tmp_path: Path, text: str,
                                                      key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        config.load(write(tmp_path, text), environ={})
    assert caught.value.key == key
    assert "cannot use the cron" in str(caught.value)


@pytest.mark.parametrize(("text", "key"), BAD_CRONS, ids=CRON_IDS)
def test_serve_rejects_the_same_crons(tmp_path: Path, text: str, key: str) -> None:
    text = text.replace('"sqlite:///x.db"', f'"sqlite:///{tmp_path}/x.db"') + "[server]\nport = 0\n"
    done = subprocess.run([sys.executable, "-m", "dcatwatch", "--config",
                           str(write(tmp_path, text)), "serve"],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 2
    assert f"configuration error: {key}: cannot use the cron" in done.stderr


def test_config_check_accepts_good_crons(tmp_path: Path) -> None:
    text = GOOD.replace('"0 5 * * *"', '"*/15 6-18 ? * mon-fri"') + (
        "[daemon]\nlink_recheck = \"0 3 * * 0,7\"\n[reports]\nschedule = \"30 7 1 * *\"\n"
        + SMTP)
    status, out, _ = run("--config", str(write(tmp_path, text)), "config", "check")
    assert (status, out) == (0, "configuration OK: 1 sources, 1 agencies\n")


def test_environment_errors_name_the_variable_not_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    with pytest.raises(ConfigError) as caught:
        config.load(path, environ={"DCATWATCH_SMTP_PORT": "abc"})
    message = caught.value.message
    assert message.startswith("smtp.port: ") and "DCATWATCH_SMTP_PORT" in message
    assert str(path) not in message
    done = subprocess.run([sys.executable, "-m", "dcatwatch", "--config", str(path), "config",
                           "check"], capture_output=True, text=True, timeout=60,
                          env=os.environ | {"DCATWATCH_SMTP_PORT": "abc"})
    assert done.returncode == 2
    assert "environment variable DCATWATCH_SMTP_PORT" in done.stderr
    assert str(path) not in done.stderr


def test_file_errors_still_name_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD + "[smtp]\nport = \"abc\"\n")
    with pytest.raises(ConfigError) as caught:
        config.load(path, environ={"DCATWATCH_SMTP_HOST": "mail.example.se"})
    assert caught.value.message.startswith("smtp.port: ")
    assert caught.value.message.endswith(f" in {path}")
    assert "environment" not in caught.value.message
