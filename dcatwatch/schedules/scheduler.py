"""The daemon's scheduler: APScheduler 3's ``BlockingScheduler`` in Stockholm time, with the
daemon's habits. Jobs coalesce, run one at a time each, have an explicit misfire grace and
are tracked for shutdown and logs; runs missed are counted in
``dcatwatch_missed_runs_total{job}``; a one-off job added while stopping is dropped."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from apscheduler.events import (
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    EVENT_SCHEDULER_STARTED,
    JobEvent,
)
from apscheduler.executors.pool import ThreadPoolExecutor as JobThreads
from apscheduler.schedulers.blocking import BlockingScheduler

from dcatwatch.cron import TIMEZONE
from dcatwatch.logs import log_context
from dcatwatch.metrics import Instruments
from dcatwatch.schedules.active import ActiveWork

log = logging.getLogger(__name__)


class Scheduler:
    """Jobs in the executors ``default`` (two threads), ``dispatch`` and ``watch`` (one each)."""

    def __init__(self, misfire_grace: float, work: ActiveWork, instruments: Instruments) -> None:
        self.work = work
        self.instruments = instruments
        self.jobs = BlockingScheduler(
            timezone=TIMEZONE,
            executors={"default": JobThreads(2), "dispatch": JobThreads(1),
                       "watch": JobThreads(1)},
            job_defaults={"coalesce": True, "max_instances": 1,
                          "misfire_grace_time": misfire_grace})
        self._uncounted: set[str] = set()  # jobs whose missed runs are not counted
        self._started = threading.Event()
        self.jobs.add_listener(self._on_missed, EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES)
        self.jobs.add_listener(lambda _event: self._started.set(), EVENT_SCHEDULER_STARTED)

    @property
    def running(self) -> bool:
        return self.jobs.running

    def add(self, name: str, work: Callable[..., None], *args: Any, count_missed: bool = True,
            **options: Any) -> None:
        """Add the job ``name``: ``work(*args)`` on the trigger in ``options``."""
        if not count_missed:
            self._uncounted.add(name)
        self.jobs.add_job(self.tracked(name, work, *args), id=name, name=name, **options)

    def once(self, name: str, work: Callable[[], None], moment: datetime | None = None,
             **options: Any) -> None:
        """Run ``work`` once at ``moment`` (None: now) as the job ``name`` (replacing one of
        that name); while stopping, nothing is added."""
        try:
            self.jobs.add_job(work, "date", run_date=moment, id=name, name=name,
                              replace_existing=True, misfire_grace_time=None, **options)
        except Exception:  # noqa: BLE001 - stopping: the next start or cron time does it
            log.debug("%s not added", name)

    def tracked(self, name: str, work: Callable[..., None], *args: Any) -> Callable[[], None]:
        """``work(*args)`` as the job ``name``: tracked for shutdown, named in the logs."""
        def run() -> None:
            with self.work.track(name), log_context(job=name):
                work(*args)
        return run

    def run(self) -> None:
        """Run the jobs until :meth:`stop`."""
        self.jobs.start()

    def stop(self) -> None:
        """Stop the scheduler, once it has started (running jobs carry on)."""
        self._started.wait()  # a signal may come while the scheduler is still starting
        self.jobs.shutdown(wait=False)

    def _on_missed(self, event: JobEvent) -> None:
        if event.job_id in self._uncounted:
            return
        self.instruments.missed_runs.labels(event.job_id).inc()
        log.warning("scheduled run missed (late beyond the misfire grace, or the last run "
                    "still running)", extra={"job": event.job_id})
