"""One harvest run of a source, and harvesting several sources: the service the CLI and the
daemon both call.

A run holds its source's lock (:meth:`dcatwatch.store.sql.Store.source_lock`): a second
harvest of the same source, from the daemon or a command, does nothing and says so
(``run.busy``). A run is recorded before it starts (status ``running``) so a crash leaves a
trace that the next run of the source marks ``failed``. Everything the run changes is written in one
transaction at the end; a failed run writes nothing but its own record.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dcatwatch.config import Settings, SourceSettings
from dcatwatch.errors import CATALOGUE, DcatwatchError
from dcatwatch.harvester import apply
from dcatwatch.harvester.agencies import (
    AgencyResolver,
    record_seen,
    registry_aliases,
    sync_registry,
)
from dcatwatch.harvester.documents import Cached, Collected, DocumentReader
from dcatwatch.http.client import CacheValidators, HttpClient, HttpSettings
from dcatwatch.store import sql
from dcatwatch.store.sql import Store

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
    services_changed: int = 0  # for the daemon's rescoring; not part of the JSON

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        del data["services_changed"]
        return data


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
    object, and a large catalogue makes millions: with the collector on, parsing one took
    twice as long. Reference counting still frees everything; cycles wait for the next pass.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def sync_configuration(store: Store, settings: Settings) -> None:
    """Make the source and registry tables match the configuration (the state of kept
    sources survives). The datasets and services of a source no longer configured are
    marked removed, so scores, checks and metrics stop counting them; the rows stay, and
    come back if the source does."""
    configured = {s.name: s for s in settings.sources}
    gone = [name for (name,) in store.all("SELECT name FROM source") if name not in configured]
    if gone:
        stamp = store.time(now())
        for name in gone:
            store.execute("UPDATE dataset SET removed_at = ?, removal_held_at = NULL "
                          "WHERE source = ? AND removed_at IS NULL", (stamp, name))
            store.execute("UPDATE data_service SET removed_at = ?, changed_at = ? "
                          "WHERE source = ? AND removed_at IS NULL", (stamp, stamp, name))
    store.executemany("DELETE FROM source WHERE name = ?", [(name,) for name in gone])
    store.executemany(
        "INSERT INTO source (name, type, url, schedule, enabled, datasets) "
        "VALUES (?, ?, ?, ?, ?, 0) ON CONFLICT (name) DO UPDATE SET type = excluded.type, "
        "url = excluded.url, schedule = excluded.schedule, enabled = excluded.enabled",
        [(name, s.type, s.url, s.schedule, s.enabled) for name, s in configured.items()])
    sync_registry(store, settings.agencies)


def harvest(settings: Settings, names: list[str] | None = None,
            progress: Progress | None = None, client: HttpClient | None = None) -> list[RunResult]:
    """Harvest the named sources (all enabled ones if none are named), one after another."""
    chosen = [settings.source(n) for n in names] if names else \
        [s for s in settings.sources if s.enabled]
    own_client = client is None
    client = client or HttpClient(http_settings(settings))
    try:
        with sql.connect(settings.database.url) as store:
            with store.transaction():
                sync_configuration(store, settings)
            return [_harvest_source(settings, store, source, client, progress)
                    for source in chosen]
    finally:
        if own_client:
            client.close()


def harvest_source(database: str, settings: Settings, source: SourceSettings,
                   client: HttpClient, progress: Progress | None = None) -> RunResult:
    """Run one harvest of ``source`` into the store at the URL ``database`` and record it;
    never raises for the source's faults."""
    with sql.connect(database) as store:
        return _harvest_source(settings, store, source, client, progress)


def _harvest_source(settings: Settings, store: Store, source: SourceSettings,
                    client: HttpClient, progress: Progress | None) -> RunResult:
    with store.source_lock(source.name) as held:
        if held:
            return _run(settings, store, source, client, progress)
    result = RunResult(source=source.name)
    result.errors.append(DcatwatchError(
        "run.busy", "another harvest of this source is running (the daemon's or a command's); "
        "this one did nothing", source.url).to_dict())
    return result


