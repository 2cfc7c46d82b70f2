"""WCAG 2.1 AA, automated where a test can decide it: every page kind, in both languages,
passes the markup checks (:func:`tests.web_site.check_accessible`), and every text colour of
the stylesheet keeps 4.5:1 against each background it can sit on, with a visible focus."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest

from dcatwatch.metrics import MetricsServer
from dcatwatch.metrics.server import Request
from tests.web_site import ScoredSite, check_accessible, page, scored_demo

MINIMUM = 4.5  # WCAG 2.1 1.4.3, normal text
RULE = re.compile(r"([^{}]+)\{([^}]*)\}")
COLOUR = re.compile(r"#([0-9a-fA-F]{6})\b")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MetricsServer]:
    site: ScoredSite = scored_demo(tmp_path_factory.mktemp("a11y"))
    server = site.server()
    try:
        yield server
    finally:
        server.httpd.server_close()


TARGETS = ("/", "/?sort=name&order=asc", "/agency/2120009999", "/agency/2021009994",
           "/dataset?" + urlencode({"iri": "https://exempelverket.example.se/data/stationer"}),
           "/dataset?" + urlencode({"iri": "https://demokoping.example.se/data/budget-2025"}),
           "/agency/unknown", "/dataset?iri=nothing", "/no/such/page")


@pytest.mark.parametrize("language", ["sv", "en"])
@pytest.mark.parametrize("target", TARGETS)
def test_every_page_kind_passes_the_markup_checks(server: MetricsServer, target: str,
                                                  language: str) -> None:
    separator = "&" if "?" in target else "?"
    _, dom = page(server, target + (f"{separator}lang=en" if language == "en" else ""))
    check_accessible(dom)
    assert dom.find("html").attrs["lang"] == language


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(foreground: str, background: str) -> float:
    """The WCAG contrast ratio of two ``rrggbb`` colours."""
    high, low = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_contrast_formula() -> None:
    assert contrast("000000", "ffffff") == pytest.approx(21)
    assert contrast("777777", "ffffff") == pytest.approx(4.48, abs=0.01)  # just too light


def _rules(css: str) -> list[tuple[str, dict[str, str]]]:
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    found = []
    for selector, body in RULE.findall(css):
        declarations = {}
        for declaration in body.split(";"):
            name, _, value = declaration.partition(":")
            if value.strip():
                declarations[name.strip()] = value.strip()
        found.append((selector.strip(), declarations))
    return found


def _colour(value: str | None) -> str | None:
    match = COLOUR.search(value or "")
    return match.group(1).lower() if match else None


def test_text_colours_keep_their_contrast(server: MetricsServer) -> None:
    """A rule that sets both colours is checked as a pair; a rule that sets only a text
    colour is checked against every background a rule without a text colour paints (the
    page, header cells, tracks)."""
    css = server.respond(Request.of("/web.css")).body.decode()
    rules = _rules(css)
    assert rules
    surfaces = {"ffffff"}
    pairs = []
    for selector, declarations in rules:
        text = _colour(declarations.get("color"))
        background = _colour(declarations.get("background")
                             or declarations.get("background-color"))
        if text and background:
            pairs.append((selector, text, background))
        elif background:
            surfaces.add(background)
    for selector, declarations in rules:
        text = _colour(declarations.get("color"))
        has_background = declarations.get("background") or declarations.get("background-color")
        if text and not has_background:
            pairs += [(selector, text, surface) for surface in sorted(surfaces)]
    assert len(pairs) > 20
    failing = [(s, t, b, round(contrast(t, b), 2)) for s, t, b in pairs
               if contrast(t, b) < MINIMUM]
    assert not failing


def test_keyboard_focus_is_visible_and_the_skip_link_appears(server: MetricsServer) -> None:
    rules = dict(_rules(server.respond(Request.of("/web.css")).body.decode()))
    focus = next(d for s, d in rules.items() if "a:focus-visible" in s)
    assert re.match(r"\d+px solid #", focus["outline"])
    assert contrast(_colour(focus["outline"]) or "", "ffffff") >= 3  # non-text contrast
    shown = rules[".skip:focus"]
    assert shown["position"] == "static" and contrast(_colour(shown["color"]) or "",
                                                      _colour(shown["background"]) or "") >= 4.5
    assert "outline: none" not in " ".join(f"{k}: {v}" for d in rules.values()
                                          for k, v in d.items())
