"""End to end: harvest a loopback catalogue, then validate links, data and metadata."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from dcatwatch.config import ValidationSettings, load
from dcatwatch.http.client import HttpClient
from dcatwatch.store.core import Store
from dcatwatch.validators.service import validate
from tests.conftest import FIXTURES
from tests.helpers import harvest_json, sql, stored_findings, write_config
from tests.servers import LoopbackServer, Request, Response

FILES = FIXTURES / "validation"
DISTRIBUTION_KEYS = {"uri", "url", "http_status", "reachable", "tabular", "valid", "sampled",
                     "errors"}
SETTINGS = ValidationSettings(recheck_hours=0, workers=4)


def _harvested(server: LoopbackServer, tmp_path: Path, database_url: str) -> Path:
    catalog = (FILES / "catalog.ttl").read_text(encoding="utf-8").replace(
        "{base}", server.url(""))
    server.route("/catalog.ttl", catalog.encode(), content_type="text/turtle")
    server.route_file("/kommuner.csv", FILES / "swedish-cp1252.csv", "text/csv")
    server.route_file("/trasig.csv", FILES / "broken.csv", "text/csv")
    config = write_config(tmp_path, [{"name": "exempel", "type": "dcat",
                                      "url": server.url("/catalog.ttl")}], database=database_url)
    status, [result] = harvest_json(config)
    assert status == 0 and result["distributions"] == 3
    return config


def _validate(config: Path, settings: ValidationSettings = SETTINGS) -> dict:
    app = load(config).model_copy(update={"validation": settings})
    with Store.open(app.database.url) as store, HttpClient(app.http) as client:
        stages: list[str] = []
        result = validate(store, app, client, source="exempel",
                          progress=lambda stage, done, total: stages.append(stage))
        assert stages and set(stages) <= {"metadata", "shacl", "links", "data"}
        return result.to_dict()


def test_validate_reports_links_data_and_metadata(server: LoopbackServer, tmp_path: Path,
                                                  database_url: str) -> None:
    config = _harvested(server, tmp_path, database_url)
    report = _validate(config)
    by_uri = {d["uri"]: d for d in report["distributions"]}
    assert set(by_uri) == {"https://data.example.se/dist/kommuner-csv",
                           "https://data.example.se/dist/trasig-csv",
                           "https://data.example.se/dist/rapport-pdf"}
    for entry in by_uri.values():
        assert set(entry) >= DISTRIBUTION_KEYS
    good = by_uri["https://data.example.se/dist/kommuner-csv"]
    assert (good["url"], good["http_status"], good["reachable"]) == \
        (server.url("/kommuner.csv"), 200, True)
    assert (good["tabular"], good["valid"], good["sampled"], good["errors"]) == \
        (True, True, False, [])
    bad = by_uri["https://data.example.se/dist/trasig-csv"]
    assert bad["valid"] is False
    assert {e["type"] for e in bad["errors"]} == {"blank-label", "extra-cell", "missing-cell"}
    assert set(bad["errors"][0]) == {"type", "message", "row", "field"}
    pdf = by_uri["https://data.example.se/dist/rapport-pdf"]
    assert (pdf["http_status"], pdf["reachable"], pdf["tabular"], pdf["valid"]) == \
        (404, False, False, None)
    assert pdf["reason"] == "not a tabular format (PDF)"

    summary = report["summary"]
    assert {k: summary[k] for k in ("distributions", "checked", "reachable", "unreachable",
                                    "tabular", "valid", "invalid", "skipped")} == \
        {"distributions": 3, "checked": 3, "reachable": 2, "unreachable": 1, "tabular": 2,
         "valid": 1, "invalid": 1, "skipped": 1}
    codes = {(f["subject"], f["code"]) for f in report["metadata"]}
    assert ("https://data.example.se/dataset/rapport", "meta.dataset.missing_description") in codes
    assert ("https://data.example.se/dataset/rapport",
            "meta.dataset.access_rights_not_in_vocabulary") in codes
    assert ("https://data.example.se/dist/trasig-csv", "meta.distribution.missing_license") in codes
    agent = [f["code"] for f in report["metadata"] if f["record"] == "agent"]
    assert sorted(agent) == ["meta.agent.missing_classification", "meta.agent.missing_description",
                             "meta.agent.missing_identifier"]  # recommended only; checked once
    assert summary["metadata"]["error"] == sum(f["severity"] == "error"
                                               for f in report["metadata"])
    assert len(stored_findings(config)) == len(report["metadata"])
    assert sql(config, "SELECT status FROM validation_run") == [("ok",)]


def test_second_run_reuses_unchanged_results(server: LoopbackServer, tmp_path: Path,
                                             database_url: str) -> None:
    config = _harvested(server, tmp_path, database_url)
    first = _validate(config)
    hits = server.hits("/kommuner.csv")
    again = _validate(config, ValidationSettings(recheck_hours=24))
    assert server.hits("/kommuner.csv") == hits  # nothing due: no request at all
    assert again["distributions"] == first["distributions"]
    assert again["summary"]["urls_checked"] == 0 and again["summary"]["files_checked"] == 0
    # metadata findings are replaced, not duplicated
    assert len(stored_findings(config)) == len(first["metadata"])


def test_unchanged_files_are_not_validated_again(server: LoopbackServer, tmp_path: Path,
                                                  database_url: str) -> None:
    config = _harvested(server, tmp_path, database_url)
    body = (FILES / "swedish-cp1252.csv").read_bytes()
    asked: list[str | None] = []

    def etagged(request: Request) -> Response:
        asked.append(request.headers.get("if-none-match"))
        if request.headers.get("if-none-match") == '"v7"':
            return Response(304, b"", {"ETag": '"v7"'})
        return Response(200, body, {"Content-Type": "text/csv", "ETag": '"v7"'})

    server.handle("/kommuner.csv", etagged)
    _validate(config)
    validated = sql(config, "SELECT url, validated_at FROM data_check ORDER BY url")
    again = _validate(config)  # everything due again (recheck_hours = 0)
    assert again["summary"]["files_checked"] == 2
    assert [a for a in asked if a] == ['"v7"']  # the second GET was conditional: 304
    # trasig.csv has no validators: same bytes, so frictionless did not run either
    assert sql(config, "SELECT url, validated_at FROM data_check ORDER BY url") == validated
    assert {d["uri"]: d["valid"] for d in again["distributions"]}[
        "https://data.example.se/dist/kommuner-csv"] is True


def test_link_infos_by_url(server: LoopbackServer, tmp_path: Path, database_url: str) -> None:
    config = _harvested(server, tmp_path, database_url)
    _validate(config)
    with Store.open(load(config).database.url) as store, store.read() as unit:
        infos = unit.checks.link_infos()
    assert infos[server.url("/kommuner.csv")].ok is True
    assert infos[server.url("/saknas.pdf")].ok is None  # failing, not yet confirmed
    _validate(config, SETTINGS.model_copy(update={"confirm_after_hours": 0}))
    with Store.open(load(config).database.url) as store, store.read() as unit:
        infos = unit.checks.link_infos()
    assert infos[server.url("/saknas.pdf")].ok is False  # seen again: confirmed


def test_shacl_findings_join_the_metadata(server: LoopbackServer, tmp_path: Path,
                                          database_url: str) -> None:
    pytest.importorskip("pyshacl")
    config = _harvested(server, tmp_path, database_url)
    report = _validate(config, ValidationSettings(recheck_hours=0, data=False, shacl=True))
    shacl = {(f["subject"], f["code"], f["property"]) for f in report["metadata"]
             if f["code"].startswith("shacl.")}
    # DCAT-AP wants dct:format as an IRI; DCAT-AP-SE writes media-type literals
    assert shacl == {(f"https://data.example.se/dist/{name}", "shacl.node_kind", "dct:format")
                     for name in ("kommuner-csv", "trasig-csv", "rapport-pdf")} | {
        ("https://data.example.se/dataset/rapport", "shacl.min_count", "dct:description"),
        # <http://example.org/open> is no EU access right: not typed by the background
        ("https://data.example.se/dataset/rapport", "shacl.class", "dct:accessRights")}
    assert all(d["valid"] is None for d in report["distributions"])  # data checks off


def test_rows_read_in_batches_and_the_streamed_document_are_the_whole_result(
        server: LoopbackServer, tmp_path: Path, database_url: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Findings staged and rows read a few at a time give the document read in one go, and
    ``write_json`` writes exactly that document."""
    from dcatwatch.validators import service

    config = _harvested(server, tmp_path, database_url)
    whole = _validate(config)
    assert whole["metadata"] and len(whole["distributions"]) == 3
    monkeypatch.setattr(service, "BATCH", 2)
    app = load(config).model_copy(update={"validation": SETTINGS})
    with Store.open(app.database.url) as store, HttpClient(app.http) as client:
        result = validate(store, app, client, source="exempel")
        out = io.StringIO()
        result.write_json(out)
        batched = result.to_dict()
        result.close()
    assert json.loads(out.getvalue()) == batched
    stable = ("uri", "url", "reachable", "verdict", "tabular", "valid", "error_count")
    for name in ("distributions", "data_services"):  # checked again: times differ
        assert [{k: row.get(k) for k in stable} for row in batched[name]] == \
            [{k: row.get(k) for k in stable} for row in whole[name]], name
    assert batched["metadata"] == whole["metadata"]
    same = ("duration_s", "shacl")
    assert {k: v for k, v in batched["summary"].items() if k not in same} == \
        {k: v for k, v in whole["summary"].items() if k not in same}
    # the descriptions did not change: their SHACL verdicts are reused, not checked again
    assert (whole["summary"]["shacl"], batched["summary"]["shacl"]) == \
        ({"checked": 2, "reused": 0, "conforming": 0, "unchecked": 0},
         {"checked": 0, "reused": 2, "conforming": 0, "unchecked": 0})


