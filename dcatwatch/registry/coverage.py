"""Portal coverage: for an agency harvested both from its own catalogue (``dcat`` sources)
and through dataportal.se (``dataportal`` sources), which of its datasets the portal has,
which it lacks, and which only the portal has.

Computed on demand from the current datasets in the store (no table of its own); datasets
are matched as :mod:`dcatwatch.dcat.twins` matches them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dcatwatch.dcat.twins import DIRECT, PORTAL, Coverage, DatasetRef, compare, identifiers

if TYPE_CHECKING:
    from dcatwatch.store.core import Store


def agency_coverage(store: Store, agency_id: str) -> Coverage | None:
    """The coverage of ``agency_id``; None unless both kinds of source list datasets of it."""
    found = _coverages(store, [agency_id])
    return found[0] if found else None


def portal_coverage(store: Store) -> list[Coverage]:
    """The coverage of every agency listed both directly and by a dataportal source."""
    return _coverages(store, None)


def _coverages(store: Store, agencies: list[str] | None) -> list[Coverage]:
    with store.read() as unit:
        kinds = unit.sources.types()
        rows = unit.datasets.current_of_agencies(agencies)
    split: dict[str, dict[str, list[DatasetRef]]] = {}
    for row in rows:
        kind = kinds.get(row.source)
        if kind in (DIRECT, PORTAL):
            ref = DatasetRef(row.iri, row.source, row.title, identifiers(row.description))
            split.setdefault(row.agency_id, {DIRECT: [], PORTAL: []})[kind].append(ref)
    return [compare(agency, sides[DIRECT], sides[PORTAL])
            for agency, sides in sorted(split.items()) if sides[DIRECT] and sides[PORTAL]]
