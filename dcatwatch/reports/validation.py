"""Link health and data validity of an agency's distributions, from the validation tables.

Reads ``link_check`` (url, verdict, status, error_code, cause, agency_failure_at,
consecutive_failures) for every accessURL and downloadURL of the agency's datasets, and
``data_check`` (url, format, valid, sampled, rows_checked, error_count, error_types,
examples) for their downloadURLs. URLs never checked are left out; a report shows a section
only when it has checks to show. Only conclusive link checks count: a link answering (verdict
``ok``) or confirmed broken (``broken``); a failure not yet confirmed and a check the monitor
could not make (``failing``, ``inconclusive``) are left out. A broken link's problem is a key
into the report texts (``links.problems``), never the raw error text, which is in English and
for operators (``validate --json``).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

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

    links_checked: int = 0
    links_reachable: int = 0
    broken: list[BrokenLink] = field(default_factory=list)
    files_validated: int = 0
    files_valid: int = 0
    invalid: list[InvalidFile] = field(default_factory=list)


def read_findings(checks: Checks,
                  datasets: Iterable[tuple[DatasetRef, Dataset]]) -> ValidationFindings:
    """The checks of the URLs of ``datasets`` (each named by its reference)."""
    links: defaultdict[str, list[DatasetRef]] = defaultdict(list)
    files: defaultdict[str, list[DatasetRef]] = defaultdict(list)
    for ref, dataset in datasets:
        for dist in dataset.distributions:
            for url in dict.fromkeys(dist.access_urls + dist.download_urls):
                _add(links[url], ref)
            for url in dist.download_urls:
                _add(files[url], ref)
    findings = ValidationFindings()
    for row in checks.history(links).values():
        if row.verdict not in ("ok", "broken"):
            continue  # not confirmed, or the monitor could not ask: not the agency's (yet)
        findings.links_checked += 1
        if row.verdict == "ok":
            findings.links_reachable += 1
        else:
            findings.broken.append(BrokenLink(
                row.url, row.reason, row.agency_failure_at or row.first_failure_at,
                row.consecutive_failures, links[row.url],
                problem_of(row.status, row.error_code, row.cause), row.status))
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
    findings.invalid.sort(key=lambda file: (-file.error_count, file.url))
    return findings


def _add(refs: list[DatasetRef], ref: DatasetRef) -> None:
    if ref not in refs:
        refs.append(ref)


def _examples(text: str) -> list[ErrorExample]:
    return [ErrorExample(item.get("type", ""), item.get("message", ""), item.get("row"),
                         item.get("field")) for item in json.loads(text or "[]")]
