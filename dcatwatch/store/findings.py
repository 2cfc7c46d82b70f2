"""Metadata findings: the table ``metadata_finding``, replaced source by source, one packed
row per dataset (and one per source for its catalogue, agents and data services)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, delete, insert, select

from dcatwatch.store.repository import Repository
from dcatwatch.store.tables import FINDINGS


class Findings(Repository):
    """Metadata findings."""

    def replace(self, source: str | None, rows: Sequence[dict[str, Any]]) -> None:
        """Replace the findings of ``source`` (None: of every source) with ``rows``."""
        query = delete(FINDINGS)
        if source is not None:
            query = query.where(FINDINGS.c.source == source)
        self.connection.execute(query)
        self.add(rows)

    def add(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert findings (a batch of a run that replaced its source's findings): rows of
        ``source``, ``dataset_iri``, ``findings`` (JSON list) and ``found_at``."""
        if rows:
            self.connection.execute(insert(FINDINGS), list(rows))

    def stored(self, source: str | None = None) -> list[Row[Any]]:
        """``source``, ``dataset_iri`` and ``findings`` (JSON) of every row (of ``source``),
        in the order they were written."""
        query = select(FINDINGS.c.source, FINDINGS.c.dataset_iri, FINDINGS.c.findings)
        if source is not None:
            query = query.where(FINDINGS.c.source == source)
        return list(self.connection.execute(query.order_by(FINDINGS.c.id)))
