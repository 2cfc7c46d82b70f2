"""The DCAT-AP(-SE) model dcatwatch works with: plain dataclasses, no RDF library types.

Multilingual literals are kept as ``{language: text}`` dicts (``""`` for no language tag).
IRI-or-literal values (formats, licences, themes …) are kept as strings; blank nodes that
carry no meaning of their own are folded into their parent. Every record keeps ``iri`` (a
stable skolem IRI for blank nodes, see :mod:`dcatwatch.dcat.mapper`) and ``blank``.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from pathlib import Path

from dcatwatch.zdict import DictionaryCodec

LangText = dict[str, str]

PREFERRED_LANGUAGES = ("sv", "", "en")


def best_text(text: LangText, prefer: tuple[str, ...] = PREFERRED_LANGUAGES) -> str | None:
    """The text in the first preferred language present (Swedish first), else any."""
    for lang in prefer:
        if lang in text:
            return text[lang]
    for lang, value in text.items():
        if lang.split("-")[0] in prefer:
            return value
    return next(iter(text.values()), None)


@dataclass(slots=True)
class Agent:
    """A publisher or creator (foaf:Agent / Organization / Person)."""

    iri: str
    blank: bool = False
    name: LangText = field(default_factory=dict)
    label: str | None = None  # the display name the mapper chose (see Mapper._name)
    identifiers: list[str] = field(default_factory=list)
    same_as: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)  # dct:type (ADMS publisher type)
    homepage: list[str] = field(default_factory=list)
    mbox: list[str] = field(default_factory=list)


@dataclass(slots=True)
class ContactPoint:
    """A vcard contact point."""

    iri: str
    blank: bool = False
    name: LangText = field(default_factory=dict)
    emails: list[str] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)
    telephones: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Distribution:
    """A dcat:Distribution: one way to get a dataset's data."""

    iri: str
    blank: bool = False
    types: list[str] = field(default_factory=list)  # rdf:type (e.g. esterms:ServiceDistribution)
    title: LangText = field(default_factory=dict)
    description: LangText = field(default_factory=dict)
    access_urls: list[str] = field(default_factory=list)
    download_urls: list[str] = field(default_factory=list)
    formats: list[str] = field(default_factory=list)  # dct:format, IRI or literal
    media_types: list[str] = field(default_factory=list)  # dcat:mediaType
    compress_formats: list[str] = field(default_factory=list)
    package_formats: list[str] = field(default_factory=list)
    licenses: list[str] = field(default_factory=list)
    rights: list[str] = field(default_factory=list)
    access_services: list[str] = field(default_factory=list)
    conforms_to: list[str] = field(default_factory=list)
    availability: list[str] = field(default_factory=list)
    status: list[str] = field(default_factory=list)
    byte_size: str | None = None
    issued: str | None = None
    modified: str | None = None


@dataclass(slots=True)
class DataService:
    """A dcat:DataService: an API or other service endpoint."""

    iri: str
    blank: bool = False
    types: list[str] = field(default_factory=list)  # rdf:type
    title: LangText = field(default_factory=dict)
    description: LangText = field(default_factory=dict)
    endpoint_urls: list[str] = field(default_factory=list)
    endpoint_descriptions: list[str] = field(default_factory=list)
    serves_datasets: list[str] = field(default_factory=list)
    conforms_to: list[str] = field(default_factory=list)
    formats: list[str] = field(default_factory=list)
    licenses: list[str] = field(default_factory=list)
    access_rights: list[str] = field(default_factory=list)
    service_type: list[str] = field(default_factory=list)  # dct:type (REST / RPC)
    keywords: list[str] = field(default_factory=list)
    themes: list[str] = field(default_factory=list)
    landing_pages: list[str] = field(default_factory=list)
    publisher: Agent | None = None
    publisher_inherited: bool = False  # the publisher is its catalogue's
    contact_points: list[ContactPoint] = field(default_factory=list)


