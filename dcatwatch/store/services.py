"""Data services of each source."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, func, select

from dcatwatch.store.core import Repository
from dcatwatch.store.tables import SERVICES


class Services(Repository):
    """Data services of each source."""

    # reads for reports, the daemon and coverage

    # reads for validation, scoring and metrics

    def current_records(self, source: str | None = None) -> list[Row[Any]]:
        """The stored records of the current data services (of ``source``; None: every
        source), in the order they were first stored, as ``(source, record)``."""
        query = select(SERVICES.c.source, SERVICES.c.record).where(
            SERVICES.c.removed_at.is_(None)).order_by(SERVICES.c.id)
        if source is not None:
            query = query.where(SERVICES.c.source == source)
        return list(self.connection.execute(query))

    def last_change(self) -> datetime | None:
        """When a data service last changed (None: never)."""
        return self.connection.execute(select(func.max(SERVICES.c.changed_at))).scalar()
