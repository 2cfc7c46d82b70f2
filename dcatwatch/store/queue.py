"""What the queue backend (``[queue] backend = "postgres"``) reads and writes in the store.

Run rows gain the worker that ran them (host-pid) and the scheduled time they were deferred
for; due harvests are claimed under ``FOR UPDATE SKIP LOCKED``; a harvest left ``running`` by
a worker that died is marked ``interrupted``; the procrastinate job table is read for the
queue's depth and age; ``dcatwatch runs`` lists every kind of run.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text, update

from dcatwatch.store.repository import Repository
from dcatwatch.store.tables import RUNS, SCHEDULES, VALIDATION_RUNS

SCHEDULE_LOCK = 0x64637771  # "dctq": one worker syncs the schedules at a time
INTERRUPTED = {"code": "run.interrupted", "url": None,
               "message": "the worker running it stopped or was killed; the queue ran the job "
                          "again on another worker"}


def as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class TaskDepth:
    task: str
    waiting: int  # todo and due
    running: int  # doing
    oldest_waiting_s: float  # age of the oldest waiting job (0 when none waits)


@dataclass(frozen=True, slots=True)
class RunRow:
    source: str | None
    kind: str  # harvest | validation | scoring | report
    status: str
    scheduled_for: str | None
    started_at: str | None
    finished_at: str | None
    worker: str | None
    error: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _iso(moment: datetime | str | None) -> str | None:
    if isinstance(moment, str):  # SQLite hands back text
        moment = datetime.fromisoformat(moment)
    return None if moment is None else as_utc(moment).isoformat(timespec="seconds")


def _error(kind: str, err: str | None) -> str | None:
    """The error a run shows: a harvest's first, a validation's (from its summary)."""
    if kind == "harvest":
        return first_error(err)
    if kind == "validation":
        try:
            error = json.loads(err or "{}").get("error")
        except (ValueError, AttributeError):
            return None
        return error.get("message") if isinstance(error, Mapping) else None
    return err


def first_error(errors: str | None) -> str | None:
    """The message of the first error of a run's ``errors`` column (JSON), if any."""
    try:
        items = json.loads(errors or "[]")
    except ValueError:
        return None
    if isinstance(items, list) and items:
        first = items[0]
        return first.get("message") if isinstance(first, Mapping) else str(first)
    return None


