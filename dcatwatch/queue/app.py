"""The procrastinate app: task definitions, the periodic dispatcher, stalled-job recovery.

Jobs (task names ``dcatwatch.*``), all in the store's PostgreSQL database:

* ``dispatch`` — periodic, every minute, deferred **once per minute across all workers**
  (procrastinate's ``procrastinate_periodic_defers`` is unique per timestamp). It claims the
  due sources in ``source_schedule`` (``FOR UPDATE SKIP LOCKED``), moves each to its cron's
  next time and defers a ``harvest`` with ``queueing_lock`` *and* ``lock`` ``harvest:SOURCE``:
  at most one harvest of a source waits and one runs. When ``[daemon] link_recheck`` or
  ``[reports] schedule`` (Europe/Stockholm crons, as in the local daemon) fired within the
  minute, it defers a ``validate`` per source or a ``report`` per (agency, period).
* ``harvest`` → when the store changed: ``validate`` of that source and a ``score``
  (queueing locks coalesce them); when it failed: an earlier retry (``retry_failed_after``).
* ``recover`` — periodic, every few seconds: jobs of workers without a heartbeat for
  ``[queue] stalled_after`` seconds (killed, frozen, cut off) are retried on another worker;
  the run rows they left are marked ``interrupted`` by the retried job.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import procrastinate
from procrastinate.exceptions import AlreadyEnqueued
from sqlalchemy.engine import make_url

from dcatwatch.config import Settings
from dcatwatch.cron import fire_times_between, next_after, setting_trigger
from dcatwatch.queue import tasks
from dcatwatch.queue.tasks import Runtime

log = logging.getLogger(__name__)
PREFIX = "dcatwatch."
TASKS = ("dispatch", "recover", "harvest", "validate", "score", "report")
CONTROL_PRIORITY = 10  # dispatch and recover go before waiting work
SCORE_PRIORITY = 5  # a scoring run is short and shows a harvest's figures: before the rest
VALIDATE_PRIORITY = -5  # a validation waits for the harvests waiting: it needs their links


def conninfo(url: str) -> str:
    """libpq conninfo for a SQLAlchemy ``postgresql+psycopg://`` URL."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class Jobs:
    """The app and the state the tasks of this process share (set by the worker)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.runtime: Runtime | None = None
        self.active = 0
        self.active_changed = threading.Condition()
        self.app = procrastinate.App(connector=procrastinate.PsycopgConnector(
            conninfo=conninfo(settings.database.url)))
        self.triggers = {s.name: setting_trigger(f"sources[{i}] ({s.name}).schedule", s.schedule)
                         for i, s in enumerate(settings.sources) if s.enabled}
        self.link_recheck = setting_trigger("daemon.link_recheck", settings.daemon.link_recheck)
        self.reports = setting_trigger("reports.schedule", settings.reports.schedule)
        stalled = settings.queue.stalled_after
        self.recover_every = max(1, int(stalled // 3))
        task = self.app.task
        self.dispatch = self.app.periodic(cron="* * * * *", periodic_id="dispatch")(
            task(name=PREFIX + "dispatch", priority=CONTROL_PRIORITY)(self._dispatch))
        self.recover = self.app.periodic(cron=f"* * * * * */{self.recover_every}",
                                         periodic_id="recover")(
            task(name=PREFIX + "recover", priority=CONTROL_PRIORITY)(self._recover))
        self.harvest = task(name=PREFIX + "harvest")(self._tracked(self._harvest))
        self.validate = task(name=PREFIX + "validate", priority=VALIDATE_PRIORITY)(
            self._tracked(self._validate))
        self.score = task(name=PREFIX + "score", priority=SCORE_PRIORITY)(
            self._tracked(self._score))
        self.report = task(name=PREFIX + "report")(self._tracked(self._report))

    @property
    def rt(self) -> Runtime:
        assert self.runtime is not None, "the worker sets the runtime before jobs run"
        return self.runtime

    def _tracked(self, work: Callable[..., None]) -> Callable[..., None]:
        """``work`` counted as running, so that a shutdown knows what it abandons."""
        def run(**kwargs: Any) -> None:
            with self.active_changed:
                self.active += 1
            try:
                work(**kwargs)
            finally:
                with self.active_changed:
                    self.active -= 1
                    self.active_changed.notify_all()
        run.__name__ = work.__name__.lstrip("_")
        run.__qualname__ = run.__name__
        run.__module__ = __name__
        return run

    # -- deferring (each once: queueing locks coalesce what is already waiting) --

    def defer_harvest(self, source: str, scheduled_for: datetime | None) -> bool:
        key = f"harvest:{source}"
        return _defer(self.harvest.configure(lock=key, queueing_lock=key), source=source,
                      scheduled_for=None if scheduled_for is None else scheduled_for.isoformat())

    def defer_startup_dispatch(self) -> bool:
        return _defer(self.dispatch.configure(queueing_lock="dispatch-startup"),
                      timestamp=int(datetime.now(UTC).timestamp()) + 1, startup=True)

    def defer_validate(self, source: str) -> bool:
        key = f"validate:{source}"
        return _defer(self.validate.configure(lock=key, queueing_lock=key), source=source)

    def defer_score(self) -> bool:
        return _defer(self.score.configure(lock="score", queueing_lock="score"))

    def defer_report(self, agency: str, period: str) -> bool:
        key = f"report:{agency}:{period}"
        return _defer(self.report.configure(lock=f"report:{agency}", queueing_lock=key),
                      agency=agency, period=period)

    # -- the tasks --

    def _dispatch(self, timestamp: int, startup: bool = False) -> None:
        """Defer the harvests due at ``timestamp`` (this minute), and the link re-check and
        reports when their crons fired within the minute (not on a ``startup`` dispatch,
        which a worker defers when it starts so that new sources need not wait)."""
        now = datetime.fromtimestamp(timestamp, UTC)
        with self.rt.store.write() as unit:
            due = unit.queue.claim_due(now, lambda name: next_after(self.triggers[name], now))
        for source, due_at in due:
            if source not in self.triggers:
                continue
            if not self.defer_harvest(source, due_at):
                log.info("a harvest of this source is still waiting; not queued again",
                         extra={"source": source})
            missed = fire_times_between(self.triggers[source], due_at, now)
            if missed:
                self.rt.instruments.missed_runs.labels("harvest").inc(missed)
        if startup:
            return
        minute_ago = now - timedelta(minutes=1)
        if fire_times_between(self.link_recheck, minute_ago, now + timedelta(seconds=1)):
            for source in self.triggers:
                self.defer_validate(source)
        if fire_times_between(self.reports, minute_ago, now + timedelta(seconds=1)):
            from dcatwatch.reports.period import Period

            period = str(Period.parse(None))
            for agency in self.settings.agencies:
                if agency.reports and agency.email:
                    self.defer_report(agency.id, period)

    async def _recover(self, timestamp: int) -> None:
        """Retry the jobs of stalled workers; prune those workers."""
        manager = self.app.job_manager
        stalled = await manager.get_stalled_jobs(
            seconds_since_heartbeat=self.settings.queue.stalled_after)
        for job in stalled:
            if job.task_name in (PREFIX + "dispatch", PREFIX + "recover"):
                await manager.finish_job_by_id_async(job.id, procrastinate.jobs.Status.FAILED,
                                                     delete_job=False)
                continue  # periodic: the next period defers it anew
            log.warning("job %s (%s) of a stalled worker is retried", job.id, job.call_string,
                        extra={"code": "queue.stalled"})
            await manager.retry_job(job)
        await manager.prune_stalled_workers(self.settings.queue.stalled_after)

    def _harvest(self, source: str, scheduled_for: str | None = None) -> None:
        if source not in self.triggers:
            log.warning("source %s is not configured (or disabled) here; skipped", source)
            return
        when = None if scheduled_for is None else datetime.fromisoformat(scheduled_for)
        result = tasks.harvest(self.rt, source, when)
        if result.status == "failed":
            retry = self.settings.daemon.retry_failed_after
            if retry > 0:
                with self.rt.store.write() as unit:
                    unit.schedules.retry_by(source, datetime.now(UTC) + timedelta(seconds=retry))
        elif tasks.changed(result):
            tasks.feed_links(self.rt, source)
            self.defer_validate(source)
            self.defer_score()

    def _validate(self, source: str | None = None) -> None:
        try:
            tasks.validate(self.rt, source)
        except ImportError as exc:  # the validators' optional parts are missing
            log.warning("validation unavailable: %s", exc)
        self.defer_score()

    def _score(self) -> None:
        tasks.score(self.rt)

    def _report(self, agency: str, period: str) -> None:
        tasks.send_report(self.rt, agency, period)


def _defer(deferrer: Any, **kwargs: Any) -> bool:
    """Defer a job; False when an identical one is already waiting (its queueing lock)."""
    try:
        deferrer.defer(**kwargs)
    except AlreadyEnqueued:
        return False
    return True


def install_schema(settings: Settings) -> bool:
    """Create procrastinate's tables in ``[database] url`` unless present; True if created.

    (A later procrastinate release's own migrations are applied as its docs say; the pinned
    major version keeps the schema this code expects.)"""
    from dcatwatch.store.core import Store

    with Store.open(settings.database.url) as store, store.read() as unit:
        if unit.queue.procrastinate_installed():
            return False
    app = procrastinate.App(connector=procrastinate.SyncPsycopgConnector(
        conninfo=conninfo(settings.database.url)))
    with app.open():
        app.schema_manager.apply_schema()
    return True
