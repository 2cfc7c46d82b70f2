"""Datasets and their distributions: change detection writes, current-dataset reads."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import select

from dcatwatch.store.core import Repository
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
