"""The web view over a harvested, validated and scored store of the demo catalogues (served on
loopback): the figures of the national, agency and dataset pages equal ``scores --json``
and ``explain --json``; sorting, language, escaping, 404s and the security headers."""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlencode

import pytest

from dcatwatch.config import Settings
from dcatwatch.metrics import MetricsServer, new_registry
from dcatwatch.metrics.server import Request
from dcatwatch.web.app import web_routes
from dcatwatch.web.words import Words
from tests.web_site import (
    ScoredSite,
    check_agency,
    check_dataset,
    check_national,
    page,
    scored_demo,
)

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


def _agencies(scores: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {agency["id"]: agency for agency in scores["agencies"]}


def test_national_page_equals_scores_json(site: ScoredSite, server: MetricsServer) -> None:
    response, dom = page(server, "/")
    assert response.status == 200
    check_national(dom, site.scores)
    # one snapshot only: no trend yet
    assert {cell.text() for cell in dom.find_all("td", data_key="trend")} \
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
    copies = site.copies()
    for agency in site.scores["agencies"]:
        response, dom = page(server, f"/agency/{agency['id']}")
        assert response.status == 200, agency["id"]
        check_agency(dom, agency, copies)


def test_dataset_pages_equal_explain_json(site: ScoredSite, server: MetricsServer) -> None:
    iris = sorted(site.copies())
    assert len(iris) >= 12
    for iri in iris:
        response, dom = page(server, "/dataset?" + urlencode({"iri": iri}))
        assert response.status == 200, iri
        check_dataset(dom, site.explain(iri))


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
    switch = dom.find("a", class_="language").attrs["href"] or ""
    assert switch == "/agency/" + _quote('"><img src=x onerror=alert(1)>') + "?lang=en"
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


def _quote(text: str) -> str:
    return quote(text, safe="")


def _query(**values: str) -> str:
    return urlencode(values)


def _request(target: str) -> Request:
    return Request.of(target)
