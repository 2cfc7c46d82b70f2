"""The operator's views: `sources`, `runs --kind --status --limit` (an error cut only with a
mark, whole in --json), and --json wherever a command reports."""

from __future__ import annotations

import json
from pathlib import Path

from dcatwatch import cli_output
from tests.conftest import FIXTURES
from tests.helpers import harvest_json, run, write_config
from tests.servers import LoopbackServer
from tests.test_reports import REGISTRY, Mailbox, smtp  # noqa: F401 - the smtp fixture

CATALOG = (FIXTURES / "agency-catalog.ttl").read_bytes()
BROKEN = (b"@prefix dcat: <http://www.w3.org/ns/dcat#> .\n"
          b"<https://data.example.se/catalog> a dcat:Catalog ;; trasig")
EMPTY = b"""@prefix dcat: <http://www.w3.org/ns/dcat#> . @prefix dct: <http://purl.org/dc/terms/> .
<https://data.example.se/catalog> a dcat:Catalog ; dct:title "Tom"@sv ."""


def _two_sources(server: LoopbackServer, tmp_path: Path, **sections: dict) -> Path:
    """``good`` (3 datasets, harvested, then emptied: removals held), ``gone`` (broken
    Turtle: a long error) and ``off`` (disabled, never run)."""
    server.route("/c.ttl", CATALOG, content_type="text/turtle")
    server.route("/broken.ttl", BROKEN, content_type="text/turtle")
    config = write_config(tmp_path, [
        {"name": "good", "type": "dcat", "url": server.url("/c.ttl"), "schedule": "@daily"},
        {"name": "gone", "type": "dcat", "url": server.url("/broken.ttl")},
        {"name": "off", "type": "dcat", "url": server.url("/c.ttl"), "enabled": False}],
        **sections)
    assert harvest_json(config, "good")[0] == 0
    server.route("/c.ttl", EMPTY, content_type="text/turtle")
    assert harvest_json(config, "good")[0] == 0  # the guard holds the 3 removals
    assert harvest_json(config, "gone")[0] == 1
    return config


def test_sources_shows_last_run_next_run_datasets_and_held_removals(
        server: LoopbackServer, tmp_path: Path) -> None:
    config = _two_sources(server, tmp_path)
    status, out, err = run("--config", str(config), "sources", "--json")
    assert (status, err) == (0, "")
    good, gone, off = json.loads(out)
    assert (good["source"], good["last_status"], good["datasets"], good["held_removals"]) == \
        ("good", "ok", 3, 3)
    assert good["last_success_at"] is not None and good["last_error"] is not None  # held
    assert good["next_run_at"].endswith("T23:00:00+00:00") or \
        good["next_run_at"].endswith("T22:00:00+00:00")  # @daily: midnight in Stockholm
    assert (gone["last_status"], gone["datasets"], gone["last_success_at"]) == \
        ("failed", 0, None)
    assert "syntax error" in gone["last_error"] and len(gone["last_error"]) > 80  # whole in JSON
    assert (off["enabled"], off["last_status"], off["next_run_at"]) == (False, None, None)

    status, out, _ = run("--config", str(config), "sources")
    lines = out.splitlines()
    assert status == 0 and lines[0].split()[:4] == ["source", "type", "last", "run"]
    good_line = next(line for line in lines if line.startswith("good "))
    fields = good_line.split()  # times are two fields each: 2026-12-07 05:00Z
    assert fields[2] == "ok" and fields[8].endswith("Z") and fields[9:11] == ["3", "3"]
    gone_line = next(line for line in lines if line.startswith("gone "))
    assert " failed " in gone_line and gone_line.endswith("…")  # cut, and marked
    assert next(line for line in lines if line.startswith("off ")).split()[2:4] == \
        ["never", "run"]
    assert "good: 3 removals held by the mass-deletion guard; `dcatwatch harvest " \
           "--confirm-removals good` applies them" in out


