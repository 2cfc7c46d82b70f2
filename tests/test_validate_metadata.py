"""DCAT-AP-SE metadata rules on hand-written records and on DIGG's own examples."""

from __future__ import annotations

from pathlib import Path

import pytest

from dcatwatch.dcat.model import Agent, DataService
from dcatwatch.dcat.parse import graph_from_ntriples, parse_file
from dcatwatch.dcat.vocabularies import canonical_licence
from dcatwatch.validators.metadata import check_description, check_graph, check_service
from dcatwatch.validators.rules import RULES, RULES_BY_CODE

DCT = "http://purl.org/dc/terms/"
DCAT = "http://www.w3.org/ns/dcat#"
FOAF = "http://xmlns.com/foaf/0.1/"
VCARD = "http://www.w3.org/2006/vcard/ns#"
EU = "http://publications.europa.eu/resource/authority/"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"


def nt(*triples: tuple[str, str, str]) -> str:
    """N-Triples from (subject, predicate, object) with objects already written as terms."""
    return "".join(f"<{s}> <{p}> {o} .\n" for s, p, o in triples)


def codes(findings: list) -> set[tuple[str, str]]:
    return {(f.subject, f.code) for f in findings}


GOOD_DATASET = nt(
    ("https://ex.se/ds", DCT + "title", '"Badplatser"@sv'),
    ("https://ex.se/ds", DCT + "description", '"Badplatser i kommunen."@sv'),
    ("https://ex.se/ds", DCT + "publisher", "<https://ex.se/org>"),
    ("https://ex.se/ds", DCAT + "contactPoint", "<https://ex.se/kontakt>"),
    ("https://ex.se/ds", DCAT + "keyword", '"bad"@sv'),
    ("https://ex.se/ds", DCAT + "theme", f"<{EU}data-theme/ENVI>"),
    ("https://ex.se/ds", DCT + "issued", '"2024-01-01"'),
    ("https://ex.se/ds", DCT + "conformsTo", "<https://ex.se/schema>"),
    ("https://ex.se/ds", DCT + "spatial", "<http://sws.geonames.org/2661886>"),
    ("https://ex.se/ds", DCT + "temporal", "_:period"),
    ("https://ex.se/ds", DCT + "accessRights", f"<{EU}access-right/PUBLIC>"),
    ("https://ex.se/ds", DCT + "accrualPeriodicity", f"<{EU}frequency/ANNUAL>"),
    ("https://ex.se/ds", DCAT + "distribution", "<https://ex.se/dist>"),
    ("https://ex.se/dist", DCAT + "accessURL", "<https://ex.se/bad.csv>"),
    ("https://ex.se/dist", DCT + "format", '"text/csv"'),
    ("https://ex.se/dist", DCT + "description", '"CSV"@sv'),
    ("https://ex.se/dist", "http://data.europa.eu/r5r/availability",
     f"<{EU}planned-availability/STABLE>"),
    ("https://ex.se/dist", DCT + "license", "<http://creativecommons.org/licenses/by/4.0/>"),
    ("https://ex.se/org", FOAF + "name", '"Exempel kommun"@sv'),
    ("https://ex.se/org", DCT + "type", "<http://purl.org/adms/publishertype/LocalAuthority>"),
    ("https://ex.se/org", DCT + "description", '"En kommun."@sv'),
    ("https://ex.se/org", DCT + "identifier", '"2120000000"'),
    ("https://ex.se/org", "http://www.w3.org/ns/org#classification",
     "<https://dataportal.se/concepts/orgAspects/feeFinanzing>"),
    ("https://ex.se/kontakt", RDF_TYPE, f"<{VCARD}Organization>"),
    ("https://ex.se/kontakt", VCARD + "fn", '"Kundtjänst"'),
    ("https://ex.se/kontakt", VCARD + "hasEmail", "<mailto:info@ex.se>"),
    ("https://ex.se/kontakt", VCARD + "hasTelephone", "<tel:+4612345>"),
    ("https://ex.se/kontakt", VCARD + "hasAddress", "_:address"),
)


def test_a_complete_dataset_has_no_findings() -> None:
    assert check_description(GOOD_DATASET) == []


