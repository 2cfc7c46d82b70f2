"""What real catalogues of other portals taught (issue 15): identities that never merge,
names people know, publishers that are agents, URLs given as text, empty values."""

from __future__ import annotations

from pathlib import Path

from dcatwatch.dcat.agency import current_id, identify
from dcatwatch.dcat.mapper import map_graph
from dcatwatch.dcat.model import Agent
from dcatwatch.dcat.parse import parse_file

URL = "https://data.example.org/catalog"
PREFIXES = """@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix dct: <http://purl.org/dc/terms/> .
@prefix foaf: <http://xmlns.com/foaf/0.1/> . @prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix vcard: <http://www.w3.org/2006/vcard/ns#> .
"""
RDFXML = """<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
  xmlns:dct="http://purl.org/dc/terms/" xmlns:dcat="http://www.w3.org/ns/dcat#">
%s
</rdf:RDF>"""


def mapped(text: str, tmp_path: Path, name: str = "doc.ttl", full: bool = True):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return map_graph(parse_file(path, URL), URL, "test", full)


def publishers(text: str, tmp_path: Path) -> dict[str, Agent | None]:
    return {d.iri: d.publisher for d in mapped(PREFIXES + text, tmp_path).datasets}


def test_blank_node_publishers_without_latin_letters_stay_apart(tmp_path: Path) -> None:
    found = publishers("""
    <https://x.org/d1> a dcat:Dataset ; dct:publisher [ foaf:name "Δήμος Αθηναίων"@el ] .
    <https://x.org/d2> a dcat:Dataset ; dct:publisher [ foaf:name "東京都"@ja ] .
    <https://x.org/d3> a dcat:Dataset ; dct:publisher [ foaf:name "Київська міська рада"@uk ] .
    """, tmp_path)
    ids = {iri: identify(agent).id for iri, agent in found.items() if agent}
    assert len(set(ids.values())) == 3
    assert all("unnamed" not in i for i in ids.values())
    assert ids["https://x.org/d1"].startswith("name-δήμοσ-αθηναίων-")  # case-folded
    assert identify(found["https://x.org/d2"]).name == "東京都"


def test_long_names_with_a_common_prefix_stay_apart() -> None:
    prefix = "Länsstyrelsen i Västra Götalands län, avdelningen för samhällsbyggnad, enheten för "
    one = identify(Agent("urn:a", blank=True, name={"sv": prefix + "natur"}))
    two = identify(Agent("urn:b", blank=True, name={"sv": prefix + "vatten"}))
    assert one.id != two.id
    assert len(one.id) <= 40 and one.id.startswith("name-lansstyrelsen-i-vastra-")
    assert identify(Agent("urn:c", blank=True, name={"sv": prefix + "natur"})).id == one.id


def test_a_publisher_without_any_name_gets_no_shared_id() -> None:
    one = identify(Agent("urn:dcatwatch:agent:abc", blank=True))
    two = identify(Agent("urn:dcatwatch:agent:def", blank=True))
    assert one.id != two.id and "unnamed" not in one.id


def test_old_ids_map_to_new_ones_where_computable() -> None:
    assert current_id("2021005448", ["https://x.se/org"]) == "2021005448"
    name = identify(Agent("urn:dcatwatch:agent:Umeå kommun", blank=True,
                          name={"sv": "Umeå kommun"}))
    assert current_id("name-umea-kommun", ["urn:dcatwatch:agent:Umeå kommun"]) == name.id
    iri = identify(Agent("https://www.sgu.se/"))
    assert current_id(iri.id, ["https://www.sgu.se/"]) == iri.id  # ASCII IRIs keep their ids
    merged = ["urn:dcatwatch:agent:Δήμος", "urn:dcatwatch:agent:東京都"]
    assert current_id("name-unnamed", merged) is None  # a merge cannot be undone


def test_iri_only_publisher_is_named_from_its_node(tmp_path: Path) -> None:
    found = publishers("""
    <https://datos.example.es/d> a dcat:Dataset ; dct:publisher <https://datos.example.es/org/L01> .
    <https://datos.example.es/org/L01> vcard:organization-name "Ayuntamiento de Madrid"@es .
    """, tmp_path)
    identity = identify(found["https://datos.example.es/d"])
    assert identity.name == "Ayuntamiento de Madrid"


def test_foaf_name_wins_over_a_class_like_label(tmp_path: Path) -> None:
    found = publishers("""
    <https://x.se/d> a dcat:Dataset ; dct:publisher <https://x.se/org> .
    <https://x.se/org> rdfs:label "PublishingMunicipality" ; foaf:name "Umeå kommun/IT" .
    """, tmp_path)
    assert identify(found["https://x.se/d"]).name == "Umeå kommun/IT"


