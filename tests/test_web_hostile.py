"""Hostile metadata in the web view: a catalogue whose titles, names and descriptions are
markup, whose IRIs carry quotes and ampersands and whose links are ``javascript:`` is
harvested and scored; every page shows those values as text, never as markup, and links
only to http(s) addresses."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest

from dcatwatch.config import ReportsSettings
from dcatwatch.metrics import MetricsServer, new_registry
from dcatwatch.store.core import Store
from dcatwatch.web.app import WebView
from tests.helpers import run
from tests.servers import LoopbackServer
from tests.web_site import check_accessible, page
from tests.webpage import Node

TITLE = '<script>alert("title")</script> & <img src=x onerror=alert(1)>'
NAME = '"><b onmouseover=alert(2)>Evil</b> Agency'
DESCRIPTION = "</td></tr></table><h1>forged</h1><a href='javascript:alert(3)'>x</a>"
IRI = "https://evil.example/data/d?a=1&b='x'"
CATALOGUE = f"""
@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix dct: <http://purl.org/dc/terms/> .
@prefix foaf: <http://xmlns.com/foaf/0.1/> .
<https://evil.example/catalog> a dcat:Catalog ; dct:title "Evil"@en ;
  dct:publisher <https://evil.example/org> ; dcat:dataset <{IRI}> .
<https://evil.example/org> a foaf:Organization ; foaf:name {json.dumps(NAME)}@sv .
<{IRI}> a dcat:Dataset ; dct:title {json.dumps(TITLE)}@sv ;
  dct:description {json.dumps(DESCRIPTION)}@sv ;
  dct:publisher <https://evil.example/org> ; dcat:keyword "<i>k</i>"@sv ;
  dcat:landingPage <javascript:alert(4)> ;
  dcat:distribution <https://evil.example/dist?x=1&y='2'> .
<https://evil.example/dist?x=1&y='2'> a dcat:Distribution ; dcat:accessURL <javascript:alert(5)> ;
  dct:format "<script>f</script>" .
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[MetricsServer, dict]]:
    directory: Path = tmp_path_factory.mktemp("hostile")
    with LoopbackServer() as catalogue:
        url = catalogue.route("/catalog.ttl", CATALOGUE.encode(), content_type="text/turtle")
        config = directory / "dcatwatch.toml"
        config.write_text(
            f'[database]\nurl = "sqlite:///{directory / "db.sqlite"}"\n[http]\n'
            f'allow_private_networks = true\nmin_delay = 0\n[[sources]]\nname = "evil"\n'
            f'type = "dcat"\nurl = "{url}"\n', encoding="utf-8")
        for command in (["harvest"], ["scores", "--snapshot"]):
            status, _, err = run("--config", str(config), *command)
            assert status == 0, (command, err)
    status, out, err = run("--config", str(config), "scores", "--json")
    assert status == 0, err
    store = Store.open(f"sqlite:///{directory / 'db.sqlite'}")
    server = MetricsServer("127.0.0.1", 0, new_registry(), lambda: None,
                           pages=WebView(store, ReportsSettings()).routes)
    try:
        yield server, json.loads(out)
    finally:
        server.httpd.server_close()
        store.close()


def _harmless(dom: Node) -> None:
    """No element or attribute the values could have forged."""
    tags = {node.tag for node in dom.elements()}
    assert not tags & {"script", "img", "b", "i", "iframe"}, tags
    for node in dom.elements():
        assert not [name for name in node.attrs if name.startswith("on")], node.attrs
        href = node.attrs.get("href") or ""
        assert not href.lower().startswith("javascript:"), href
    assert len(dom.find_all("h1")) == 1 and "forged" not in dom.find("h1").text()
    check_accessible(dom)


def test_hostile_values_are_text_on_every_page(site: tuple[MetricsServer, dict]) -> None:
    server, scores = site
    [agency] = [a for a in scores["agencies"] if a["datasets"]]
    assert agency["name"] == NAME
    national = page(server, "/")[1]
    _harmless(national)
    assert NAME in national.find("tr", data_agency=agency["id"]).text()

    response, dom = page(server, "/agency/" + agency["id"])
    assert response.status == 200
    _harmless(dom)
    assert NAME in dom.find("h1").text()
    links = [a for a in dom.find_all("a") if (a.attrs.get("href") or "").startswith("/dataset")]
    assert links and all(a.text() == TITLE for a in links)
    assert {a.attrs["href"] for a in links} == {"/dataset?" + urlencode({"iri": IRI})}

    response, dom = page(server, "/dataset?" + urlencode({"iri": IRI, "lang": "en"}))
    assert response.status == 200
    _harmless(dom)
    assert TITLE in dom.find("h1").text()
    assert "https://evil.example/dist?x=1&y='2'" in dom.text()
    assert IRI in dom.text()
