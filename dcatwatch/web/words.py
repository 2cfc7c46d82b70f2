"""The web view's wording: its own catalogue (``texts/sv.toml``, ``texts/en.toml``) first, then
the report's (levels, rules, fixes, months: :mod:`dcatwatch.reports.texts`), so a page and the
e-mail say the same thing the same way. Also plain words for vocabulary values and
properties, never a bare IRI or rule id.

The plain-word methods (:meth:`Words.rule`, :meth:`Words.indicator`, :meth:`Words.property`,
:meth:`Words.value`) are the one place the pages take those words from: they delegate to
:mod:`dcatwatch.dcat.labels`, as the reports and ``explain`` do."""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from typing import Any

from dcatwatch.config import Language
from dcatwatch.dcat import labels
from dcatwatch.reports.texts import Texts

LANGUAGES: tuple[Language, ...] = ("sv", "en")


@cache
def _catalogue(language: Language) -> dict[str, Any]:
    text = resources.files("dcatwatch.web").joinpath(f"texts/{language}.toml").read_text(
        encoding="utf-8")
    return tomllib.loads(text)


def language_of(asked: str | None) -> Language:
    """``?lang=en`` is English; anything else the default, Swedish."""
    return "en" if asked == "en" else "sv"


class Words(Texts):
    """``w("national.title")``: the web view's text at a key, else the report's."""

    def __init__(self, language: Language) -> None:
        super().__init__(language)
        self._web = _catalogue(language)

    def _entry(self, key: str) -> Any:
        node: Any = self._web
        try:
            for part in key.split("."):
                node = node[part]
        except (KeyError, TypeError):
            return super()._entry(key)
        return node

    def rule(self, rule: str) -> str:
        """A classification rule in words."""
        return labels.rule(rule, self.language)

    def indicator(self, indicator: str) -> str:
        """An MQA indicator in words."""
        return labels.indicator(indicator, self.language)

    def value(self, value: str, property_name: str = "") -> str:
        """A vocabulary IRI (or a format's media type) by its label; other values as they are."""
        return labels.value(value, self.language, property_name)

    def property(self, name: str) -> str:
        """A DCAT property in words, with its name (``format (dct:format)``)."""
        words = labels.prop(name, self.language)
        return name if words == name else f"{words} ({name})"
