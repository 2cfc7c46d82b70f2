"""The report says what dcatwatch saw in plain words: `report preview` of a catalogue full of
EU vocabulary IRIs has no EU authority address and no bare rule id in its HTML or text, and
its per-dataset evidence quotes what matched; a whole-file export under /api/ is level 2."""

from __future__ import annotations

import html as markup
import json
import re
from pathlib import Path

import pytest

from tests.helpers import harvest_json, run, write_config
from tests.servers import LoopbackServer

TAX = "2021005448"
EU = "http://publications.europa.eu/resource/authority/"
PORTAL_ORG = f"http://dataportal.se/organisation/SE{TAX}"
CATALOG = f"""@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix dct: <http://purl.org/dc/terms/> .
@prefix foaf: <http://xmlns.com/foaf/0.1/> .
<https://data.example.se/catalog> a dcat:Catalog ; dct:title "Katalog"@sv ;
    dct:publisher <http://dataportal.se/organisation/SE{TAX}> ;
    dcat:dataset <https://data.example.se/ds/rapport>, <https://data.example.se/ds/export>,
                 <https://data.example.se/ds/grundvatten>, <https://data.example.se/ds/tom>,
                 <https://data.example.se/ds/webbsida> .
<http://dataportal.se/organisation/SE{TAX}> a foaf:Organization ; foaf:name "Skatteverket"@sv .
<https://data.example.se/ds/rapport> a dcat:Dataset ; dct:title "Rapport"@sv ;
    dct:accessRights <{EU}access-right/PUBLIC> ; dcat:theme <{EU}data-theme/ECON> ;
    dct:language <{EU}language/SWE> ; dct:accrualPeriodicity <{EU}frequency/ANNUAL> ;
    dcat:distribution [ a dcat:Distribution ; dcat:accessURL <https://data.example.se/r.pdf> ;
        dct:format <{EU}file-type/PDF> ; dct:license <{EU}licence/CC_BY_4_0> ] .
<https://data.example.se/ds/export> a dcat:Dataset ; dct:title "Export"@sv ;
    dcat:distribution [ a dcat:Distribution ;
        dcat:accessURL <https://data.example.se/api/v2/catalog/datasets/x/exports/csv> ;
        dct:description "csv export of https://data.example.se/api/v2/catalog/datasets/x" ;
        dct:format <{EU}file-type/CSV> ] .
<https://data.example.se/ds/grundvatten> a dcat:Dataset ; dct:title "Grundvatten"@sv ;
    dcat:distribution [ a dcat:Distribution ;
        dcat:accessURL <https://data.example.se/api/v1/grundvatten> ;
        dct:description "Nedladdning via API i JSON-format" ] .
<https://data.example.se/ds/tom> a dcat:Dataset ; dct:title "Tom"@sv .
<https://data.example.se/ds/webbsida> a dcat:Dataset ; dct:title "Webbsida"@sv ;
    dcat:distribution [ a dcat:Distribution ; dcat:accessURL <https://data.example.se/sida> ;
        dct:description "Webseite von Exempel, Doku: https://data.example.se/api/doku" ;
        dct:format <{EU}file-type/HTML> ] .
"""
WORDS = {
    "sv": ["dokumentformat: format PDF", "dokumentformat: format HTML", "maskinläsbart format (EU:s lista): format CSV",
           "beskrivningen säger att data nås via ett API eller en webbtjänst: "
           "distributionens beskrivning ”Nedladdning via API i JSON-format”",
           "åtkomstadressen pekar på ett API och inte på en fil: åtkomstadress "
           "https://data.example.se/api/v1/grundvatten", "ingen distribution"],
    "en": ["document format: format PDF", "document format: format HTML", "machine-readable format (the EU's list): format CSV",
           "the description says the data is reached through an API or web service: "
           "the distribution's description “Nedladdning via API i JSON-format”",
           "the access address points at an API, not at a file: access address "
           "https://data.example.se/api/v1/grundvatten", "no distribution"],
}
RULE_ID = re.compile(r"\b[AMDU][1-8]\b")


