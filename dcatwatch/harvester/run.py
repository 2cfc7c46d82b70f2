"""One harvest run of a source, and harvesting several sources: the service the CLI and the
daemon both call.

A run holds its source's lock (:func:`dcatwatch.store.locks.source_lock`): a second
harvest of the same source, from the daemon or a command, does nothing and says so
(``run.busy``). A run is recorded before it starts (status ``running``) so a crash leaves a
trace that the next run of the source marks ``failed``. Everything the run changes, its own
record included, is written in one unit of work at the end; a failed run writes nothing but
its record. Until then the datasets read are staged on disk
(:class:`~dcatwatch.harvester.documents.RecordSpool`) and applied in batches
(:func:`~dcatwatch.harvester.apply.apply_datasets`), so memory does not grow with them.
"""

from __future__ import annotations

import errno
import gc
import logging
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from dcatwatch.config import Settings, SourceSettings
from dcatwatch.errors import CATALOGUE, DcatwatchError
from dcatwatch.harvester import apply
from dcatwatch.harvester.agencies import AgencyResolver, record_seen, sync_registry
from dcatwatch.harvester.documents import Cached, Collected, DocumentReader
from dcatwatch.http.client import CacheValidators, HttpClient
from dcatwatch.store.core import Store, StoreError, Unit
from dcatwatch.store.db import fault_of
from dcatwatch.store.runs import RunCounts, RunResult

log = logging.getLogger(__name__)

Progress = Callable[[str, str], None]  # (source, message)


def now() -> datetime:
    """The current time in UTC (timezone-aware, as the store keeps it)."""
    return datetime.now(UTC)


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


def sync_configuration(target: Store | Unit, settings: Settings) -> None:
    """Make the source and registry tables match the configuration (the state of kept
    sources survives). The datasets and services of a source no longer configured are
    marked removed, so scores, checks and metrics stop counting them; the rows stay, and
    come back if the source does."""
    if isinstance(target, Store):
        with target.write() as unit:
            sync_configuration(unit, settings)
        return
    gone = target.sources.sync([{"name": s.name, "type": s.type, "url": s.url,
                                 "schedule": s.schedule, "enabled": s.enabled}
                                for s in settings.sources])
    stamp = now()
    for name in gone:
        target.datasets.retire(name, stamp)
        target.services.retire(name, stamp)
    sync_registry(target, settings.agencies)


def harvest(store: Store, settings: Settings, names: list[str] | None = None, *,
            progress: Progress | None = None,
            client: HttpClient | None = None) -> list[RunResult]:
    """Harvest the named sources (all enabled ones if none are named), one after another."""
    chosen = [settings.source(n) for n in names] if names else \
        [s for s in settings.sources if s.enabled]
    own_client = client is None
    client = client or HttpClient(settings.http)
    try:
        sync_configuration(store, settings)
        return [harvest_source(store, settings, source, client, progress) for source in chosen]
    finally:
        if own_client:
            client.close()


def harvest_source(store: Store, settings: Settings, source: SourceSettings,
                   client: HttpClient, progress: Progress | None = None) -> RunResult:
    """Run one harvest of ``source`` and record it; never raises for the source's faults."""
    with store.source_lock(source.name) as held:
        if held:
            return _run(settings, store, source, client, progress)
    result = RunResult(source=source.name)
    result.errors.append(DcatwatchError(
        "run.busy", "another harvest of this source is running (the daemon's or a command's); "
        "this one did nothing", source.url))
    return result


