"""Link health and data validity of an agency's distributions, from the validation tables.

Reads ``link_check`` (url, verdict, status, error_code, cause, agency_failure_at,
consecutive_failures, last_checked_at) for every accessURL and downloadURL of the agency's
datasets, and ``data_check`` (url, format, valid, sampled, rows_checked, error_count,
error_types, examples) for their downloadURLs. URLs never checked are left out; a report
shows a section only when it has checks to show. A link counts as checked when it answered
(verdict ``ok``), is confirmed broken (``broken``) or failed once on the agency's side and
awaits its confirming check (``failing``: shown with the day it failed and when it is checked
again, never counted as broken). A check the monitor could not make (``inconclusive``) is
the monitor's own failure and is left out. A link's problem is a key into the report texts
(``links.problems``), never the raw error text, which is in English and for operators
(``validate --json``).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from dcatwatch.config import DaemonSettings, ValidationSettings
from dcatwatch.cron import crontab
from dcatwatch.dcat.model import Dataset
from dcatwatch.reports.refs import DatasetRef
from dcatwatch.store.checks import Checks


@dataclass(frozen=True, slots=True)
class BrokenLink:
    """A URL that did not answer 2xx/3xx at its last check."""

    url: str
    reason: str  # "HTTP 404" or the fetch error, for operators: reports show ``problem``
    failing_since: datetime | None
    failed_checks: int
    datasets: list[DatasetRef]
    problem: str = "other"  # key of links.problems in the report texts
    status: int | None = None


@dataclass(frozen=True, slots=True)
class FailingLink:
    """A URL whose server failed once (or more, within ``confirm_after_hours``): not yet
    confirmed broken, checked again at ``next_check`` at the latest."""

    url: str
    failed_at: datetime  # the latest check, which failed
    next_check: datetime
    datasets: list[DatasetRef]
    problem: str = "other"
    status: int | None = None


@dataclass(frozen=True, slots=True)
class Rechecks:
    """When a link that failed once is checked again: it is due for its confirming check
    ``confirm_after_hours`` after its first failure on the agency's side, and the full link
    check (``[daemon] link_recheck``) checks every due link; a validation after a harvest
    may check it sooner."""

    confirm_after_hours: float
    link_recheck: str  # cron, Europe/Stockholm

    @classmethod
    def of(cls, validation: ValidationSettings, daemon: DaemonSettings) -> Rechecks:
        """From the settings."""
        return cls(validation.confirm_after_hours, daemon.link_recheck)

    @classmethod
    def default(cls) -> Rechecks:
        """From the default settings."""
        return cls.of(ValidationSettings(), DaemonSettings())

    def next_check(self, first_failure: datetime, now: datetime) -> datetime:
        """The first full link check when the link is due, and not before ``now``."""
        due = max(_utc(first_failure) + timedelta(hours=self.confirm_after_hours), now)
        fire = crontab(self.link_recheck).get_next_fire_time(None, due)
        return fire.astimezone(UTC) if fire else due


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


PROBLEMS = ("http_status", "no_such_host", "refused", "reset", "tls", "timeout", "redirects",
            "invalid_url", "scheme", "private_address", "other")
_BY_CODE = {"fetch.too_many_redirects": "redirects", "fetch.invalid_url": "invalid_url",
            "fetch.refused_scheme": "scheme", "fetch.refused_address": "private_address",
            "fetch.timeout": "timeout"}


def problem_of(status: int | None, code: str | None, cause: str | None) -> str:
    """The report's name for why a link failed (one of :data:`PROBLEMS`)."""
    if cause in ("no_such_host", "refused", "reset", "tls", "timeout"):
        return cause
    if code in _BY_CODE:
        return _BY_CODE[code]
    if status is not None and status >= 400:
        return "http_status"
    return "other"


@dataclass(frozen=True, slots=True)
class ErrorExample:
    """One error frictionless found in a file."""

    type: str
    message: str
    row: int | None
    field: str | None


@dataclass(frozen=True, slots=True)
class InvalidFile:
    """A data file with structural errors."""

    url: str
    format: str | None
    error_count: int
    sampled: bool  # only the first rows or bytes were read
    examples: list[ErrorExample]
    datasets: list[DatasetRef]


@dataclass(slots=True)
class ValidationFindings:
    """What the validators found for one agency (empty when nothing was checked)."""

    links_checked: int = 0  # answered, broken or failing
    links_reachable: int = 0
    broken: list[BrokenLink] = field(default_factory=list)
    failing: list[FailingLink] = field(default_factory=list)
    confirm_after_hours: float = 0.0  # a failure is confirmed by a check this much later
    files_validated: int = 0
    files_valid: int = 0
    invalid: list[InvalidFile] = field(default_factory=list)


def read_findings(checks: Checks, datasets: Iterable[tuple[DatasetRef, Dataset]],
                  rechecks: Rechecks, now: datetime | None = None) -> ValidationFindings:
    """The checks of the URLs of ``datasets`` (each named by its reference); a failing link's
    next check is planned from ``now`` (default: the current time)."""
    moment = now or datetime.now(UTC)
    links: defaultdict[str, list[DatasetRef]] = defaultdict(list)
    files: defaultdict[str, list[DatasetRef]] = defaultdict(list)
    for ref, dataset in datasets:
        for dist in dataset.distributions:
            for url in dict.fromkeys(dist.access_urls + dist.download_urls):
                _add(links[url], ref)
            for url in dist.download_urls:
                _add(files[url], ref)
    findings = ValidationFindings(confirm_after_hours=rechecks.confirm_after_hours)
    for row in checks.history(links).values():
        if row.verdict not in ("ok", "broken", "failing"):
            continue  # the monitor could not ask: not the agency's
        findings.links_checked += 1
        problem = problem_of(row.status, row.error_code, row.cause)
        if row.verdict == "ok":
            findings.links_reachable += 1
        elif row.verdict == "failing":
            first = row.agency_failure_at or row.first_failure_at or row.last_checked_at
            findings.failing.append(FailingLink(
                row.url, _utc(row.last_checked_at), rechecks.next_check(first, moment),
                links[row.url], problem, row.status))
        else:
            findings.broken.append(BrokenLink(
                row.url, row.reason, row.agency_failure_at or row.first_failure_at,
                row.consecutive_failures, links[row.url], problem, row.status))
    for row in checks.data_checks(files).values():
        if row.valid is None:
            continue
        findings.files_validated += 1
        if row.valid:
            findings.files_valid += 1
        else:
            findings.invalid.append(InvalidFile(row.url, row.format, row.error_count,
                                                row.sampled, _examples(row.examples),
                                                files[row.url]))
    findings.broken.sort(key=lambda link: (-link.failed_checks, link.url))
    findings.failing.sort(key=lambda link: (link.failed_at, link.url))
    findings.invalid.sort(key=lambda file: (-file.error_count, file.url))
    return findings


def _add(refs: list[DatasetRef], ref: DatasetRef) -> None:
    if ref not in refs:
        refs.append(ref)


def _examples(text: str) -> list[ErrorExample]:
    return [ErrorExample(item.get("type", ""), item.get("message", ""), item.get("row"),
                         item.get("field")) for item in json.loads(text or "[]")]
