"""Mapping parsed documents to the model: multilingual text, nesting, blank nodes, identity."""

from __future__ import annotations

from pathlib import Path

import pytest

from dcatwatch.dcat.agency import identify
from dcatwatch.dcat.mapper import map_graph
from dcatwatch.dcat.model import Agent
from dcatwatch.dcat.parse import parse_file
from dcatwatch.dcat.records import load_dataset
from dcatwatch.errors import ParseError
from tests.conftest import FIXTURES

URL = "https://data.example.se/catalog.ttl"


def mapped(text: str, tmp_path: Path, name: str = "doc.ttl", full: bool = True):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return map_graph(parse_file(path, URL), URL, "test", full)


def test_fixture_catalog_maps_to_the_model(tmp_path: Path) -> None:
    parsed = mapped((FIXTURES / "agency-catalog.ttl").read_text(encoding="utf-8"), tmp_path)
    by_iri = {d.iri: d for d in parsed.datasets}
    tax = by_iri["https://data.example.se/dataset/skattesatser"]
    assert tax.title == {"sv": "Skattesatser per kommun", "en": "Tax rates per municipality"}
    assert tax.publisher is not None and tax.publisher.name["sv"] == "Skatteverket"
    assert tax.contact_points[0].emails == ["mailto:oppnadata@skatteverket.example"]
    assert tax.distributions[0].formats == ["text/csv"]
    assert tax.catalogs == ["https://data.example.se/catalog"]
    report = by_iri["https://data.example.se/dataset/arsredovisning"]
    assert report.distributions[0].blank
    assert report.distributions[0].iri.startswith(report.iri + "#distribution-")
    [service] = parsed.services
    assert service.serves_datasets == ["https://data.example.se/dataset/trafikfloden"]
    assert service.endpoint_descriptions == ["https://api.example.se/trafik/v1/openapi.json"]


def test_stored_description_maps_back_to_the_same_dataset(tmp_path: Path) -> None:
    text = (FIXTURES / "agency-catalog.ttl").read_text(encoding="utf-8")
    full = {d.iri: d for d in mapped(text, tmp_path).datasets}
    for entry in mapped(text, tmp_path, full=False).entries:
        again = load_dataset(entry.description, "test")
        original = full[entry.iri]
        original.catalogs = []  # the catalogue link is not part of a dataset's description
        assert again == original


def test_hash_ignores_blank_node_labels_and_order(tmp_path: Path) -> None:
    one = """@prefix dcat: <http://www.w3.org/ns/dcat#> . @prefix dct: <http://purl.org/dc/terms/> .
    <https://x.se/d> a dcat:Dataset ; dct:title "T"@sv ; dcat:distribution _:a .
    _:a dcat:accessURL <https://x.se/f.csv> ; dct:format "text/csv" ."""
    two = """@prefix dcat: <http://www.w3.org/ns/dcat#> . @prefix dct: <http://purl.org/dc/terms/> .
    _:zz dct:format "text/csv" ; dcat:accessURL <https://x.se/f.csv> .
    <https://x.se/d> dcat:distribution _:zz ; dct:title "T"@sv ; a dcat:Dataset ."""
    three = one.replace("text/csv", "application/pdf")
    digests = [mapped(t, tmp_path, full=False).entries[0].digest for t in (one, two, three)]
    assert digests[0] == digests[1] != digests[2]


def test_blank_node_dataset_gets_a_stable_skolem_iri(tmp_path: Path) -> None:
    text = """@prefix dcat: <http://www.w3.org/ns/dcat#> . @prefix dct: <http://purl.org/dc/terms/> .
    [] a dcat:Dataset ; dct:identifier "ds-42" ; dct:title "Utan IRI"@sv ."""
    first = mapped(text, tmp_path, full=False)
    second = mapped(text.replace("Utan IRI", "Ny titel"), tmp_path, full=False)
    assert first.entries[0].iri == second.entries[0].iri
    assert first.entries[0].iri.startswith("urn:dcatwatch:test:dataset:")
    assert [p.code for p in first.problems] == ["record.no_iri", "record.no_publisher"]


def test_dataset_without_publisher_inherits_the_catalogues(tmp_path: Path) -> None:
    text = """@prefix dcat: <http://www.w3.org/ns/dcat#> . @prefix dct: <http://purl.org/dc/terms/> .
    <https://x.se/c> a dcat:Catalog ; dct:publisher <http://dataportal.se/organisation/SE2021005448> ;
        dcat:dataset <https://x.se/d> .
    <https://x.se/d> a dcat:Dataset ; dct:title "T"@sv ."""
    parsed = mapped(text, tmp_path, full=False)
    assert parsed.entries[0].publisher.iri == "http://dataportal.se/organisation/SE2021005448"
    assert [p.code for p in parsed.problems] == ["record.no_publisher"]