def _run(settings: Settings, store: Store, source: SourceSettings, client: HttpClient,
         progress: Progress | None) -> RunResult:
    """One run of ``source``, whose lock the caller holds."""
    started = time.monotonic()
    result = RunResult(source=source.name)
    try:
        with store.write() as unit:
            run_id = unit.runs.start(source.name, now())
    except StoreError:
        raise  # locked, full, gone: the store's fault, which the caller reports and retries
    except Exception as exc:  # noqa: BLE001 - a bug: report it, go on with the other sources
        log.exception("cannot record a run of %s", source.name)
        result.errors.append(DcatwatchError("run.internal", f"the store refused to record the "
                                            f"run: {type(exc).__name__}: {exc}", source.url))
        return result
    try:
        with gc_paused():
            collected = _read(settings, store, source, client, progress)
            try:
                with store.write() as unit:
                    _finish(unit, settings, source, collected, result, started)
                    unit.runs.finish(run_id, result, now())
            finally:
                for staged in (collected.parsed.entries, collected.parsed.services):
                    close = getattr(staged, "close", None)
                    if close is not None:
                        close()  # the staged records (documents.RecordSpool)
    except Exception as exc:  # noqa: BLE001 - a bug must not stop the other sources
        result.status = "failed"
        result.counts = RunCounts(pages=result.counts.pages)  # what was counted rolled back
        fault = fault_of(exc)  # the store refused the run's writes (full, read-only …)
        error = fault or workdir_error(exc, workdir_of(settings))
        if isinstance(exc, DcatwatchError):  # a cap the run hit: the source's fault, not ours
            log.warning("harvest of %s failed: %s", source.name, exc.message)
            result.errors.append(exc)
        elif error is not None:  # the monitor's disk, not the source: one line, no traceback
            # a store fault is the caller's to report (the command's one line, the daemon's)
            log.log(logging.INFO if fault else logging.WARNING, "harvest of %s failed: %s",
                    source.name, error.message, extra={"code": error.code})
            result.errors.append(error)
        else:
            log.exception("harvest of %s failed", source.name)
            result.errors.append(DcatwatchError("run.internal", f"{type(exc).__name__}: {exc}",
                                                source.url))
        result.duration_s = round(time.monotonic() - started, 3)
        _record_failed(store, run_id, source, result, store_failed=fault is not None)
        if fault is not None:
            raise  # the store's fault, as when the run cannot be recorded at all (above)
    return result


def _record_failed(store: Store, run_id: int, source: SourceSettings, result: RunResult,
                   store_failed: bool) -> None:
    """Mark the run failed. When the store failed the run and refuses this too (still
    full), the run stays ``running`` until the source's next run marks it failed
    (:meth:`~dcatwatch.store.runs.Runs.start`)."""
    try:
        with store.write() as unit:
            unit.runs.finish(run_id, result, now())
            unit.sources.record_outcome(source.name, "failed")
    except StoreError:
        if not store_failed:
            raise
        log.error("cannot record the failed run of %s either: the next run marks it failed",
                  source.name)


def workdir_of(settings: Settings) -> Path:
    """Where a harvest keeps its downloads and spools: ``[harvest] workdir`` or the
    system's temporary directory."""
    return Path(settings.harvest.workdir or tempfile.gettempdir())


def workdir_error(exc: BaseException, workdir: Path) -> DcatwatchError | None:
    """``harvest.workdir_full`` / ``harvest.workdir_unusable`` for an OSError writing the
    work directory (no space or quota left, read-only, not permitted, missing), else None."""
    if not isinstance(exc, OSError):
        return None
    reason = f"{type(exc).__name__}: [Errno {exc.errno}] {exc.strerror or exc}"
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return DcatwatchError("harvest.workdir_full", f"the work directory {workdir} is full "
                              f"({reason}): free space there or set [harvest] workdir to a "
                              "larger disk; the run changed nothing")
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOENT) and \
            _under(exc.filename, workdir):
        return DcatwatchError("harvest.workdir_unusable", f"the work directory {workdir} "
                              f"cannot be written ({reason}): make it a writable directory "
                              "or set [harvest] workdir elsewhere; the run changed nothing")
    return None


def _under(filename: object, directory: Path) -> bool:
    return isinstance(filename, str) and Path(filename).is_relative_to(directory)


def _read(settings: Settings, store: Store, source: SourceSettings, client: HttpClient,
          progress: Progress | None) -> Collected:
    with store.read() as unit:
        row = unit.sources.cache_validators(source.name, source.url)
        # held removals wait for a run that reads the source again: no conditional GET then
        usable = row is not None and unit.datasets.has_current(source.name) \
            and not unit.datasets.any_held(source.name)
    cached = Cached(CacheValidators(row.etag, row.last_modified), row.body_sha256) \
        if usable and row is not None else None
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

        searched = SearchReader(client, source.name, max_pages=max_pages,
                                headers=source.headers, workdir=workdir, progress=report,
                                fetch_options=options,
                                ).read(source.url, organisations=source.organisations)
        cap = settings.harvest.max_datasets
        if len(searched.parsed.entries) > cap:
            raise DcatwatchError(
                "run.too_many_datasets", f"source {source.name!r} lists more than {cap} "
                f"datasets ([harvest] max_datasets = {cap}); the run failed and changed "
                "nothing", source.url)
        return searched
    reader = DocumentReader(client, source.name, max_pages=max_pages, syntax=source.syntax,
                            headers=source.headers, workdir=workdir, progress=report,
                            fetch_options=options, jsonld=settings.jsonld,
                            limits=settings.harvest, store=store)
    return reader.read(source.url, cached)


