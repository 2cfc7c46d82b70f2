"""Metadata findings: the table ``metadata_finding``, replaced source by source."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, insert

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
        """Insert findings (a batch of a run that replaced its source's findings)."""
        if rows:
            self.connection.execute(insert(FINDINGS), list(rows))
