"""The web view in a real browser: Debian's headless Chromium loads each page kind from a
real server on loopback; the DOM it builds is checked against ``scores --json`` and
``explain --json`` and for accessibility, nothing is refused by the page's
Content-Security-Policy (the stylesheet applies, no script is wanted), and a screenshot of
each page is kept under ``test-artifacts/web/`` (CI keeps them as artefacts). Each page kind
is also used by keyboard through the DevTools protocol (:mod:`tests.devtools`). Skips when
``chromium`` is not installed; CI installs it."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest

from dcatwatch.metrics import MetricsServer
from tests.conftest import ROOT
from tests.devtools import ENTER, TAB, Browser
from tests.web_site import (
    ScoredSite,
    check_accessible,
    check_agency,
    check_dataset,
    check_national,
    scored_demo,
)
from tests.webpage import Node, parse

CHROMIUM = shutil.which("chromium")
ARTIFACTS = ROOT / "test-artifacts" / "web"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--enable-logging=stderr", "--v=0")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed "
                                "(apt-get install chromium; CI does)")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> ScoredSite:
    return scored_demo(tmp_path_factory.mktemp("browser"))


@pytest.fixture(scope="module")
def base(site: ScoredSite) -> Iterator[str]:
    server: MetricsServer = site.server()
    server.start()
    try:
        yield "http://127.0.0.1:%d" % server.address[1]
    finally:
        server.close()


def chromium(url: str, profile: Path, *extra: str) -> tuple[str, str]:
    """Run headless Chromium on ``url``: (stdout, stderr)."""
    assert CHROMIUM
    done = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *extra, url],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout, done.stderr


def load(url: str, name: str, profile: Path) -> Node:
    """The DOM Chromium built for ``url``, after a screenshot of it is kept as ``name``."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / f"{name}.png"
    shot.unlink(missing_ok=True)
    _, log = chromium(url, profile, f"--screenshot={shot}", "--window-size=1280,2000")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    print(f"screenshot: {shot}")
    assert "Content Security Policy" not in log, log[-2000:]  # nothing the page asks is refused
    dom, log = chromium(url, profile, "--dump-dom")
    assert "Content Security Policy" not in log, log[-2000:]
    return parse(dom)


def test_each_page_kind_in_chromium(site: ScoredSite, base: str, tmp_path: Path) -> None:
    profile = tmp_path / "profile"
    national = load(f"{base}/", "national", profile)
    check_national(national, site.scores)
    check_accessible(national)

    english = load(f"{base}/?sort=name&lang=en", "national-en", profile)
    assert english.find("html").attrs["lang"] == "en"
    names = [row.find("th").text() for row in english.find("table", id="agencies")
             .find("tbody").find_all("tr")]
    assert names == sorted(names, key=str.casefold)

    copies = site.copies()
    agency = max(site.scores["agencies"], key=lambda a: a["datasets"])
    agency_dom = load(f"{base}/agency/{agency['id']}", "agency", profile)
    check_agency(agency_dom, agency, copies)
    check_accessible(agency_dom)

    iri = "https://exempelverket.example.se/data/stationer"  # in two sources
    dataset_dom = load(f"{base}/dataset?{urlencode({'iri': iri})}", "dataset", profile)
    check_dataset(dataset_dom, site.explain(iri))
    check_accessible(dataset_dom)

    missing = load(f"{base}/agency/nosuch", "not-found", profile)
    check_accessible(missing)
    assert "nosuch" in missing.find("main").text()


FOCUSED = """(() => { const e = document.activeElement, s = getComputedStyle(e);
  return {tag: e.tagName.toLowerCase(), href: e.getAttribute('href'), id: e.id,
          outline: s.outlineStyle, width: parseFloat(s.outlineWidth),
          position: s.position}; })()"""
LINKS = "Array.from(document.querySelectorAll('a[href]'), a => a.getAttribute('href'))"


def test_each_page_kind_by_keyboard(site: ScoredSite, base: str, tmp_path: Path) -> None:
    """Tab reaches every link in document order with a visible focus ring and then leaves
    the page (no trap); the skip link shows itself and moves the focus to the content."""
    agency = max(site.scores["agencies"], key=lambda a: a["datasets"])["id"]
    iri = "https://exempelverket.example.se/data/stationer"
    for target in ("/?lang=en", f"/agency/{agency}", f"/dataset?{urlencode({'iri': iri})}"):
        browser = Browser(CHROMIUM or "", FLAGS, tmp_path / "keyboard", base + target)
        try:
            links = browser.evaluate(LINKS)
            assert len(links) >= 3, target
            reached = []
            for _ in range(len(links) + 2):
                browser.press(TAB)
                focused = browser.evaluate(FOCUSED)
                if focused["tag"] != "a":
                    break  # past the last link: the focus left the page's links
                assert focused["outline"] != "none" and focused["width"] >= 2, focused
                reached.append(focused["href"])
            assert reached == links, target
            browser.evaluate("document.querySelector('a.skip').focus()")
            assert browser.evaluate(FOCUSED)["position"] == "static"  # shown when focused
            browser.press(ENTER)
            deadline = time.monotonic() + 5
            while browser.evaluate(FOCUSED)["id"] != "main":
                assert time.monotonic() < deadline, browser.evaluate(FOCUSED)
                time.sleep(0.05)
        finally:
            browser.close()
