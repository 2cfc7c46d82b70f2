"""The harvests the dispatcher starts: the due sources (:mod:`~dcatwatch.schedules.state`)
in a pool of ``[daemon] max_concurrent_harvests``, longest overdue first, at most one run
per source. Starting a run moves the source to its cron's next time; fire times missed
meanwhile are counted in ``dcatwatch_missed_runs_total{job="harvest"}``. A failed run is
retried after ``[daemon] retry_failed_after`` seconds."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from dcatwatch.config import Settings
from dcatwatch.cron import fire_times_between, next_after, setting_trigger
from dcatwatch.http.client import HttpClient
from dcatwatch.logs import log_context
from dcatwatch.metrics import Instruments
from dcatwatch.schedules import jobs, state
from dcatwatch.schedules.active import ActiveWork
from dcatwatch.schedules.pending import Pending
from dcatwatch.schedules.store_watch import StoreWatch
from dcatwatch.store.core import Store, StoreError, Unit, describe
from dcatwatch.store.runs import RunResult

log = logging.getLogger(__name__)


class Harvests:
    """The harvest pool over the enabled sources and their crons.

    ``changed(source)`` follows a run that changed the store, ``ended()`` every run (the
    dispatcher looks again), ``retry_at(source, moment)`` a failed run's retry."""

    def __init__(self, settings: Settings, store: Store, instruments: Instruments,
                 client: HttpClient, work: ActiveWork, watch: StoreWatch, pending: Pending, *,
                 changed: Callable[[str], None], ended: Callable[[], None],
                 retry_at: Callable[[str, datetime], None]) -> None:
        self.settings = settings
        self.options = settings.daemon
        self.store = store
        self.instruments = instruments
        self.client = client
        self.work = work
        self.watch = watch
        self.pending = pending
        self.changed, self.ended, self.retry_at = changed, ended, retry_at
        self.sources = {s.name: s for s in settings.sources if s.enabled}
        self.triggers = {
            s.name: setting_trigger(f"sources[{i}] ({s.name}).schedule", s.schedule)
            for i, s in enumerate(settings.sources) if s.enabled}
        self.pool = ThreadPoolExecutor(self.options.max_concurrent_harvests,
                                       thread_name_prefix="harvest")
        self.running: dict[str, Future[None]] = {}
        self._lock = threading.Lock()  # guards starting runs and self.running

    def sync_schedules(self, unit: Unit, now: datetime) -> None:
        """One schedule row per enabled source (a changed cron moves it to its next time)."""
        unit.schedules.sync({n: s.schedule for n, s in self.sources.items()}, now,
                            lambda name: next_after(self.triggers[name], now))

    @contextmanager
    def held(self) -> Iterator[set[str]]:
        """No run starts or ends in this block; the sources being harvested."""
        with self._lock:
            yield set(self.running)

    def start_due(self) -> None:
        """Start due sources in the free slots, longest overdue first."""
        with self._lock:
            free = self.options.max_concurrent_harvests - len(self.running)
            if free <= 0:
                return
            now = datetime.now(UTC)
            with self.store.read() as unit:
                found = state.due(unit, now, set(self.running), free)
            started = []
            for due in found:
                try:
                    self.running[due.source] = self.pool.submit(self._harvest, due.source)
                except RuntimeError:  # the pool was shut down: stopping
                    break
                started.append(due)
            if not started:
                return
            with self.store.write() as unit:  # before a run can end (that waits for _lock)
                for due in started:
                    unit.schedules.set_next_run(due.source,
                                                next_after(self.triggers[due.source], now))
            for due in started:
                missed = fire_times_between(self.triggers[due.source], due.due_at, now)
                if missed:
                    self.instruments.missed_runs.labels("harvest").inc(missed)
                    log.info("%d scheduled runs missed; one run now", missed,
                             extra={"source": due.source})

    def _harvest(self, name: str) -> None:
        with self.work.track(f"harvest {name}"), log_context(source=name):
            result = self._harvest_once(name)
            if result is None or result.status == "failed":
                self._retry_later(name)
            elif jobs.changed(result):
                self.changed(name)
        self.ended()

    def _harvest_once(self, name: str) -> RunResult | None:
        self.instruments.harvests_running.inc()
        try:
            return jobs.harvest_one(self.settings, self.store, self.sources[name], self.client,
                                    self.instruments)
        except Exception as exc:  # noqa: BLE001 - e.g. the store went away; retried
            if isinstance(exc, StoreError):
                self.watch.failed(exc)
                log.error("harvest could not record its end (%s); the run is marked failed "
                          "and retried when the store is back", describe(exc),
                          extra={"code": "run.internal"})
            else:
                log.exception("harvest could not run", extra={"code": "run.internal"})
            self.instruments.record_unfinished(1)
            self.pending.lose_harvest(name)  # its run row may still say running
            return None
        finally:
            self.instruments.harvests_running.dec()
            with self._lock:
                del self.running[name]

    def _retry_later(self, name: str) -> None:
        if self.options.retry_failed_after <= 0:
            return
        retry = datetime.now(UTC) + timedelta(seconds=self.options.retry_failed_after)
        try:
            with self.store.write() as unit:
                unit.schedules.retry_by(name, retry)
        except StoreError as exc:
            self.watch.failed(exc)
            log.warning("cannot schedule the retry now; it is written when the store is back",
                        extra={"code": "run.internal"})
            self.pending.retry(name, retry)
            return
        self.retry_at(name, retry)
