"""Configured sources, their state and their conditional-GET cache."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select, update

from dcatwatch.store.core import Repository
from dcatwatch.store.tables import SOURCES


class Sources(Repository):
    """Configured sources, their state and their conditional-GET cache."""

    # reads for reports, the daemon and coverage

    def types(self) -> dict[str, str]:
        """Each source's type (``dcat``, ``dataportal``, …) by name."""
        return dict(self.connection.execute(select(SOURCES.c.name, SOURCES.c.type)).all())

    def set_last_status(self, names: Collection[str], status: str) -> None:
        """Record ``status`` as the last run status of the sources ``names``."""
        if names:
            self.connection.execute(update(SOURCES).where(SOURCES.c.name.in_(list(names)))
                                    .values(last_status=status))
