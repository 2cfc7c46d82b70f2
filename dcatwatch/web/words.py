"""The web view's wording: its own catalogue (``texts/sv.toml``, ``texts/en.toml``) first, then
the report's (levels, rules, fixes, months: :mod:`dcatwatch.reports.texts`), so a page and the
e-mail say the same thing the same way. Also plain words for vocabulary values and
properties, never a bare IRI or rule id.

The plain-word methods (:meth:`Words.rule`, :meth:`Words.indicator`, :meth:`Words.property`,
:meth:`Words.value`) are the one place the pages take those words from, with the arguments
:mod:`dcatwatch.dcat.labels` (another branch) takes, so they can delegate to it."""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from typing import Any

from dcatwatch.config import Language
from dcatwatch.dcat.vocabularies import EU_AUTHORITY
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
        """A classification rule in words (the report's label; its id only as a last
        resort, never alone)."""
        return self.get(f"rules.{rule}", f"{self('dataset.evidence_rule')} {rule}")

    def indicator(self, indicator: str) -> str:
        """An MQA indicator in words (its id when there are none)."""
        return self.get(f"indicators.{indicator}", indicator)

    def value(self, value: str, property_name: str = "") -> str:
        """A vocabulary IRI as its code and list (``PDF (EU file types)``); other values as
        they are. (``property_name``: where the value was found, as
        :func:`dcatwatch.dcat.labels.value` takes it.)"""
        if value.startswith(EU_AUTHORITY):
            vocabulary, _, code = value[len(EU_AUTHORITY):].partition("/")
            if code:
                return f"{code} ({self.get('vocab.' + vocabulary, vocabulary)})"
        return value

    def property(self, name: str) -> str:
        """A DCAT property in words, with its name (``format (dct:format)``)."""
        return self.get(f"properties.{name}", name)
