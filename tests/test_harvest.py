"""End-to-end harvests from a real loopback HTTP server into a fresh SQLite store."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import FIXTURES
from tests.helpers import harvest_json, run, sql, write_config
from tests.servers import LoopbackServer

CATALOG = (FIXTURES / "agency-catalog.ttl").read_text(encoding="utf-8")
CONTRACT_KEYS = {"source", "status", "datasets", "distributions", "data_services", "agencies",
                 "added", "updated", "unchanged", "removed", "held_removals", "pages",
                 "removals_due_at", "unattributed", "unattributed_services", "duration_s",
                 "errors"}


def _source(server: LoopbackServer, path: str = "/catalog.ttl", **extra: object) -> dict:
    return {"name": "exempel", "type": "dcat", "url": server.url(path), **extra}


def test_first_harvest_counts_and_contract(server: LoopbackServer, tmp_path: Path,
                                           database_url: str) -> None:
    server.route("/catalog.ttl", CATALOG.encode(), content_type="text/turtle")
    config = write_config(tmp_path, [_source(server)], database=database_url)
    status, results = harvest_json(config)
    assert status == 0
    [result] = results
    assert set(result) == CONTRACT_KEYS
    assert result["status"] == "ok"
    assert (result["datasets"], result["distributions"], result["data_services"],
            result["agencies"]) == (3, 3, 1, 2)
    assert (result["added"], result["updated"], result["unchanged"], result["removed"]) == (3, 0, 0, 0)
    assert result["pages"] == 1 and result["errors"] == []
    agencies = dict(sql(config, "SELECT id, name FROM agency"))
    assert agencies == {"2021005448": "Skatteverket", "2021006297": "Trafikverket"}
    assert sql(config, "SELECT status, datasets FROM harvest_run") == [("ok", 3)]


def test_reharvest_reports_exact_changes(server: LoopbackServer, tmp_path: Path,
                                         database_url: str) -> None:
    server.route("/catalog.ttl", CATALOG.encode(), content_type="text/turtle")
    config = write_config(tmp_path, [_source(server)], database=database_url)
    harvest_json(config)
    edited = (CATALOG
              # updated: a distribution's format changes
              .replace('dct:format "application/pdf"', 'dct:format "text/csv"')
              # removed: trafikfloden leaves the catalogue (one of three: below the guard? no)
              .replace("<https://data.example.se/dataset/trafikfloden> a dcat:Dataset",
                       "<https://data.example.se/dataset/trafikfloden-old> a dcat:Thing")
              # added: a new dataset
              + '\n<https://data.example.se/dataset/ny> a dcat:Dataset ; '
                'dct:title "Ny datamängd"@sv ; '
                'dct:publisher <http://dataportal.se/organisation/SE2021005448> .\n')
    server.route("/catalog.ttl", edited.encode(), content_type="text/turtle")
    # one removal out of three datasets is 33 %: raise the guard so it is applied
    config = write_config(tmp_path, [_source(server, removal_threshold=0.5)],
                          database=database_url)
    status, [result] = harvest_json(config)
    assert status == 0
    assert (result["added"], result["updated"], result["unchanged"], result["removed"]) == (1, 1, 1, 1)
    assert result["datasets"] == 3
    status, [again] = harvest_json(config)
    assert (again["added"], again["updated"], again["unchanged"], again["removed"]) == (0, 0, 3, 0)


def test_unreachable_source_fails_with_exit_1_and_keeps_data(server: LoopbackServer,
                                                              tmp_path: Path,
                                                              database_url: str) -> None:
    server.route("/catalog.ttl", CATALOG.encode(), content_type="text/turtle")
    config = write_config(tmp_path, [_source(server)], database=database_url)
    harvest_json(config)
    server.route("/catalog.ttl", b"gone", status=404)
    status, [result] = harvest_json(config)
    assert status == 1
    assert result["status"] == "failed"
    assert result["errors"][0]["code"] == "fetch.http_status"
    assert result["errors"][0]["url"] == server.url("/catalog.ttl")
    assert sql(config, "SELECT count(*) FROM dataset WHERE removed_at IS NULL") == [(3,)]


def test_broken_document_names_url_line_and_syntax(server: LoopbackServer, tmp_path: Path) -> None:
    broken = CATALOG.replace('dct:format "text/csv" ;', 'dct:format "text/csv ;', 1)
    server.route("/catalog.ttl", broken.encode(), content_type="text/turtle")
    config = write_config(tmp_path, [_source(server)])
    status, [result] = harvest_json(config)
    assert status == 1
    [error] = result["errors"]
    assert error["code"] == "parse.syntax"
    assert "Turtle syntax error at line" in error["message"]
    assert "dcatwatch-" not in error["message"]  # the temporary file's name means nothing
    assert error["url"] == server.url("/catalog.ttl")


def test_one_failing_source_does_not_stop_the_others(server: LoopbackServer,
                                                     tmp_path: Path) -> None:
    server.route("/good.ttl", CATALOG.encode(), content_type="text/turtle")
    server.route("/html", b"<!DOCTYPE html><html><body>Sidan finns inte</body></html>",
                 content_type="text/html")
    config = write_config(tmp_path, [
        {"name": "web-page", "type": "dcat", "url": server.url("/html")},
        {"name": "good", "type": "dcat", "url": server.url("/good.ttl")},
    ])
    status, results = harvest_json(config)
    assert status == 1
    assert [(r["source"], r["status"]) for r in results] == [("web-page", "failed"), ("good", "ok")]
    assert results[0]["errors"][0]["code"] == "parse.not_rdf"


def test_readable_table_without_json(server: LoopbackServer, tmp_path: Path) -> None:
    server.route("/catalog.ttl", CATALOG.encode(), content_type="text/plain")
    config = write_config(tmp_path, [_source(server)])
    status, out, _ = run("--config", str(config), "harvest")
    assert status == 0
    header, rule, row = out.splitlines()[:3]
    assert header.split()[:3] == ["source", "status", "datasets"]
    assert row.split()[:3] == ["exempel", "ok", "3"]


def test_named_source_unknown_is_a_usage_error(server: LoopbackServer, tmp_path: Path) -> None:
    config = write_config(tmp_path, [_source(server)])
    status, _, err = run("--config", str(config), "harvest", "nosuch")
    assert status == 2
    assert err == ("dcatwatch: usage.unknown_name: SOURCE: unknown source 'nosuch' "
                   "(known: exempel)\n")
