"""One harvest run of a source, and harvesting several sources: the service the CLI and the
daemon both call.

A run is recorded before it starts (status ``running``) so a crash leaves a trace that the
next run of the source marks ``failed``. Everything the run changes is written in one
transaction at the end; a failed run writes nothing but its own record.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, insert, select, update

from dcatwatch.config import Settings, SourceSettings
from dcatwatch.errors import CATALOGUE, DcatwatchError
from dcatwatch.harvester import apply
from dcatwatch.harvester.agencies import AgencyResolver, record_seen, registry_aliases, sync_registry
from dcatwatch.harvester.dataportal import SearchReader
from dcatwatch.harvester.documents import Cached, Collected, DocumentReader
from dcatwatch.harvester.http import CacheValidators, HttpClient, HttpSettings
from dcatwatch.store.upsert import upsert
from dcatwatch.store.tables import DATASETS, DISTRIBUTIONS, HTTP_CACHE, RUNS, SERVICES, SOURCES

log = logging.getLogger(__name__)

Progress = Callable[[str, str], None]  # (source, message)


@dataclass(slots=True)
class RunResult:
    """The outcome of one run: the ``harvest --json`` object of a source."""

    source: str
    status: str = "failed"  # ok | partial | failed
    datasets: int = 0
    distributions: int = 0
    data_services: int = 0
    agencies: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    held_removals: int = 0
    pages: int = 0
    duration_s: float = 0.0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def now() -> datetime:
    """The current time in UTC (timezone-aware, as the store keeps it)."""
    return datetime.now(UTC)


def http_settings(settings: Settings) -> HttpSettings:
    """The client settings from the ``[http]`` section (same names, same meaning)."""
    section = settings.http.model_dump(exclude_none=True)
    if "allowed_networks" in section:
        section["allowed_networks"] = tuple(section["allowed_networks"])
    return HttpSettings(**section)


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a run allocates millions of small objects.

    Grouping and mapping create no reference cycles, but each collection walks every tracked
    object (SQLAlchemy's included): with the collector on, parsing a large catalogue took
    twice as long. Reference counting still frees everything; cycles wait for the next pass.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def sync_sources(conn: Connection, sources: Iterable[SourceSettings]) -> None:
    """Make the source table match the configuration (state of kept sources survives)."""
    configured = {s.name: s for s in sources}
    existing = {row.name for row in conn.execute(select(SOURCES.c.name))}
    gone = existing - set(configured)
    if gone:
        conn.execute(delete(SOURCES).where(SOURCES.c.name.in_(gone)))
    rows = [{"name": name, "type": s.type, "url": s.url, "schedule": s.schedule,
             "enabled": s.enabled, "datasets": 0} for name, s in configured.items()]
    upsert(conn, SOURCES, rows, update=("type", "url", "schedule", "enabled"))


def harvest(settings: Settings, engine: Engine, names: list[str] | None = None,
            progress: Progress | None = None, client: HttpClient | None = None) -> list[RunResult]:
    """Harvest the named sources (all enabled ones if none are named), one after another."""
    chosen = [settings.source(n) for n in names] if names else \
        [s for s in settings.sources if s.enabled]
    with engine.begin() as conn:
        sync_sources(conn, settings.sources)
        sync_registry(conn, settings.agencies)
    own_client = client is None
    client = client or HttpClient(http_settings(settings))
    try:
        return [harvest_source(settings, engine, source, client, progress) for source in chosen]
    finally:
        if own_client:
            client.close()


def harvest_source(settings: Settings, engine: Engine, source: SourceSettings,
                   client: HttpClient, progress: Progress | None = None) -> RunResult:
    """Run one harvest of ``source`` and record it; never raises for the source's faults."""
    started = time.monotonic()
    result = RunResult(source=source.name)
    try:
        run_id = _start_run(engine, source.name)
    except Exception as exc:  # noqa: BLE001 - the store refused: report it, go on with others
        log.exception("cannot record a run of %s", source.name)
        result.errors.append(DcatwatchError("run.internal", f"the store refused to record the "
                                            f"run: {type(exc).__name__}: {exc}",
                                            source.url).to_dict())
        return result
    try:
        with gc_paused():
            collected = _read(settings, engine, source, client, progress)
            _finish(engine, settings, source, collected, result, run_id)
    except Exception as exc:  # noqa: BLE001 - a bug must not stop the other sources
        log.exception("harvest of %s failed", source.name)
        result.status = "failed"
        result.errors.append(DcatwatchError("run.internal", f"{type(exc).__name__}: {exc}",
                                            source.url).to_dict())
        result.duration_s = round(time.monotonic() - started, 3)
        _record_failure(engine, run_id, source.name, result)
        return result
    result.duration_s = round(time.monotonic() - started, 3)
    with engine.begin() as conn:
        _write_run(conn, run_id, result)
    return result


