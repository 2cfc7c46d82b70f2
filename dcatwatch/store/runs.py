"""Runs of every kind: started, finished, failed, interrupted."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, update

from dcatwatch.errors import DcatwatchError
from dcatwatch.store.models import RunCounts
from dcatwatch.store.repository import Repository
from dcatwatch.store.tables import DATASETS, RUNS, SOURCES, VALIDATION_RUNS

INTERRUPTED = DcatwatchError("run.internal", "the run was interrupted (process stopped or killed)")
# the start of the message every process stores in a run it marks interrupted (this module,
# schedules.state and checks.INTERRUPTED_MESSAGE); queue workers set status ``interrupted``
INTERRUPTED_MARK = "the run was interrupted ("


@dataclass(slots=True)
class RunResult:
    """The outcome of one run of a source, as ``harvest_run`` records it."""

    source: str
    status: str = "failed"  # ok | partial | failed
    counts: RunCounts = field(default_factory=RunCounts)
    duration_s: float = 0.0
    errors: list[DcatwatchError] = field(default_factory=list)
    services_changed: int = 0  # for the daemon's rescoring; neither stored nor in the JSON
    removals_due_at: datetime | None = None  # held removals: the earliest a run applies them
    # current datasets of the source without an agency: counted from the datasets at the end
    # of the run (the dataset table holds it; no harvest_run column), in the JSON
    unattributed: int = 0
    unattributed_services: int = 0  # likewise, its current data services without an agency

    def to_dict(self) -> dict[str, Any]:
        """The ``harvest --json`` object of the source (README "JSON output")."""
        due = self.removals_due_at.isoformat(timespec="seconds") if self.removals_due_at \
            else None
        return {"source": self.source, "status": self.status, **self.counts.model_dump(),
                "removals_due_at": due, "unattributed": self.unattributed,
                "unattributed_services": self.unattributed_services,
                "duration_s": self.duration_s,
                "errors": [e.to_dict() for e in self.errors]}


class Runs(Repository):
    """Runs of every kind: started, finished, failed, interrupted."""

    def start(self, source: str, at: datetime) -> int:
        """Record a ``running`` run of ``source`` (its id); a run of the source left
        ``running`` by a stopped process is marked failed, and the source's attempt noted."""
        self.connection.execute(
            update(RUNS).where(RUNS.c.source == source, RUNS.c.status == "running")
            .values(status="failed", finished_at=at, errors=_errors([INTERRUPTED])))
        run_id = self.connection.execute(
            insert(RUNS).values(source=source, started_at=at, status="running", duration_s=0.0,
                                errors="[]", **RunCounts().model_dump()).returning(RUNS.c.id)
        ).scalar_one()
        self.connection.execute(update(SOURCES).where(SOURCES.c.name == source)
                                .values(last_attempt_at=at))
        return int(run_id)

    def running(self, source: str) -> int | None:
        """The id of the run of ``source`` in progress (the newest, if several)."""
        return self.connection.execute(
            select(RUNS.c.id).where(RUNS.c.source == source, RUNS.c.status == "running")
            .order_by(RUNS.c.id.desc()).limit(1)).scalar()

    def finish(self, run_id: int, result: RunResult, at: datetime) -> None:
        """Record how run ``run_id`` ended."""
        self.connection.execute(
            update(RUNS).where(RUNS.c.id == run_id)
            .values(status=result.status, finished_at=at, duration_s=result.duration_s,
                    errors=_errors(result.errors), **result.counts.model_dump()))

    def recover_interrupted(self, now: datetime, error: dict[str, Any],
                            sources: Iterable[str] | None = None) -> list[str]:
        """Mark every run left ``running`` (of ``sources``, default: of every source) failed
        at ``now`` with ``error``; the source of each such run."""
        query = select(RUNS.c.id, RUNS.c.source).where(RUNS.c.status == "running")
        if sources is not None:
            query = query.where(RUNS.c.source.in_(list(sources)))
        interrupted = self.connection.execute(query).all()
        if interrupted:
            self.connection.execute(
                update(RUNS).where(RUNS.c.id.in_([row.id for row in interrupted]))
                .values(status="failed", finished_at=now, errors=json.dumps([error])))
        return [row.source for row in interrupted]

    def latest_errors(self, sources: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
        """The stored errors of the latest finished run of each of ``sources`` (that has
        one), by source."""
        latest = (select(func.max(RUNS.c.id))  # runs of a source never overlap: ids in order
                  .where(RUNS.c.source.in_(list(sources)), RUNS.c.status != "running")
                  .group_by(RUNS.c.source))
        return {row.source: json.loads(row.errors) for row in self.connection.execute(
            select(RUNS.c.source, RUNS.c.errors).where(RUNS.c.id.in_(latest)))}

    def interrupted_since(self, since: datetime) -> dict[str, int]:
        """Harvest and validation runs marked interrupted at or after ``since``, by whichever
        process marked them (a daemon at start, a command, a queue worker), by kind."""
        harvests = select(func.count()).select_from(RUNS).where(
            RUNS.c.finished_at >= since,
            or_(RUNS.c.status == "interrupted",
                and_(RUNS.c.status == "failed", RUNS.c.errors.contains(INTERRUPTED_MARK))))
        validations = select(func.count()).select_from(VALIDATION_RUNS).where(
            VALIDATION_RUNS.c.finished_at >= since,
            VALIDATION_RUNS.c.status.in_(("failed", "interrupted")),
            VALIDATION_RUNS.c.summary.contains(INTERRUPTED_MARK))
        return {"harvest": int(self.connection.execute(harvests).scalar_one()),
                "validation": int(self.connection.execute(validations).scalar_one())}

    def latest_of_catalogues(self, agency_id: str) -> list[Any]:
        """The latest finished run of each ``dcat`` source with datasets of the agency,
        current or removed, by source name: (name, url, last_success_at, status,
        finished_at, errors)."""
        own = select(DATASETS.c.source).where(DATASETS.c.agency_id == agency_id).distinct()
        # runs of a source never overlap: ids in order. Per source from the end of its
        # index of runs (not a max() over every run of every source)
        run = RUNS.alias("run")
        latest = (select(run.c.id).where(run.c.source == SOURCES.c.name,
                                         run.c.status != "running", run.c.finished_at.is_not(None))
                  .order_by(run.c.id.desc()).limit(1).scalar_subquery())
        return list(self.connection.execute(
            select(SOURCES.c.name, SOURCES.c.url, SOURCES.c.last_success_at, RUNS.c.status,
                   RUNS.c.finished_at, RUNS.c.errors)
            .select_from(SOURCES.join(RUNS, RUNS.c.id == latest))
            .where(SOURCES.c.type == "dcat", SOURCES.c.name.in_(own))
            .order_by(SOURCES.c.name)))


def _errors(errors: list[DcatwatchError]) -> str:
    return json.dumps([e.to_dict() for e in errors], ensure_ascii=False)