def test_swedish_then_the_catalogues_language_before_english(tmp_path: Path) -> None:
    found = publishers("""
    <https://x.org/c> a dcat:Catalog ;
        dct:language <http://publications.europa.eu/resource/authority/language/DEU> ;
        dcat:dataset <https://x.org/d1>, <https://x.org/d2> .
    <https://x.org/d1> a dcat:Dataset ; dct:publisher <https://x.org/a> .
    <https://x.org/d2> a dcat:Dataset ; dct:publisher <https://x.org/b> .
    <https://x.org/a> foaf:name "Umeå municipality"@en ; skos:prefLabel "Umeå kommun"@sv .
    <https://x.org/b> foaf:name "City of Berlin"@en, "Stadt Berlin"@de .
    """, tmp_path)
    assert found["https://x.org/d1"].label == "Umeå kommun"
    assert found["https://x.org/d2"].label == "Stadt Berlin"


def test_a_text_publisher_is_a_finding_and_the_catalogues_stands_in(tmp_path: Path) -> None:
    text = PREFIXES + """
    <https://x.it/c> a dcat:Catalog ; dct:publisher <https://x.it/comune> ;
        dcat:dataset <https://x.it/d1> .
    <https://x.it/d1> a dcat:Dataset ; dct:title "Bilancio"@it ; dct:publisher "t173347" .
    <https://x.it/d2> a dcat:Dataset ; dct:publisher "t173348" .
    """
    for full in (True, False):
        parsed = mapped(text, tmp_path, full=full)
        records = {r.iri: r for r in (parsed.datasets if full else parsed.entries)}
        assert records["https://x.it/d1"].publisher.iri == "https://x.it/comune"
        assert records["https://x.it/d1"].publisher_inherited
        assert records["https://x.it/d2"].publisher is None
        problems = [p for p in parsed.problems if p.code == "record.publisher_literal"]
        assert [p.dataset for p in problems] == ["https://x.it/d1", "https://x.it/d2"]
        assert "'t173347'" in problems[0].message and "<https://x.it/d1>" in problems[0].message
        assert "Bilancio" in problems[0].message
        assert not [p for p in parsed.problems if p.code == "record.no_publisher"]


def test_a_text_publisher_of_a_catalogue_is_a_finding(tmp_path: Path) -> None:
    parsed = mapped(PREFIXES + '<https://x.it/c> a dcat:Catalog ; dct:publisher "Comune" .',
                    tmp_path)
    assert parsed.catalogs[0].publisher is None
    [problem] = parsed.problems
    assert problem.code == "record.publisher_literal" and problem.subject == "https://x.it/c"
    assert "catalogue <https://x.it/c>" in problem.message and "'Comune'" in problem.message


def test_missing_publisher_names_the_dataset(tmp_path: Path) -> None:
    parsed = mapped(PREFIXES + '<https://x.se/d> a dcat:Dataset ; dct:title "Väder"@sv .',
                    tmp_path, full=False)
    [problem] = parsed.problems
    assert problem.dataset == "https://x.se/d"
    assert "<https://x.se/d>" in problem.message and "Väder" in problem.message


def test_a_text_access_url_is_kept_as_a_url(tmp_path: Path) -> None:
    parsed = mapped(PREFIXES + """
    <https://x.se/d> a dcat:Dataset ; dcat:distribution <https://x.se/d/1>, <https://x.se/d/2> .
    <https://x.se/d/1> a dcat:Distribution ; dcat:accessURL "http://x.se/agris.odt" .
    <https://x.se/d/2> a dcat:Distribution ; dcat:accessURL "http://x.se/b.csv"^^xsd:anyURI .
    """, tmp_path, full=False)
    links = {link.iri: link.access_url for link in parsed.entries[0].distributions}
    assert links == {"https://x.se/d/1": "http://x.se/agris.odt",
                     "https://x.se/d/2": "http://x.se/b.csv"}


def test_empty_licence_element_and_empty_reference_are_findings_never_the_document(
        tmp_path: Path) -> None:
    document = RDFXML % """
  <dcat:Dataset rdf:about="https://x.se/d">
    <dcat:theme rdf:resource=""/>
    <dcat:distribution><dcat:Distribution rdf:about="https://x.se/d/1">
      <dct:license/>
      <dcat:accessURL rdf:resource="https://x.se/file.csv"/>
    </dcat:Distribution></dcat:distribution>
  </dcat:Dataset>"""
    parsed = mapped(document, tmp_path, "doc.rdf")
    [dataset] = parsed.datasets
    assert dataset.themes == [] and dataset.distributions[0].licenses == []
    empty = [(p.subject, p.dataset, p.message) for p in parsed.problems
             if p.code == "record.empty_value"]
    assert [(s, d) for s, d, _ in empty] == [("https://x.se/d", "https://x.se/d"),
                                           ("https://x.se/d/1", "https://x.se/d")]
    assert "dcat:theme" in empty[0][2] and "dct:license" in empty[1][2]
    assert not [p for p in parsed.problems if p.code == "record.relative_iri"]


def test_empty_reference_in_turtle(tmp_path: Path) -> None:
    parsed = mapped(PREFIXES + """<https://x.se/d> a dcat:Dataset ; dcat:theme <> ;
        dcat:landingPage <https://x.se/> .""", tmp_path)
    assert parsed.datasets[0].themes == []
    assert parsed.datasets[0].landing_pages == ["https://x.se/"]
    assert [p.code for p in parsed.problems if p.code != "record.no_publisher"] == [
        "record.empty_value"]
