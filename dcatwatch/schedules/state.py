"""Schedule state in the store: which sources are due, and recovery after a crash.

Each enabled source has a ``source_schedule`` row with its next run time. A new row is due at
once; starting a run moves it to the cron's next time after now, so fire times missed while
the daemon was down or the run overran collapse into that one run (they are counted as
missed); a failed run may be retried sooner. Runs a killed process left ``running`` are
marked failed at start, and their sources retried at once; runs whose end a store failure
kept from being written are marked failed when the store is back.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from dcatwatch.store.core import Unit

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


def due(unit: Unit, now: datetime, busy: Collection[str], limit: int) -> list[Due]:
    """Up to ``limit`` due sources not in ``busy``, longest overdue first."""
    return [Due(row.source, as_utc(row.next_run_at))
            for row in unit.schedules.due(now, busy, limit)]


def recover_interrupted(unit: Unit, now: datetime) -> list[str]:
    """Mark runs left ``running`` failed, their sources failed and due at ``now``.

    Returns the source of each interrupted run."""
    interrupted = unit.runs.recover_interrupted(now, INTERRUPTED)
    sources = sorted(set(interrupted))
    unit.sources.set_last_status(sources, "failed")
    unit.schedules.due_now(sources, now)
    return interrupted


def recover_lost(unit: Unit, now: datetime, harvests: Collection[str],
                 validations: Collection[str | None], retries: Mapping[str, datetime]
                 ) -> list[str]:
    """After a store failure: mark the runs of ``harvests`` and the validation runs of
    ``validations`` left ``running`` failed, those sources failed, and write ``retries``
    (source → retry by). Returns the source of each harvest run marked."""
    interrupted = unit.runs.recover_interrupted(now, INTERRUPTED, harvests)
    unit.sources.set_last_status(sorted(set(interrupted)), "failed")
    unit.checks.recover_interrupted(now, validations)
    for source, moment in retries.items():
        unit.schedules.retry_by(source, moment)
    return interrupted