def test_runs_filters_by_kind_and_status_and_limits(server: LoopbackServer,
                                                     tmp_path: Path) -> None:
    config = _two_sources(server, tmp_path)
    assert run("--config", str(config), "scores", "--snapshot")[0] == 0

    def runs(*extra: str) -> list[dict]:
        status, out, err = run("--config", str(config), "runs", "--json", *extra)
        assert (status, err) == (0, "")
        return json.loads(out)

    every = runs()
    assert {r["kind"] for r in every} == {"harvest", "scoring"} and len(every) == 4
    assert [r["source"] for r in runs("--kind", "harvest", "--status", "failed")] == ["gone"]
    assert [r["status"] for r in runs("--kind", "harvest", "--source", "good")] == ["ok", "ok"]
    assert len(runs("--limit", "2")) == 2 and runs("--limit", "1") == every[:1]
    assert runs("--kind", "report") == []
    [failed] = runs("--status", "failed")
    assert "syntax error" in failed["error"] and len(failed["error"]) > cli_output.ERROR_WIDTH

    status, out, _ = run("--config", str(config), "runs", "--status", "failed")
    header, rule, row = out.splitlines()
    assert header.split() == ["source", "kind", "status", "scheduled_for", "started_at",
                              "finished_at", "worker", "error"]
    assert row.endswith("…") and failed["error"][:40] in row  # cut, and marked as cut
    assert run("--config", str(config), "runs", "--status", "nosuch")[1] == "no run matches\n"
    assert run("--config", str(config), "runs", "--kind", "nosuch")[0] == 2
    assert run("--config", str(config), "runs", "--limit", "0")[0] == 2


def test_cut_marks_what_it_leaves_out() -> None:
    assert cli_output.cut("kort", 10) == "kort"
    assert cli_output.cut("a" * 20, 10) == "a" * 9 + "…"
    assert cli_output.cut("två\nrader", 20) == "två rader"
    assert cli_output.cut(None, 5) == ""


def test_report_commands_and_agencies_import_print_json(
        server: LoopbackServer, tmp_path: Path, smtp: tuple[Mailbox, int]) -> None:  # noqa: F811
    mailbox, port = smtp
    url = server.route("/c.ttl", CATALOG, content_type="text/turtle")
    config = write_config(tmp_path, [{"name": "src", "type": "dcat", "url": url}],
                          agencies=REGISTRY[:1],
                          smtp={"host": "127.0.0.1", "port": port, "sender": "a@example.se"})
    assert harvest_json(config)[0] == 0
    agency = REGISTRY[0]["id"]

    status, out, _ = run("--config", str(config), "report", "preview", "--agency", agency,
                         "--out", str(tmp_path / "out"), "--json")
    preview = json.loads(out)
    assert status == 0 and preview["agency"] == agency
    assert [Path(f).suffix for f in preview["files"]] == [".eml", ".html", ".txt"]
    assert all(Path(f).exists() for f in preview["files"])

    status, out, _ = run("--config", str(config), "report", "send", "--period", "2026-05",
                         "--json")
    sent = json.loads(out)
    assert (status, sent["period"], sent["sent"], sent["failed"]) == (0, "2026-05", [agency], {})
    status, out, _ = run("--config", str(config), "report", "send", "--period", "2026-05",
                         "--json")
    assert (status, json.loads(out)["already_sent"]) == (0, [agency])
    status, out, _ = run("--config", str(config), "report", "resend", "--agency", agency,
                         "--period", "2026-05", "--json")
    assert (status, json.loads(out)["sent"]) == (0, [agency])
    assert len(mailbox.messages) == 2  # the send and the deliberate resend

    csv = tmp_path / "registry.csv"
    csv.write_text("id;name\n2021000009;Ny myndighet\n;Utan id\n", encoding="utf-8")
    status, out, _ = run("--config", str(config), "agencies", "import", str(csv), "--json")
    imported = json.loads(out)
    assert (status, imported["added"], imported["errors"]) == \
        (1, 1, ["line 3: the id (organisation number) is empty"])


def test_every_command_is_in_the_readme() -> None:
    from dcatwatch.cli import _parser

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    usage = readme[readme.index("## Using it"):]
    usage = usage[:usage.index("```", usage.index("```") + 3)]
    parser = _parser()
    [commands] = [a for a in parser._actions if a.dest == "==SUPPRESS==" and a.choices]
    for name, sub in commands.choices.items():
        nested = [a for a in sub._actions if a.choices and a.dest == "==SUPPRESS=="]
        names = [f"{name} {child}" for child in nested[0].choices] if nested else [name]
        for command in names:
            assert f"] {command}" in usage or f"dcatwatch {command}" in usage, command
