"""Decoding N-Triples terms as :mod:`dcatwatch.dcat.parse` keeps them.

Decoded text never holds a NUL character: a ``\\u0000`` escape (or a raw NUL, which the
lenient parser writes unescaped) becomes U+FFFD, the replacement character. PostgreSQL text
cannot store NUL, and one stray character must not fail a whole source. U+FFFD rather than
nothing: it leaves a visible mark where the publisher's data is broken (the mark invalid bytes
get when a document is decoded) and never joins two words into one.
"""

from __future__ import annotations

import re

NUL_REPLACEMENT = "\ufffd"
_ESCAPE = re.compile(r"\\(u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|.)")
_SIMPLE = {"t": "\t", "b": "\b", "n": "\n", "r": "\r", "f": "\f", '"': '"', "'": "'", "\\": "\\"}


def _unescape_one(match: re.Match[str]) -> str:
    code = match.group(1)
    if code[0] in "uU":
        return chr(int(code[1:], 16))
    return _SIMPLE.get(code, code)


def is_iri(term: str) -> bool:
    return term[0] == "<"


def is_blank(term: str) -> bool:
    return term[0] == "_"


def is_literal(term: str) -> bool:
    return term[0] == '"'


def literal(term: str) -> tuple[str, str]:
    """``(text, language)`` of a literal term; language is "" when untagged, NUL replaced."""
    end = term.rfind('"')
    text = term[1:end]
    if "\\" in text:
        text = _ESCAPE.sub(_unescape_one, text)
    text = text.replace("\0", NUL_REPLACEMENT)
    suffix = term[end + 1:]
    return text, suffix[1:].lower() if suffix.startswith("@") else ""


def value(term: str) -> str:
    """The IRI of an IRI term, the text of a literal, the label of a blank node (NUL
    replaced in IRIs and literals)."""
    first = term[0]
    if first == "<":
        return term[1:-1].replace("\0", NUL_REPLACEMENT)
    if first == '"':
        return literal(term)[0]
    return term


def iri(namespace: str, local: str = "") -> str:
    """An IRI in the N-Triples form used as predicate keys: ``<namespace+local>``."""
    return f"<{namespace}{local}>"
