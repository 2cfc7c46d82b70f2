"""Configured sources, their state and their conditional-GET cache."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, func, insert, select, update

from dcatwatch.store.repository import Repository
from dcatwatch.store.tables import DATASETS, HTTP_CACHE, RUNS, SCHEDULES, SOURCES
from dcatwatch.store.upsert import insert as upsert_into


class Sources(Repository):
    """Configured sources, their state and their conditional-GET cache."""

    def sync(self, configured: Sequence[dict[str, Any]]) -> list[str]:
        """Make the source rows the ``configured`` ones (name, type, url, schedule,
        enabled; a kept source's state survives); returns the names of the rows deleted."""
        names = {row["name"] for row in configured}
        gone = [name for name in self.connection.execute(select(SOURCES.c.name)).scalars()
                if name not in names]
        if gone:
            self.connection.execute(delete(SOURCES).where(SOURCES.c.name.in_(gone)))
        if configured:
            statement = upsert_into(self.connection, SOURCES)
            self.connection.execute(statement.on_conflict_do_update(
                index_elements=[SOURCES.c.name],
                set_={key: statement.excluded[key]
                      for key in ("type", "url", "schedule", "enabled")}),
                [{**row, "datasets": 0} for row in configured])
        return gone

    def cache_validators(self, source: str, url: str) -> Row[Any] | None:
        """What ``source``'s last good fetch of ``url`` left: (etag, last_modified,
        body_sha256), or None."""
        c = HTTP_CACHE.c
        return self.connection.execute(select(c.etag, c.last_modified, c.body_sha256)
                                       .where(c.source == source, c.url == url)).first()

    def remember_page(self, source: str, url: str, etag: str | None,
                      last_modified: str | None, sha256: str | None, at: datetime) -> None:
        """Keep the validators and hash of ``source``'s good fetch of ``url``."""
        c = HTTP_CACHE.c
        self.connection.execute(delete(HTTP_CACHE).where(c.source == source, c.url == url))
        self.connection.execute(insert(HTTP_CACHE).values(
            url=url, source=source, etag=etag, last_modified=last_modified, body_sha256=sha256,
            fetched_at=at))

    def record_outcome(self, source: str, status: str, datasets: int | None = None,
                       success_at: datetime | None = None) -> None:
        """Note a run's status (and, when given, the current dataset count and the time of
        a successful run) on the source."""
        values: dict[str, Any] = {"last_status": status}
        if datasets is not None:
            values["datasets"] = datasets
        if success_at is not None:
            values["last_success_at"] = success_at
        self.connection.execute(update(SOURCES).where(SOURCES.c.name == source).values(values))

    def types(self) -> dict[str, str]:
        """Each source's type (``dcat``, ``dataportal``, …) by name."""
        return dict(self.connection.execute(select(SOURCES.c.name, SOURCES.c.type)).all())

    def set_last_status(self, names: Collection[str], status: str) -> None:
        """Record ``status`` as the last run status of the sources ``names``."""
        if names:
            self.connection.execute(update(SOURCES).where(SOURCES.c.name.in_(list(names)))
                                    .values(last_status=status))

    def enabled_states(self) -> list[Row[Any]]:
        """``name``, ``last_status``, ``last_success_at``, ``last_attempt_at`` and
        ``datasets`` of the enabled sources, by name."""
        return list(self.connection.execute(
            select(SOURCES.c.name, SOURCES.c.last_status, SOURCES.c.last_success_at,
                   SOURCES.c.last_attempt_at, SOURCES.c.datasets)
            .where(SOURCES.c.enabled).order_by(SOURCES.c.name)))

    def overview(self) -> list[Row[Any]]:
        """Every source's state for ``dcatwatch sources``, by name: ``name``,
        ``last_status``, ``last_attempt_at``, ``last_success_at``, ``datasets``, the
        daemon's ``next_run_at`` (None before it scheduled the source), the datasets whose
        removal is ``held``, and its latest finished run's ``run_status``, ``finished_at``
        and ``errors`` (JSON)."""
        latest = (select(func.max(RUNS.c.id)).where(RUNS.c.finished_at.is_not(None))
                  .group_by(RUNS.c.source))  # runs of a source never overlap: ids in order
        held = (select(DATASETS.c.source, func.count().label("held"))
                .where(DATASETS.c.removal_held_at.is_not(None), DATASETS.c.removed_at.is_(None))
                .group_by(DATASETS.c.source).subquery())
        last_run = select(RUNS.c.source, RUNS.c.status, RUNS.c.finished_at, RUNS.c.errors) \
            .where(RUNS.c.id.in_(latest)).subquery()
        return list(self.connection.execute(
            select(SOURCES.c.name, SOURCES.c.last_status, SOURCES.c.last_attempt_at,
                   SOURCES.c.last_success_at, SOURCES.c.datasets, SCHEDULES.c.next_run_at,
                   func.coalesce(held.c.held, 0).label("held"),
                   last_run.c.status.label("run_status"), last_run.c.finished_at,
                   last_run.c.errors)
            .select_from(SOURCES.outerjoin(SCHEDULES, SCHEDULES.c.source == SOURCES.c.name)
                         .outerjoin(held, held.c.source == SOURCES.c.name)
                         .outerjoin(last_run, last_run.c.source == SOURCES.c.name))
            .order_by(SOURCES.c.name)))
