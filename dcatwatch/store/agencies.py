"""Agencies: the registry, publishers seen, aliases."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, select

from dcatwatch.store.core import Repository
from dcatwatch.store.tables import AGENCIES


class Agencies(Repository):
    """Agencies: the registry, publishers seen, aliases."""

    # reads for reports, the daemon and coverage

    def in_registry(self) -> list[Any]:
        """The registry agencies: (id, name, email, language)."""
        return list(self.connection.execute(
            select(AGENCIES.c.id, AGENCIES.c.name, AGENCIES.c.email, AGENCIES.c.language)
            .where(AGENCIES.c.in_registry.is_(True))))

    def contact(self, agency_id: str) -> Any | None:
        """The agency's (name, email, language), registry or harvested; None if unknown."""
        return self.connection.execute(
            select(AGENCIES.c.name, AGENCIES.c.email, AGENCIES.c.language)
            .where(AGENCIES.c.id == agency_id)).first()
    # reads for validation, scoring and metrics

    def listed(self) -> list[Row[Any]]:
        """``id``, ``name`` and ``in_registry`` of every agency known."""
        return list(self.connection.execute(
            select(AGENCIES.c.id, AGENCIES.c.name, AGENCIES.c.in_registry)))