def test_distributions_under_dct_distribution_are_validated(server: LoopbackServer,
                                                            tmp_path: Path,
                                                            database_url: str) -> None:
    """A catalogue linking distributions with dct:distribution (tolerated by the mapper, as
    a real Swedish catalogue writes it) validates like one using dcat:distribution."""
    catalog = (FILES / "catalog.ttl").read_text(encoding="utf-8").replace(
        "{base}", server.url("")).replace("dcat:distribution", "dct:distribution")
    server.route("/catalog.ttl", catalog.encode(), content_type="text/turtle")
    server.route_file("/kommuner.csv", FILES / "swedish-cp1252.csv", "text/csv")
    server.route_file("/trasig.csv", FILES / "broken.csv", "text/csv")
    config = write_config(tmp_path, [{"name": "exempel", "type": "dcat",
                                      "url": server.url("/catalog.ttl")}], database=database_url)
    status, [result] = harvest_json(config)
    assert status == 0 and result["distributions"] == 3
    report = _validate(config, ValidationSettings(recheck_hours=0, data=False))
    assert {d["uri"] for d in report["distributions"]} == {
        "https://data.example.se/dist/kommuner-csv", "https://data.example.se/dist/trasig-csv",
        "https://data.example.se/dist/rapport-pdf"}
