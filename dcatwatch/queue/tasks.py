"""The service calls the queue's jobs make, in one thin module.

Each function takes a :class:`Runtime` (what a worker process holds: settings, the store,
the HTTP client, the counters, its name) and calls one service the CLI and the local
daemon call too. When the services' signatures change, only this module changes.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from dcatwatch.config import Settings
from dcatwatch.http.client import HttpClient
from dcatwatch.logs import log_context
from dcatwatch.metrics.instruments import Instruments
from dcatwatch.store.core import Store
from dcatwatch.store.runs import RunResult
from dcatwatch.validators.linkengine import LinkChecker

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Runtime:
    """What one worker process runs jobs with."""

    settings: Settings
    store: Store
    client: HttpClient
    instruments: Instruments
    worker: str  # host-pid
    links: LinkChecker  # this worker's link engine (its leases make politeness deployment-wide)


def harvest(rt: Runtime, source: str, scheduled_for: datetime | None) -> RunResult:
    """Harvest ``source`` once; the run row names this worker and the scheduled time."""
    from dcatwatch.harvester.run import harvest_source

    with log_context(source=source):
        with rt.store.write() as unit:
            interrupted = unit.queue.mark_interrupted(source, datetime.now(UTC))
        if interrupted:
            rt.instruments.record_unfinished(interrupted)
            log.warning("%d run(s) of a worker that stopped marked interrupted", interrupted,
                        extra={"code": "run.interrupted"})
        rt.instruments.harvests_running.inc()
        done = threading.Event()
        since = datetime.now(UTC) - timedelta(seconds=1)
        stamper = threading.Thread(target=_stamp_when_started, name="stamp", daemon=True,
                                   args=(rt, source, scheduled_for, since, done))
        stamper.start()
        try:
            result = harvest_source(rt.store, rt.settings, rt.settings.source(source),
                                    rt.client, _progress)
        finally:
            done.set()
            stamper.join()
            rt.instruments.harvests_running.dec()
        rt.instruments.record_run(result)
        log.info("harvest %s: %d datasets (%d added, %d updated, %d removed) in %.1f s",
                 result.status, result.counts.datasets, result.counts.added,
                 result.counts.updated, result.counts.removed,
                 result.duration_s)
    return result


def _progress(_source: str, message: str) -> None:
    log.debug("%s", message)


def _stamp_when_started(rt: Runtime, source: str, scheduled_for: datetime | None,
                        since: datetime, done: threading.Event) -> None:
    """Name this worker on the run row as soon as the harvest has recorded it (the harvest
    service does not take these labels yet; merge: pass them to it instead)."""
    while True:
        finished = done.is_set()
        try:
            with rt.store.write() as unit:
                run_id = unit.queue.stamp_harvest(source, rt.worker, scheduled_for, since,
                                                  finished=finished)
            if run_id is not None or finished:
                return
        except Exception:  # noqa: BLE001 - a label is not worth failing the run for
            log.exception("cannot label the run with its worker")
            return
        done.wait(0.05)


def changed(result: RunResult) -> bool:
    counts = result.counts
    return bool(counts.added or counts.updated or counts.removed or result.services_changed)


def feed_links(rt: Runtime, source: str) -> None:
    """Have this worker's link engine start on ``source``'s links now (its validation job
    may wait in the queue; the hosts need not)."""
    from dcatwatch.schedules.jobs import feed_links

    feed_links(rt.store, rt.links, source)


def validate(rt: Runtime, source: str | None) -> None:
    """Check ``source``'s links, data and metadata (None: every source)."""
    from dcatwatch.validators.service import validate as validate_store

    with rt.store.read() as unit:
        before = unit.queue.last_validation_id()
    with log_context(source=source):
        result = validate_store(rt.store, rt.settings, rt.client, source=source,
                                link_engine=rt.links.start())
        with rt.store.write() as unit:
            unit.queue.stamp_validations(before, rt.worker, None)
        log.info("validated", extra={"summary": result.summary})


def score(rt: Runtime) -> None:
    """A scoring run with a snapshot."""
    from dcatwatch.scoring.service import score as score_store

    run = score_store(rt.store, full=False, snapshot=True)
    log.info("scored: %d datasets rescored, %d agencies", run.rescored, len(run.scores.agencies))


def send_report(rt: Runtime, agency: str, period: str) -> None:
    """Send ``agency``'s report for ``period`` (the outbox sends it at most once)."""
    from dcatwatch.reports.service import send

    result = send(rt.settings, rt.store, agency, period)
    with rt.store.write() as unit:
        unit.queue.stamp_reports(agency, period, rt.worker)
    rt.instruments.record_emails(len(result.sent), len(result.failed))
    log.info("reports: %s", result.summary())
