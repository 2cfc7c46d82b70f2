"""The daemon's schedule: when each source is next due (``source_schedule``)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update

from dcatwatch.store.repository import Repository
from dcatwatch.store.tables import SCHEDULES


class Schedules(Repository):
    """The daemon's schedule: when each source is next due."""

    def sync(self, schedules: Mapping[str, str], now: datetime,
             next_time: Callable[[str], datetime]) -> None:
        """One row per source in ``schedules`` (name → cron): a new source is due at
        ``now``, a changed cron moves the source to ``next_time(name)``; rows of other
        sources go."""
        rows = {row.source: row.schedule for row in self.connection.execute(
            select(SCHEDULES.c.source, SCHEDULES.c.schedule))}
        gone = set(rows) - set(schedules)
        if gone:
            self.connection.execute(delete(SCHEDULES).where(SCHEDULES.c.source.in_(gone)))
        for name, cron in schedules.items():
            if name not in rows:
                self.connection.execute(insert(SCHEDULES).values(source=name, schedule=cron,
                                                                 next_run_at=now))
            elif rows[name] != cron:
                self.connection.execute(update(SCHEDULES).where(SCHEDULES.c.source == name)
                                        .values(schedule=cron, next_run_at=next_time(name)))

    def due(self, now: datetime, busy: Collection[str], limit: int) -> list[Any]:
        """Up to ``limit`` rows (source, next_run_at) due at ``now`` and not in ``busy``,
        longest overdue first."""
        query = (select(SCHEDULES.c.source, SCHEDULES.c.next_run_at)
                 .where(SCHEDULES.c.next_run_at <= now).order_by(SCHEDULES.c.next_run_at))
        if busy:
            query = query.where(SCHEDULES.c.source.not_in(list(busy)))
        return list(self.connection.execute(query.limit(limit)))

    def set_next_run(self, source: str, moment: datetime) -> None:
        """The next run of ``source`` is at ``moment``."""
        self.connection.execute(update(SCHEDULES).where(SCHEDULES.c.source == source)
                                .values(next_run_at=moment))

    def retry_by(self, source: str, moment: datetime) -> None:
        """Run ``source`` at ``moment`` at the latest (an earlier next run stays)."""
        self.connection.execute(update(SCHEDULES).where(SCHEDULES.c.source == source,
                                                        SCHEDULES.c.next_run_at > moment)
                                .values(next_run_at=moment))

    def due_now(self, sources: Collection[str], now: datetime) -> None:
        """``sources`` are due at ``now``."""
        if sources:
            self.connection.execute(update(SCHEDULES)
                                    .where(SCHEDULES.c.source.in_(list(sources)))
                                    .values(next_run_at=now))
