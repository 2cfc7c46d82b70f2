"""The demo catalogues harvested, validated and scored into a fresh store, as a web view
test needs them: the figures of every page are compared with ``scores --json`` and
``explain --json`` of that store."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from dcatwatch.config import ReportsSettings, Settings
from dcatwatch.demo.server import DemoSite, demo_settings, write_config
from dcatwatch.metrics import MetricsServer, new_registry
from dcatwatch.metrics.server import Request, Response
from dcatwatch.store.core import Store
from dcatwatch.web.app import WebView
from dcatwatch.web.words import Words
from tests.helpers import run
from tests.webpage import Node, parse

SV = Words("sv")


@dataclass
class ScoredSite:
    """A scored store of the demo catalogues, its configuration and ``scores --json``."""

    config: Path
    store: Store
    scores: dict[str, Any]

    def server(self, port: int = 0) -> MetricsServer:
        """The metrics server with the web view mounted (not started)."""
        return MetricsServer("127.0.0.1", port, new_registry(), lambda: None,
                             pages=WebView(self.store, ReportsSettings()).routes)

    def explain(self, iri: str) -> list[dict[str, Any]]:
        """``explain IRI --json``."""
        status, out, err = run("--config", str(self.config), "explain", iri, "--json")
        assert status == 0, err
        return list(json.loads(out))

    def copies(self) -> dict[str, list[dict[str, Any]]]:
        """``datasets --json``, by IRI."""
        status, out, err = run("--config", str(self.config), "datasets", "--json")
        assert status == 0, err
        found: dict[str, list[dict[str, Any]]] = {}
        for dataset in json.loads(out):
            found.setdefault(dataset["iri"], []).append(dataset)
        return found


def scored_demo(directory: Path) -> ScoredSite:
    """Harvest, validate and score (with a snapshot) the demo catalogues into
    ``directory``."""
    with DemoSite() as site:
        config = write_config(demo_settings(Settings(), site.base_url, directory), directory)
        for command in (["harvest"], ["validate"], ["scores", "--snapshot"]):
            status, _, err = run("--config", str(config), *command)
            assert status == 0, (command, err)
    status, out, err = run("--config", str(config), "scores", "--json")
    assert status == 0, err
    return ScoredSite(config, Store.open(f"sqlite:///{directory / 'dcatwatch.db'}"),
                      json.loads(out))


def page(server: MetricsServer, target: str) -> tuple[Response, Node]:
    """The answer to GET ``target`` (via the route table) and its parsed HTML."""
    response = server.respond(Request.of(target))
    return response, parse(response.body.decode())


def value(node: Node) -> float:
    """The machine-readable value of the first <data> in ``node``."""
    found = node.find_all("data")[0].attrs["value"]
    assert found is not None
    return float(found)


def plain(text: str) -> str:
    """``text`` with its whitespace collapsed, as :meth:`Node.text` gives it."""
    return " ".join(text.split())


def check_national(dom: Node, scores: dict[str, Any]) -> None:
    """The national page's figures are those of ``scores --json``."""
    national = scores["national"]
    figures = dom.find("dl", id="national")
    for key in ("api_document_index", "median_api_document_index", "api_share",
                "document_only_share", "datasets", "agencies", "agencies_with_api"):
        assert value(figures.find("dd", data_key=key)) == pytest.approx(national[key]), key
    unattributed = figures.find("data", data_key="unattributed").attrs["value"]
    assert float(unattributed or -1) == national["unattributed"]
    rows = dom.find("table", id="agencies").find("tbody").find_all("tr")
    expected = {agency["id"]: agency for agency in scores["agencies"]}
    assert sorted(row.attrs["data-agency"] or "" for row in rows) == sorted(expected)
    for row in rows:
        agency = expected[row.attrs["data-agency"] or ""]
        assert row.find("th").text() == agency["name"]
        cells = {cell.attrs["data-key"]: cell for cell in row.find_all("td")}
        assert value(cells["datasets"]) == agency["datasets"]
        if agency["datasets"]:
            assert value(cells["api_document_index"]) == agency["api_document_index"]
            assert value(cells["api_share"]) == pytest.approx(agency["api_share"])
            assert value(cells["mqa_points"]) == agency["mqa_points"]
            assert cells["api_share"].text() == plain(SV.percent(agency["api_share"]))
            assert cells["mqa_points"].find("span", data_key="mqa_band").text() == SV(
                f"bands.{agency['mqa_band']}")
        else:  # no datasets: no index, share or points, shown as such
            assert agency["api_document_index"] is None and agency["mqa_points"] is None
            assert cells["api_document_index"].text() == SV("national.none")