def _run(settings: Settings, store: Store, source: SourceSettings, client: HttpClient,
         progress: Progress | None) -> RunResult:
    """One run of ``source``, whose lock the caller holds."""
    started = time.monotonic()
    result = RunResult(source=source.name)
    try:
        run_id = _start_run(store, source.name)
    except Exception as exc:  # noqa: BLE001 - the store refused: report it, go on with others
        log.exception("cannot record a run of %s", source.name)
        result.errors.append(DcatwatchError("run.internal", f"the store refused to record the "
                                            f"run: {type(exc).__name__}: {exc}",
                                            source.url).to_dict())
        return result
    try:
        with gc_paused():
            collected = _read(settings, store, source, client, progress)
            _finish(store, settings, source, collected, result, run_id)
    except Exception as exc:  # noqa: BLE001 - a bug must not stop the other sources
        log.exception("harvest of %s failed", source.name)
        result.status = "failed"
        result.errors.append(DcatwatchError("run.internal", f"{type(exc).__name__}: {exc}",
                                            source.url).to_dict())
        result.duration_s = round(time.monotonic() - started, 3)
        _record_failure(store, run_id, source.name, result)
        return result
    result.duration_s = round(time.monotonic() - started, 3)
    with store.transaction():
        _write_run(store, run_id, result)
    return result


def _start_run(store: Store, source: str) -> int:
    started_at = store.time(now())
    interrupted = [{"code": "run.internal", "message": "the run was interrupted (process "
                    "stopped or killed)", "url": None}]
    with store.transaction():
        store.execute("UPDATE harvest_run SET status = 'failed', finished_at = ?, errors = ? "
                      "WHERE source = ? AND status = 'running'",
                      (started_at, json.dumps(interrupted), source))
        run_id = store.scalar(
            f"INSERT INTO harvest_run (source, started_at, status, duration_s, errors, "
            f"{', '.join(_COUNTS)}) VALUES (?, ?, 'running', 0.0, '[]', "
            f"{sql.placeholders(len(_COUNTS))}) RETURNING id",
            (source, started_at, *[0] * len(_COUNTS)))
        store.execute("UPDATE source SET last_attempt_at = ? WHERE name = ?",
                      (started_at, source))
    return int(run_id)


_COUNTS = ("datasets", "distributions", "data_services", "agencies", "added", "updated",
           "unchanged", "removed", "held_removals", "pages")
_CURRENT = "source = ? AND removed_at IS NULL"


def _read(settings: Settings, store: Store, source: SourceSettings, client: HttpClient,
          progress: Progress | None) -> Collected:
    row = next(iter(store.all("SELECT etag, last_modified, body_sha256 FROM http_cache "
                              "WHERE source = ? AND url = ?", (source.name, source.url))), None)
    has_data = store.all(f"SELECT 1 FROM dataset WHERE {_CURRENT} LIMIT 1", (source.name,))
    # held rows are few: asking only for them lets the store use ix_dataset_held
    held = any(removed is None for (removed,) in store.all(
        "SELECT removed_at FROM dataset WHERE source = ? AND removal_held_at IS NOT NULL",
        (source.name,)))
    # held removals wait for a run that reads the source again: no conditional GET then
    cached = Cached(CacheValidators(row[0], row[1]), row[2]) \
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
        from dcatwatch.harvester.dataportal import SearchReader  # pyoxigraph: only when needed

        return SearchReader(client, source.name, max_pages=max_pages, headers=source.headers,
                            workdir=workdir, progress=report, fetch_options=options,
                            ).read(source.url, organisations=source.organisations)
    reader = DocumentReader(client, source.name, max_pages=max_pages, syntax=source.syntax,
                            headers=source.headers, workdir=workdir, progress=report,
                            fetch_options=options)
    return reader.read(source.url, cached)


