"""Agencies: the registry, publishers seen, aliases."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, select

from dcatwatch.store.core import Repository
from dcatwatch.store.tables import AGENCIES


class Agencies(Repository):
    """Agencies: the registry, publishers seen, aliases."""

    # reads for validation, scoring and metrics

    def listed(self) -> list[Row[Any]]:
        """``id``, ``name`` and ``in_registry`` of every agency known."""
        return list(self.connection.execute(
            select(AGENCIES.c.id, AGENCIES.c.name, AGENCIES.c.in_registry)))
