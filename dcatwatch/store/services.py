"""Data services of each source."""

from __future__ import annotations

from sqlalchemy import select

from dcatwatch.store.core import Repository
from dcatwatch.store.tables import SERVICES


class Services(Repository):
    """Data services of each source."""

    # reads for reports, the daemon and coverage

    def current_records(self) -> list[str]:
        """The stored record of every current data service."""
        return list(self.connection.execute(
            select(SERVICES.c.record).where(SERVICES.c.removed_at.is_(None))).scalars())
