"""Command-line edges: an unreachable store, confirming held removals, the validate summary."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import FIXTURES
from tests.helpers import harvest_json, run, sql, write_config
from tests.servers import LoopbackServer

UNREACHABLE = "postgresql+psycopg://nobody:secret@127.0.0.1:1/x"  # a closed port on loopback
EMPTY = """@prefix dcat: <http://www.w3.org/ns/dcat#> . @prefix dct: <http://purl.org/dc/terms/> .
<https://data.example.se/catalog> a dcat:Catalog ; dct:title "Tom"@sv ."""


def dcatwatch(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m dcatwatch --config CONFIG ARGS`` as a real process."""
    return subprocess.run([sys.executable, "-m", "dcatwatch", "--config", str(config), *args],
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("store", [UNREACHABLE, "sqlite:////nonexistent-dcatwatch/x.db"])
@pytest.mark.parametrize("command", [("db", "upgrade"), ("scores",), ("harvest",)])
def test_an_unreachable_store_is_one_clean_line_without_the_password(
        tmp_path: Path, store: str, command: tuple[str, ...]) -> None:
    config = write_config(tmp_path, [], database=store)
    done = dcatwatch(config, *command)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and done.stdout == ""
    line = done.stderr.strip()
    assert "\n" not in line
    assert line.startswith("dcatwatch: configuration error: database.url: cannot open ")
    assert "secret" not in line
    if store == UNREACHABLE:
        assert "postgresql+psycopg://nobody:***@127.0.0.1:1/x" in line
        assert "Connection refused" in line and "database server is running" in line
    else:
        assert store in line and "directory exists" in line


def test_db_upgrade_still_creates_and_reports_the_schema(tmp_path: Path) -> None:
    status, out, err = run("--config", str(write_config(tmp_path, [])), "db", "upgrade")
    assert (status, err) == (0, "")
    assert out.startswith("database schema: empty -> ")


def _held(server: LoopbackServer, tmp_path: Path) -> Path:
    """A source whose emptied catalogue left its 3 datasets held by the removal guard."""
    catalog = (FIXTURES / "agency-catalog.ttl").read_bytes()
    server.route("/c.ttl", catalog, content_type="text/turtle")
    config = write_config(tmp_path, [{"name": "src", "type": "dcat",
                                      "url": server.url("/c.ttl")}])
    harvest_json(config)
    server.route("/c.ttl", EMPTY.encode(), content_type="text/turtle")
    _, [held] = harvest_json(config)
    assert held["held_removals"] == 3
    return config


def test_confirm_removals_prints_json_when_asked(server: LoopbackServer, tmp_path: Path) -> None:
    config = _held(server, tmp_path)
    status, out, err = run("--config", str(config), "harvest", "--confirm-removals", "src",
                           "--json")
    assert (status, err) == (0, "")
    assert json.loads(out) == {"source": "src", "removed": 3}
    assert sql(config, "SELECT count(*) FROM dataset WHERE removed_at IS NULL") == [(0,)]


def test_confirm_removals_refuses_source_arguments(server: LoopbackServer,
                                                   tmp_path: Path) -> None:
    config = _held(server, tmp_path)
    hits = len(server.requests)
    status, out, err = run("--config", str(config), "harvest", "--confirm-removals", "src",
                           "other")
    assert (status, out) == (2, "")
    assert "--confirm-removals src" in err and "no SOURCE arguments (got: other)" in err
    assert len(server.requests) == hits  # nothing was harvested
    assert sql(config, "SELECT count(*) FROM dataset WHERE removed_at IS NULL") == [(3,)]


def test_validate_text_counts_skipped_among_tabular_only(server: LoopbackServer,
                                                         tmp_path: Path) -> None:
    files = FIXTURES / "validation"
    catalog = (files / "catalog.ttl").read_text(encoding="utf-8").replace("{base}", server.url(""))
    server.route("/catalog.ttl", catalog.encode(), content_type="text/turtle")
    server.route_file("/kommuner.csv", files / "swedish-cp1252.csv", "text/csv")
    server.route_file("/trasig.csv", files / "broken.csv", "text/csv")
    config = write_config(tmp_path, [{"name": "exempel", "type": "dcat",
                                      "url": server.url("/catalog.ttl")}])
    harvest_json(config)
    status, out, _ = run("--config", str(config), "validate")  # two CSV files and a PDF
    assert status == 0
    assert ("tabular 2 (valid 1, invalid 1, not validated 0, sampled 0) · not tabular 1"
            in out.splitlines()[0])
    status, out, _ = run("--config", str(config), "validate", "--json")
    summary = json.loads(out)["summary"]
    assert (summary["tabular"], summary["skipped"]) == (2, 1)  # JSON: every unvalidated one
