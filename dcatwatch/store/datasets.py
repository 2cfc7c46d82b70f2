"""Datasets and their distributions: change detection writes, current-dataset reads."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import Row, func, select

from dcatwatch.store.core import Repository
from dcatwatch.store.sql import chunks
from dcatwatch.store.tables import DATASETS


class Datasets(Repository):
    """Datasets and their distributions: change detection writes, current-dataset reads."""

    # reads for reports, the daemon and coverage

    def current_of_agencies(self, agencies: Collection[str] | None) -> list[Any]:
        """Current datasets with an agency (of ``agencies``; None: any), by agency and IRI:
        (agency_id, source, iri, title, description)."""
        current = DATASETS.c.removed_at.is_(None) & DATASETS.c.agency_id.is_not(None)
        if agencies is not None:
            current &= DATASETS.c.agency_id.in_(list(agencies))
        return list(self.connection.execute(
            select(DATASETS.c.agency_id, DATASETS.c.source, DATASETS.c.iri, DATASETS.c.title,
                   DATASETS.c.description).where(current)
            .order_by(DATASETS.c.agency_id, DATASETS.c.iri)))
    # reads for validation, scoring and metrics

    def current_descriptions(self, source: str | None = None) -> list[Row[Any]]:
        """``source`` and ``description`` of the current datasets (of ``source``; None:
        every source), in the order they were first stored."""
        query = select(DATASETS.c.source, DATASETS.c.description).where(
            DATASETS.c.removed_at.is_(None)).order_by(DATASETS.c.id)
        if source is not None:
            query = query.where(DATASETS.c.source == source)
        return list(self.connection.execute(query))

    def descriptions(self, ids: Sequence[int]) -> dict[int, str]:
        """The stored descriptions of datasets, by id."""
        found: dict[int, str] = {}
        for part in chunks(ids):
            query = select(DATASETS.c.id, DATASETS.c.description).where(DATASETS.c.id.in_(part))
            found.update((row.id, row.description) for row in self.connection.execute(query))
        return found

    def held_removals(self) -> dict[str, int]:
        """How many current datasets of each source the mass-deletion guard holds."""
        return dict(self.connection.execute(  # type: ignore[arg-type]
            select(DATASETS.c.source, func.count())
            .where(DATASETS.c.removal_held_at.is_not(None), DATASETS.c.removed_at.is_(None))
            .group_by(DATASETS.c.source)).all())
