"""Portal coverage: for an agency harvested both from its own catalogue (``dcat`` sources)
and through dataportal.se (``dataportal`` sources), which of its datasets the portal has,
which it lacks, and which only the portal has.

Computed on demand from the current datasets in the store (no table of its own); datasets
are matched as :mod:`dcatwatch.dcat.twins` matches them.
"""

from __future__ import annotations

from sqlalchemy import Engine, select

from dcatwatch.dcat.twins import DIRECT, PORTAL, Coverage, DatasetRef, compare, identifiers
from dcatwatch.store.tables import DATASETS, SOURCES


def agency_coverage(engine: Engine, agency_id: str) -> Coverage | None:
    """The coverage of ``agency_id``; None unless both kinds of source list datasets of it."""
    found = _coverages(engine, [agency_id])
    return found[0] if found else None


def portal_coverage(engine: Engine) -> list[Coverage]:
    """The coverage of every agency listed both directly and by a dataportal source."""
    return _coverages(engine, None)


def _coverages(engine: Engine, agencies: list[str] | None) -> list[Coverage]:
    current = DATASETS.c.removed_at.is_(None) & DATASETS.c.agency_id.is_not(None)
    if agencies is not None:
        current &= DATASETS.c.agency_id.in_(agencies)
    with engine.connect() as conn:
        kinds = dict(conn.execute(select(SOURCES.c.name, SOURCES.c.type)).all())
        rows = conn.execute(select(DATASETS.c.agency_id, DATASETS.c.source, DATASETS.c.iri,
                                   DATASETS.c.title, DATASETS.c.description).where(current)
                            .order_by(DATASETS.c.agency_id, DATASETS.c.iri)).all()
    split: dict[str, dict[str, list[DatasetRef]]] = {}
    for row in rows:
        kind = kinds.get(row.source)
        if kind in (DIRECT, PORTAL):
            ref = DatasetRef(row.iri, row.source, row.title, identifiers(row.description))
            split.setdefault(row.agency_id, {DIRECT: [], PORTAL: []})[kind].append(ref)
    return [compare(agency, sides[DIRECT], sides[PORTAL])
            for agency, sides in sorted(split.items()) if sides[DIRECT] and sides[PORTAL]]
