"""The work the daemon schedules, as plain functions over the services the CLI calls."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from dcatwatch.config import Settings, SourceSettings
from dcatwatch.harvester.run import harvest_source
from dcatwatch.http.client import HttpClient
from dcatwatch.logs import bind, log_context
from dcatwatch.metrics.instruments import Instruments
from dcatwatch.store.core import Store, StoreError, describe
from dcatwatch.store.runs import RunResult

if TYPE_CHECKING:
    from dcatwatch.validators.linkengine import LinkChecker

log = logging.getLogger(__name__)
LOGGED_ERRORS = 20  # per run; the rest are in the harvest_run row


def harvest_one(settings: Settings, store: Store, source: SourceSettings, client: HttpClient,
                instruments: Instruments) -> RunResult:
    """Harvest ``source`` once, count it and log it (lines carry the source and run id)."""
    with log_context(source=source.name):
        result = harvest_source(store, settings, source, client, _RunProgress(store))
        instruments.record_run(result)
        counts = result.counts
        log.info("harvest %s: %d datasets (%d added, %d updated, %d removed, %d held) from %d "
                 "pages in %.1f s", result.status, counts.datasets, counts.added,
                 counts.updated, counts.removed, counts.held_removals, counts.pages,
                 result.duration_s)
        for error in result.errors[:LOGGED_ERRORS]:
            log.warning("%s", error.message, extra={"code": error.code, "url": error.url})
        if len(result.errors) > LOGGED_ERRORS:
            log.warning("%d more problems are recorded with the run",
                        len(result.errors) - LOGGED_ERRORS)
    return result


class _RunProgress:
    """The harvest's progress callback: binds the run id to the log context, logs steps."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.run_id: int | None = None

    def __call__(self, source: str, message: str) -> None:
        if self.run_id is None:  # the run's row exists before its first fetch
            with self.store.read() as unit:
                self.run_id = unit.runs.running(source)
            bind(run_id=self.run_id)
        log.debug("%s", message)


def changed(result: RunResult) -> bool:
    """Whether a run changed what the store holds (so scores and checks are out of date):
    datasets, or the data services their levels may rest on."""
    counts = result.counts
    return bool(counts.added or counts.updated or counts.removed or result.services_changed)


def feed_links(store: Store, links: LinkChecker, source: str) -> None:
    """Hand ``source``'s harvested links to the link engine at once: its validation may wait
    for a slot, the hosts need not (the validation then waits for these checks or reads them
    stored). A store error only loses the head start."""
    try:
        with store.read() as unit:
            urls = unit.datasets.link_urls(source)
        links.start().feed(urls)
    except RuntimeError:
        pass  # shutting down
    except StoreError as exc:
        log.warning("links of %s not fed to the link engine: %s", source, describe(exc))


def validate_source(settings: Settings, store: Store, source: str | None, client: HttpClient,
                    metrics: Instruments | None = None,
                    link_engine: LinkChecker | None = None) -> None:
    """Validate ``source`` (None: every source): metadata, then the links and data files
    that are due (new and changed ones are always due); the links in ``link_engine`` when
    given (shared by the validations running at once)."""
    from dcatwatch.validators.service import validate

    result = validate(store, settings, client, source=source, metrics=metrics,
                      link_engine=link_engine)
    result.close()  # only the summary is logged: the rows are never read
    log.info("validated", extra={"summary": result.summary})


def score(store: Store, full: bool = False) -> None:
    """A scoring run with a snapshot (what ``/metrics`` shows per agency), using the stored
    link checks."""
    from dcatwatch.scoring.service import score as score_store

    run = score_store(store, full=full, snapshot=True)
    log.info("scored: %d datasets rescored, %d agencies", run.rescored, len(run.scores.agencies))


def send_reports(settings: Settings, store: Store, instruments: Instruments) -> None:
    """E-mail the reports that are due and count what was sent and what failed."""
    from dcatwatch.reports.service import send

    result = send(settings, store)
    instruments.record_emails(len(result.sent), len(result.failed))
    if result.new_unknown:
        log.warning("reports: delivery unknown for %s (no reply after DATA); not sent again "
                    "until `dcatwatch report resend`", ", ".join(result.new_unknown))
    log.info("reports: %s", result.summary())
