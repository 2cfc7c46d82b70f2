"""Pages kept per store generation (:mod:`dcatwatch.web.cache`): made once, rendered ahead
once, served stale while they are rendered again after a store change, and the web view
over a real store shows a new score snapshot once it is rendered."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from dcatwatch.config import ReportsSettings
from dcatwatch.metrics import MetricsServer, new_registry
from dcatwatch.metrics.server import Request, Response
from dcatwatch.store.core import Store
from dcatwatch.store.models import RunCounts
from dcatwatch.store.runs import RunResult
from dcatwatch.store.scores import NATIONAL_FIGURES
from dcatwatch.web import cache
from dcatwatch.web.app import WebView
from dcatwatch.web.cache import PageCache
from tests.web_site import ScoredSite, page, scored_demo, value


class Pages:
    """A generation the test moves on, and pages that say which generation made them."""

    def __init__(self, keys: list[str]) -> None:
        self.now = 1
        self.made: list[tuple[str, int]] = []
        self.keys = keys
        self.gate = threading.Event()
        self.gate.set()

    def make(self, key: object) -> Response:
        self.gate.wait(10)
        self.made.append((str(key), self.now))
        if key == "missing":
            return Response.text("no such page\n", 404)
        return Response.html(f"{key} of generation {self.now}")


@pytest.fixture(autouse=True)
def always_check(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cache, "CHECK_SECONDS", 0.0)  # read the generation on every request


def _cache(pages: Pages) -> PageCache:
    return PageCache(lambda: pages.now, pages.make, lambda: pages.keys)


def test_a_page_is_made_once_per_generation() -> None:
    pages = Pages(["a", "b"])
    kept = _cache(pages)
    assert kept.get("a").body == b"a of generation 1"
    kept.wait()  # the first request started the warm-up: b is rendered ahead
    assert sorted(pages.made) == [("a", 1), ("b", 1)]
    for _ in range(3):
        assert kept.get("a").body == b"a of generation 1"
        assert kept.get("b").body == b"b of generation 1"
    assert len(pages.made) == 2
    assert kept.kept()[0] == 2


def test_a_new_generation_is_served_stale_until_rendered() -> None:
    pages = Pages(["a"])
    kept = _cache(pages)
    kept.get("a")
    kept.wait()
    pages.now = 2
    pages.gate.clear()  # hold the warm-up
    assert kept.get("a").body == b"a of generation 1"  # at once, while its new rendering waits
    pages.gate.set()
    kept.wait()
    assert kept.get("a").body == b"a of generation 2"
    assert pages.made == [("a", 1), ("a", 2)]


def test_a_page_nobody_renders_ahead_is_made_again_when_stale() -> None:
    pages = Pages([])
    kept = _cache(pages)
    assert kept.get("x").body == b"x of generation 1"
    kept.wait()
    pages.now = 2
    kept.get("x")  # stale while the (empty) warm-up runs
    kept.wait()
    assert kept.get("x").body == b"x of generation 2"


def test_only_pages_that_exist_are_kept() -> None:
    pages = Pages([])
    kept = _cache(pages)
    assert kept.get("missing").status == 404
    assert kept.get("missing").status == 404
    assert pages.made.count(("missing", 1)) == 2
    assert kept.kept()[0] == 0


def test_a_warm_up_stops_when_the_generation_moves_on() -> None:
    pages = Pages(["a", "b", "c"])
    kept = PageCache(lambda: pages.now, pages.make, lambda: pages.keys)

    def make_and_move(key: object) -> Response:
        response = pages.make(key)
        pages.now = 2  # a scoring run finished meanwhile
        return response

    kept._make = make_and_move  # noqa: SLF001 - the store moving on, mid warm-up
    assert kept.warm() == 1
    assert pages.made == [("a", 1)]


def test_kept_pages_are_served_while_the_store_cannot_be_read() -> None:
    pages = Pages(["a"])
    down = False

    def generation() -> int:
        if down:
            raise ConnectionError("store down")
        return pages.now

    kept = PageCache(generation, pages.make, lambda: pages.keys)
    kept.get("a")
    kept.wait()
    down = True
    assert kept.get("a").body == b"a of generation 1"
    assert len(pages.made) == 1


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> ScoredSite:
    return scored_demo(tmp_path_factory.mktemp("web-cache"))


def test_the_pages_follow_a_new_snapshot(site: ScoredSite) -> None:
    view = WebView(site.store, ReportsSettings())
    server = MetricsServer("127.0.0.1", 0, new_registry(), lambda: None, pages=view.routes)
    agency = max(site.scores["agencies"], key=lambda a: a["datasets"])
    target = f"/agency/{agency['id']}"
    try:
        before = page(server, target)[1]
        assert value(before.find("span", id="index")) == agency["api_document_index"]
        view.cache.wait()
        with site.store.read() as unit:
            generation = unit.scores.generation()
        moved = dict(agency, api_document_index=round(agency["api_document_index"] / 2, 1))
        others = [a for a in site.scores["agencies"] if a["id"] != agency["id"]]
        with site.store.write() as unit:
            unit.scores.snapshot([moved, *others], site.scores["national"], datetime.now(UTC))
        with site.store.read() as unit:
            assert unit.scores.generation() != generation
        stale = page(server, target)[1]  # at once: the kept page, queued to render again
        assert value(stale.find("span", id="index")) == agency["api_document_index"]
        view.cache.wait()
        after = page(server, target)[1]
        assert value(after.find("span", id="index")) == moved["api_document_index"]
        page(server, "/")  # kept by the warm-up: served, and rendered again
        view.cache.wait()
        row = page(server, "/")[1].find("tr", data_agency=agency["id"])
        assert value(row.find("td", data_key="api_document_index")) \
            == moved["api_document_index"]
    finally:
        server.httpd.server_close()


def test_requests_never_wait_for_a_warm_up(site: ScoredSite) -> None:
    view = WebView(site.store, ReportsSettings())
    response = view.national(Request.of("/"))
    assert response.status == 200
    view.cache.wait()
    assert view.cache.kept()[0] >= 2 * len(site.scores["agencies"])


def test_the_generation_moves_with_each_thing_a_page_shows(database_url: str) -> None:
    """A snapshot, a finished harvest, a finished validation each move it; reading does not."""
    moment = datetime(2026, 11, 22, 8, 30, tzinfo=UTC)
    with Store.open(database_url) as store:
        def generation() -> tuple[object, ...]:
            with store.read() as unit:
                return unit.scores.generation()

        seen = [generation()]
        assert generation() == seen[0]
        with store.write() as unit:
            unit.scores.snapshot([], {name: 0 for name in NATIONAL_FIGURES}, moment)
        seen.append(generation())
        with store.write() as unit:
            run_id = unit.runs.start("s", moment)
        assert generation() == seen[-1]  # a run under way changes nothing shown yet
        with store.write() as unit:
            unit.runs.finish(run_id, RunResult("s", "ok", RunCounts()), moment)
        seen.append(generation())
        with store.write() as unit:
            check = unit.checks.start_run(None, moment)
            unit.checks.finish_run(check, "ok", moment)
        seen.append(generation())
        assert len(set(seen)) == len(seen), seen
