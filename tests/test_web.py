"""The web view over a harvested, validated and scored store of the demo catalogues (served on
loopback): the figures of the national, agency and dataset pages equal ``scores --json``
and ``explain --json``; sorting, language, escaping, 404s and the security headers."""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import pytest

from dcatwatch.config import Settings
from dcatwatch.metrics import MetricsServer, new_registry
from dcatwatch.metrics.server import Request
from dcatwatch.web.app import web_routes
from dcatwatch.web.words import Words
from tests.web_site import ScoredSite, page, scored_demo
from tests.webpage import Node

SV, EN = Words("sv"), Words("en")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> ScoredSite:
    return scored_demo(tmp_path_factory.mktemp("web"))


@pytest.fixture(scope="module")
def server(site: ScoredSite) -> Iterator[MetricsServer]:
    server = site.server()
    server.start()
    try:
        yield server
    finally:
        server.close()


def _value(node: Node) -> float:
    """The machine-readable value of the first <data> in ``node``."""
    value = node.find_all("data")[0].attrs["value"]
    assert value is not None
    return float(value)


def _agencies(scores: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {agency["id"]: agency for agency in scores["agencies"]}


def test_national_page_equals_scores_json(site: ScoredSite, server: MetricsServer) -> None:
    response, dom = page(server, "/")
    assert response.status == 200
    national = site.scores["national"]
    figures = dom.find("dl", id="national")
    for key in ("api_document_index", "median_api_document_index", "api_share",
                "document_only_share", "datasets", "agencies", "agencies_with_api"):
        assert _value(figures.find("dd", data_key=key)) == pytest.approx(national[key]), key
    unattributed = figures.find("data", data_key="unattributed").attrs["value"]
    assert float(unattributed or -1) == national["unattributed"]
    rows = dom.find("table", id="agencies").find("tbody").find_all("tr")
    expected = _agencies(site.scores)
    assert sorted(row.attrs["data-agency"] for row in rows) == sorted(expected)
    for row in rows:
        agency = expected[row.attrs["data-agency"] or ""]
        assert row.find("th").text() == agency["name"]
        cells = {cell.attrs["data-key"]: cell for cell in row.find_all("td")}
        assert _value(cells["datasets"]) == agency["datasets"]
        if agency["datasets"]:
            assert _value(cells["api_document_index"]) == agency["api_document_index"]
            assert _value(cells["api_share"]) == pytest.approx(agency["api_share"])
            assert _value(cells["mqa_points"]) == agency["mqa_points"]
            assert cells["api_share"].text() == _plain(SV.percent(agency["api_share"]))
            assert cells["mqa_points"].find("span", data_key="mqa_band").text() == SV(
                f"bands.{agency['mqa_band']}")
        else:  # no datasets: no index, share or points, shown as such
            assert agency["api_document_index"] is None and agency["mqa_points"] is None
            assert cells["api_document_index"].text() == SV("national.none")
    # one snapshot only: no trend yet
    assert {cell.text() for row in rows for cell in row.find_all("td", data_key="trend")} \
        == {SV("national.none")}


def test_national_page_sorts_by_every_column(site: ScoredSite, server: MetricsServer) -> None:
    agencies = _agencies(site.scores)

    def order(target: str) -> list[str]:
        rows = page(server, target)[1].find("table", id="agencies").find("tbody").find_all("tr")
        return [row.attrs["data-agency"] or "" for row in rows]

    by_index = order("/")
    indexes = [agencies[a]["api_document_index"] for a in by_index]
    assert indexes[-1] is None  # no index: last
    assert indexes[:-1] == sorted(indexes[:-1], reverse=True)
    ascending = order("/?sort=index&order=asc")
    assert ascending[-1] == by_index[-1]
    assert [agencies[a]["api_document_index"] for a in ascending[:-1]] == sorted(indexes[:-1])
    names = [agencies[a]["name"].casefold() for a in order("/?sort=name")]
    assert names == sorted(names)
    counts = [agencies[a]["datasets"] for a in order("/?sort=datasets")]
    assert counts == sorted(counts, reverse=True)
    shares = [agencies[a]["api_share"] for a in order("/?sort=api")]
    assert shares == sorted(shares, reverse=True)
    points = [agencies[a]["mqa_points"] for a in order("/?sort=mqa")]
    assert points[-1] is None and points[:-1] == sorted(points[:-1], reverse=True)
    assert order("/?sort=nonsense") == by_index
    # the headers are links that sort, the sorted one says so
    dom = page(server, "/?sort=datasets&lang=en")[1]
    [sorted_header] = [th for th in dom.find_all("th") if "aria-sort" in th.attrs]
    assert sorted_header.attrs["aria-sort"] == "descending"
    assert sorted_header.find("a").attrs["href"] == "/?sort=datasets&order=asc&lang=en"


def test_agency_pages_equal_scores_json(site: ScoredSite, server: MetricsServer) -> None:
    copies: dict[str, list[dict[str, Any]]] = {}
    for dataset in site.datasets():
        copies.setdefault(dataset["iri"], []).append(dataset)
    for agency in site.scores["agencies"]:
        response, dom = page(server, f"/agency/{agency['id']}")
        assert response.status == 200, agency["id"]
        assert dom.find("h1").text() == SV("agency.title", agency=agency["name"])
        if not agency["datasets"]:
            assert not dom.find_all("table", id="levels")
            continue
        assert _value(dom.find("span", id="index")) == agency["api_document_index"]
        assert dom.find("span", id="datasets").text() == _plain(
            SV.plural("summary.datasets", agency["datasets"]))
        levels = dom.find("table", id="levels")
        for key in ("api", "machine_readable", "document_only", "unknown"):
            row = levels.find("tr", data_key=key)
            count, share = row.find_all("data")
            assert float(count.attrs["value"] or -1) == agency[key], key
            assert float(share.attrs["value"] or -1) == pytest.approx(
                agency[key] / agency["datasets"])
        assert _value(dom.find("span", id="mqa")) == agency["mqa_points"]
        assert dom.find("span", id="band").attrs["data-band"] == agency["mqa_band"]
        # the history chart: this month's bar is the index now
        history = dom.find("table", id="history").find("tbody").find_all("tr")
        assert _value(history[-1].find_all("td")[0]) == agency["api_document_index"]
        # the fixes name the agency's datasets, each linked to its own page
        fixes = [li for li in dom.find("ol", id="fixes").children if isinstance(li, Node)]
        assert fixes and all("data-fix" in li.attrs for li in fixes)
        for fix in fixes:
            for link in fix.find_all("a"):
                iri = parse_qs(urlsplit(link.attrs["href"] or "").query)["iri"][0]
                assert agency["id"] in {c["agency"] for c in copies[iri]}
        # each dataset's level is the level of one of its copies (`datasets --json`)
        for row in dom.find("table", id="dataset-lines").find("tbody").find_all("tr"):
            levels = {c["level"] for c in copies[row.attrs["data-iri"] or ""]}
            assert int(row.find_all("td")[0].attrs["data-level"] or -1) in levels


def test_dataset_pages_equal_explain_json(site: ScoredSite, server: MetricsServer) -> None:
    iris = sorted({d["iri"] for d in site.datasets()})
    assert len(iris) >= 12
    for iri in iris:
        explained = {e["source"]: e for e in site.explain(iri)}
        response, dom = page(server, "/dataset?" + _query(iri=iri))
        assert response.status == 200, iri
        sections = {s.attrs["data-source"]: s for s in dom.find_all("section")}
        assert set(sections) == set(explained)
        for source, item in explained.items():
            section = sections[source]
            assert section.find("span", data_key="level").attrs["data-level"] == str(item["level"])
            assert _value(section.find("span", data_key="mqa_points")) == item["mqa_points"]
            classification = item["details"]["classification"]
            for of, evidence in [("dataset", classification["evidence"]), *(
                    (d["iri"], d["evidence"]) for d in classification["distributions"]
                    if d["evidence"])]:
                shown = section.find("table", data_of=of).find("tbody").find_all("tr")
                assert [tr.attrs["data-rule"] for tr in shown] == [e["rule"] for e in evidence]
                for row in shown:  # in words: a rule's label, a value's code and list
                    rule = row.find_all("td")[0].text()
                    assert rule != row.attrs["data-rule"] and len(rule) > 10, rule
                    assert "publications.europa.eu" not in row.text()
            for indicator in item["details"]["mqa"]["indicators"]:
                row = section.find("tr", data_indicator=indicator["id"])
                assert _value(row.find_all("td")[1]) == indicator["points"]
            if item["agency"]:
                assert section.find("a", data_agency=item["agency"])


def test_dataset_page_says_what_to_change(site: ScoredSite, server: MetricsServer) -> None:
    iri = "https://exempelverket.example.se/data/stationer"
    dom = page(server, "/dataset?" + _query(iri=iri))[1]
    fixes = [li.attrs["data-fix"] for li in dom.find_all("li") if "data-fix" in li.attrs]
    assert "theme" in fixes and "spatial" in fixes  # the indicators it fails
    english = page(server, "/dataset?" + _query(iri=iri, lang="en"))[1]
    assert EN("fixes.theme.action") in english.text()


def test_english_and_swedish(server: MetricsServer) -> None:
    response, dom = page(server, "/?lang=en")
    assert dom.find("html").attrs["lang"] == "en"
    assert ("Content-Language", "en") in response.headers
    assert dom.find("h1").text() == EN("national.title")
    switch = dom.find("a", class_="language")
    assert switch.attrs["href"] == "/" and switch.attrs["lang"] == "sv"
    dom = page(server, "/?sort=name")[1]
    assert dom.find("html").attrs["lang"] == "sv"
    assert dom.find("a", class_="language").attrs["href"] == "/?sort=name&lang=en"
    assert all("lang=en" not in (a.attrs.get("href") or "") for a in dom.find_all("a")
               if a.attrs.get("class") != "language")


def test_unknown_agency_and_dataset_are_404_and_escaped(server: MetricsServer) -> None:
    hostile = '<script>alert("x")</script>'
    response, dom = page(server, "/agency/" + _quote('"><img src=x onerror=alert(1)>'))
    assert response.status == 404 and b"<img" not in response.body
    assert "&lt;img src=x onerror=alert(1)&gt;" in response.body.decode()
    assert dom.find("h1").text() == SV("agency.not_found_title")
    response, dom = page(server, "/agency/" + _quote(hostile))  # a slash: no agency route
    assert response.status == 404 and b"<script>" not in response.body
    assert dom.find("h1").text() == SV("site.not_found_title")
    response, dom = page(server, "/dataset?" + _query(iri=f"https://x.example/{hostile}",
                                                     lang="en"))
    assert response.status == 404 and b"<script>" not in response.body
    assert hostile in dom.text()  # shown, as text
    assert page(server, "/dataset")[0].status == 404
    assert page(server, "/agency/")[0].status == 404


def test_every_page_forbids_scripts(site: ScoredSite, server: MetricsServer) -> None:
    agency = site.scores["agencies"][0]["id"]
    for target in ("/", f"/agency/{agency}", "/dataset?" + _query(
            iri="https://exempelverket.example.se/data/stationer"), "/agency/none"):
        response = server.respond(_request(target))
        headers = dict(response.headers)
        policy = headers["Content-Security-Policy"]
        assert "default-src 'none'" in policy and "script-src" not in policy
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert b"<script" not in response.body and b" style=" not in response.body
    css = server.respond(_request("/web.css"))
    assert css.status == 200 and css.content_type.startswith("text/css")


def test_pages_over_http_get_and_head(site: ScoredSite, server: MetricsServer) -> None:
    agency = site.scores["agencies"][0]["id"]
    for target in ("/", f"/agency/{agency}", "/web.css"):
        connection = http.client.HTTPConnection(*server.address, timeout=10)
        connection.request("GET", target)
        response = connection.getresponse()
        body = response.read()
        connection.close()
        assert response.status == 200 and len(body) == int(response.headers["Content-Length"])
        connection = http.client.HTTPConnection(*server.address, timeout=10)
        connection.request("HEAD", target)
        head = connection.getresponse()
        assert head.status == 200 and head.read() == b""
        assert head.headers["Content-Length"] == response.headers["Content-Length"]
        connection.close()
    assert server.respond(_request("/metrics")).status == 200  # still there


def test_web_view_can_be_turned_off(site: ScoredSite) -> None:
    off = Settings.model_validate({"web": {"enabled": False}})
    assert web_routes(off, site.store) == []
    server = MetricsServer("127.0.0.1", 0, new_registry(), lambda: None,
                           pages=web_routes(off, site.store))
    try:
        response = server.respond(_request("/"))
        assert b"/metrics" in response.body and b"<table" not in response.body
        assert server.respond(_request("/agency/x")).status == 404
    finally:
        server.httpd.server_close()
    assert web_routes(Settings(), site.store)  # on by default


def _plain(text: str) -> str:
    """``text`` with its whitespace collapsed, as :meth:`Node.text` gives it."""
    return " ".join(text.split())


def _quote(text: str) -> str:
    return quote(text, safe="")


def _query(**values: str) -> str:
    return urlencode(values)


def _request(target: str) -> Request:
    return Request.of(target)
