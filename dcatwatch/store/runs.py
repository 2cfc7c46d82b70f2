"""Runs of every kind: started, finished, failed, interrupted."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update

from dcatwatch.store.core import Repository
from dcatwatch.store.tables import DATASETS, RUNS, SOURCES


class Runs(Repository):
    """Runs of every kind: started, finished, failed, interrupted."""

    # reads for reports, the daemon and coverage

    def running_id(self, source: str) -> int | None:
        """The id of the run of ``source`` in progress (the newest, if several)."""
        return self.connection.execute(
            select(RUNS.c.id).where(RUNS.c.source == source, RUNS.c.status == "running")
            .order_by(RUNS.c.id.desc()).limit(1)).scalar()

    def recover_interrupted(self, now: datetime, error: dict[str, Any]) -> list[str]:
        """Mark every run left ``running`` failed at ``now`` with ``error``; the source of
        each such run."""
        interrupted = self.connection.execute(select(RUNS.c.id, RUNS.c.source)
                                              .where(RUNS.c.status == "running")).all()
        if interrupted:
            self.connection.execute(
                update(RUNS).where(RUNS.c.id.in_([row.id for row in interrupted]))
                .values(status="failed", finished_at=now, errors=json.dumps([error])))
        return [row.source for row in interrupted]

    def latest_of_catalogues(self, agency_id: str) -> list[Any]:
        """The latest finished run of each ``dcat`` source with datasets of the agency,
        current or removed, by source name: (name, url, last_success_at, status,
        finished_at, errors)."""
        own = select(DATASETS.c.source).where(DATASETS.c.agency_id == agency_id).distinct()
        latest = (select(func.max(RUNS.c.id))  # runs of a source never overlap: ids in order
                  .where(RUNS.c.source.in_(own), RUNS.c.status != "running",
                         RUNS.c.finished_at.is_not(None))
                  .group_by(RUNS.c.source))
        return list(self.connection.execute(
            select(SOURCES.c.name, SOURCES.c.url, SOURCES.c.last_success_at, RUNS.c.status,
                   RUNS.c.finished_at, RUNS.c.errors)
            .select_from(SOURCES.join(RUNS, RUNS.c.source == SOURCES.c.name))
            .where(SOURCES.c.type == "dcat", RUNS.c.id.in_(latest))
            .order_by(SOURCES.c.name)))
