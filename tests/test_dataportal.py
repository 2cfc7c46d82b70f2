"""dataportal.se as a source: the dump through the ordinary harvest, the search API against a
loopback emulation of EntryStore, and agency identity."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest

from dcatwatch.config import HttpSettings
from dcatwatch.dcat import namespaces as ns
from dcatwatch.dcat.agency import identify
from dcatwatch.dcat.classify import classify_dataset
from dcatwatch.dcat.model import Agent, unpack_description
from dcatwatch.dcat.records import load_dataset, load_service
from dcatwatch.harvester.dataportal import (
    PUBLISHER_FIELD,
    SearchReader,
    organisation_iri,
    rdf_json_triples,
)
from dcatwatch.harvester.documents import Collected, DocumentReader
from dcatwatch.http.client import HttpClient
from tests.conftest import FIXTURES
from tests.entrystore import EntryStore, rdf_json_object, synthetic_dump
from tests.helpers import harvest_json, run, write_config
from tests.servers import LoopbackServer

DUMP = FIXTURES / "dataportal" / "dump.rdf"
ESTERMS = ns.ESTERMS
TRAFIKFLODEN = "https://trafikverket.example/dataset/trafikfloden"


@pytest.fixture
def client() -> Iterator[HttpClient]:
    with HttpClient(HttpSettings(allow_private_networks=True, min_delay=0, retries=0)) as c:
        yield c


def dump_source(server: LoopbackServer) -> dict[str, object]:
    url = server.route_file("/all.rdf", DUMP, "application/rdf+xml")
    return {"name": "dataportal", "type": "dataportal", "mode": "dump", "url": url}


def identities(collected: Collected) -> set[tuple[str, str]]:
    return {(entry.iri, entry.digest) for entry in collected.parsed.entries}


# -- dump mode, end to end ---------------------------------------------------------------------

def test_dump_harvest_names_agencies_by_orgnr_and_lists_silent_registry_agencies(
        server: LoopbackServer, tmp_path: Path) -> None:
    registry = [{"id": "2021005448", "name": "Skatteverket", "email": "oppnadata@skv.example"},
                {"id": "2021004441", "name": "Naturvårdsverket"}]
    config = write_config(tmp_path, [dump_source(server)], agencies=registry)
    imported = tmp_path / "registry.csv"
    imported.write_text("orgnr;namn;e-post\n202100-4730;Statistiska centralbyrån;sm@scb.example\n",
                        encoding="utf-8-sig")
    assert run("--config", str(config), "agencies", "import", str(imported))[0] == 0

    status, [result] = harvest_json(config)

    assert status == 0 and result["status"] == "ok", result["errors"]
    assert (result["datasets"], result["distributions"], result["data_services"],
            result["agencies"]) == (6, 6, 2, 3)
    with sqlite3.connect(tmp_path / "dcatwatch.db") as db:
        agencies = {row[0]: row[1:] for row in db.execute(
            "SELECT a.id, a.name, a.in_registry, a.identity_rule, count(d.id) FROM agency a "
            "LEFT JOIN dataset d ON d.agency_id = a.id AND d.removed_at IS NULL GROUP BY a.id")}
    assert agencies == {
        "2021005448": ("Skatteverket", 1, "registry", 2),
        "2021006297": ("Trafikverket", 0, "dataportal", 2),
        "2120001215-1": ("Göteborgs stad, park- och naturförvaltningen", 0, "dataportal", 2),
        "2021004441": ("Naturvårdsverket", 1, "registry", 0),
        "2021004730": ("Statistiska centralbyrån", 1, "registry", 0),
    }


def test_dump_keeps_entryscape_classes_as_evidence(server: LoopbackServer,
                                                    tmp_path: Path) -> None:
    config = write_config(tmp_path, [dump_source(server)])
    harvest_json(config)
    with sqlite3.connect(tmp_path / "dcatwatch.db") as db:
        [packed] = db.execute("SELECT description FROM dataset WHERE iri = ?",
                              (TRAFIKFLODEN,)).fetchone()
        description = unpack_description(packed)
        records = [load_service(r) for (r,) in db.execute("SELECT record FROM data_service")]

    assert f"<{TRAFIKFLODEN}> <{ns.RDF_TYPE}> <{ESTERMS}ServedByDataService> ." in description
    dataset = load_dataset(description)
    assert ESTERMS + "ServedByDataService" in dataset.types
    api = next(d for d in dataset.distributions if d.iri.endswith("/api"))
    assert ESTERMS + "ServiceDistribution" in api.types
    independent = next(s for s in records if s.iri == "https://goteborg.example/api/oppna-data")
    assert ESTERMS + "IndependentDataService" in independent.types
    level = classify_dataset(dataset)
    assert level.level == 3
    assert ("A2", ESTERMS + "ServedByDataService") in {(e.rule, e.value) for e in level.evidence}
    assert ("A1", ESTERMS + "ServiceDistribution") in {
        (e.rule, e.value) for d in level.distributions for e in d.evidence}


# -- search mode against the emulation -----------------------------------------------------------

def test_search_reads_every_page_and_finds_what_the_dump_has(server: LoopbackServer,
                                                             client: HttpClient) -> None:
    text = synthetic_dump(250)
    store = EntryStore.from_ntriples(server, text)
    dump_url = server.route("/all.nt", text.encode(), content_type="application/n-triples")

    searched = SearchReader(client, "portal").read(store.base_url)
    dumped = DocumentReader(client, "portal").read(dump_url)

    assert searched.complete and searched.errors == []
    assert len(searched.parsed.entries) == 250
    assert identities(searched) == identities(dumped)
    pages = store.record_searches()
    assert [(p["offset"], p["limit"], p["sort"]) for p in pages] == [
        ("0", "100", "created asc"), ("100", "100", "created asc"), ("200", "100", "created asc")]


def test_search_gives_the_same_datasets_models_and_services_as_the_dump(
        server: LoopbackServer, tmp_path: Path, client: HttpClient) -> None:
    config = write_config(tmp_path, [dump_source(server)])
    harvest_json(config)
    store = EntryStore.from_file(server, DUMP)

    searched = SearchReader(client, "portal").read(store.base_url)

    with sqlite3.connect(tmp_path / "dcatwatch.db") as db:
        stored = {iri: (digest, unpack_description(packed)) for iri, digest, packed in db.execute(
            "SELECT iri, content_hash, description FROM dataset")}
        stored_services = {load_service(r).iri: load_service(r).types
                           for (r,) in db.execute("SELECT record FROM data_service")}
    assert identities(searched) == {(iri, digest) for iri, (digest, _) in stored.items()}
    for entry in searched.parsed.entries:
        from_search, from_dump = load_dataset(entry.description), load_dataset(stored[entry.iri][1])
        assert from_search == from_dump
        assert entry.publisher == from_dump.publisher
    assert {s.iri: s.types for s in searched.parsed.services} == stored_services


def test_search_per_organisation_uses_the_publisher_field(server: LoopbackServer,
                                                          client: HttpClient) -> None:
    store = EntryStore.from_file(server, DUMP)

    searched = SearchReader(client, "portal").read(store.base_url,
                                                   organisations=["202100-6297", "SE2120001215-1"])

    assert {e.iri for e in searched.parsed.entries} == {
        TRAFIKFLODEN, "https://trafikverket.example/dataset/vaglag",
        "https://goteborg.example/dataset/parker", "https://goteborg.example/dataset/badplatser"}
    assert {s.iri for s in searched.parsed.services} == {
        "https://trafikverket.example/api/trafikinfo", "https://goteborg.example/api/oppna-data"}
    assert {e.publisher.name["sv"] for e in searched.parsed.entries} == {
        "Trafikverket", "Göteborgs stad, park- och naturförvaltningen"}
    raw = [r.path for r in server.requests if "9259d4c1" in r.path]
    assert len(raw) == 2 and PUBLISHER_FIELD == "metadata.predicate.uri.9259d4c1"
    assert ("+AND+metadata.predicate.uri.9259d4c1:http%5C%3A%2F%2Fdataportal.se%2Forganisation"
            "%2FSE2021006297&limit=100&offset=0&sort=created+asc") in raw[0]
    lookups = [s["query"] for s in store.searches if "resource:" in s["query"]]
    assert all(q.count("resource:") <= 20 for q in lookups)
    assert any("context:" in q for q in lookups)


def test_search_advances_by_what_the_server_returns(server: LoopbackServer,
                                                    client: HttpClient) -> None:
    store = EntryStore.from_file(server, DUMP, max_limit=3)

    searched = SearchReader(client, "portal").read(store.base_url)

    assert searched.complete and len(searched.parsed.entries) == 6
    assert [p["offset"] for p in store.record_searches()] == ["0", "3", "6"]


def test_a_failed_page_makes_the_run_partial_and_the_rest_is_read(server: LoopbackServer,
                                                                  client: HttpClient) -> None:
    store = EntryStore.from_file(server, DUMP, max_limit=3)  # records in pages of 3
    store.fail(offset=3, status=503, query="rdfType:")  # vaglag and two services

    searched = SearchReader(client, "portal").read(store.base_url)

    assert not searched.complete
    [error] = searched.errors
    assert error.code == "page.failed" and "offset=3&" in error.url and "503" in error.message
    assert len(searched.parsed.entries) == 5
    assert "https://trafikverket.example/dataset/vaglag" not in {
        e.iri for e in searched.parsed.entries}
    # still found: the service named by a distribution is looked up by its IRI
    assert [s.iri for s in searched.parsed.services] == [
        "https://trafikverket.example/api/trafikinfo"]


def test_page_cap_stops_paging_and_marks_the_run_partial(server: LoopbackServer,
                                                         client: HttpClient) -> None:
    store = EntryStore.from_file(server, DUMP, max_limit=3)

    searched = SearchReader(client, "portal", max_pages=2).read(store.base_url)

    assert not searched.complete
    assert [e.code for e in searched.errors] == ["page.cap"]
    assert len(searched.parsed.entries) == 4  # 6 records read, 2 of them services


def test_an_empty_page_before_the_total_marks_the_run_partial(server: LoopbackServer,
                                                              client: HttpClient) -> None:
    store = EntryStore.from_file(server, DUMP)
    store.extra_results = 5  # the index reports records it no longer serves

    searched = SearchReader(client, "portal").read(store.base_url)

    assert len(searched.parsed.entries) == 6 and not searched.complete
    assert any(e.code == "page.failed" and "empty page" in e.message for e in searched.errors)


def test_a_response_that_is_not_entrystore_json_fails_the_page(server: LoopbackServer,
                                                               client: HttpClient) -> None:
    server.route("/store/search", "<html>Underhåll</html>".encode(), content_type="text/html")

    searched = SearchReader(client, "portal").read(server.url("/store/"))

    assert searched.pages == [] and not searched.complete
    assert searched.errors[0].code == "page.failed"
    assert "not JSON" in searched.errors[0].message


def test_an_unreadable_entry_is_reported_and_skipped(server: LoopbackServer,
                                                     client: HttpClient) -> None:
    store = EntryStore.from_file(server, DUMP)
    broken = next(e for e in store.entries if e.resource.endswith("/badplatser"))
    broken.metadata = {"not an IRI": {"http://purl.org/dc/terms/title": [
        {"type": "literal", "value": "x"}]}}

    searched = SearchReader(client, "portal").read(store.base_url)

    assert searched.complete and len(searched.parsed.entries) == 5
    [problem] = searched.parsed.problems
    assert problem.code == "record.invalid" and f"/entry/{broken.id}" in problem.subject


def test_a_bad_organisation_number_is_a_configuration_error(server: LoopbackServer,
                                                            client: HttpClient) -> None:
    searched = SearchReader(client, "portal").read(server.url("/store/"), organisations=["Skv"])

    assert [e.code for e in searched.errors] == ["config.invalid"]
    assert "Skv" in searched.errors[0].message and server.requests == []


def test_rdf_json_terms_are_written_as_the_parser_writes_n_triples() -> None:
    literal = ox.Literal('a "quoted"\\ line\nbreak\ttab\x01 åäö', language="SV")
    typed = ox.Literal("20480", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#decimal"))
    graph = {"http://x.se/d": {"http://x.se/p": [rdf_json_object(literal), rdf_json_object(typed),
                                                  {"type": "bnode", "value": "_:b0"}]},
             "_:b0": {"http://x.se/q": [{"type": "literal", "value": "plain",
                                         "datatype": "http://www.w3.org/2001/XMLSchema#string"}]}}
    labels: dict[str, str] = {}

    triples = list(rdf_json_triples(graph, lambda b: labels.setdefault(b, f"_:n{len(labels)}")))

    expected = {str(t) for t in (ox.Triple(ox.NamedNode("http://x.se/d"),
                                           ox.NamedNode("http://x.se/p"), o)
                                 for o in (literal, typed))}
    assert {f"{s} {p} {o}" for s, p, o in triples[:2]} == expected
    assert triples[2][2] == "_:n0" and triples[3] == ("_:n0", "<http://x.se/q>", '"plain"')
    with pytest.raises(ValueError):
        list(rdf_json_triples({"http://x.se/a b": {}}, str))


@pytest.mark.parametrize(("given", "expected"), [
    ("2021005448", "http://dataportal.se/organisation/SE2021005448"),
    ("202100-5448", "http://dataportal.se/organisation/SE2021005448"),
    ("SE2021005448", "http://dataportal.se/organisation/SE2021005448"),
    (" 2120001215-1 ", "http://dataportal.se/organisation/SE2120001215-1"),
    ("https://example.se/org", "https://example.se/org"),
])
def test_organisation_iri(given: str, expected: str) -> None:
    assert organisation_iri(given) == expected


def test_search_mode_harvest_through_the_command_line(server: LoopbackServer,
                                                      tmp_path: Path) -> None:
    store = EntryStore.from_file(server, DUMP)
    source = {"name": "portal", "type": "dataportal", "mode": "search", "url": store.base_url,
              "organisations": ["2021006297"]}
    status, [result] = harvest_json(write_config(tmp_path, [source]))
    assert status == 0 and result["status"] == "ok", result["errors"]
    assert (result["datasets"], result["data_services"], result["agencies"]) == (2, 1, 1)
    with sqlite3.connect(tmp_path / "dcatwatch.db") as db:
        assert db.execute("SELECT id, name FROM agency").fetchall() == [
            ("2021006297", "Trafikverket")]


# -- agency identity -------------------------------------------------------------------------

@pytest.mark.parametrize(("agent", "expected"), [
    (Agent("https://skatteverket.example/org", identifiers=["SE2021005448"]), "2021005448"),
    (Agent("https://skatteverket.example/org", identifiers=["202100-5448"]), "2021005448"),
    (Agent("https://goteborg.example/org", identifiers=["2120001215"],
           same_as=["http://dataportal.se/organisation/SE2120001215-1"]), "2120001215-1"),
])
def test_an_agency_on_its_own_and_on_the_portal_is_one_agency(agent: Agent,
                                                              expected: str) -> None:
    portal = identify(Agent(f"http://dataportal.se/organisation/SE{expected}"))
    assert identify(agent).id == portal.id == expected