def check_agency(dom: Node, agency: dict[str, Any],
                 copies: dict[str, list[dict[str, Any]]]) -> None:
    """The agency page's figures are those of its ``scores --json`` object; the datasets it
    names are the agency's (``copies``: ``datasets --json`` by IRI)."""
    assert dom.find("h1").text() == SV("agency.title", agency=agency["name"])
    if not agency["datasets"]:
        assert not dom.find_all("table", id="levels")
        return
    assert value(dom.find("span", id="index")) == agency["api_document_index"]
    assert dom.find("span", id="datasets").text() == plain(
        SV.plural("summary.datasets", agency["datasets"]))
    levels = dom.find("table", id="levels")
    for key in ("api", "machine_readable", "document_only", "unknown"):
        count, share = levels.find("tr", data_key=key).find_all("data")
        assert float(count.attrs["value"] or -1) == agency[key], key
        assert float(share.attrs["value"] or -1) == pytest.approx(
            agency[key] / agency["datasets"])
    assert value(dom.find("span", id="mqa")) == agency["mqa_points"]
    assert dom.find("span", id="band").attrs["data-band"] == agency["mqa_band"]
    # the history chart: this month's bar is the index now
    history = dom.find("table", id="history").find("tbody").find_all("tr")
    assert value(history[-1].find_all("td")[0]) == agency["api_document_index"]
    # the fixes name the agency's datasets, each linked to its own page
    fixes = [li for li in dom.find("ol", id="fixes").children if isinstance(li, Node)]
    assert fixes and all("data-fix" in li.attrs for li in fixes)
    for fix in fixes:
        for link in fix.find_all("a"):
            iri = parse_qs(urlsplit(link.attrs["href"] or "").query)["iri"][0]
            assert agency["id"] in {c["agency"] for c in copies[iri]}
    # each dataset's level is the level of one of its copies
    for row in dom.find("table", id="dataset-lines").find("tbody").find_all("tr"):
        levels_of = {c["level"] for c in copies[row.attrs["data-iri"] or ""]}
        assert int(row.find_all("td")[0].attrs["data-level"] or -1) in levels_of


def check_dataset(dom: Node, explained: list[dict[str, Any]]) -> None:
    """The dataset page shows each copy as ``explain --json`` gives it, in words."""
    sections = {s.attrs["data-source"]: s for s in dom.find_all("section")}
    assert set(sections) == {item["source"] for item in explained}
    for item in explained:
        section = sections[item["source"]]
        assert section.find("span", data_key="level").attrs["data-level"] == str(item["level"])
        assert value(section.find("span", data_key="mqa_points")) == item["mqa_points"]
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
            assert value(row.find_all("td")[1]) == indicator["points"]
        if item["agency"]:
            assert section.find("a", data_agency=item["agency"])


def check_accessible(dom: Node) -> None:
    """WCAG 2.1 AA checks a page's markup can fail: a language, a title, exactly one h1,
    headings that skip no level, a header cell with a scope for every row and column, a
    skip link first that leads to the main content, links and images that name themselves,
    and keyboard use: every link has an address, nothing takes the focus out of order or can
    trap it, a sorted column's header is a link."""
    [html] = [child for child in dom.children if isinstance(child, Node)]
    assert html.attrs.get("lang") in ("sv", "en")
    assert html.find("title").text()
    headings = [int(node.tag[1]) for node in dom.elements()
                if node.tag in ("h1", "h2", "h3", "h4", "h5", "h6")]
    assert headings[0] == 1 and headings.count(1) == 1, headings
    assert all(b <= a + 1 for a, b in zip(headings, headings[1:], strict=False)), headings
    for table in dom.find_all("table"):
        if table.attrs.get("role") == "presentation":
            continue
        header_cells = table.find_all("th")
        assert header_cells, "a data table without header cells"
        assert all(th.attrs.get("scope") in ("col", "row") for th in header_cells)
    links = dom.find_all("a")
    assert links[0].attrs.get("href") == "#main" and links[0].text()
    main = dom.find("main")
    assert main.attrs.get("id") == "main" and main.attrs.get("tabindex") == "-1"
    assert all(link.text() or link.attrs.get("aria-label") for link in links)
    # keyboard: every link reachable in document order, nothing that could hold the focus
    # (no script, frame, object or embed), nothing focusable out of order
    assert all(link.attrs.get("href") for link in links)
    assert not [n.tag for n in dom.elements()
                if n.tag in ("script", "iframe", "object", "embed", "frame")]
    assert all(int(n.attrs.get("tabindex") or 0) <= 0 for n in dom.elements())
    for header in dom.find_all("th"):  # a sortable column is sorted by a link
        if "aria-sort" in header.attrs:
            assert header.find("a").attrs.get("href")
    assert all(img.attrs.get("alt") is not None for img in dom.find_all("img"))
    for svg in dom.find_all("svg"):  # decoration: the figure is in the table's text
        assert svg.attrs.get("focusable") == "false"
        assert "aria-hidden" in svg.attrs or _hidden_parent(dom, svg)


def _hidden_parent(dom: Node, target: Node) -> bool:
    """Whether an ancestor of ``target`` is hidden from assistive technology."""
    def walk(node: Node, hidden: bool) -> bool | None:
        hidden = hidden or node.attrs.get("aria-hidden") == "true"
        if node is target:
            return hidden
        for child in node.children:
            if isinstance(child, Node) and (found := walk(child, hidden)) is not None:
                return found
        return None
    return bool(walk(dom, False))
