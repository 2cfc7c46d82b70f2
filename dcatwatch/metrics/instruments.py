"""In-process instruments: what this process did since it started.

Counters restart at zero with the process (Prometheus' ``rate()``/``increase()`` handle
that); every label value is known up front and initialised to 0, so a series exists before
its first event. ``_created`` series are switched off.
"""

from __future__ import annotations

import platform
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
)

from dcatwatch import __version__

if TYPE_CHECKING:
    from dcatwatch.store.runs import RunResult

# Harvests take from a second (a small agency's catalogue) to hours (a dataportal.se dump).
DURATION_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200)
ACTIONS = ("added", "updated", "unchanged", "removed", "held")
CODE_CLASSES = ("1xx", "2xx", "3xx", "4xx", "5xx", "error")
RUN_KINDS = ("harvest", "validation", "scoring", "report")
JOBS = ("harvest", "dispatcher", "link_recheck", "reports", "scoring")
LINK_RESULTS = ("ok", "failing", "broken", "inconclusive")  # a link check's verdict


def new_registry() -> CollectorRegistry:
    """A registry with the process and platform collectors (no ``_created`` series)."""
    disable_created_metrics()
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    return registry


def code_class(status: int) -> str:
    """``2xx`` … ``5xx`` for an HTTP status, ``error`` when no response arrived (status 0)."""
    return f"{status // 100}xx" if 100 <= status <= 599 else "error"


class Instruments:
    """The daemon's counters, registered on ``registry``."""

    def __init__(self, registry: CollectorRegistry) -> None:
        info = Info("dcatwatch_build", "dcatwatch version and Python it runs on.",
                    registry=registry)
        info.info({"version": __version__, "python": platform.python_version()})
        self.harvest_runs = Counter(
            "dcatwatch_harvest_runs", "Harvest runs finished (any outcome).", registry=registry)
        self.harvest_failures = Counter(
            "dcatwatch_harvest_failures", "Harvest runs that failed (nothing applied).",
            registry=registry)
        self.harvest_duration = Histogram(
            "dcatwatch_harvest_duration_seconds", "Duration of harvest runs.",
            buckets=DURATION_BUCKETS, registry=registry)
        self.harvests_running = Gauge(
            "dcatwatch_harvests_running", "Harvest runs in progress.", registry=registry)
        self.datasets_processed = Counter(
            "dcatwatch_datasets_processed", "Datasets handled by harvest runs, by outcome "
            "(held: removal held back by the mass-deletion guard).", ["action"],
            registry=registry)
        self.http_requests = Counter(
            "dcatwatch_http_requests", "HTTP requests sent (attempts, retries included), by "
            "status class; error: no response.", ["code_class"], registry=registry)
        self.http_response_bytes = Counter(
            "dcatwatch_http_response_bytes", "Decoded bytes of HTTP response bodies.",
            registry=registry)
        self.emails_sent = Counter(
            "dcatwatch_emails_sent", "Report e-mails accepted by the SMTP server.",
            registry=registry)
        self.email_failures = Counter(
            "dcatwatch_email_failures", "Report e-mails that could not be sent.",
            registry=registry)
        self.missed_runs = Counter(
            "dcatwatch_missed_runs", "Scheduled runs skipped: late beyond the misfire grace, "
            "still running from last time, or coalesced after downtime.", ["job"],
            registry=registry)
        self.store_writable = Gauge(
            "dcatwatch_store_writable", "1 while this process's store writes succeed, 0 from "
            "one that failed (a full disk, a read-only or lost database) until one succeeds "
            "again. The local daemon's; a queue worker's stays 1.", registry=registry)
        self.store_writable.set(1)
        self.link_checks_queued = Gauge(
            "dcatwatch_link_checks_queued", "Link checks of the current round not yet started.",
            registry=registry)
        self.link_checks_in_flight = Gauge(
            "dcatwatch_link_checks_in_flight", "Link checks under way now.", registry=registry)
        self.link_checks = Counter(
            "dcatwatch_link_checks", "Link checks stored, by verdict: ok, failing (the "
            "agency's, unconfirmed), broken (confirmed), inconclusive (the monitor could not "
            "ask; retried next round).", ["result"], registry=registry)
        self.link_round_duration = Gauge(
            "dcatwatch_link_round_duration_seconds", "Duration of the last full link-check "
            "round.", registry=registry)
        for result in LINK_RESULTS:
            self.link_checks.labels(result)
        self.runs_interrupted = Counter(
            "dcatwatch_runs_interrupted", "Runs found interrupted (a killed process, or a lost "
            "database connection) and marked failed, by kind; their work is rescheduled.",
            ["kind"], registry=registry)
        for kind in RUN_KINDS:
            self.runs_interrupted.labels(kind)
        for action in ACTIONS:
            self.datasets_processed.labels(action)
        for code in CODE_CLASSES:
            self.http_requests.labels(code)
        for job in JOBS:
            self.missed_runs.labels(job)

    def on_response(self, status: int, nbytes: int) -> None:
        """The :class:`~dcatwatch.http.client.HttpClient` hook: one call per attempt."""
        self.http_requests.labels(code_class(status)).inc()
        if nbytes:
            self.http_response_bytes.inc(nbytes)

    def on_responses(self, statuses: Mapping[int, int], nbytes: int) -> None:
        """Many responses at once (those of the link checker process): count per status."""
        for status, count in statuses.items():
            self.http_requests.labels(code_class(status)).inc(count)
        if nbytes:
            self.http_response_bytes.inc(nbytes)

    def record_run(self, result: RunResult) -> None:
        """Count one finished harvest run."""
        self.harvest_runs.inc()
        if result.status == "failed":
            self.harvest_failures.inc()
        self.harvest_duration.observe(result.duration_s)
        counts = (result.counts.added, result.counts.updated, result.counts.unchanged,
                  result.counts.removed, result.counts.held_removals)
        for action, count in zip(ACTIONS, counts, strict=True):
            if count:
                self.datasets_processed.labels(action).inc(count)

    def record_unfinished(self, runs: int) -> None:
        """Count failed runs that gave no result: left running by a killed process (found at
        start), or stopped before the harvest could record them (the store unreachable)."""
        self.harvest_runs.inc(runs)
        self.harvest_failures.inc(runs)

    # the link checker's hooks (dcatwatch.validators.links.LinkMetrics)

    def link_checks_state(self, queued: int, in_flight: int) -> None:
        self.link_checks_queued.set(queued)
        self.link_checks_in_flight.set(in_flight)

    def link_checks_recorded(self, verdicts: Sequence[str]) -> None:
        for verdict in verdicts:
            self.link_checks.labels(verdict).inc()

    def link_round_finished(self, seconds: float) -> None:
        self.link_round_duration.set(seconds)

    def record_emails(self, sent: int, failed: int) -> None:
        self.emails_sent.inc(sent)
        self.email_failures.inc(failed)