class Queue(Repository):
    """Run labels, schedule claims and procrastinate's tables, for the queue backend."""

    def lock_schedules(self) -> None:
        """Hold, until the unit ends, the lock that lets one worker at a time sync the
        schedules (workers starting together would insert the same rows)."""
        self.connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEDULE_LOCK})

    def claim_due(self, now: datetime,
                  next_time: Callable[[str], datetime]) -> list[tuple[str, datetime]]:
        """The sources due at ``now`` as (source, due_at); each is moved on to ``next_time``
        in the same transaction (rows another dispatcher holds are skipped)."""
        rows = self.connection.execute(text(
            "SELECT source, next_run_at FROM source_schedule WHERE next_run_at <= :now "
            "ORDER BY next_run_at FOR UPDATE SKIP LOCKED"), {"now": now}).all()
        for row in rows:
            self.connection.execute(update(SCHEDULES).where(SCHEDULES.c.source == row.source)
                         .values(next_run_at=next_time(row.source)))
        return [(row.source, as_utc(row.next_run_at)) for row in rows]

    def stamp_harvest(self, source: str, worker: str, scheduled_for: datetime | None,
                      since: datetime, finished: bool = False) -> int | None:
        """Name ``worker`` (and the scheduled time) on the running harvest of ``source`` started
        at or after ``since`` (``finished``: the newest such run, whatever its status); returns
        its id."""
        running = "" if finished else "AND status = 'running' "
        run_id = self.connection.execute(text(
            f"SELECT id FROM harvest_run WHERE source = :source {running}"
            "AND worker IS NULL AND started_at >= :since ORDER BY id DESC LIMIT 1"),
            {"source": source, "since": since}).scalar()
        if run_id is not None:
            self.connection.execute(update(RUNS).where(RUNS.c.id == run_id)
                         .values(worker=worker, scheduled_for=scheduled_for))
        return run_id

    def stamp_validations(self, after_id: int, worker: str,
                          scheduled_for: datetime | None) -> None:
        """Name ``worker`` on the validation runs recorded after ``after_id`` without one."""
        self.connection.execute(update(VALIDATION_RUNS).where(VALIDATION_RUNS.c.id > after_id,
                                                   VALIDATION_RUNS.c.worker.is_(None))
                     .values(worker=worker, scheduled_for=scheduled_for))

    def last_validation_id(self) -> int:
        return int(self.connection.execute(text("SELECT COALESCE(MAX(id), 0) FROM validation_run"))
                   .scalar() or 0)

    def stamp_reports(self, agency: str, period: str, worker: str) -> None:
        self.connection.execute(text("UPDATE report_delivery SET worker = :worker WHERE agency_id = "
                          ":agency AND period = :period"),
                     {"worker": worker, "agency": agency, "period": period})

    def mark_interrupted(self, source: str, now: datetime) -> int:
        """Mark the harvests of ``source`` a queue worker left ``running`` as ``interrupted``.

        Only called while the job's lock for ``source`` is held, so no live queue worker is
        harvesting it (a command's own harvest has no worker and is left alone)."""
        return self.connection.execute(text(
            "UPDATE harvest_run SET status = 'interrupted', finished_at = :now, errors = "
            ":errors WHERE source = :source AND status = 'running' AND worker IS NOT NULL"),
            {"now": now, "errors": json.dumps([INTERRUPTED]), "source": source}).rowcount

    def forget_worker(self, worker_id: int) -> None:
        """Remove a worker that abandons its jobs: they become stalled at once (``worker_id``
        is set to NULL) and another worker retries them without waiting for the heartbeat."""
        self.connection.execute(text("DELETE FROM procrastinate_workers WHERE id = :id"), {"id": worker_id})

    def procrastinate_installed(self) -> bool:
        return self.connection.execute(text("SELECT to_regclass('procrastinate_jobs') IS NOT NULL")).scalar()

    def queue_depth(self) -> list[TaskDepth]:
        """Per task: jobs waiting (due now), running, and the oldest waiting job's age."""
        rows = self.connection.execute(text(
            "SELECT j.task_name, "
            "  count(*) FILTER (WHERE j.status = 'todo' AND COALESCE(j.scheduled_at, now()) "
            "    <= now()) AS waiting, "
            "  count(*) FILTER (WHERE j.status = 'doing') AS running, "
            "  COALESCE(EXTRACT(EPOCH FROM now() - min(GREATEST(COALESCE(j.scheduled_at, "
            "    e.at), e.at)) FILTER (WHERE j.status = 'todo' AND COALESCE(j.scheduled_at, "
            "    now()) <= now())), 0) AS oldest "
            "FROM procrastinate_jobs j LEFT JOIN LATERAL (SELECT max(at) AS at FROM "
            "procrastinate_events ev WHERE ev.job_id = j.id AND ev.type IN ('deferred', "
            "'retried')) e ON true WHERE j.status IN ('todo', 'doing') GROUP BY j.task_name"))
        return [TaskDepth(r.task_name, int(r.waiting), int(r.running), float(r.oldest or 0))
                for r in rows]

    def stalled_jobs(self, seconds: float) -> int:
        """Jobs running on workers without a heartbeat for ``seconds`` (or on none)."""
        return int(self.connection.execute(text(
            "SELECT count(*) FROM procrastinate_jobs j LEFT JOIN procrastinate_workers w ON "
            "w.id = j.worker_id WHERE j.status = 'doing' AND (w.id IS NULL OR "
            "w.last_heartbeat < now() - make_interval(secs => :secs))"),
            {"secs": seconds}).scalar() or 0)

    def list_runs(self, source: str | None = None, since: datetime | None = None,
                  limit: int = 200, kind: str | None = None,
                  status: str | None = None) -> list[RunRow]:
        """Recent runs, newest first: of every kind or of ``kind`` (harvest, validation,
        scoring, report), in any state or in ``status``; ``source`` also matches a
        report's agency."""
        params: dict[str, Any] = {"source": source, "since": since, "limit": limit,
                                  "kind": kind, "status": status}
        where = ("(CAST(:source AS TEXT) IS NULL OR src = :source) AND "
                 "(CAST(:since AS TIMESTAMP) IS NULL OR started_at >= :since) AND "
                 "(CAST(:kind AS TEXT) IS NULL OR kind = :kind) AND "
                 "(CAST(:status AS TEXT) IS NULL OR status = :status)")
        if self.connection.dialect.name == "sqlite":
            where = ("(:source IS NULL OR src = :source) AND (:since IS NULL OR started_at >= "
                     ":since) AND (:kind IS NULL OR kind = :kind) AND (:status IS NULL OR "
                     "status = :status)")
            params["since"] = None if since is None else as_utc(since).replace(tzinfo=None)
        query = (
            "SELECT * FROM ("
            " SELECT source AS src, 'harvest' AS kind, status, scheduled_for, started_at, "
            "   finished_at, worker, errors AS err FROM harvest_run"
            " UNION ALL SELECT source, 'validation', status, scheduled_for, started_at, "
            "   finished_at, worker, summary FROM validation_run"
            " UNION ALL SELECT NULL, 'scoring', 'ok', NULL, scored_at, scored_at, NULL, NULL "
            "   FROM national_score"
            " UNION ALL SELECT agency_id, 'report', status, NULL, COALESCE(last_attempt_at, "
            "   created_at), sent_at, worker, last_error FROM report_delivery"
            f") runs WHERE {where} ORDER BY started_at DESC LIMIT :limit")
        rows = self.connection.execute(text(query), params).all()
        return [RunRow(r.src, r.kind, r.status, _iso(r.scheduled_for), _iso(r.started_at),
                   _iso(r.finished_at), r.worker,
                   _error(r.kind, r.err)) for r in rows]
