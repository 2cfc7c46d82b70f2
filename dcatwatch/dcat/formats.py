"""Format normalisation (research/quality.md §4.2): format-like values → codes with provenance.

Forms, tried in this order on every ``dct:format`` / ``dcat:mediaType`` /
``dcat:compressFormat`` / ``dcat:packageFormat`` value:

1. ``eu_iri``: EU file-type IRI ``…/authority/file-type/CSV`` → ``CSV``, in any case or scheme
   (``…/file-type/csv`` is CSV too; whether the IRI is one of the table's is
   :data:`dcatwatch.dcat.vocabularies.FILE_TYPE`'s question).
2. ``iana_iri``: IANA media-type IRI → media type (lower-case, parameters dropped) → code.
3. ``media_type``: a media-type literal (``text/csv; charset=utf-8``) → code;
   ``se_packaged``: DCAT-AP-SE packaged literal (``text/csv+zip``) → inner code + packaging.
4. ``label``: free text through the synonym tables ("Excel", "PDF (.pdf)", "ESRI REST"),
   then single known words inside longer text ("CSV och JSON").
5. ``extension``: the file extension of a URL (``.csv``, ``.csv.gz``), WEAK evidence only.

Codes are EU file-type codes where one exists (see :mod:`dcatwatch.dcat.vocab`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from functools import lru_cache
from typing import Literal, NamedTuple

from dcatwatch.dcat import vocab
from dcatwatch.dcat.filetypes import FILE_TYPES
from dcatwatch.dcat.model import Distribution

Form = Literal["eu_iri", "iana_iri", "media_type", "se_packaged", "label", "extension"]

EU_CODES = frozenset(FILE_TYPES) | vocab.NEWER_EU_CODES
"""Codes of the EU file-type table (2018 snapshot plus newer codes we know of)."""

KNOWN_CODES = (
    EU_CODES | vocab.API_CODES | vocab.EXTENSION_MACHINE_READABLE | vocab.DOCUMENT_CODES
    | vocab.ARCHIVE_CODES | vocab.BINARY_CODES
)  # fmt: skip
"""Every code we know; each is also accepted as a free-text label ("parquet", "7z")."""

DECLARED_PROPERTIES = (
    ("format", "formats"),
    ("mediaType", "media_types"),
    ("compressFormat", "compress_formats"),
    ("packageFormat", "package_formats"),
)
"""(property name used in evidence, Distribution attribute) for declared format values."""

URL_PROPERTIES = (("downloadURL", "download_urls"), ("accessURL", "access_urls"))


class FormatValue(NamedTuple):
    """One normalised format-like value; ``code`` is None when it could not be mapped."""

    raw: str
    form: Form
    code: str | None = None
    media_type: str | None = None
    packaging: str | None = None  # archive code wrapping the content ("ZIP" for text/csv+zip)

    @property
    def weak(self) -> bool:
        """True when the value was only inferred from a URL."""
        return self.form == "extension"

    def describe(self) -> str:
        """Short human text: "CSV", "CSV in ZIP", "unmapped"."""
        if self.code is None:
            return "unmapped"
        return f"{self.code} in {self.packaging}" if self.packaging else self.code


def _squash(text: str) -> str:
    return " ".join(text.lower().split())


def _media_codes() -> dict[str, str]:
    table = dict(vocab.MEDIA_TYPES)
    for code, (_, _, media_types) in FILE_TYPES.items():
        for media_type in media_types:
            table.setdefault(media_type.split(";")[0].strip(), code)
    return table


def _label_codes() -> dict[str, str]:
    table = dict(vocab.LABELS)
    for code, (labels, extensions, _) in FILE_TYPES.items():
        for label in (code, *labels, *(ext.lstrip(".") for ext in extensions)):
            table.setdefault(_squash(label), code)
    for code in sorted(KNOWN_CODES):
        table.setdefault(code.lower(), code)
    return table


def _extension_codes() -> dict[str, str]:
    table = dict(vocab.EXTENSIONS)
    for code, (_, extensions, _) in FILE_TYPES.items():
        for ext in extensions:
            table.setdefault(ext, code)
    return table


MEDIA_CODES = _media_codes()
LABEL_CODES = _label_codes()
EXTENSION_CODES = _extension_codes()

_MEDIA_TYPE_RE = re.compile(r"^([a-z]+)/[a-z0-9][\w.+-]*(\s*;.*)?$")
_PACKAGED_RE = re.compile(r"^(.+)\+(" + "|".join(vocab.PACKAGING_SUFFIXES) + r")$")
_PARENS_RE = re.compile(r"\(([^)]*)\)")
_WORD_RE = re.compile(r"[a-z0-9]+")


def _without_scheme(low: str) -> str:
    return low.split("://", 1)[1] if "://" in low else low


def _media(raw: str, media_type: str, form: Form) -> FormatValue:
    media_type = media_type.split(";")[0].strip().strip("/")
    if code := MEDIA_CODES.get(media_type):
        return FormatValue(raw, form, code, media_type)
    packaged = _PACKAGED_RE.match(media_type)
    if packaged and (code := MEDIA_CODES.get(packaged[1])):
        packaging = vocab.PACKAGING_SUFFIXES[packaged[2]]
        return FormatValue(raw, "se_packaged", code, packaged[1], packaging)
    for prefix, code in vocab.MEDIA_TYPE_PREFIX_CODES:
        if media_type.startswith(prefix):
            return FormatValue(raw, form, code, media_type)
    return FormatValue(raw, form, None, media_type)


def _label_candidates(low: str) -> Iterator[str]:
    yield low
    yield _squash(_PARENS_RE.sub(" ", low))
    for inner in _PARENS_RE.findall(low):
        yield _squash(inner).lstrip(".")
    yield low.lstrip(".")


def _labels(raw: str, low: str) -> tuple[FormatValue, ...]:
    for candidate in _label_candidates(low):
        if code := LABEL_CODES.get(candidate):
            return (FormatValue(raw, "label", code),)
    found = [phrase for phrase in vocab.PHRASES if phrase in low]
    for phrase in found:
        low = low.replace(phrase, " ")
    found += [word for word in _WORD_RE.findall(low) if word in vocab.TOKENS]
    codes = dict.fromkeys(LABEL_CODES[key] for key in found)
    return tuple(FormatValue(raw, "label", code) for code in codes) or (FormatValue(raw, "label"),)


@lru_cache(maxsize=16384)
def normalise(value: str) -> tuple[FormatValue, ...]:
    """Normalise one declared format-like value; usually one result, several for "CSV, JSON"."""
    low = _squash(value)
    bare = _without_scheme(low)
    for prefix in vocab.EU_FILE_TYPE_PREFIXES:
        if bare.startswith(prefix):
            code = bare[len(prefix) :].strip("/").upper()
            return (FormatValue(value, "eu_iri", code or None),)
    for prefix in vocab.MEDIA_TYPE_IRI_PREFIXES:
        if bare.startswith(prefix):
            return (_media(value, bare[len(prefix) :], "iana_iri"),)
    shaped = _MEDIA_TYPE_RE.match(low)
    if shaped and shaped[1] in vocab.TOP_LEVEL_TYPES:
        return (_media(value, low, "media_type"),)
    if low != bare:  # some other IRI: its last path segment may still name the format
        low = bare.rstrip("/").rsplit("/", 1)[-1]
    return _labels(value, low)


def _file_name(url: str) -> str:
    return _url_path(url).rsplit("/", 1)[-1]


@lru_cache(maxsize=16384)
def has_strong_extension(url: str) -> bool:
    """True when the URL's file name ends in a suffix that names its type beyond doubt."""
    name = _file_name(url)
    return "." in name and "." + name.rpartition(".")[2] in vocab.STRONG_EXTENSIONS