def test_missing_and_wrong_values_get_stable_codes() -> None:
    broken = (GOOD_DATASET
              .replace(f"<https://ex.se/ds> <{DCT}publisher> <https://ex.se/org> .\n", "")
              .replace(f"<{EU}data-theme/ENVI>", "<http://example.org/miljo>")
              .replace(f"<{EU}access-right/PUBLIC>", '"Öppen"')
              .replace("<https://ex.se/bad.csv>", '"www.ex.se/bad.csv"')
              .replace('"text/csv"', '"CSV-fil"')
              .replace("<http://creativecommons.org/licenses/by/4.0/>",
                       "<https://creativecommons.org/licenses/by/4.0/deed.sv>")
              .replace("<mailto:info@ex.se>", '"info@ex.se"')
              .replace(f"<{EU}frequency/ANNUAL>", "<http://purl.org/cld/freq/annual>"))
    findings = check_description(broken)
    found = {f.code: f for f in findings}
    assert set(found) == {
        "meta.dataset.missing_publisher", "meta.dataset.theme_not_in_vocabulary",
        "meta.dataset.access_rights_not_iri", "meta.dataset.accrual_periodicity_deprecated",
        "meta.distribution.access_url_not_http", "meta.distribution.format_not_media_type",
        "meta.distribution.license_variant", "meta.contact.email_not_mailto"}
    assert found["meta.dataset.missing_publisher"].severity == "error"
    assert found["meta.dataset.missing_publisher"].value is None
    assert found["meta.distribution.access_url_not_http"].value == "www.ex.se/bad.csv"
    assert found["meta.distribution.license_variant"].severity == "info"
    assert found["meta.contact.email_not_mailto"].subject == "https://ex.se/kontakt"
    # the publisher is unlinked now, so it is no longer a record of this description
    assert not any(f.record == "agent" for f in findings)
    hint = found["meta.dataset.missing_publisher"].to_dict()["hint"]
    assert "utgivare" in hint["sv"] and "publisher" in hint["en"]


def test_cardinality_blank_nodes_and_naming() -> None:
    text = nt(("https://ex.se/ds", DCT + "title", '"T"@sv'),
              ("https://ex.se/ds", DCT + "description", '"D"@sv'),
              ("https://ex.se/ds", DCT + "publisher", "<https://ex.se/a>"),
              ("https://ex.se/ds", DCT + "publisher", "<https://ex.se/b>"),
              ("https://ex.se/ds", DCAT + "distribution", "_:d1"))
    text += (f'_:d1 <{DCAT}accessURL> <https://ex.se/1> .\n_:d1 <{DCAT}accessURL> '
             f'<https://ex.se/2> .\n_:d1 <{DCT}format> "text/csv" .\n')
    findings = check_description(text, names={"_:d1": "https://ex.se/ds#distribution-x"})
    found = codes(findings)
    assert ("https://ex.se/ds", "meta.dataset.multiple_publisher") in found
    assert ("https://ex.se/ds#distribution-x", "meta.distribution.multiple_access_url") in found
    assert ("https://ex.se/ds#distribution-x", "meta.distribution.blank_node") in found
    # undescribed publishers: their name and type are missing
    assert ("https://ex.se/a", "meta.agent.missing_name") in found
    assert ("https://ex.se/b", "meta.agent.missing_type") in found


def test_shared_records_are_checked_once() -> None:
    seen: set[str] = set()
    first = check_description(GOOD_DATASET.replace('"En kommun."@sv', '"x"'), seen=seen)
    other = GOOD_DATASET.replace("https://ex.se/ds", "https://ex.se/ds2").replace(
        f"<https://ex.se/org> <{DCT}identifier> \"2120000000\" .\n", "")
    second = check_description(other, seen=seen)
    assert first == [] and second == []  # the agent's missing identifier is not seen again
    assert "<https://ex.se/org>" in seen


def test_catalogue_rules() -> None:
    graph = graph_from_ntriples(nt(
        ("https://ex.se/cat", RDF_TYPE, f"<{DCAT}Catalog>"),
        ("https://ex.se/cat", DCT + "title", '"Katalog"@sv'),
        ("https://ex.se/cat", DCT + "license", "<http://creativecommons.org/licenses/by/4.0/>")))
    found = {f.code for f in check_graph(graph)}
    assert {"meta.catalog.license_not_cc0", "meta.catalog.missing_description",
            "meta.catalog.missing_publisher", "meta.catalog.missing_dataset"} <= found
    assert "meta.catalog.missing_license" not in found


def test_data_service_from_the_model() -> None:
    service = DataService("https://ex.se/api", title={"sv": "API"},
                          endpoint_urls=["https://ex.se/api/v1"], formats=["application/json"],
                          access_rights=[EU + "access-right/PUBLIC"], keywords=["api"],
                          endpoint_descriptions=["https://ex.se/api/openapi.json"],
                          service_type=["http://www.wikidata.org/entity/Q749568"],
                          publisher=Agent("https://ex.se/org", name={"sv": "Exempel"}))
    found = {f.code for f in check_service(service)}
    assert found == {"meta.data_service.missing_contact_point", "meta.agent.missing_type",
                     "meta.agent.missing_description", "meta.agent.missing_identifier",
                     "meta.agent.missing_classification"}
    service.endpoint_urls = ["ftp://ex.se/api"]
    service.formats = []
    found = {f.code for f in check_service(service, seen={"<https://ex.se/org>"})}
    assert found == {"meta.data_service.missing_contact_point",
                     "meta.data_service.endpoint_url_not_http", "meta.data_service.missing_format"}


def test_rules_are_consistent() -> None:
    assert len(RULES_BY_CODE) == len(RULES)
    for rule in RULES:
        assert rule.code.startswith(f"meta.{rule.record}.")
        assert rule.hint("sv") and rule.hint("en") and rule.hint("sv") != rule.hint("en")
        assert rule.severity in ("error", "warning", "info")
        assert (rule.vocabulary is not None) == (rule.kind in ("vocabulary", "deprecated"))


