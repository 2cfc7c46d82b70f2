"""Plain words: every rule id the classifier can emit and every MQA indicator has a Swedish
and an English label; vocabulary IRIs dcatwatch ships are shown by their labels, never as
bare EU addresses; the generated label table is what its script makes."""

from __future__ import annotations

import ast
import importlib.util
import re
from pathlib import Path

import pytest

from dcatwatch.dcat import classify, labels
from dcatwatch.dcat import vocab_labels as generated
from dcatwatch.scoring.mqa import INDICATORS

ROOT = Path(__file__).resolve().parent.parent
EU = "http://publications.europa.eu/resource/authority/"


def emitted_rule_ids() -> set[str]:
    """Rule ids written in the classifier's source: ``Evidence("A1", …)`` and the ids its
    helpers return (M3/M1/M2, U1/U2/U3)."""
    tree = ast.parse((ROOT / "dcatwatch" / "dcat" / "classify.py").read_text(encoding="utf-8"))
    return {node.value for node in ast.walk(tree) if isinstance(node, ast.Constant)
            and isinstance(node.value, str) and re.fullmatch(r"[AMDU]\d", node.value)}


def test_every_rule_id_the_classifier_can_emit_has_swedish_and_english_labels() -> None:
    emitted = emitted_rule_ids()
    assert {"A1", "A8", "M3", "U1", "U2", "U3", "U5"} <= emitted  # the scan sees them all
    assert emitted <= set(classify.RULES)
    for rule_id in classify.RULES:
        swedish, english = labels.rule(rule_id, "sv"), labels.rule(rule_id, "en")
        assert swedish != rule_id and english != rule_id and swedish != english, rule_id
        assert not re.search(r"\b[AMDU]\d\b", swedish + english), rule_id
    assert set(labels.RULES) == set(classify.RULES)


def test_every_mqa_indicator_and_its_property_has_labels() -> None:
    for indicator in INDICATORS:
        assert indicator.id in labels.INDICATORS and indicator.property in labels.PROPERTIES
        assert all(labels.INDICATORS[indicator.id]) and all(labels.PROPERTIES[indicator.property])
    assert labels.prop("dct:spatial", "sv") == "geografiskt område"
    assert labels.prop("dct:spatial", "en") == "spatial coverage"


@pytest.mark.parametrize(("iri", "swedish", "english"), [
    (EU + "file-type/CSV", "CSV", "CSV"),
    (EU + "file-type/RDF_XML", "RDF XML", "RDF XML"),
    (EU + "file-type/TXT", "ren text", "plain text"),
    (EU + "data-theme/ENVI", "Miljö", "Environment"),
    (EU + "licence/CC_BY_4_0", "Creative Commons Erkännande 4.0 Internationell",
     "Creative Commons Attribution 4.0 International"),
    ("https://creativecommons.org/licenses/by/4.0/deed.sv",
     "Creative Commons Erkännande 4.0 Internationell",
     "Creative Commons Attribution 4.0 International"),
    ("http://creativecommons.org/publicdomain/zero/1.0/", "Creative Commons CC0 1.0 universell",
     "Creative Commons CC0 1.0 Universal"),
    (EU + "access-right/PUBLIC", "offentlig", "public"),
    (EU + "frequency/ANNUAL", "varje år", "annual"),
    (EU + "language/SWE", "svenska", "Swedish"),
    ("https://publications.europa.eu/resource/authority/file-type/PDF", "PDF", "PDF"),
])
def test_vocabulary_values_are_shown_by_their_labels(iri: str, swedish: str,
                                                     english: str) -> None:
    assert (labels.value(iri, "sv"), labels.value(iri, "en")) == (swedish, english)


def test_unknown_values_stay_as_they_are_but_eu_addresses_never_show() -> None:
    assert labels.value("https://example.se/x", "sv") == "https://example.se/x"
    assert labels.value(EU + "file-type/NOSUCH", "sv") == "NOSUCH"
    assert labels.value(EU + "dataset-type/TEST_DATA", "en") == "TEST_DATA"
    assert labels.value("text/csv", "sv", "mediaType") == "CSV"
    assert labels.value("text/csv", "sv", "description") == "text/csv"


def test_evidence_in_words_quotes_what_matched() -> None:
    a7 = {"rule": "A7", "property": "description", "value": "Nedladdning via API i CSV-format",
          "detail": "'API' in “Nedladdning via API i CSV-format”", "strong": False}
    assert labels.evidence(a7, "sv") == (
        "beskrivningen säger att data nås via ett API eller en webbtjänst: "
        "distributionens beskrivning ”Nedladdning via API i CSV-format”")
    assert labels.evidence(a7, "en").endswith("“Nedladdning via API i CSV-format”")
    m1 = {"rule": "M1", "property": "format", "value": EU + "file-type/CSV", "detail": "CSV"}
    assert labels.evidence(m1, "en") == "machine-readable format (the EU's list): format CSV"
    a1 = {"rule": "A1", "property": "accessService", "value": "https://x.se/api",
          "detail": "Trafik-API"}
    assert labels.evidence(a1, "sv").endswith("datatjänst ”Trafik-API” (https://x.se/api)")
    u5 = {"rule": "U5", "property": "distribution", "value": "", "detail": "no distribution"}
    assert labels.evidence(u5, "sv") == "ingen distribution"


def test_the_generated_label_table_is_what_its_script_makes(corpus: Path) -> None:
    spec = importlib.util.spec_from_file_location("gen", ROOT / "scripts" /
                                                  "gen_vocab_labels.py")
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    made = script.render(corpus / "eu-vocabularies-piveau-2019")
    shipped = Path(generated.__file__).read_text(encoding="utf-8")
    dated = re.compile(r" on \d{4}-\d\d-\d\d;")
    assert dated.sub("", made) == dated.sub("", shipped)


def test_every_property_the_classifier_names_has_words() -> None:
    """Evidence names the property it looked at (``Evidence("A5", "accessURL", …)``, the
    format properties of formats.py): each has a Swedish and an English label."""
    from dcatwatch.dcat import formats
    tree = ast.parse((ROOT / "dcatwatch" / "dcat" / "classify.py").read_text(encoding="utf-8"))
    named = {node.args[1].value for node in ast.walk(tree)
             if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "Evidence"
             and len(node.args) > 1 and isinstance(node.args[1], ast.Constant)}
    named |= {name for name, _ in (*formats.DECLARED_PROPERTIES, *formats.URL_PROPERTIES)}
    named |= {"title", "description", "dataset title"}  # A6/A7 pass these in
    assert {"accessService", "Content-Type", "rdf:type", "accessURL", "format"} <= named
    for name in named:
        swedish, english = labels.prop(name, "sv"), labels.prop(name, "en")
        assert swedish and english and name in labels.PROPERTIES, name