_URL_PATH_FORMATS = tuple((code, re.compile(rx)) for code, rx in vocab.URL_PATH_FORMATS)


def _url_path(url: str) -> str:
    path = url.split("#", 1)[0].split("?", 1)[0]
    if "://" in path:
        rest = path.split("://", 1)[1]
        path = rest[rest.find("/") :] if "/" in rest else ""
    return path.lower()


@lru_cache(maxsize=16384)
def from_url(url: str) -> FormatValue | None:
    """The format a URL's file extension (or path shape) suggests (weak evidence), or None."""
    stem, _, suffix = _file_name(url).rpartition(".")
    if not stem:
        path = _url_path(url)
        code = next((code for code, rx in _URL_PATH_FORMATS if rx.search(path)), None)
        return FormatValue(url, "extension", code) if code else None
    last = "." + suffix
    inner = "." + stem.rpartition(".")[2] if "." in stem else ""
    if inner and (code := EXTENSION_CODES.get(inner + last)):
        return FormatValue(url, "extension", code)
    packaging = vocab.COMPRESSION_EXTENSIONS.get(last)
    inner_code = EXTENSION_CODES.get(inner)
    if packaging and inner_code and inner_code not in vocab.ARCHIVE_CODES:
        return FormatValue(url, "extension", inner_code, packaging=packaging)
    code = EXTENSION_CODES.get(last)
    return FormatValue(url, "extension", code) if code else None


def declared_formats(dist: Distribution) -> list[tuple[str, FormatValue]]:
    """(property, value) for every declared format-like value of a distribution."""
    return [
        (prop, value)
        for prop, attr in DECLARED_PROPERTIES
        for raw in getattr(dist, attr)
        for value in normalise(raw)
    ]


def url_formats(dist: Distribution) -> list[tuple[str, FormatValue]]:
    """(property, value) for formats suggested by downloadURL, then accessURL extensions."""
    found = []
    for prop, attr in URL_PROPERTIES:
        for url in getattr(dist, attr):
            if value := from_url(url):
                found.append((prop, value))
    return found


def codes_of(values: Iterable[tuple[str, FormatValue]]) -> list[str]:
    """Distinct codes in order of first appearance."""
    return list(dict.fromkeys(value.code for _, value in values if value.code))