def test_licence_variants() -> None:
    assert canonical_licence("https://creativecommons.org/licenses/by/4.0") == \
        "http://creativecommons.org/licenses/by/4.0/"
    assert canonical_licence("http://creativecommons.org/publicdomain/zero/1.0/legalcode") == \
        "http://creativecommons.org/publicdomain/zero/1.0/"
    assert canonical_licence("http://creativecommons.org/licenses/by/4.0/") is None
    assert canonical_licence("https://data.norge.no/nlod/no/2.0") is None


@pytest.mark.parametrize("name", ["obligatoriskt.rdf", "obligatoriskt.ttl"])
def test_digg_mandatory_example(corpus: Path, name: str) -> None:
    """DIGG's "obligatoriskt" example was written for DCAT-AP-SE 2 ("enligt DCAT-AP-SE version
    2" in its own description). DCAT-AP-SE 3.0.1 (bundle.json) added three mandatory
    properties it lacks: a distribution's dct:format, a data service's dct:format and an
    agent's dct:type. Those, and nothing else, are its mandatory findings: the example is
    out of date, the rules are the profile's."""
    graph = parse_file(corpus / "digg-dcat-ap-se" / name, f"https://example.com/{name}")
    errors = {(f.subject, f.code) for f in check_graph(graph) if f.severity == "error"}
    assert errors == {("https://example.com/distribution1", "meta.distribution.missing_format"),
                      ("https://example.com/dataservice1", "meta.data_service.missing_format"),
                      ("https://example.com/publisher1", "meta.agent.missing_type")}


@pytest.mark.parametrize("name", ["rekommenderat.rdf", "rekommenderat.ttl"])
def test_digg_recommended_example(corpus: Path, name: str) -> None:
    graph = parse_file(corpus / "digg-dcat-ap-se" / name, f"https://example.com/{name}")
    findings = check_graph(graph)
    errors = {(f.subject, f.code) for f in findings if f.severity == "error"}
    assert errors == {("https://example.com/dataservice1", "meta.data_service.missing_format")}
    warnings = {f.code for f in findings if f.severity == "warning"}
    # the recommended example fills the recommendations of 2.x; 3.0.1 added these
    assert warnings == {"meta.catalog.missing_spatial", "meta.dataset.missing_conforms_to",
                        "meta.agent.missing_description", "meta.agent.missing_identifier",
                        "meta.agent.missing_classification"}


def test_a_url_given_as_text_is_its_own_warning_not_a_bad_url() -> None:
    graph = graph_from_ntriples(nt(
        ("https://ex.se/d", RDF_TYPE, f"<{DCAT}Dataset>"),
        ("https://ex.se/d", DCT + "title", '"Agris"@sv'),
        ("https://ex.se/d", DCAT + "distribution", "<https://ex.se/d/1>"),
        ("https://ex.se/d", DCAT + "distribution", "<https://ex.se/d/2>"),
        ("https://ex.se/d/1", RDF_TYPE, f"<{DCAT}Distribution>"),
        ("https://ex.se/d/1", DCAT + "accessURL", '"http://ex.se/agris.odt"'),
        ("https://ex.se/d/2", RDF_TYPE, f"<{DCAT}Distribution>"),
        ("https://ex.se/d/2", DCAT + "accessURL",
         '"https://ex.se/a.csv"^^<http://www.w3.org/2001/XMLSchema#anyURI>'),
        ("https://ex.se/d/2", DCAT + "downloadURL", '"not a url"')))
    findings = check_graph(graph)
    found = codes(findings)
    assert ("https://ex.se/d/1", "meta.distribution.access_url_literal") in found
    assert ("https://ex.se/d/2", "meta.distribution.access_url_literal") in found
    assert not {c for s, c in found if c == "meta.distribution.access_url_not_http"}
    assert ("https://ex.se/d/2", "meta.distribution.download_url_not_http") in found
    assert "not a text literal" in RULES_BY_CODE["meta.distribution.access_url_literal"].hint("en")


def test_findings_name_their_dataset_and_its_title() -> None:
    graph = graph_from_ntriples(nt(
        ("https://ex.se/d/1", RDF_TYPE, f"<{DCAT}Distribution>"),  # typed before its dataset
        ("https://ex.se/d/1", DCAT + "accessURL", '"http://ex.se/agris.odt"'),
        ("https://ex.se/d", RDF_TYPE, f"<{DCAT}Dataset>"),
        ("https://ex.se/d", DCT + "title", '"Agris"@sv'),
        ("https://ex.se/d", DCAT + "distribution", "<https://ex.se/d/1>")))
    findings = check_graph(graph)
    by_subject = {(f.subject, f.code): f for f in findings}
    literal = by_subject[("https://ex.se/d/1", "meta.distribution.access_url_literal")]
    assert (literal.dataset, literal.title) == ("https://ex.se/d", "Agris")
    missing = by_subject[("https://ex.se/d", "meta.dataset.missing_publisher")]
    assert missing.dataset == "https://ex.se/d"
    assert missing.to_dict()["title"] == "Agris"