@dataclass(slots=True)
class Dataset:
    """A dcat:Dataset (or dcat:DatasetSeries) with its distributions inlined."""

    iri: str
    blank: bool = False
    types: list[str] = field(default_factory=list)  # rdf:type (e.g. esterms:ServedByDataService)
    title: LangText = field(default_factory=dict)
    description: LangText = field(default_factory=dict)
    publisher: Agent | None = None
    publisher_inherited: bool = False  # the publisher is its catalogue's
    contact_points: list[ContactPoint] = field(default_factory=list)
    distributions: list[Distribution] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    themes: list[str] = field(default_factory=list)
    identifiers: list[str] = field(default_factory=list)
    landing_pages: list[str] = field(default_factory=list)
    access_rights: list[str] = field(default_factory=list)
    conforms_to: list[str] = field(default_factory=list)
    spatial: list[str] = field(default_factory=list)
    temporal: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    accrual_periodicity: list[str] = field(default_factory=list)
    hvd_categories: list[str] = field(default_factory=list)
    applicable_legislation: list[str] = field(default_factory=list)
    issued: str | None = None
    modified: str | None = None
    in_series: list[str] = field(default_factory=list)
    catalogs: list[str] = field(default_factory=list)  # catalogues that list it


@dataclass(slots=True)
class Catalog:
    """A dcat:Catalog."""

    iri: str
    blank: bool = False
    title: LangText = field(default_factory=dict)
    description: LangText = field(default_factory=dict)
    publisher: Agent | None = None
    licenses: list[str] = field(default_factory=list)
    homepage: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    theme_taxonomies: list[str] = field(default_factory=list)
    datasets: list[str] = field(default_factory=list)
    services: list[str] = field(default_factory=list)
    has_part: list[str] = field(default_factory=list)
    issued: str | None = None
    modified: str | None = None
    described: bool = True  # False when the document only names it (no triples but its type)


@dataclass(slots=True)
class Problem:
    """Something wrong with one record or one document; ``code`` is from the error catalogue."""

    code: str
    message: str
    url: str | None = None
    subject: str | None = None
    dataset: str | None = None  # the IRI of the dataset concerned, where there is one


@dataclass(slots=True)
class DistributionLink:
    """What the store indexes of a distribution (the rest is in the dataset's description)."""

    iri: str
    access_url: str | None = None
    download_url: str | None = None
    format: str | None = None


DICTIONARY_PATH = Path(__file__).with_name("ntriples.zdict")
_CODEC = DictionaryCodec(DICTIONARY_PATH)
ZSTD_DICT = 0x01  # leading byte: zstd frame packed with the shipped N-Triples dictionary
ZLIB = 0x78  # the first byte of every zlib stream the store wrote before the tag existed




def pack_description(description: str) -> bytes:
    """A dataset description as the store keeps it: UTF-8, zstd level 3 with the N-Triples
    dictionary shipped beside this module, after the tag byte :data:`ZSTD_DICT`.

    Measured on generated descriptions (``benchmarks/bench_codec.py``): 15× smaller than
    the text and 7× faster to pack than the zlib level 1 it replaced (4×).
    """
    return bytes((ZSTD_DICT,)) + _CODEC.compress(
        description.encode("utf-8", "surrogateescape"))


def unpack_description(packed: bytes) -> str:
    """The N-Triples text of a packed description (see :func:`pack_description`); rows
    written before the tag byte (zlib streams, first byte 0x78) read back as they are."""
    tag = packed[0]
    if tag == ZSTD_DICT:
        raw = _CODEC.decompress(packed[1:])
    elif tag == ZLIB:
        raw = zlib.decompress(packed)
    else:
        raise ValueError(f"unknown packed description format {tag:#04x}")
    return raw.decode("utf-8", "surrogateescape")


def is_current_format(packed: bytes) -> bool:
    """Whether ``packed`` is in the format :func:`pack_description` writes now."""
    return bool(packed) and packed[0] == ZSTD_DICT


@dataclass(slots=True)
class DatasetEntry:
    """A dataset as a harvest stores it: its description as N-Triples, not yet mapped.

    The description is kept packed (:func:`pack_description`), as the store keeps it, from
    mapping to writing: a large dump holds tens of thousands of them at once, and the
    harvest writes them as they are.
    """

    iri: str
    digest: str  # canonical hash of the description
    packed: bytes  # the packed N-Triples description (first line's subject: the dataset)
    title: str | None = None
    publisher: Agent | None = None
    publisher_inherited: bool = False  # the publisher is its catalogue's
    distributions: list[DistributionLink] = field(default_factory=list)

    @property
    def description(self) -> str:
        """The N-Triples description."""
        return unpack_description(self.packed)


@dataclass(slots=True)
class ParsedCatalog:
    """Everything mapped from one or more documents of a source."""

    catalogs: list[Catalog] = field(default_factory=list)
    datasets: list[Dataset] = field(default_factory=list)
    entries: list[DatasetEntry] = field(default_factory=list)
    services: list[DataService] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    triples: int = 0
