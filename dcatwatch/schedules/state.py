"""Schedule state in the store: which sources are due, and recovery after a crash.

Each enabled source has a ``source_schedule`` row with its next run time. A new row is due at
once; starting a run moves it to the cron's next time after now, so fire times missed while
the daemon was down or the run overran collapse into that one run (they are counted as
missed); a failed run may be retried sooner. Runs a killed process left ``running`` are
marked failed at start, and their sources retried at once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, delete, insert, select, update

from dcatwatch.store.tables import RUNS, SCHEDULES, SOURCES

INTERRUPTED = {"code": "run.internal", "url": None,
               "message": "the run was interrupted (process stopped or killed)"}


@dataclass(frozen=True, slots=True)
class Due:
    """A source whose next run time has come."""

    source: str
    due_at: datetime


def as_utc(moment: datetime) -> datetime:
    """``moment`` as an aware UTC datetime (SQLite gives back naive UTC)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def sync_schedules(conn: Connection, schedules: Mapping[str, str], now: datetime,
                   next_time: Callable[[str], datetime]) -> None:
    """One row per source in ``schedules`` (name → cron): a new source is due at ``now``, a
    changed cron moves the source to ``next_time(name)``; rows of other sources go."""
    rows = {row.source: row.schedule for row in conn.execute(
        select(SCHEDULES.c.source, SCHEDULES.c.schedule))}
    gone = set(rows) - set(schedules)
    if gone:
        conn.execute(delete(SCHEDULES).where(SCHEDULES.c.source.in_(gone)))
    for name, cron in schedules.items():
        if name not in rows:
            conn.execute(insert(SCHEDULES).values(source=name, schedule=cron, next_run_at=now))
        elif rows[name] != cron:
            conn.execute(update(SCHEDULES).where(SCHEDULES.c.source == name)
                         .values(schedule=cron, next_run_at=next_time(name)))


def due(conn: Connection, now: datetime, busy: Collection[str], limit: int) -> list[Due]:
    """Up to ``limit`` due sources not in ``busy``, longest overdue first."""
    query = (select(SCHEDULES.c.source, SCHEDULES.c.next_run_at)
             .where(SCHEDULES.c.next_run_at <= now).order_by(SCHEDULES.c.next_run_at))
    if busy:
        query = query.where(SCHEDULES.c.source.not_in(list(busy)))
    return [Due(row.source, as_utc(row.next_run_at))
            for row in conn.execute(query.limit(limit))]


def set_next_run(conn: Connection, source: str, moment: datetime) -> None:
    conn.execute(update(SCHEDULES).where(SCHEDULES.c.source == source)
                 .values(next_run_at=moment))


def retry_by(conn: Connection, source: str, moment: datetime) -> None:
    """Run ``source`` at ``moment`` at the latest (an earlier next run stays)."""
    conn.execute(update(SCHEDULES).where(SCHEDULES.c.source == source,
                                         SCHEDULES.c.next_run_at > moment)
                 .values(next_run_at=moment))


def recover_interrupted(conn: Connection, now: datetime) -> list[str]:
    """Mark runs left ``running`` failed, their sources failed and due at ``now``.

    Returns the source of each interrupted run."""
    interrupted = conn.execute(select(RUNS.c.id, RUNS.c.source)
                               .where(RUNS.c.status == "running")).all()
    if not interrupted:
        return []
    sources = sorted({row.source for row in interrupted})
    conn.execute(update(RUNS).where(RUNS.c.id.in_([row.id for row in interrupted]))
                 .values(status="failed", finished_at=now, errors=json.dumps([INTERRUPTED])))
    conn.execute(update(SOURCES).where(SOURCES.c.name.in_(sources)).values(last_status="failed"))
    conn.execute(update(SCHEDULES).where(SCHEDULES.c.source.in_(sources))
                 .values(next_run_at=now))
    return [row.source for row in interrupted]
