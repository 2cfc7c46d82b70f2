"""Report wording as data: one catalogue per language (``texts/sv.toml``, ``texts/en.toml``),
plus numbers, shares and months written the way each language writes them."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import asdict
from datetime import date
from functools import cache
from importlib import resources
from typing import Any

from dcatwatch.config import Language
from dcatwatch.dcat import labels
from dcatwatch.reports.period import Period

MINUS = "\u2212"
NBSP = "\u00a0"


@cache
def _catalogue(language: Language) -> dict[str, Any]:
    text = resources.files("dcatwatch.reports").joinpath(f"texts/{language}.toml").read_text(
        encoding="utf-8")
    return tomllib.loads(text)


class Texts:
    """The wording of one language: ``t("summary.heading")``, ``t.plural("fixes.more", 3)``."""

    def __init__(self, language: Language) -> None:
        self.language = language
        self._data = _catalogue(language)

    def _entry(self, key: str) -> Any:
        node: Any = self._data
        for part in key.split("."):
            node = node[part]
        return node

    def __call__(self, key: str, **values: Any) -> str:
        """The text at ``key`` with ``{placeholders}`` filled in."""
        return str(self._entry(key)).format(**values)

    def plural(self, key: str, count: int, **values: Any) -> str:
        """The ``one`` or ``other`` form at ``key``; ``{n}`` is the count."""
        forms = self._entry(key)
        return forms["one" if count == 1 else "other"].format(n=self.integer(count), **values)

    def get(self, key: str, default: str) -> str:
        """The text at ``key``, or ``default`` where the catalogue has none."""
        try:
            return str(self._entry(key))
        except KeyError:
            return default

    def number(self, value: float, digits: int = 1) -> str:
        """``1 234,5`` in Swedish, ``1,234.5`` in English; negative with a minus sign."""
        text = f"{abs(value):,.{digits}f}"
        if self.language == "sv":
            text = text.replace(",", NBSP).replace(".", ",")
        return (MINUS if round(value, digits) < 0 else "") + text

    def signed(self, value: float, digits: int = 1) -> str:
        """A change: ``+5,0``, ``−2,5``."""
        text = self.number(value, digits)
        return "+" + text if round(value, digits) > 0 else text

    def integer(self, value: int) -> str:
        """A count with the language's thousands separator."""
        return self.number(value, 0)

    def percent(self, share: float) -> str:
        """A share as a whole percentage: ``50 %`` in Swedish, ``50%`` in English."""
        number = self.number(100 * share, 0)
        return f"{number}{NBSP}%" if self.language == "sv" else f"{number}%"

    def date(self, day: date) -> str:
        """``3 december 2026`` / ``3 December 2026``."""
        return f"{day.day} {self._data['months'][day.month - 1]} {day.year}"

    def month(self, period: Period) -> str:
        """``maj 2026`` / ``May 2026``."""
        return f"{self._data['months'][period.month - 1]} {period.year}"

    def evidence(self, item: Any) -> str:
        """One classification evidence item (a mapping, as stored, or the report's
        EvidenceLine) in this language's words (:func:`dcatwatch.dcat.labels.evidence`): the
        templates' one way to show evidence, for e-mail and web pages alike."""
        return labels.evidence(item if isinstance(item, Mapping) else asdict(item),
                               self.language)
