"""``dcatwatch serve``: the daemon.

One APScheduler 3 ``BlockingScheduler`` (Europe/Stockholm) runs a few jobs:

* ``dispatcher`` (at start, then every minute, and whenever a harvest ends): starts the due
  sources (state.py) in a thread pool of ``max_concurrent_harvests``, at most one run per
  source. After a run that changed something: validation of the source (when the
  validators are installed) and a scoring run (coalesced across harvests).
* ``link_recheck`` and ``reports`` on their crons; a scoring run once at start.

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
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
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
from dcatwatch.errors import ConfigError
from dcatwatch.harvester.run import sync_configuration
from dcatwatch.http.client import HttpClient
from dcatwatch.logs import log_context
from dcatwatch.metrics import Instruments, MetricsServer, StoreCollector, new_registry
from dcatwatch.schedules import jobs, state
from dcatwatch.schedules.cron import TIMEZONE, fire_times_between, next_after, setting_trigger
from dcatwatch.store.core import Store, StoreError
from dcatwatch.store.runs import RunResult

log = logging.getLogger(__name__)
DISPATCH_EVERY = timedelta(minutes=1)


def serve(settings: Settings, demo: bool = False, demo_dir: Path | None = None) -> int:
    """Run the daemon until SIGTERM/SIGINT; returns the exit status (0).

    ``demo``: serve the bundled example catalogues on loopback and watch them instead of
    the configured sources, with a SQLite store in ``demo_dir`` (default:
    :func:`dcatwatch.demo.server.default_directory`), kept after the demo stops so that the
    configuration it writes there keeps working. Where it is, is logged on start.
    """
    if not demo:
        return _serve(settings)
    from dcatwatch.demo.server import DemoSite, default_directory, demo_settings, write_config

    with ExitStack() as stack:
        directory = demo_dir or default_directory()
        directory.mkdir(parents=True, exist_ok=True)
        site = stack.enter_context(DemoSite())
        chosen = demo_settings(settings, site.base_url, directory)
        config = write_config(chosen, directory)
        host, port = chosen.server.host, chosen.server.port
        log.info("dcatwatch demo: example catalogues at %s/, metrics at http://%s:%s/metrics; "
                 "store and configuration kept in %s; try: dcatwatch --config %s scores",
                 site.base_url, host, port, directory, config)
        return _serve(chosen)


def _serve(settings: Settings) -> int:
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        logging.getLogger("apscheduler").setLevel(logging.WARNING)  # a line per job run
    store = Store.open(settings.database.url)
    registry = new_registry()
    instruments = Instruments(registry)
    registry.register(StoreCollector(store))
    daemon = Daemon(settings, store, instruments)
    try:
        server = MetricsServer(settings.server.host, settings.server.port, registry,
                               daemon.readiness)
    except OSError as exc:
        raise ConfigError("server.port", f"cannot listen on {settings.server.host}:"
                          f"{settings.server.port}: {exc.strerror or exc}") from None
    daemon.scored = server.warm  # render the new agency figures before Prometheus asks
    daemon.prepare()
    server.start()
    host, port = server.address
    log.info("serving %d sources; metrics on http://%s:%d/metrics", len(daemon.sources),
             host, port)
    daemon.run()
    abandoned = daemon.drain()
    server.close()
    if abandoned:
        log.warning("shutdown grace of %.0f s is over; abandoning %s (interrupted runs are "
                    "marked failed and retried at the next start)",
                    daemon.options.shutdown_grace, ", ".join(abandoned))
        _exit_now()
    daemon.close()
    log.info("stopped")
    return 0


def _exit_now() -> None:
    """Exit 0 at once, without waiting for worker threads (they are abandoned)."""
    logging.shutdown()
    sys.stderr.flush()
    os._exit(0)


class ActiveWork:
    """What is running now, so that a shutdown can wait for it."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._active: Counter[str] = Counter()

    @contextmanager
    def track(self, name: str) -> Iterator[None]:
        with self._changed:
            self._active[name] += 1
        try:
            yield
        finally:
            with self._changed:
                self._active[name] -= 1
                if not self._active[name]:
                    del self._active[name]
                self._changed.notify_all()

    def wait_idle(self, timeout: float) -> list[str]:
        """Wait up to ``timeout`` seconds for all work to end; what is still running."""
        with self._changed:
            self._changed.wait_for(lambda: not self._active, timeout)
            return sorted(self._active)


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
            executors={"default": JobThreads(2), "dispatch": JobThreads(1)},
            job_defaults={"coalesce": True, "max_instances": 1,
                          "misfire_grace_time": self.options.misfire_grace})
        self.pool = ThreadPoolExecutor(self.options.max_concurrent_harvests,
                                       thread_name_prefix="harvest")
        self.client = HttpClient(settings.http, on_response=instruments.on_response)
        self.running: dict[str, Future[None]] = {}
        self.work = ActiveWork()
        self.stopping = threading.Event()
        self._started = threading.Event()
        self._lock = threading.Lock()  # guards dispatching and self.running
        self._scoring = jobs.Coalescing(self._score)
        self.scored: Callable[[], None] = lambda: None  # called after each scoring run

    def prepare(self) -> None:
        """Sync the configuration into the store, recover from a crash, add the jobs."""
        now = datetime.now(UTC)
        sync_configuration(self.store, self.settings)
        with self.store.write() as unit:
            unit.schedules.sync({n: s.schedule for n, s in self.sources.items()}, now,
                                lambda name: next_after(self.triggers[name], now))
            interrupted = state.recover_interrupted(unit, now)
        if interrupted:
            self.instruments.record_unfinished(len(interrupted))
            log.warning("%d runs left running by a previous process are marked failed: %s",
                        len(interrupted), ", ".join(interrupted), extra={"code": "run.internal"})
        self._add("dispatcher", self.dispatch, trigger=IntervalTrigger(
            seconds=DISPATCH_EVERY.total_seconds(), timezone=TIMEZONE), executor="dispatch",
            next_run_time=datetime.now(TIMEZONE))
        self._add("link_recheck", jobs.recheck_links, self.settings, self.store, self.client,
                  self._scoring.request, self.instruments,
                  trigger=setting_trigger("daemon.link_recheck", self.options.link_recheck))
        self._add("reports", jobs.send_reports, self.settings, self.store, self.instruments,
                  trigger=setting_trigger("reports.schedule", self.settings.reports.schedule))
        self._add("scoring", self._scoring.request)  # once, now: scores as of this config
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

    def run(self) -> None:
        """Run the scheduler until a signal stops it."""
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._on_signal)
        self.scheduler.start()

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        if self.stopping.is_set():
            log.warning("second %s: exiting now", signal.Signals(signum).name)
            _exit_now()
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
        self.instruments.missed_runs.labels(event.job_id).inc()
        log.warning("scheduled run missed (late beyond the misfire grace, or the last run "
                    "still running)", extra={"job": event.job_id})

    def dispatch(self) -> None:
        """Start due sources in the free harvest slots, longest overdue first."""
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
                self._checks_and_scores(name)
        self.dispatch()

    def _harvest_once(self, name: str) -> RunResult | None:
        self.instruments.harvests_running.inc()
        try:
            return jobs.harvest_one(self.settings, self.store, self.sources[name], self.client,
                                    self.instruments)
        except Exception:  # noqa: BLE001 - e.g. the store went away; retried like a failure
            log.exception("harvest could not run", extra={"code": "run.internal"})
            self.instruments.record_unfinished(1)
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
        except StoreError:
            log.exception("cannot schedule the retry; the source waits for its next cron time")

    def _checks_and_scores(self, name: str) -> None:
        """Validate the changed source, then rescore; a failure of either is logged and
        caught up later (next harvest, link re-check, or the scoring at start)."""
        try:
            jobs.validate_source(self.settings, self.store, name, self.client, self.instruments)
        except Exception:  # noqa: BLE001 - scores must not wait for a broken check
            log.exception("validation failed")
        try:
            self._scoring.request()
        except Exception:  # noqa: BLE001
            log.exception("scoring failed")

    def readiness(self) -> str | None:
        """None when ready (scheduler running, store answering), else the reason."""
        if self.stopping.is_set():
            return "shutting down"
        if not self.scheduler.running:
            return "scheduler not running"
        problem = self.store.unreachable()
        if problem is not None:
            return f"store unreachable ({problem})"
        return None

    def drain(self) -> list[str]:
        """After the scheduler stopped: wait for running work; what is still running."""
        self.pool.shutdown(wait=False, cancel_futures=True)
        return self.work.wait_idle(self.options.shutdown_grace)

    def close(self) -> None:
        self.client.close()
        self.store.close()
