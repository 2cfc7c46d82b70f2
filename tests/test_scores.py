"""Scores end to end: loopback harvests, per-agency counts and the index exactly as defined."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import create_engine, text

from dcatwatch.scoring.service import score
from dcatwatch.store.core import Store
from tests.conftest import FIXTURES
from tests.helpers import harvest_json, run, sql, write_config
from tests.servers import LoopbackServer

CATALOG = (FIXTURES / "agency-catalog.ttl").read_text(encoding="utf-8")
REGISTRY = [{"id": "2021005448", "name": "Skatteverket", "email": "skatt@example.se"},
            {"id": "2120000142", "name": "Kommun utan data"}]
AGENCY_KEYS = {"id", "name", "datasets", "api", "machine_readable", "document_only", "unknown",
               "api_share", "document_only_share", "api_document_index", "mqa_points",
               "mqa_band"}
NATIONAL_KEYS = {"agencies", "agencies_with_api", "agencies_with_api_share", "datasets",
                 "api_share", "document_only_share"}


def scores_json(config: Path, *extra: str) -> dict:
    status, out, err = run("--config", str(config), "scores", "--json", *extra)
    assert status == 0, err
    return json.loads(out)


def test_scores_from_a_loopback_harvest(server: LoopbackServer, tmp_path: Path,
                                        database_url: str) -> None:
    url = server.route("/catalog.ttl", CATALOG.encode(), content_type="text/turtle")
    config = write_config(tmp_path, [{"name": "exempel", "type": "dcat", "url": url}],
                          agencies=REGISTRY, database=database_url)
    harvest_json(config)
    scores = scores_json(config)
    agencies = {a["id"]: a for a in scores["agencies"]}
    assert AGENCY_KEYS <= set(agencies["2021005448"])
    assert NATIONAL_KEYS <= set(scores["national"])
    tax = agencies["2021005448"]  # skattesatser: CSV file; årsredovisning: PDF only
    assert (tax["datasets"], tax["api"], tax["machine_readable"], tax["document_only"],
            tax["unknown"]) == (2, 0, 1, 1, 0)
    assert tax["api_document_index"] == round(100 * (2 + 1) / (3 * 2), 1)
    assert tax["document_only_share"] == 0.5 and tax["api_share"] == 0.0
    traffic = agencies["2021006297"]  # not in the registry: named from its foaf:name
    assert traffic["name"] == "Trafikverket"
    assert (traffic["datasets"], traffic["api"], traffic["api_document_index"]) == (1, 1, 100.0)
    empty = agencies["2120000142"]
    assert (empty["datasets"], empty["api_document_index"]) == (0, None)
    national = scores["national"]
    assert (national["agencies"], national["agencies_with_api"], national["datasets"]) == (3, 1, 3)
    assert national["agencies_with_api_share"] == 1 / 3
    assert national["api_share"] == 1 / 3


def test_same_dataset_from_two_sources_counts_once(server: LoopbackServer,
                                                   tmp_path: Path) -> None:
    own = server.route("/own.ttl", CATALOG.encode(), content_type="text/turtle")
    portal = server.route("/portal.ttl", CATALOG.encode(), content_type="text/turtle")
    config = write_config(tmp_path, [{"name": "own", "type": "dcat", "url": own},
                                     {"name": "portal", "type": "dataportal", "url": portal}])
    harvest_json(config)
    scores = scores_json(config)
    assert scores["national"]["datasets"] == 3


def test_rescoring_only_what_changed_and_history(server: LoopbackServer, tmp_path: Path,
                                                 database_url: str) -> None:
    url = server.route("/catalog.ttl", CATALOG.encode(), content_type="text/turtle")
    config = write_config(tmp_path, [{"name": "exempel", "type": "dcat", "url": url}],
                          database=database_url)
    harvest_json(config)
    scores_json(config, "--snapshot")
    pdf_to_api = CATALOG.replace('dct:format "application/pdf" ]',
                                 'dct:format "application/pdf" ; '
                                 'dcat:accessService <https://data.example.se/api/trafik> ]')
    server.route("/catalog.ttl", pdf_to_api.encode(), content_type="text/turtle")
    harvest_json(config)
    before = dict(sql(config, "SELECT dataset_id, scored_at FROM dataset_score"))
    tax = {a["id"]: a for a in scores_json(config, "--snapshot")["agencies"]}["2021005448"]
    assert (tax["api"], tax["document_only"]) == (1, 0)
    assert tax["api_document_index"] == round(100 * (3 + 2) / 6, 1)
    after = dict(sql(config, "SELECT dataset_id, scored_at FROM dataset_score"))
    history = sql(config, "SELECT api_document_index FROM agency_score "
                          "WHERE agency_id = '2021005448' ORDER BY scored_at")
    assert sum(before[k] != after[k] for k in before) == 1  # only the changed dataset
    assert history == [(50.0,), (83.3,)]


def test_a_service_added_alone_rescores_the_dataset_it_serves(
        server: LoopbackServer, tmp_path: Path, database_url: str) -> None:
    url = server.route("/catalog.ttl", CATALOG.encode(), content_type="text/turtle")
    config = write_config(tmp_path, [{"name": "exempel", "type": "dcat", "url": url}],
                          database=database_url)
    harvest_json(config)
    tax = {a["id"]: a for a in scores_json(config)["agencies"]}["2021005448"]
    assert (tax["api"], tax["document_only"]) == (0, 1)
    served = CATALOG + (
        "\n<https://data.example.se/api/arsredovisning> a dcat:DataService ;\n"
        "    dcat:endpointURL <https://api.example.se/arsredovisning> ;\n"
        "    dcat:servesDataset <https://data.example.se/dataset/arsredovisning> .\n")
    server.route("/catalog.ttl", served.encode(), content_type="text/turtle")
    status, [result] = harvest_json(config)
    assert (status, result["updated"], result["data_services"]) == (0, 0, 2)

    before = dict(sql(config, "SELECT dataset_id, scored_at FROM dataset_score"))
    tax = {a["id"]: a for a in scores_json(config)["agencies"]}["2021005448"]  # not --full
    assert (tax["api"], tax["document_only"]) == (1, 0)
    after = dict(sql(config, "SELECT d.iri, s.scored_at FROM dataset_score s "
                             "JOIN dataset d ON d.id = s.dataset_id"))
    ids = dict(sql(config, "SELECT iri, id FROM dataset"))
    assert {iri for iri, at in after.items() if before[ids[iri]] != at} == {
        "https://data.example.se/dataset/arsredovisning"}  # only the dataset it serves
    served = served.replace("dcat:endpointURL <https://api.example.se/arsredovisning>",
                            "dcat:endpointURL <https://api.example.se/arsredovisning/v2>")
    server.route("/catalog.ttl", served.encode(), content_type="text/turtle")
    harvest_json(config)  # the service changed: the dataset it serves is rescored
    scores_json(config)
    again = dict(sql(config, "SELECT d.iri, s.scored_at FROM dataset_score s "
                             "JOIN dataset d ON d.id = s.dataset_id"))
    assert {iri for iri, at in again.items() if after[iri] != at} == {
        "https://data.example.se/dataset/arsredovisning"}


def test_table_sorted_by_index_and_explain(server: LoopbackServer, tmp_path: Path) -> None:
    url = server.route("/catalog.ttl", CATALOG.encode(), content_type="text/turtle")
    config = write_config(tmp_path, [{"name": "exempel", "type": "dcat", "url": url}])
    harvest_json(config)
    status, out, _ = run("--config", str(config), "scores")
    assert status == 0
    rows = [line.split()[0] for line in out.splitlines()[2:4]]
    assert rows == ["2021006297", "2021005448"]  # index 100 before 50
    status, out, _ = run("--config", str(config), "explain",
                         "https://data.example.se/dataset/arsredovisning")
    assert status == 0
    assert "level 1 (document_only" in out
    assert "D1 document format: format = PDF <application/pdf>" in out
    assert "machine-readable format (machine_readable, dct:format / dcat:mediaType)" in out
    assert "MQA-predicted:" in out
    status, out, _ = run("--config", str(config), "explain",
                         "https://data.example.se/dataset/arsredovisning", "--json")
    [found] = json.loads(out)
    [d1] = found["details"]["classification"]["evidence"]
    assert (d1["rule"], d1["property"], d1["value"]) == ("D1", "format", "application/pdf")
    assert d1["labels"] == {
        "rule": {"sv": "dokumentformat", "en": "document format"},
        "property": {"sv": "format", "en": "format"},
        "value": {"sv": "PDF", "en": "PDF"},
        "text": {"sv": "dokumentformat: format PDF", "en": "document format: format PDF"}}
    spatial = next(i for i in found["details"]["mqa"]["indicators"] if i["id"] == "spatial")
    assert spatial["property"] == "dct:spatial" and spatial["labels"]["property"] == {
        "sv": "geografiskt område", "en": "spatial coverage"}
    status, _, err = run("--config", str(config), "explain", "https://nowhere.example/x")
    assert status == 1 and "no harvested dataset" in err


def test_link_checks_feed_the_mqa_accessibility_points(server: LoopbackServer,
                                                       tmp_path: Path) -> None:
    catalog = CATALOG.replace("https://data.example.se/files/", server.url("/files/"))
    server.route("/files/skattesatser.csv", b"kommun;skattesats\nUme\xe5;33,35\n",
                 content_type="text/csv")
    url = server.route("/catalog.ttl", catalog.encode(), content_type="text/turtle")
    config = write_config(tmp_path, [{"name": "exempel", "type": "dcat", "url": url}])
    harvest_json(config)
    iri = "https://data.example.se/dataset/skattesatser"

    def indicators() -> dict[str, dict]:
        status, out, _ = run("--config", str(config), "explain", iri, "--json")
        [found] = json.loads(out)
        return {i["id"]: i for i in found["details"]["mqa"]["indicators"]}

    before = indicators()
    assert before["access_url_status"]["state"] == "unknown"
    assert before["access_url_status"]["points"] == 0
    status, _, err = run("--config", str(config), "validate", "--json")
    assert status == 0, err
    after = indicators()
    assert after["access_url_status"]["state"] == "pass"
    assert after["access_url_status"]["points"] == after["access_url_status"]["max_points"]
    assert after["download_url_status"]["state"] == "pass"


def test_link_checks_rescore_only_the_datasets_that_read_them(
        server: LoopbackServer, tmp_path: Path, database_url: str) -> None:
    catalog = CATALOG.replace("https://data.example.se/files/", server.url("/files/"))
    csv = b"kommun;skattesats\nUme\xe5;33,35\n"
    server.route("/files/skattesatser.csv", csv, content_type="text/csv")
    url = server.route("/catalog.ttl", catalog.encode(), content_type="text/turtle")
    config = write_config(tmp_path, [{"name": "exempel", "type": "dcat", "url": url}],
                          database=database_url,
                          # links only: SHACL verdicts rescore too (tests/test_shacl.py)
                          validation={"recheck_hours": 0, "data": False, "shacl": False})
    harvest_json(config)
    tax, report, traffic = (f"https://data.example.se/dataset/{name}"
                            for name in ("skattesatser", "arsredovisning", "trafikfloden"))

    def scored() -> dict[str, tuple]:
        rows = sql(config, "SELECT d.iri, s.level, s.strong, s.open, s.mqa_points, "
                           "s.mqa_band, s.mqa_unknown_points, s.details, s.scored_at "
                           "FROM dataset_score s JOIN dataset d ON d.id = s.dataset_id")
        return {row[0]: row[1:] for row in rows}

    def validate() -> None:
        status, _, err = run("--config", str(config), "validate", "--json")
        assert status == 0, err

    def rescored(before: dict[str, tuple], after: dict[str, tuple]) -> set[str]:
        return {iri for iri in before if before[iri] != after[iri]}

    with Store.open(database_url) as store:
        assert score(store).rescored == 3
        assert score(store).rescored == 0  # nothing changed
        first = scored()
        # the CSV answers; the PDF (404) and the API host (no such name) fail unconfirmed,
        # which scoring reads as unchecked, as before: only the CSV's dataset is rescored
        validate()
        assert score(store).rescored == 1
        second = scored()
        assert rescored(first, second) == {tax}
        assert score(store).rescored == 0
        server.route("/files/arsredovisning.pdf", b"%PDF-1.4\n", content_type="application/pdf")
        validate()  # the PDF answers now; the CSV reads the same
        assert score(store).rescored == 1
        third = scored()
        assert rescored(second, third) == {report}
        server.route("/files/skattesatser.csv", b"gone", status=404)
        validate()  # the CSV fails (unconfirmed): its points are unknown again
        assert score(store).rescored == 1
        fourth = scored()
        assert rescored(third, fourth) == {tax}
        assert fourth[tax][:-1] == first[tax][:-1] and traffic not in rescored(first, fourth)
        score(store, full=True)  # the same scores as rescoring everything
        every = scored()
        assert {iri: row[:-1] for iri, row in every.items()} == \
            {iri: row[:-1] for iri, row in fourth.items()}


def test_an_alias_added_later_moves_existing_datasets(server: LoopbackServer,
                                                      tmp_path: Path) -> None:
    catalog = CATALOG.replace("http://dataportal.se/organisation/SE2021006297",
                              "https://www.trafikverket.example/#org")
    url = server.route("/catalog.ttl", catalog.encode(), content_type="text/turtle")
    source = [{"name": "exempel", "type": "dcat", "url": url}]
    config = write_config(tmp_path, source)
    harvest_json(config)
    before = {a["id"] for a in scores_json(config)["agencies"]}
    assert "2021006297" not in before  # the publisher IRI carries no orgnr
    registry = [{"id": "2021006297", "name": "Trafikverket", "email": "t@example.se",
                 "aliases": ["https://www.trafikverket.example/#org"]}]
    config = write_config(tmp_path, source, agencies=registry)
    _, [result] = harvest_json(config)  # unchanged catalogue: answered from the cache
    assert result["unchanged"] == 3
    agencies = {a["id"]: a for a in scores_json(config)["agencies"]}
    assert (agencies["2021006297"]["datasets"], agencies["2021006297"]["api"]) == (1, 1)
    # the dataset's score moved with it (reports list an agency's datasets by its scores)
    assert sql(config, "SELECT s.agency_id FROM dataset_score s JOIN dataset d "
                       "ON d.id = s.dataset_id WHERE d.agency_id = '2021006297'") == \
        [("2021006297",)]
    assert not any(a["datasets"] for i, a in agencies.items() if "trafikverket" in i)


PREFIXES = """@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix dct: <http://purl.org/dc/terms/> .
"""
SKV = "http://dataportal.se/organisation/SE2021005448"
PORTAL_77 = "https://admin.dataportal.se/store/9/resource/77"


def catalogue(name: str, publisher: str, *datasets: tuple[str, str, str]) -> bytes:
    """A Turtle catalogue of (IRI, dct:identifier, format) datasets, all by ``publisher``."""
    listed = ", ".join(f"<{iri}>" for iri, _, _ in datasets)
    text = PREFIXES + (f'<https://cat.example/{name}> a dcat:Catalog ; '
                       f'dct:title "Katalog"@sv ; dct:publisher <{publisher}> ; '
                       f'dcat:dataset {listed} .\n')
    for iri, identifier, media_type in datasets:
        text += (f'<{iri}> a dcat:Dataset ; dct:title "{identifier}"@sv ; '
                 f'dct:identifier "{identifier}" ; dct:publisher <{publisher}> ; '
                 f'dcat:distribution [ a dcat:Distribution ; '
                 f'dcat:accessURL <{iri}/file> ; dct:format "{media_type}" ] .\n')
    return text.encode()


def harvest_own_and_portal(server: LoopbackServer, tmp_path: Path, database_url: str,
                           own_publisher: str) -> Path:
    own = server.route("/own.ttl", catalogue(
        "own", own_publisher, ("https://own.se/x1", "id-x1", "text/csv"),
        ("https://own.se/x2", "id-x2", "text/csv")), content_type="text/turtle")
    portal = server.route("/portal.ttl", catalogue(
        "portal", SKV, ("https://own.se/x1", "id-x1", "application/pdf"),
        (PORTAL_77, "id-x2", "application/pdf")), content_type="text/turtle")
    config = write_config(tmp_path, [{"name": "portal", "type": "dataportal", "url": portal},
                                     {"name": "own", "type": "dcat", "url": own}],
                          database=database_url)
    status, _ = harvest_json(config)
    assert status == 0
    return config


def test_shared_identifier_across_own_catalogue_and_portal_counts_once(
        server: LoopbackServer, tmp_path: Path, database_url: str) -> None:
    config = harvest_own_and_portal(server, tmp_path, database_url, SKV)

    def check(scores: dict) -> None:
        skv = {a["id"]: a for a in scores["agencies"]}["2021005448"]
        # x1 by IRI, x2 / portal resource 77 by dct:identifier; the own copies (CSV) decide
        assert (skv["datasets"], skv["machine_readable"], skv["document_only"]) == (2, 2, 0)
        assert scores["national"]["datasets"] == 2

    check(scores_json(config, "--snapshot"))  # identifiers kept in the score details
    out = tmp_path / "report"
    status, _, err = run("--config", str(config), "report", "preview", "--agency", "2021005448",
                         "--out", str(out))
    assert status == 0, err
    # the report lists the datasets the scores count: the portal's copy of x2 is not one
    assert "/resource/77" not in next(out.glob("*.txt")).read_text(encoding="utf-8")
    engine = create_engine(database_url)
    with engine.begin() as connection:  # scores from before they were kept: descriptions
        connection.execute(text("UPDATE dataset_score SET details = '{}'"))
    engine.dispose()
    check(scores_json(config))


def test_shared_iri_under_two_agencies_counts_once_under_the_own_catalogues(
        server: LoopbackServer, tmp_path: Path, database_url: str) -> None:
    config = harvest_own_and_portal(server, tmp_path, database_url, "https://own.se/#org")
    scores = scores_json(config)
    counted = {a["id"]: a["datasets"] for a in scores["agencies"] if a["datasets"]}
    [own] = set(counted) - {"2021005448"}
    # x1 counts under the own catalogue's agency only; 77 stays the portal agency's
    assert counted == {own: 2, "2021005448": 1}
    assert scores["national"]["datasets"] == 3