def _finish(unit: Unit, settings: Settings, source: SourceSettings, collected: Collected,
            result: RunResult, started: float) -> None:
    """Apply what the run read and fill ``result`` (its record is the caller's to write)."""
    result.errors = list(collected.errors) + [
        DcatwatchError(p.code, p.message, p.url or p.subject) for p in collected.parsed.problems]
    # an error in a page or in one record (record.invalid) makes the run partial: a dataset
    # that could not be read must not count as removed, nor the page as known-good
    fatal = any(CATALOGUE[e.code].severity == "error" for e in result.errors)
    result.counts.pages = len(collected.pages)
    if not collected.pages:
        result.status = "failed"
        unit.sources.record_outcome(source.name, "failed")
    else:
        result.status = "partial" if fatal or not collected.complete else "ok"
        _write(unit, settings, source, collected, result)
    result.duration_s = round(time.monotonic() - started, 3)


def _write(unit: Unit, settings: Settings, source: SourceSettings, collected: Collected,
           result: RunResult) -> None:
    """Apply a run that read pages (or learnt they are unchanged) and count the source."""
    stamp = now()
    counts = result.counts
    if not collected.not_modified:
        _apply(unit, settings, source, collected, result, stamp)
    totals = unit.datasets.counts(source.name)
    counts.datasets, counts.agencies = totals.datasets, totals.agencies
    counts.distributions = totals.distributions
    result.unattributed = totals.unattributed
    counts.data_services = unit.services.count(source.name)
    counts.agencies = unit.agencies.of_source(source.name)  # of its datasets and services
    result.unattributed_services = unit.services.unattributed().get(source.name, 0)
    if collected.not_modified:
        # nothing was read: the datasets stand as the last good run left them (that
        # run's time stays their last_seen_at; the source's last_success_at moves on)
        counts.unchanged = counts.datasets
    if counts.held_removals:
        _held_message(unit, settings, source, result, stamp)
    ok = result.status == "ok"
    if ok and len(collected.pages) == 1:
        page = collected.pages[0]
        unit.sources.remember_page(source.name, page.url, page.validators.etag,
                                   page.validators.last_modified, page.sha256, stamp)
    unit.sources.record_outcome(source.name, result.status, counts.datasets,
                                stamp if ok else None)


def _held_message(unit: Unit, settings: Settings, source: SourceSettings, result: RunResult,
                  stamp: datetime) -> None:
    """Say which removals are held and from when a run may apply them (``run.held_removals``
    and ``removals_due_at``), by the rule of :func:`apply.removal_hold`."""
    held = unit.datasets.held_since(source.name) or stamp
    missed = unit.datasets.runs_missing_since(source.name, [held]).get(held, 0) + 1
    due = (apply.removal_hold(True, held, 0, stamp, settings.harvest.removal_hold_hours)
           or stamp).astimezone(UTC)
    since = (held if held.tzinfo else held.replace(tzinfo=UTC)).astimezone(UTC)
    result.removals_due_at = due
    runs = max(apply.HOLD_RUNS - missed, 0)
    more = f", after {runs} more successful run{'s' * (runs != 1)} that miss them" if runs \
        else ""
    result.errors.append(DcatwatchError(
        "run.held_removals", f"{result.counts.held_removals} datasets no longer listed were "
        f"held back, not removed (held since {since:%Y-%m-%d %H:%M} UTC, {missed} successful "
        f"run{'s' * (missed != 1)} missed them): a run from {due:%Y-%m-%d %H:%M} UTC on "
        f"removes them{more}; `dcatwatch harvest --confirm-removals {source.name}` removes "
        "them now", source.url))


def _apply(unit: Unit, settings: Settings, source: SourceSettings, collected: Collected,
           result: RunResult, stamp: datetime) -> None:
    """Apply the datasets, services and agencies a run read."""
    parsed = collected.parsed
    resolver = AgencyResolver(settings.agencies, unit.agencies.registry_aliases(),
                              source_agency=source.agency)
    threshold = source.removal_threshold if source.removal_threshold is not None \
        else settings.harvest.removal_threshold
    complete = result.status == "ok"
    apply.apply_datasets(unit, source.name, parsed.entries, resolver, stamp, result.counts,
                         complete=complete, threshold=threshold,
                         hold_hours=settings.harvest.removal_hold_hours)
    result.services_changed = apply.apply_services(
        unit, source.name, parsed.services, resolver, stamp, complete=complete,
        datasets_listed=bool(parsed.entries))
    record_seen(unit, resolver.seen)


def confirm_removals(store: Store, source: str) -> int:
    """Remove the datasets the guard held for ``source``; returns how many."""
    with store.write() as unit:
        return unit.datasets.confirm_held(source, now())
