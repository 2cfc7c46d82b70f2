"""``dcatwatch serve``: the daemon. This module composes its parts; it is their map.

The scheduler (:mod:`.scheduler`, APScheduler 3 in Stockholm time) runs a few jobs:

* ``dispatcher`` (at start, then every minute, and whenever a harvest ends): does what a
  store failure left undone (below), then starts the due sources in the harvest pool, at
  most one run per source, and retries failed ones (:mod:`.harvests`, :mod:`.state`).
  After a run that changed something: a scoring run at once (coalesced across harvests;
  links not yet checked score as unknown), the source's links fed to the process's one
  link engine (:mod:`dcatwatch.validators.linkengine`: one lane per host), and a
  validation of the source (metadata, links, data) in the checks pool, which never holds a
  harvest slot and asks for another scoring run when it ends (:mod:`.checks`).
* ``link_recheck`` (a validation of every source, in the checks pool) and ``reports`` on
  their crons; a scoring run once at start.
* ``store_watch`` (every few seconds): a write probe while the store is failing, and now
  and then otherwise (:mod:`.store_watch`). When a write succeeds again, the work the
  failure left undone (:mod:`.pending`) is done: runs of this process left ``running`` are
  marked failed (interrupted), failed sources get their retry, interrupted validations,
  scoring and report runs run again (:mod:`.recovery`). ``/readyz`` fails while the store
  cannot be written; ``/metrics`` keeps answering (:mod:`.serve`).

Runs a killed process left ``running`` (harvest and validation runs) are marked failed at
start and their work is redone. The work itself is :mod:`.jobs`, over the services the CLI
calls.

SIGTERM or SIGINT stops new work and waits up to ``shutdown_grace`` seconds for running work
to finish (:mod:`.active`); then the process exits 0. Work still running then is abandoned:
a harvest writes its changes in one transaction at its end, so the store stays consistent,
and the next start marks the run failed and retries the source at once (as after SIGKILL).
A second signal abandons at once.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from datetime import UTC, datetime, timedelta
from types import FrameType

from apscheduler.triggers.interval import IntervalTrigger

from dcatwatch.config import DaemonSettings, Settings
from dcatwatch.cron import TIMEZONE, setting_trigger
from dcatwatch.harvester.run import sync_configuration
from dcatwatch.http.client import HttpClient
from dcatwatch.metrics import Instruments
from dcatwatch.schedules import jobs, state
from dcatwatch.schedules.active import ActiveWork
from dcatwatch.schedules.checks import Checks, Scoring
from dcatwatch.schedules.harvests import Harvests
from dcatwatch.schedules.pending import Pending
from dcatwatch.schedules.recovery import Recovery
from dcatwatch.schedules.scheduler import Scheduler
from dcatwatch.schedules.store_watch import WATCH_EVERY, StoreWatch
from dcatwatch.store.core import Store, StoreError
from dcatwatch.validators.linkengine import link_engine

log = logging.getLogger(__name__)
DISPATCH_EVERY = timedelta(minutes=1)


def exit_now() -> None:
    """Exit 0 at once, without waiting for worker threads (they are abandoned)."""
    logging.shutdown()
    sys.stderr.flush()
    os._exit(0)


class Daemon:
    """The parts, the jobs that drive them, signals and shutdown (see the module doc)."""

    def __init__(self, settings: Settings, store: Store, instruments: Instruments) -> None:
        self.settings = settings
        self.store = store
        self.options: DaemonSettings = settings.daemon
        self.instruments = instruments
        self.stopping = threading.Event()
        self.work = ActiveWork()
        self.scheduler = Scheduler(self.options.misfire_grace, self.work, instruments)
        self.pending = Pending()
        self.watch = StoreWatch(store, instruments)
        self.recovery = Recovery(store, instruments, self.pending, self.watch)
        self.client = HttpClient(settings.http, on_response=instruments.on_response)
        self.harvests = Harvests(settings, store, instruments, self.client, self.work,
                                 self.watch, self.pending, changed=self._changed,
                                 ended=self.dispatch, retry_at=self._dispatch_at)
        # every validation's link checks and data downloads: one lane per host (made after
        # the harvests, so that a bad cron is refused with no engine to stop)
        self.links = link_engine(settings, instruments)
        self.scoring = Scoring(store, self.work, self.watch, self.pending, self.stopping)
        self.checks = Checks(settings, store, instruments, self.client, self.links, self.work,
                             self.watch, self.pending, validated=self.scoring.request)

    def prepare(self) -> bool:
        """Sync the configuration into the store, recover from a crash, add the jobs.

        While the store cannot be written this waits (``/readyz`` says why) and tries again;
        False when a signal stopped the daemon meanwhile."""
        while True:
            try:
                self._prepare_store()
                break
            except StoreError as exc:
                self.watch.failed(exc)
            if self.stopping.wait(WATCH_EVERY):
                return False
        self.watch.ok()
        self._add_jobs()
        return True

    def _prepare_store(self) -> None:
        now = datetime.now(UTC)
        sync_configuration(self.store, self.settings)
        with self.store.write() as unit:
            self.harvests.sync_schedules(unit, now)
            harvests = state.recover_interrupted(unit, now)
            validations = unit.checks.recover_interrupted(now)
        self.recovery.at_start(harvests, validations)

    def _add_jobs(self) -> None:
        add = self.scheduler.add
        add("dispatcher", self.dispatch, trigger=IntervalTrigger(
            seconds=DISPATCH_EVERY.total_seconds(), timezone=TIMEZONE), executor="dispatch",
            next_run_time=datetime.now(TIMEZONE))
        # every source, in the checks pool (a store failure redoes it; scores follow)
        add("link_recheck", self.checks.request, None,
            trigger=setting_trigger("daemon.link_recheck", self.options.link_recheck))
        add("reports", self._send_reports,
            trigger=setting_trigger("reports.schedule", self.settings.reports.schedule))
        # a probe still waiting for a long write is no missed run: the next comes in seconds
        add("store_watch", self.watch_store, trigger=IntervalTrigger(
            seconds=WATCH_EVERY, timezone=TIMEZONE), executor="watch", count_missed=False)
        self.scoring.request()  # once, now: scores as of this config

    def install_signals(self) -> None:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._on_signal)

    def run(self) -> None:
        """Run the scheduler until a signal stops it."""
        self.scheduler.run()

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        if self.stopping.is_set():
            log.warning("second %s: exiting now", signal.Signals(signum).name)
            exit_now()
        log.info("%s: taking no new work; waiting up to %.0f s for running work",
                 signal.Signals(signum).name, self.options.shutdown_grace)
        self.stopping.set()
        threading.Thread(target=self.scheduler.stop, name="stop", daemon=True).start()

    def dispatch(self) -> None:
        """The dispatcher: do what a store failure left undone, then (unless stopping)
        start due sources."""
        try:
            self.flush_pending()
            if not self.stopping.is_set():
                self.harvests.start_due()
        except StoreError as exc:  # the next tick (or the store watch) carries on
            self.watch.failed(exc)

    def _changed(self, source: str) -> None:
        """A harvest changed ``source``: score at once (its new links score as unknown),
        start the link engine on its links, then validate it in the checks pool."""
        self.scoring.request()
        self.checks.feed_links(source)
        self.checks.request(source)

    def _dispatch_at(self, source: str, moment: datetime) -> None:
        """Have the dispatcher look again at ``moment`` (a retry sooner than its tick)."""
        self.scheduler.once(f"retry {source}", self.dispatch, moment, executor="dispatch")

    def _send_reports(self) -> None:
        try:
            jobs.send_reports(self.settings, self.store, self.instruments)
        except StoreError as exc:  # deliveries not sent stay in the outbox for the next run
            self.watch.interrupted("report", "report run", exc,
                                   " (deliveries not sent stay in the outbox)")
            self.pending.resend()

    def watch_store(self) -> None:
        """The store watch: probe the store; when it can be written again, do what its
        failure left undone."""
        if self.watch.probe(undone=self.pending.any()) and self.pending.any():
            self.dispatch()

    def flush_pending(self) -> None:
        """Do the work store failures left undone (:class:`Recovery`). Raises StoreError
        when the store still fails (the work stays pending)."""
        if not self.pending.any():
            return
        with self.harvests.held() as harvesting:  # no run starts meanwhile to be marked
            taken = self.recovery.take_lost(harvesting, self.checks.active())
        for name, moment in taken.retries.items():
            self._dispatch_at(name, moment)
        for source in taken.validations:
            self.checks.request(source)
        if taken.scoring:
            self.scoring.request()
        if taken.reports:
            self.scheduler.once("reports again",
                                self.scheduler.tracked("reports", self._send_reports))

    def readiness(self) -> str | None:
        """None when ready (scheduler running, store answering and writable), else the
        reason."""
        if self.stopping.is_set():
            return "shutting down"
        if self.watch.problem is not None:
            return (f"store not writable ({self.watch.problem}); work resumes when it is "
                    "back")
        if not self.scheduler.running:
            return "scheduler not running"
        problem = self.store.unreachable()
        if problem is not None:
            return f"store unreachable ({problem})"
        return None

    def drain(self) -> list[str]:
        """After the scheduler stopped: wait for running work; what is still running."""
        for pool in (self.harvests.pool, self.checks.pool, self.scoring.pool):
            pool.shutdown(wait=False, cancel_futures=True)
        return self.work.wait_idle(self.options.shutdown_grace)

    def close(self) -> None:
        self.links.stop()
        self.client.close()
        self.store.close()
