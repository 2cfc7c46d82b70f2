"""The same dataset seen twice: an agency's own catalogue (``dcat`` sources) against
dataportal.se's copy (``dataportal`` sources), for portal coverage and for counting each
dataset once in the scores.

Datasets are matched by IRI first; the rest by ``dct:identifier`` (dataportal.se itself
identifies a dataset by its identifier when that is a UUID), where an identifier may also
equal the other copy's IRI. Each dataset is matched at most once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from dcatwatch.dcat import namespaces as ns
from dcatwatch.dcat.terms import iri, value

IDENTIFIER = iri(ns.DCT, "identifier")
DIRECT, PORTAL = "dcat", "dataportal"


@dataclass(slots=True)
class DatasetRef:
    """A dataset as one source has it."""

    iri: str
    source: str
    title: str | None = None
    identifiers: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Match:
    """The same dataset in the agency's catalogue and on the portal."""

    direct: DatasetRef
    portal: DatasetRef
    by: str  # "iri" | "identifier"


@dataclass(slots=True)
class Coverage:
    """How completely the portal shows one agency's own catalogue."""

    agency: str
    direct_sources: list[str]
    portal_sources: list[str]
    matched: list[Match] = field(default_factory=list)
    missing_on_portal: list[DatasetRef] = field(default_factory=list)
    only_on_portal: list[DatasetRef] = field(default_factory=list)

    @property
    def portal_share(self) -> float | None:
        """Share of the agency's own datasets that the portal has (None: it lists none)."""
        own = len(self.matched) + len(self.missing_on_portal)
        return round(len(self.matched) / own, 4) if own else None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["portal_share"] = self.portal_share
        return data


def compare(agency: str, direct: list[DatasetRef], portal: list[DatasetRef]) -> Coverage:
    """Match an agency's own datasets with the portal's copies (IRI, then identifier)."""
    coverage = Coverage(agency, _sources(direct), _sources(portal))
    by_iri = {ref.iri: ref for ref in portal}
    unmatched_direct = []
    for ref in direct:
        twin = by_iri.pop(ref.iri, None)
        if twin is not None:
            coverage.matched.append(Match(ref, twin, "iri"))
        else:
            unmatched_direct.append(ref)
    remaining = list(by_iri.values())
    by_key: dict[str, DatasetRef] = {}
    for ref in remaining:
        for key in (ref.iri, *ref.identifiers):
            by_key.setdefault(key, ref)
    taken: set[int] = set()
    for ref in unmatched_direct:
        twin = next((by_key[k] for k in (ref.iri, *ref.identifiers)
                     if k in by_key and id(by_key[k]) not in taken), None)
        if twin is None:
            coverage.missing_on_portal.append(ref)
            continue
        taken.add(id(twin))
        coverage.matched.append(Match(ref, twin, "identifier"))
    coverage.only_on_portal = [ref for ref in remaining if id(ref) not in taken]
    return coverage


def identifiers(description: str) -> list[str]:
    """The ``dct:identifier`` values of the dataset a stored description describes."""
    node = description.split(" ", 1)[0]
    found = []
    for line in description.splitlines():
        subject, predicate, rest = line.split(" ", 2)
        if subject == node and predicate == IDENTIFIER:
            text = value(rest[:-2]).strip()
            if text:
                found.append(text)
    return found


def _sources(refs: Iterable[DatasetRef]) -> list[str]:
    return sorted({ref.source for ref in refs})
