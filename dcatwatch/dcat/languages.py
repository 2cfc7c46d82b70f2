"""Which language to show a name in: Swedish, else the catalogue's, else untagged, else English.

The catalogue's language is the ``dct:language`` of a ``dcat:Catalog`` of the document (an
EU authority IRI such as ``…/language/SPA`` or a code), else the language most of the
document's tagged literals are in. It is worked out only when a choice needs it.
"""

from __future__ import annotations

from collections import Counter

from dcatwatch.dcat import namespaces as ns
from dcatwatch.dcat.parse import Graph
from dcatwatch.dcat.terms import iri, literal, value

ISO_639_2 = {
    "swe": "sv", "eng": "en", "deu": "de", "ger": "de", "spa": "es", "fra": "fr", "fre": "fr",
    "ita": "it", "nor": "no", "nob": "nb", "nno": "nn", "dan": "da", "fin": "fi", "isl": "is",
    "nld": "nl", "dut": "nl", "pol": "pl", "por": "pt", "est": "et", "lav": "lv", "lit": "lt",
    "ces": "cs", "cze": "cs", "slk": "sk", "slv": "sl", "hun": "hu", "ell": "el", "gre": "el",
    "ron": "ro", "rum": "ro", "bul": "bg", "hrv": "hr", "gle": "ga", "mlt": "mt", "cat": "ca",
    "eus": "eu", "glg": "gl", "sme": "se", "rus": "ru", "ukr": "uk",
}
_LANGUAGE = iri(ns.DCT, "language")
_CATALOG = iri(ns.CATALOG)


def language_code(term: str) -> str | None:
    """The two-letter code of a ``dct:language`` value (an IRI ending in a code, or a code)."""
    code = value(term).rstrip("/").rsplit("/", 1)[-1].rsplit("#", 1)[-1].strip().lower()
    if len(code) == 2 and code.isalpha():
        return code
    return ISO_639_2.get(code)


class LanguagePreference:
    """The languages to choose names in for one document, worked out on first use."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self._order: tuple[str, ...] | None = None

    @property
    def order(self) -> tuple[str, ...]:
        """Language tags (primary subtags), the preferred first; ``""`` is untagged."""
        if self._order is None:
            local = self._catalog_language() or self._document_language()
            self._order = tuple(dict.fromkeys(("sv", local or "sv", "", "en")))
        return self._order

    def choose(self, names: list[tuple[str, str]]) -> str | None:
        """The first of ``names`` ((language, text) pairs) in the most preferred language."""
        for lang, text in names:  # Swedish needs no look at the document
            if lang.split("-")[0] == "sv":
                return text
        for wanted in self.order:
            for lang, text in names:
                if lang.split("-")[0] == wanted:
                    return text
        return names[0][1] if names else None

    def _catalog_language(self) -> str | None:
        for subject, types in self.graph.types.items():
            if _CATALOG in types:
                for predicate, obj in self.graph.subjects.get(subject, ()):
                    if predicate == _LANGUAGE and language_code(obj):
                        return language_code(obj)
        return None

    def _document_language(self) -> str | None:
        counts: Counter[str] = Counter()
        for props in self.graph.subjects.values():
            for _, obj in props:
                if obj[0] == '"' and obj[-1] != '"' and '"@' in obj:
                    counts[literal(obj)[1].split("-")[0]] += 1
        return counts.most_common(1)[0][0] if counts else None