def visible_text(page: str) -> str:
    """The words of an HTML page (no tags, styles or entities)."""
    page = re.sub(r"<style.*?</style>", " ", page, flags=re.S)
    return " ".join(markup.unescape(re.sub(r"<[^>]+>", " ", page)).split())


@pytest.mark.parametrize("language", ["sv", "en"])
def test_report_preview_speaks_plain_words(server: LoopbackServer, tmp_path: Path,
                                           language: str) -> None:
    url = server.route("/catalog.ttl", CATALOG.encode(), content_type="text/turtle")
    config = write_config(
        tmp_path, [{"name": "exempel", "type": "dcat", "url": url}],
        agencies=[{"id": TAX, "name": "Skatteverket", "email": "oppnadata@skatteverket.example",
                   "language": language}],
        smtp={"host": "127.0.0.1", "sender": "dcatwatch@granskning.example"})
    harvest_json(config)
    status, out, err = run("--config", str(config), "explain",
                           "https://data.example.se/ds/export")
    assert status == 0 and "level 2 (machine_readable" in out, out
    status, out, err = run("--config", str(config), "explain",
                           "https://data.example.se/ds/grundvatten")
    assert ("A7 the description says the data is reached through an API or web service: "
            "the distribution's description (description) = Nedladdning via API i JSON-format "
            "('API' in “Nedladdning via API i JSON-format”; weak)") in out, out
    status, out, err = run("--config", str(config), "explain",
                           "https://data.example.se/ds/webbsida")
    assert "level 1 (document_only" in out and "A7" not in out, out

    status, out, err = run("--config", str(config), "report", "preview", "--agency", TAX,
                           "--out", str(tmp_path / "preview"))
    assert status == 0, err
    _, html_path, text_path = (Path(line) for line in out.splitlines())
    page = html_path.read_text(encoding="utf-8")
    text = text_path.read_text(encoding="utf-8")
    for shown in (page, text):
        assert "publications.europa.eu/resource/authority" not in shown
    words = visible_text(page)
    assert RULE_ID.findall(words) == [] and RULE_ID.findall(text) == []
    flat_text = " ".join(text.split())
    for phrase in WORDS[language]:
        assert phrase in words and phrase in flat_text, phrase


NAMELESS = CATALOG.replace(  # the publisher gives no name, and no organisation number
    f'<{PORTAL_ORG}> a foaf:Organization ; foaf:name "Skatteverket"@sv .', ""
).replace(PORTAL_ORG, "https://www.bfs.admin.ch/bfs/de/home.html")


def test_a_name_dcatwatch_made_is_marked_in_the_report(server: LoopbackServer,
                                                       tmp_path: Path) -> None:
    url = server.route("/nameless.ttl", NAMELESS.encode(), content_type="text/turtle")
    config = write_config(tmp_path, [{"name": "namnlos", "type": "dcat", "url": url}])
    harvest_json(config)
    status, out, err = run("--config", str(config), "scores", "--json")
    assert status == 0, err
    [agency] = json.loads(out)["agencies"]
    assert (agency["name"], agency["name_derived"]) == ("bfs.admin.ch – bfs de home", True)
    status, out, err = run("--config", str(config), "report", "preview", "--agency",
                           agency["id"], "--out", str(tmp_path / "preview"))
    assert status == 0, err
    _, html_path, text_path = (Path(line) for line in out.splitlines())
    note = ("Katalogen anger inget namn på utgivaren; namnet ”bfs.admin.ch – bfs de home” har "
            "dcatwatch tagit fram ur utgivarens adress")
    assert note in visible_text(html_path.read_text(encoding="utf-8"))
    assert note in " ".join(text_path.read_text(encoding="utf-8").split())
