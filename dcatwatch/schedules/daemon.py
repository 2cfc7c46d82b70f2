"""``dcatwatch serve``: the daemon.

One APScheduler 3 ``BlockingScheduler`` (Europe/Stockholm) runs a few jobs:

* ``dispatcher`` (at start, then every minute, and whenever a harvest ends): starts the due
  sources (state.py) in a thread pool of ``max_concurrent_harvests``, at most one run per
  source. After a run that changed something: a scoring run at once (one thread, coalesced
  across harvests; links not yet checked score as unknown), and a validation of the source
  (metadata, links, data) in its own pool of ``max_concurrent_checks``, which never holds a
  harvest slot and asks for another scoring run when it ends. The link checks of all
  validations go to the process's one link engine (:mod:`dcatwatch.validators.linkengine`:
  one lane per host, ``[validation] in_flight`` requests in flight across hosts), so a host
  listed by many sources is worked in one queue as soon as any of them is validated.
* ``link_recheck`` (a validation of every source, in the checks pool) and ``reports`` on
  their crons; a scoring run once at start.
* ``store_watch`` (every few seconds): a write probe while the store is failing (and now
  and then otherwise); when a write succeeds again, the work a store failure left undone
  is done: runs of this process left ``running`` are marked failed (interrupted), failed
  sources get their retry, interrupted validations, scoring and report runs run again. The
  dispatcher does the same at each tick. ``/readyz`` fails while the store cannot be
  written; ``/metrics`` keeps answering.

Runs of every kind a killed process left ``running`` (harvest and validation runs) are
marked failed at start and their work is redone; interrupted runs are counted in
``dcatwatch_runs_interrupted_total{kind}``.

Jobs have an explicit misfire grace and coalesce; runs missed are counted in
``dcatwatch_missed_runs_total{job}``. The metrics server (``/metrics``, ``/healthz``,
``/readyz``) runs beside the scheduler.

SIGTERM or SIGINT stops new work and waits up to ``shutdown_grace`` seconds for running work
to finish; then the process exits 0. Work still running then is abandoned: a harvest writes
its changes in one transaction at its end, so the store stays consistent, and the next
start marks the run failed and retries the source at once (as after SIGKILL). A second
signal abandons at once.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import Any

from apscheduler.events import (
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    EVENT_SCHEDULER_STARTED,
    JobEvent,
    SchedulerEvent,
)
from apscheduler.executors.pool import ThreadPoolExecutor as JobThreads
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger

from dcatwatch.config import DaemonSettings, Settings
from dcatwatch.cron import TIMEZONE, fire_times_between, next_after, setting_trigger
from dcatwatch.harvester.run import sync_configuration
from dcatwatch.http.client import HttpClient
from dcatwatch.logs import log_context
from dcatwatch.metrics import Instruments
from dcatwatch.schedules import jobs, state
from dcatwatch.schedules.active import ActiveWork
from dcatwatch.schedules.pending import Pending
from dcatwatch.store.core import Store, StoreError, describe
from dcatwatch.store.db import hide_password
from dcatwatch.store.runs import RunResult
from dcatwatch.validators.linkengine import link_engine

log = logging.getLogger(__name__)
DISPATCH_EVERY = timedelta(minutes=1)
WATCH_EVERY = 2.0  # seconds between the store watch's looks
PROBE_EVERY = 10.0  # seconds between write probes while the store seems fine


def exit_now() -> None:
    """Exit 0 at once, without waiting for worker threads (they are abandoned)."""
    logging.shutdown()
    sys.stderr.flush()
    os._exit(0)


class Daemon:
    """The scheduler, the harvest pool and the jobs (see the module doc)."""

    def __init__(self, settings: Settings, store: Store, instruments: Instruments) -> None:
        self.settings = settings
        self.store = store
        self.options: DaemonSettings = settings.daemon
        self.instruments = instruments
        self.sources = {s.name: s for s in settings.sources if s.enabled}
        self.triggers = {
            s.name: setting_trigger(f"sources[{i}] ({s.name}).schedule", s.schedule)
            for i, s in enumerate(settings.sources) if s.enabled}
        self.scheduler = BlockingScheduler(
            timezone=TIMEZONE,
            executors={"default": JobThreads(2), "dispatch": JobThreads(1),
                       "watch": JobThreads(1)},
            job_defaults={"coalesce": True, "max_instances": 1,
                          "misfire_grace_time": self.options.misfire_grace})
        self.pool = ThreadPoolExecutor(self.options.max_concurrent_harvests,
                                       thread_name_prefix="harvest")
        self.checks = ThreadPoolExecutor(self.options.max_concurrent_checks,
                                         thread_name_prefix="checks")
        # every validation's link checks and data downloads: one lane per host
        self.links = link_engine(settings, instruments)
        self.scorer = ThreadPoolExecutor(1, thread_name_prefix="scoring")
        self.pending = Pending()
        self._checks_lock = threading.Lock()  # guards the two sets below
        self._checks_active: set[str | None] = set()  # queued or running validations
        self._checks_again: set[str | None] = set()  # asked for again while active
        self._score_queued = threading.Event()
        self._store_problem: str | None = None  # why the last store write failed
        self._last_probe = 0.0
        self.client = HttpClient(settings.http, on_response=instruments.on_response)
        self.running: dict[str, Future[None]] = {}
        self.work = ActiveWork()
        self.stopping = threading.Event()
        self._started = threading.Event()
        self._lock = threading.Lock()  # guards dispatching and self.running
        self._scoring = jobs.Coalescing(self._score)
        self.scored: Callable[[], None] = lambda: None  # called after each scoring run

    def prepare(self) -> bool:
        """Sync the configuration into the store, recover from a crash, add the jobs.

        While the store cannot be written this waits (``/readyz`` says why) and tries again;
        False when a signal stopped the daemon meanwhile."""
        while True:
            try:
                self._prepare_store()
                break
            except StoreError as exc:
                self.store_failed(exc)
            if self.stopping.wait(WATCH_EVERY):
                return False
        self._store_ok()
        self._add_jobs()
        return True

    def _prepare_store(self) -> None:
        now = datetime.now(UTC)
        sync_configuration(self.store, self.settings)
        with self.store.write() as unit:
            unit.schedules.sync({n: s.schedule for n, s in self.sources.items()}, now,
                                lambda name: next_after(self.triggers[name], now))
            interrupted = state.recover_interrupted(unit, now)
            validations = unit.checks.recover_interrupted(now)
        if interrupted:
            self.instruments.record_unfinished(len(interrupted))
            self.instruments.runs_interrupted.labels("harvest").inc(len(interrupted))
            log.warning("%d runs left running by a previous process are marked failed: %s",
                        len(interrupted), ", ".join(interrupted), extra={"code": "run.internal"})
        if validations:
            self.instruments.runs_interrupted.labels("validation").inc(len(validations))
            log.warning("%d validation runs left running by a previous process are marked "
                        "failed and run again: %s", len(validations),
                        ", ".join(s or "(every source)" for s in validations),
                        extra={"code": "run.internal"})
            self.pending.add_validations(validations)

    def _add_jobs(self) -> None:
        self._add("dispatcher", self.dispatch, trigger=IntervalTrigger(
            seconds=DISPATCH_EVERY.total_seconds(), timezone=TIMEZONE), executor="dispatch",
            next_run_time=datetime.now(TIMEZONE))
        # every source, in the checks pool (a store failure redoes it; scores follow)
        self._add("link_recheck", self.request_checks, None,
                  trigger=setting_trigger("daemon.link_recheck", self.options.link_recheck))
        self._add("reports", self._send_reports,
                  trigger=setting_trigger("reports.schedule", self.settings.reports.schedule))
        self._add("store_watch", self.watch_store, trigger=IntervalTrigger(
            seconds=WATCH_EVERY, timezone=TIMEZONE), executor="watch")
        self.request_scoring()  # once, now: scores as of this config
        self.scheduler.add_listener(self._on_missed, EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES)
        self.scheduler.add_listener(self._on_started, EVENT_SCHEDULER_STARTED)

    def _score(self) -> None:
        with log_context(job="scoring", source=None, run_id=None):  # for every source
            jobs.score(self.store)
            self.scored()

    def _add(self, name: str, work: Callable[..., None], *args: Any, **options: Any) -> None:
        """Add the scheduler job ``name``: ``work(*args)``, tracked for shutdown and logs."""
        def run() -> None:
            with self.work.track(name), log_context(job=name):
                work(*args)
        self.scheduler.add_job(run, id=name, name=name, **options)

    def install_signals(self) -> None:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._on_signal)

    def run(self) -> None:
        """Run the scheduler until a signal stops it."""
        self.scheduler.start()

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        if self.stopping.is_set():
            log.warning("second %s: exiting now", signal.Signals(signum).name)
            exit_now()
        log.info("%s: taking no new work; waiting up to %.0f s for running work",
                 signal.Signals(signum).name, self.options.shutdown_grace)
        self.stopping.set()
        threading.Thread(target=self._stop_scheduler, name="stop", daemon=True).start()

    def _stop_scheduler(self) -> None:
        self._started.wait()  # a signal may come while the scheduler is still starting
        self.scheduler.shutdown(wait=False)

    def _on_started(self, _event: SchedulerEvent) -> None:
        self._started.set()

    def _on_missed(self, event: JobEvent) -> None:
        if event.job_id == "store_watch":
            return  # a probe still waiting for a long write: the next one comes in seconds
        self.instruments.missed_runs.labels(event.job_id).inc()
        log.warning("scheduled run missed (late beyond the misfire grace, or the last run "
                    "still running)", extra={"job": event.job_id})

    def dispatch(self) -> None:
        """Do what a store failure left undone, then start due sources in the free harvest
        slots, longest overdue first."""
        try:
            self.flush_pending()
            self._dispatch()
        except StoreError as exc:  # the next tick (or the store watch) carries on
            self.store_failed(exc)

    def _dispatch(self) -> None:
        with self._lock:
            if self.stopping.is_set():
                return
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
                self.request_scoring()  # at once, from the metadata: links score as unknown
                jobs.feed_links(self.store, self.links, name)  # checked from now on
                self.request_checks(name)  # then links and data, in their own pool
        self.dispatch()

    def _harvest_once(self, name: str) -> RunResult | None:
        self.instruments.harvests_running.inc()
        try:
            return jobs.harvest_one(self.settings, self.store, self.sources[name], self.client,
                                    self.instruments)
        except Exception as exc:  # noqa: BLE001 - e.g. the store went away; retried
            if isinstance(exc, StoreError):
                self.store_failed(exc)
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
            self.store_failed(exc)
            log.warning("cannot schedule the retry now; it is written when the store is back",
                        extra={"code": "run.internal"})
            self.pending.retry(name, retry)
            return
        self._dispatch_at(name, retry)

    def _dispatch_at(self, name: str, moment: datetime) -> None:
        """Have the dispatcher look again at ``moment`` (a retry sooner than its tick)."""
        try:
            self.scheduler.add_job(self.dispatch, "date", run_date=moment, id=f"retry {name}",
                                   name=f"retry {name}", executor="dispatch",
                                   replace_existing=True, misfire_grace_time=None)
        except Exception:  # noqa: BLE001 - stopping: the next start dispatches
            log.debug("no dispatch added for the retry of %s", name)

    # scoring and checks, beside the harvests

    def request_scoring(self) -> None:
        """Have the scoring thread run a scoring run soon (requests merge while queued)."""
        if self._score_queued.is_set() or self.stopping.is_set():
            return
        self._score_queued.set()
        try:
            self.scorer.submit(self._score_now)
        except RuntimeError:  # shut down
            self._score_queued.clear()

    def _score_now(self) -> None:
        self._score_queued.clear()
        with self.work.track("scoring"), log_context(job="scoring"):
            try:
                self._scoring.request()
            except StoreError as exc:
                self.store_failed(exc)
                self.instruments.runs_interrupted.labels("scoring").inc()
                log.error("scoring run interrupted (%s); it runs again when the store is back",
                          describe(exc), extra={"code": "run.internal"})
                self.pending.rescore()
            except Exception:  # noqa: BLE001 - the next request tries again
                log.exception("scoring failed", extra={"code": "run.internal"})

    def request_checks(self, source: str | None) -> None:
        """Validate ``source`` (None: every source) in the checks pool; asked again while
        queued or running, it runs once more after."""
        with self._checks_lock:
            if source in self._checks_active:
                self._checks_again.add(source)
                return
            self._checks_active.add(source)
        try:
            self.checks.submit(self._validate, source)
        except RuntimeError:  # shut down: an interrupted validation is redone at start
            with self._checks_lock:
                self._checks_active.discard(source)

    def _validate(self, source: str | None) -> None:
        name = f"validation {source or '(every source)'}"
        again = False
        try:
            with self.work.track(name), log_context(job="validation", source=source):
                jobs.validate_source(self.settings, self.store, source, self.client,
                                     self.instruments, self.links.start())
                self.request_scoring()  # the link and data results count now
        except StoreError as exc:
            self.store_failed(exc)
            self.instruments.runs_interrupted.labels("validation").inc()
            log.error("validation interrupted (%s); it runs again when the store is back",
                      describe(exc), extra={"code": "run.internal", "source": source})
            self.pending.lose_validation(source)
        except Exception:  # noqa: BLE001 - scores must not wait for a broken check
            log.exception("validation failed", extra={"source": source})
        finally:
            with self._checks_lock:
                self._checks_active.discard(source)
                if source in self._checks_again:
                    self._checks_again.discard(source)
                    again = True
        if again:
            self.request_checks(source)

    def _send_reports(self) -> None:
        try:
            jobs.send_reports(self.settings, self.store, self.instruments)
        except StoreError as exc:  # deliveries not sent stay in the outbox for the next run
            self.store_failed(exc)
            self.instruments.runs_interrupted.labels("report").inc()
            log.error("report run interrupted (%s); it runs again when the store is back "
                      "(deliveries not sent stay in the outbox)", describe(exc),
                      extra={"code": "run.internal"})
            self.pending.resend()

    # the store's health, and the work its failures left undone

    def store_failed(self, exc: BaseException | str) -> None:
        """A store write failed: /readyz fails until one succeeds; logged once per outage."""
        problem = exc if isinstance(exc, str) else describe(exc)
        first = self._store_problem is None
        self._store_problem = problem
        self.instruments.store_writable.set(0)
        if first:
            log.error("the database %s cannot be written (%s): runs wait and are retried "
                      "when it is back; make sure it is running, reachable, writable and "
                      "has free space", hide_password(self.store.url), problem,
                      extra={"code": "run.internal"})

    def _store_ok(self) -> None:
        if self._store_problem is not None:
            log.info("the database can be written again; carrying on")
        self._store_problem = None
        self.instruments.store_writable.set(1)

    def watch_store(self) -> None:
        """Probe the store while it fails (and every ``PROBE_EVERY`` s otherwise); when it
        can be written again, do what its failure left undone."""
        now = time.monotonic()
        if (self._store_problem is None and not self.pending.any()
                and now - self._last_probe < PROBE_EVERY):
            return
        self._last_probe = now
        problem = self.store.unwritable()
        if problem is not None:
            self.store_failed(problem)
            return
        self._store_ok()
        if self.pending.any():
            self.dispatch()

    def flush_pending(self) -> None:
        """Mark the runs a store failure left ``running`` failed (interrupted), write the
        retries that could not be written, and redo interrupted validations and scoring.
        Raises StoreError when the store still fails (the work stays pending)."""
        if not self.pending.any():
            return
        taken = self.pending.take()
        now = datetime.now(UTC)
        try:
            with self._lock:  # no harvest starts meanwhile: its new run is not marked
                with self._checks_lock:
                    checking = set(self._checks_active)
                lost = sorted(taken.harvests - set(self.running))
                validations = [s for s in taken.validations if s not in checking]
                with self.store.write() as unit:
                    harvests = unit.runs.recover_interrupted(now, state.INTERRUPTED, lost)
                    unit.sources.set_last_status(sorted(set(harvests)), "failed")
                    unit.checks.recover_interrupted(now, validations)  # counted when lost
                    for name, moment in taken.retries.items():
                        unit.schedules.retry_by(name, moment)
        except BaseException:
            self.pending.put_back(taken)
            raise
        self._store_ok()
        if harvests:
            self.instruments.runs_interrupted.labels("harvest").inc(len(harvests))
            log.warning("harvest runs interrupted by the store failure are marked failed: %s",
                        ", ".join(harvests), extra={"code": "run.internal"})
        for name, moment in taken.retries.items():
            self._dispatch_at(name, moment)
        for source in taken.validations:
            self.request_checks(source)
        if taken.scoring:
            self.request_scoring()
        if taken.reports:
            self._run_now("reports", self._send_reports)

    def _run_now(self, name: str, work: Callable[[], None]) -> None:
        """Run the scheduler job ``work`` once now (tracked like the others)."""
        def run() -> None:
            with self.work.track(name), log_context(job=name):
                work()
        try:
            self.scheduler.add_job(run, id=f"{name} again", name=name, replace_existing=True,
                                   misfire_grace_time=None)
        except Exception:  # noqa: BLE001 - stopping: the next cron time sends them
            log.debug("%s not run again", name)

    def readiness(self) -> str | None:
        """None when ready (scheduler running, store answering and writable), else the
        reason."""
        if self.stopping.is_set():
            return "shutting down"
        if self._store_problem is not None:
            return (f"store not writable ({self._store_problem}); work resumes when it is "
                    "back")
        if not self.scheduler.running:
            return "scheduler not running"
        problem = self.store.unreachable()
        if problem is not None:
            return f"store unreachable ({problem})"
        return None

    def drain(self) -> list[str]:
        """After the scheduler stopped: wait for running work; what is still running."""
        for pool in (self.pool, self.checks, self.scorer):
            pool.shutdown(wait=False, cancel_futures=True)
        return self.work.wait_idle(self.options.shutdown_grace)

    def close(self) -> None:
        self.links.stop()
        self.client.close()
        self.store.close()
