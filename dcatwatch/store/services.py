"""Data services of each source."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, func, insert, select, update

from dcatwatch.store.db import chunks
from dcatwatch.store.repository import Repository
from dcatwatch.store.tables import SERVICES

_CURRENT = SERVICES.c.removed_at.is_(None)


@dataclass(slots=True, frozen=True)
class StoredService:
    """What a harvest compares of a stored data service."""

    id: int
    record: str
    removed: bool
    seen_at: datetime | None = None  # last_seen_at: when a run last listed it


class Services(Repository):
    """Data services of each source."""

    def existing(self, source: str, iris: Sequence[str]) -> dict[str, StoredService]:
        """The data service rows of ``source`` (removed ones too) with the IRIs ``iris``."""
        c = SERVICES.c
        found: dict[str, StoredService] = {}
        for part in chunks(iris):
            rows = self.connection.execute(
                select(c.id, c.iri, c.record, c.removed_at, c.last_seen_at)
                .where(c.source == source, c.iri.in_(list(part))))
            found.update((iri, StoredService(row_id, record, removed is not None, seen))
                         for row_id, iri, record, removed, seen in rows)
        return found

    def unlisted(self, source: str, seen_at: datetime) -> list[int]:
        """The current data services of ``source`` a run at ``seen_at`` did not list."""
        c = SERVICES.c
        return list(self.connection.execute(
            select(c.id).where(c.source == source, _CURRENT,
                               c.last_seen_at.is_(None) | (c.last_seen_at != seen_at))
        ).scalars())

    def apply(self, source: str, at: datetime, new: Sequence[dict[str, Any]],
              known: Sequence[dict[str, Any]], changed: Sequence[int]) -> None:
        """Insert ``new`` services (their column values), rewrite ``known`` ones (with
        ``row_id``) as seen now, and stamp the ``changed`` ids' ``changed_at``."""
        if new:
            self.connection.execute(insert(SERVICES), [
                {**row, "source": source, "first_seen_at": at, "changed_at": at,
                 "last_seen_at": at, "removed_at": None} for row in new])
        if known:
            self.connection.execute(
                update(SERVICES).where(SERVICES.c.id == bindparam("row_id")),
                [{**row, "last_seen_at": at, "removed_at": None} for row in known])
        self._set(changed, changed_at=at)

    def remove(self, ids: Sequence[int], at: datetime) -> None:
        """Mark data services removed."""
        self._set(ids, removed_at=at, changed_at=at)

    def retire(self, source: str, at: datetime) -> None:
        """Mark every current data service of ``source`` removed (the source is gone)."""
        self.connection.execute(update(SERVICES).where(SERVICES.c.source == source, _CURRENT)
                                .values(removed_at=at, changed_at=at))

    def count(self, source: str) -> int:
        """How many current data services ``source`` has."""
        return self.connection.execute(select(func.count()).select_from(SERVICES)
                                       .where(SERVICES.c.source == source, _CURRENT)
                                       ).scalar_one()

    def unattributed(self) -> dict[str, int]:
        """How many current data services of each source have no agency (sources with any)."""
        return dict(self.connection.execute(  # type: ignore[arg-type]
            select(SERVICES.c.source, func.count())
            .where(SERVICES.c.agency_id.is_(None), _CURRENT).group_by(SERVICES.c.source)).all())

    def unattributed_total(self) -> int:
        """Current data services of no agency in any source, each IRI once (a copy with an
        agency elsewhere attributes it)."""
        attributed = select(SERVICES.c.iri).where(SERVICES.c.agency_id.is_not(None), _CURRENT)
        return int(self.connection.execute(
            select(func.count(func.distinct(SERVICES.c.iri)))
            .where(SERVICES.c.agency_id.is_(None), _CURRENT, SERVICES.c.iri.not_in(attributed))
        ).scalar_one())

    def _set(self, ids: Sequence[int], **values: Any) -> None:
        for part in chunks(ids):
            self.connection.execute(update(SERVICES).where(SERVICES.c.id.in_(part))
                                    .values(**values))



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
