"""Link health and data validity of an agency's distributions, from the validation tables.

Reads ``link_check`` (url, reachable, status, reason, first_failure_at,
consecutive_failures) for every accessURL and downloadURL of the agency's datasets, and
``data_check`` (url, format, valid, sampled, rows_checked, error_count, error_types,
examples) for their downloadURLs. URLs never checked are left out; a report shows a section
only when it has checks to show.
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
    reason: str  # "HTTP 404" or the fetch error
    failing_since: datetime | None
    failed_checks: int
    datasets: list[DatasetRef]


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
        findings.links_checked += 1
        if row.reachable:
            findings.links_reachable += 1
        else:
            findings.broken.append(BrokenLink(row.url, row.reason, row.first_failure_at,
                                              row.consecutive_failures, links[row.url]))
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
