"""Configured sources, their state and their conditional-GET cache."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import Row, select, update

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
    # reads for validation, scoring and metrics

    def kinds(self) -> dict[str, str]:
        """The type of each source (``dcat``, ``dataportal`` …), by name."""
        return dict(self.connection.execute(  # type: ignore[arg-type]
            select(SOURCES.c.name, SOURCES.c.type)).all())

    def enabled_states(self) -> list[Row[Any]]:
        """``name``, ``last_status``, ``last_success_at``, ``last_attempt_at`` and
        ``datasets`` of the enabled sources, by name."""
        return list(self.connection.execute(
            select(SOURCES.c.name, SOURCES.c.last_status, SOURCES.c.last_success_at,
                   SOURCES.c.last_attempt_at, SOURCES.c.datasets)
            .where(SOURCES.c.enabled).order_by(SOURCES.c.name)))