def test_xml_with_dtd_is_refused_before_parsing(tmp_path: Path) -> None:
    bomb = ('<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
            '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>\n'
            '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
            '<rdf:Description rdf:about="http://x/a"><rdf:value>&lol2;</rdf:value>'
            "</rdf:Description></rdf:RDF>")
    path = tmp_path / "bomb.rdf"
    path.write_text(bomb, encoding="utf-8")
    with pytest.raises(ParseError) as caught:
        parse_file(path, URL)
    assert caught.value.code == "parse.unsafe_xml"


def test_latin1_xml_is_transcoded(tmp_path: Path) -> None:
    text = ('<?xml version="1.0" encoding="ISO-8859-1"?>\n'
            '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
            'xmlns:dct="http://purl.org/dc/terms/" xmlns:dcat="http://www.w3.org/ns/dcat#">'
            '<dcat:Dataset rdf:about="http://x.se/d"><dct:title xml:lang="sv">Väglag i Älvsbyn'
            "</dct:title></dcat:Dataset></rdf:RDF>")
    path = tmp_path / "latin1.rdf"
    path.write_bytes(text.encode("iso-8859-1"))
    parsed = map_graph(parse_file(path, URL), URL)
    assert parsed.datasets[0].title == {"sv": "Väglag i Älvsbyn"}


def test_remote_jsonld_context_is_never_fetched(tmp_path: Path, server) -> None:
    context_url = server.route("/context.jsonld", b'{"@context": {}}')
    path = tmp_path / "remote.jsonld"
    path.write_text('{"@context": "%s", "@id": "http://x/a", "title": "x"}' % context_url)
    with pytest.raises(ParseError) as caught:
        parse_file(path, URL)
    assert caught.value.code == "parse.remote_context"
    assert server.hits("/context.jsonld") == 0


@pytest.mark.parametrize(("agent", "expected", "rule"), [
    (Agent("http://dataportal.se/organisation/SE2021005448"), "2021005448", "dataportal"),
    (Agent("https://dataportal.se/organisation/SE2120000142-kultur"), "2120000142-kultur",
     "dataportal"),
    (Agent("https://www.skatteverket.se/#org", identifiers=["202100-5448"]), "2021005448", "orgnr"),
    (Agent("https://x.se/org", same_as=["http://dataportal.se/organisation/SE2021006297"]),
     "2021006297", "orgnr"),
    (Agent("https://www.sgu.se/"), "sgu-se-", "iri"),
    (Agent("urn:x", blank=True, name={"sv": "Umeå kommun"}), "name-umea-kommun", "name"),
])
def test_agency_identity(agent: Agent, expected: str, rule: str) -> None:
    identity = identify(agent)
    assert identity.id.startswith(expected)
    assert identity.rule == rule
    assert identity.flagged is (rule == "name")


def test_dtd_in_utf16_is_refused_too(tmp_path: Path) -> None:
    document = ('<?xml version="1.0" encoding="UTF-16"?>\n<!DOCTYPE r [<!ENTITY a "expanded">]>\n'
                '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
                '<rdf:Description rdf:about="http://x/a"><rdf:value>&a;</rdf:value>'
                "</rdf:Description></rdf:RDF>")
    path = tmp_path / "utf16.rdf"
    path.write_bytes(document.encode("utf-16"))  # with a byte-order mark
    with pytest.raises(ParseError) as caught:
        parse_file(path, "https://data.example.se/catalog", "application/rdf+xml")
    assert caught.value.code == "parse.unsafe_xml"


def test_utf16_rdfxml_without_dtd_parses(tmp_path: Path) -> None:
    document = ('<?xml version="1.0" encoding="UTF-16"?>\n'
                '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
                'xmlns:dct="http://purl.org/dc/terms/" xmlns:dcat="http://www.w3.org/ns/dcat#">'
                '<dcat:Dataset rdf:about="http://x.se/d"><dct:title xml:lang="sv">Åsnor'
                "</dct:title></dcat:Dataset></rdf:RDF>")
    path = tmp_path / "utf16.rdf"
    path.write_bytes(document.encode("utf-16"))
    parsed = map_graph(parse_file(path, "https://data.example.se/c"), URL)
    assert parsed.datasets[0].title == {"sv": "Åsnor"}