def _start_run(engine: Engine, source: str) -> int:
    started_at = now()
    with engine.begin() as conn:
        interrupted = [{"code": "run.internal", "message": "the run was interrupted (process "
                        "stopped or killed)", "url": None}]
        conn.execute(update(RUNS).where(RUNS.c.source == source, RUNS.c.status == "running")
                     .values(status="failed", finished_at=started_at,
                             errors=json.dumps(interrupted)))
        run_id = conn.execute(insert(RUNS).values(source=source, started_at=started_at,
                                                  status="running", duration_s=0.0, errors="[]",
                                                  **{k: 0 for k in _COUNTS})).inserted_primary_key
        conn.execute(update(SOURCES).where(SOURCES.c.name == source)
                     .values(last_attempt_at=started_at))
    return int(run_id[0])


_COUNTS = ("datasets", "distributions", "data_services", "agencies", "added", "updated",
           "unchanged", "removed", "held_removals", "pages")


def _read(settings: Settings, engine: Engine, source: SourceSettings, client: HttpClient,
          progress: Progress | None) -> Collected:
    with engine.connect() as conn:
        row = conn.execute(select(HTTP_CACHE).where(HTTP_CACHE.c.url == source.url)).first()
        current = DATASETS.c.source == source.name, DATASETS.c.removed_at.is_(None)
        has_data = conn.execute(select(func.count()).where(*current)).scalar()
        held = conn.execute(select(func.count()).where(
            *current, DATASETS.c.removal_held_at.is_not(None))).scalar()
    # held removals wait for a run that reads the source again: no conditional GET then
    cached = Cached(CacheValidators(row.etag, row.last_modified), row.body_sha256) \
        if row is not None and has_data and not held else None
    options: dict[str, object] = {}
    if source.auth is not None:
        options["auth"] = (source.auth.username, os.environ.get(source.auth.password_env, ""))
    if source.timeout is not None:
        options["timeout"] = source.timeout
    if source.min_delay is not None:
        options["min_delay"] = source.min_delay
    workdir = Path(settings.harvest.workdir) if settings.harvest.workdir else None
    report = (lambda m: progress(source.name, m)) if progress else None
    max_pages = source.max_pages or settings.harvest.max_pages
    if source.type == "dataportal" and source.mode == "search":
        return SearchReader(client, source.name, max_pages=max_pages, headers=source.headers,
                            workdir=workdir, progress=report, fetch_options=options,
                            ).read(source.url, organisations=source.organisations)
    reader = DocumentReader(client, source.name, max_pages=max_pages, syntax=source.syntax,
                            headers=source.headers, workdir=workdir, progress=report,
                            fetch_options=options)
    return reader.read(source.url, cached)