def _finish(store: Store, settings: Settings, source: SourceSettings, collected: Collected,
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
        _record_failure(store, run_id, source.name, result)
        return
    result.status = "partial" if fatal or not collected.complete else "ok"
    stamp = now()
    resolver = AgencyResolver(settings.agencies, registry_aliases(store))
    threshold = source.removal_threshold if source.removal_threshold is not None \
        else settings.harvest.removal_threshold
    with store.transaction():
        if not collected.not_modified:
            parsed = collected.parsed
            changes = apply.apply_datasets(store, source.name, parsed, resolver, stamp,
                                           complete=result.status == "ok", threshold=threshold)
            result.services_changed = apply.apply_services(
                store, source.name, parsed.services, resolver, stamp,
                complete=result.status == "ok", datasets_listed=bool(parsed.entries))
            record_seen(store, resolver.seen)
        _count_current(store, source.name, result)
        if collected.not_modified:
            # nothing was read: the datasets stand as the last good run left them (that
            # run's time stays their last_seen_at; the source's last_success_at moves on)
            changes = apply.Changes(unchanged=result.datasets)
        for key in ("added", "updated", "unchanged", "removed", "held_removals"):
            setattr(result, key, getattr(changes, key))
        if changes.held_removals:
            result.errors.append(DcatwatchError(
                "run.held_removals", f"{changes.held_removals} datasets no longer listed were "
                "held back, not removed", source.url).to_dict())
        if result.status == "ok":
            _remember_pages(store, source.name, collected, stamp)
        store.execute("UPDATE source SET last_status = ?, datasets = ?"
                      + (", last_success_at = ?" if result.status == "ok" else "")
                      + " WHERE name = ?",
                      (result.status, result.datasets,
                       *([store.time(stamp)] if result.status == "ok" else []),
                       source.name))


def _count_current(store: Store, source: str, result: RunResult) -> None:
    """Fill the totals from the store, so they describe the source after the run."""
    result.datasets, result.agencies = store.all(
        f"SELECT count(*), count(DISTINCT agency_id) FROM dataset WHERE {_CURRENT}",
        (source,))[0]
    result.distributions = store.scalar(
        "SELECT count(*) FROM distribution JOIN dataset ON distribution.dataset_id = dataset.id "
        "WHERE dataset.source = ? AND dataset.removed_at IS NULL", (source,))
    result.data_services = store.scalar(
        f"SELECT count(*) FROM data_service WHERE {_CURRENT}", (source,))


def _remember_pages(store: Store, source: str, collected: Collected, stamp: datetime) -> None:
    if len(collected.pages) != 1:
        return
    page = collected.pages[0]
    store.execute("DELETE FROM http_cache WHERE source = ? AND url = ?", (source, page.url))
    store.execute("INSERT INTO http_cache (url, source, etag, last_modified, body_sha256, "
                  "fetched_at) VALUES (?, ?, ?, ?, ?, ?)",
                  (page.url, source, page.validators.etag, page.validators.last_modified,
                   page.sha256, store.time(stamp)))


def _record_failure(store: Store, run_id: int, source: str, result: RunResult) -> None:
    with store.transaction():
        _write_run(store, run_id, result)
        store.execute("UPDATE source SET last_status = 'failed' WHERE name = ?",
                      (source,))


def _write_run(store: Store, run_id: int, result: RunResult) -> None:
    store.execute(
        f"UPDATE harvest_run SET status = ?, finished_at = ?, duration_s = ?, errors = ?, "
        f"{', '.join(f'{k} = ?' for k in _COUNTS)} WHERE id = ?",
        (result.status, store.time(now()), result.duration_s,
         json.dumps(result.errors, ensure_ascii=False),
         *[getattr(result, k) for k in _COUNTS], run_id))


def confirm_removals(settings: Settings, source: str) -> int:
    """Remove the datasets the guard held for ``source``; returns how many."""
    with sql.connect(settings.database.url) as store, store.transaction():
        return apply.confirm_held(store, source, now())
