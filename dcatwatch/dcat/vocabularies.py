"""Controlled vocabularies of DCAT-AP-SE 3.0.1 (research/sweden.md §1.3), as data.

Small, stable tables are listed value by value; large or growing EU tables (languages,
frequencies, file types, licences) are recognised by namespace and code shape, so a new
code does not become a false finding. Each vocabulary is a :class:`Vocabulary`:
``accepts(iri)`` is True for a value from it. The MQA-predicted points
(:mod:`dcatwatch.scoring.mqa`) use FILE_TYPE and ACCESS_RIGHT too, so a value that costs
"from a vocabulary" points always has a finding.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from dcatwatch.dcat.namespaces import CONTACT_TYPES

EU_AUTHORITY = "http://publications.europa.eu/resource/authority/"


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """A set of IRIs (``values``) and/or namespaces whose local codes match ``code``;
    ``canonical`` maps variant spellings to their listed form (reported apart)."""

    name: str
    values: frozenset[str] = frozenset()
    namespaces: tuple[str, ...] = ()
    code: str = r"[A-Z0-9_]+"
    canonical: Callable[[str], str | None] | None = None
    _bare: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_bare", frozenset(map(_bare, self.values)))

    def accepts(self, iri: str) -> bool:
        """Whether ``iri`` belongs to the vocabulary. http and https are not distinguished;
        otherwise the IRI is taken as written (after ``canonical``): a listed value must match
        exactly (``…/access-right/PUBLIC/`` and ``…/public`` are not ``…/PUBLIC``), a code in
        a namespace must match ``code`` (upper-case file types: ``…/file-type/csv`` is not)."""
        canonical = self.canonical(iri) if self.canonical else None
        bare = _bare(canonical or iri)
        if bare in self._bare:
            return True
        return any(bare.startswith(_bare(ns)) and re.fullmatch(self.code, bare[len(_bare(ns)):])
                   for ns in self.namespaces)


def _bare(iri: str) -> str:
    return iri.split("://", 1)[-1]


def _codes(namespace: str, *codes: str) -> frozenset[str]:
    return frozenset(namespace + code for code in codes)


DATA_THEME = Vocabulary("EU data themes", _codes(
    EU_AUTHORITY + "data-theme/", "AGRI", "ECON", "EDUC", "ENER", "ENVI", "GOVE", "HEAL", "INTR",
    "JUST", "REGI", "SOCI", "TECH", "TRAN"))
ACCESS_RIGHT = Vocabulary("EU access rights", _codes(
    EU_AUTHORITY + "access-right/", "PUBLIC", "RESTRICTED", "NON_PUBLIC"))
FREQUENCY = Vocabulary("EU frequencies", namespaces=(
    EU_AUTHORITY + "frequency/", "http://purl.org/cld/freq/"), code=r"[A-Za-z0-9_]+")
DUBLIN_CORE_FREQUENCY = Vocabulary("Dublin Core frequencies (deprecated)",
                                   namespaces=("http://purl.org/cld/freq/",), code=r"[a-zA-Z]+")
LANGUAGE = Vocabulary("EU languages", namespaces=(EU_AUTHORITY + "language/",))
AVAILABILITY = Vocabulary("planned availability", _codes(
    EU_AUTHORITY + "planned-availability/", "AVAILABLE", "EXPERIMENTAL", "STABLE", "TEMPORARY")
    | _codes("http://data.europa.eu/r5r/availability/", "available", "experimental", "stable",
             "temporary"))
DISTRIBUTION_STATUS = Vocabulary("EU distribution status", _codes(
    EU_AUTHORITY + "distribution-status/", "COMPLETED", "DEPRECATED", "DEVELOP", "WITHDRAWN"))
PUBLISHER_TYPE = Vocabulary("ADMS publisher types", _codes(
    "http://purl.org/adms/publishertype/", "Academia-ScientificOrganisation", "Company",
    "IndustryConsortium", "LocalAuthority", "NationalAuthority", "NonGovernmentalOrganisation",
    "NonProfitOrganisation", "PrivateIndividual(s)", "RegionalAuthority", "StandardisationBody",
    "SupraNationalAuthority"))
SERVICE_TYPE = Vocabulary("service types (REST, RPC)", frozenset({
    "http://www.wikidata.org/entity/Q749568", "http://www.wikidata.org/entity/Q62270"}))
CONTACT_CLASS = Vocabulary("vCard classes", frozenset(CONTACT_TYPES))
THEME_TAXONOMY = Vocabulary("EU data-theme scheme", frozenset({EU_AUTHORITY + "data-theme"}))
CC_LICENCES = _codes("http://creativecommons.org/licenses/", "by/4.0/", "by-nc/4.0/",
                     "by-nc-nd/4.0/", "by-nc-sa/4.0/", "by-nd/4.0/", "by-sa/4.0/") | \
    frozenset({"http://creativecommons.org/publicdomain/zero/1.0/"})
CC0 = "http://creativecommons.org/publicdomain/zero/1.0/"
FILE_TYPE = Vocabulary("EU file types", namespaces=(EU_AUTHORITY + "file-type/",))
MEDIA_TYPE_IRI = Vocabulary("IANA media types", namespaces=(
    "http://www.iana.org/assignments/media-types/",
    "https://www.iana.org/assignments/media-types/"), code=r"[\w.+-]+/[\w.+-]+")

MEDIA_TYPE_LITERAL = re.compile(r"^\w+/[-.\w]+(?:\+[-.\w]+)?(\s*;\s*\w+=\w+)?$")
"""DCAT-AP-SE's pattern for a ``dct:format`` literal (bundle.json, format_generic)."""

_CC_VARIANT = re.compile(r"^(?:https?://)?(?:www\.)?creativecommons\.org/"
                         r"(licenses/[a-z-]+/4\.0|publicdomain/zero/1\.0)(?:/.*)?$", re.IGNORECASE)


def canonical_licence(iri: str) -> str | None:
    """The DCAT-AP-SE form of a Creative Commons IRI written another way (https, no trailing
    slash, ``deed.sv``, ``legalcode``), or None when ``iri`` is canonical or not CC."""
    match = _CC_VARIANT.match(iri.strip())
    if not match:
        return None
    canonical = f"http://creativecommons.org/{match[1].lower()}/"
    return canonical if canonical != iri and canonical in CC_LICENCES else None


LICENCE = Vocabulary("known licences (CC 4.0, CC0, EU licences)", CC_LICENCES,
                     namespaces=(EU_AUTHORITY + "licence/",), code=r"[A-Za-z0-9_.-]+",
                     canonical=canonical_licence)