def _finish(engine: Engine, settings: Settings, source: SourceSettings, collected: Collected,
            result: RunResult, run_id: int) -> None:
    result.pages = len(collected.pages)
    result.errors = [e.to_dict() for e in collected.errors]
    result.errors += [{"code": p.code, "message": p.message, "url": p.url or p.subject}
                      for p in collected.parsed.problems]
    # an error in a page or in one record (record.invalid) makes the run partial: a dataset
    # that could not be read must not count as removed, nor the page as known-good
    fatal = any(CATALOGUE[e.code].severity == "error" for e in collected.errors) or any(
        CATALOGUE[p.code].severity == "error" for p in collected.parsed.problems)
    if not collected.pages:
        result.status = "failed"
        _record_failure(engine, run_id, source.name, result)
        return
    result.status = "partial" if fatal or not collected.complete else "ok"
    stamp = now()
    with engine.connect() as conn:
        resolver = AgencyResolver(settings.agencies, registry_aliases(conn))
    threshold = source.removal_threshold if source.removal_threshold is not None \
        else settings.harvest.removal_threshold
    with engine.begin() as conn:
        if collected.not_modified:
            changes = _unchanged(conn, source.name, stamp)
        else:
            parsed = collected.parsed
            changes = apply.apply_datasets(conn, source.name, parsed, resolver, stamp,
                                           complete=result.status == "ok", threshold=threshold)
            apply.apply_services(conn, source.name, parsed.services, resolver, stamp,
                                 complete=result.status == "ok")
            record_seen(conn, resolver.seen)
        for key in ("added", "updated", "unchanged", "removed", "held_removals"):
            setattr(result, key, getattr(changes, key))
        if changes.held_removals:
            result.errors.append(DcatwatchError(
                "run.held_removals", f"{changes.held_removals} datasets no longer listed were "
                "held back, not removed", source.url).to_dict())
        _count_current(conn, source.name, result)
        if result.status == "ok":
            _remember_pages(conn, source.name, collected, stamp)
        conn.execute(update(SOURCES).where(SOURCES.c.name == source.name).values(
            last_status=result.status, datasets=result.datasets,
            **({"last_success_at": stamp} if result.status == "ok" else {})))


def _unchanged(conn: Connection, source: str, stamp: datetime) -> apply.Changes:
    count = conn.execute(update(DATASETS).where(DATASETS.c.source == source,
                                                DATASETS.c.removed_at.is_(None))
                         .values(last_seen_at=stamp)).rowcount or 0
    return apply.Changes(unchanged=count)


def _count_current(conn: Connection, source: str, result: RunResult) -> None:
    """Fill the totals from the store, so they describe the source after the run."""
    current = (DATASETS.c.source == source) & DATASETS.c.removed_at.is_(None)
    result.datasets = conn.execute(select(func.count()).where(current)).scalar() or 0
    result.agencies = conn.execute(select(func.count(func.distinct(DATASETS.c.agency_id)))
                                   .where(current)).scalar() or 0
    result.distributions = conn.execute(
        select(func.count()).select_from(DISTRIBUTIONS.join(
            DATASETS, DISTRIBUTIONS.c.dataset_id == DATASETS.c.id)).where(current)).scalar() or 0
    result.data_services = conn.execute(select(func.count()).where(
        SERVICES.c.source == source, SERVICES.c.removed_at.is_(None))).scalar() or 0


def _remember_pages(conn: Connection, source: str, collected: Collected, stamp: datetime) -> None:
    if len(collected.pages) != 1:
        return
    page = collected.pages[0]
    conn.execute(delete(HTTP_CACHE).where(HTTP_CACHE.c.url == page.url))
    conn.execute(insert(HTTP_CACHE).values(url=page.url, source=source, etag=page.validators.etag,
                                      last_modified=page.validators.last_modified,
                                      body_sha256=page.sha256, fetched_at=stamp))


def _record_failure(engine: Engine, run_id: int, source: str, result: RunResult) -> None:
    with engine.begin() as conn:
        _write_run(conn, run_id, result)
        conn.execute(update(SOURCES).where(SOURCES.c.name == source).values(last_status="failed"))


def _write_run(conn: Connection, run_id: int, result: RunResult) -> None:
    values = {k: getattr(result, k) for k in _COUNTS}
    conn.execute(update(RUNS).where(RUNS.c.id == run_id).values(
        status=result.status, finished_at=now(), duration_s=result.duration_s,
        errors=json.dumps(result.errors, ensure_ascii=False), **values))


def confirm_removals(engine: Engine, source: str) -> int:
    """Remove the datasets the guard held for ``source``; returns how many."""
    with engine.begin() as conn:
        return apply.confirm_held(conn, source, now())
