"""Data checks: download a bounded copy of each tabular file and validate it with frictionless.

Which distributions: those whose declared format (``dct:format``/``dcat:mediaType``; the file
extension of the URL only when nothing is declared) is CSV, TSV, XLSX, XLS, ODS or JSON;
the others are skipped with the reason. The file is the first downloadURL, else the
accessURL (DCAT-AP-SE makes only accessURL mandatory, and Swedish catalogues often put the
file there; a web page there is recognised and skipped).

How much: CSV and TSV are sampled: the first ``sample_bytes`` are read, cut at the last full
line, and the result says ``sampled``. Spreadsheets and JSON must be read whole: a file over
``max_file_bytes`` is skipped. Then :mod:`dcatwatch.validators.datafile` validates the local
copy (row and error limits).

When: a URL checked less than ``recheck_hours`` ago is left alone. Otherwise the GET is
conditional (the ETag / Last-Modified kept from the last download): a 304, or a body whose
hash equals the last one validated, keeps the stored result without running frictionless.
A URL whose latest link check failed (no connection, a timeout, a refused address, an error
status, its host skipped by the breaker or rate-limited) is not downloaded: a dead host costs
the link check's few requests, not one download per file. Given the link engine, each
download waits for its host's turn in the engine's lane, as a probe does.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dcatwatch.config import ValidationSettings
from dcatwatch.dcat.formats import declared_formats, url_formats
from dcatwatch.dcat.model import Distribution
from dcatwatch.errors import FetchError
from dcatwatch.http.client import CacheValidators, HttpClient
from dcatwatch.store.core import Store, Unit
from dcatwatch.validators.datafile import (
    UNPACKED_RATIO,
    FileReport,
    NotATable,
    actual_format,
    validate_file,
)
from dcatwatch.validators.links import interleave_hosts
from dcatwatch.validators.sampling import Sample, fetch_sample

if TYPE_CHECKING:
    from dcatwatch.validators.linkengine import LinkChecker

Progress = Callable[[str, int, int], None]

TABULAR_CODES = {"CSV": "csv", "TSV": "tsv", "XLSX": "xlsx", "XLS": "xls", "ODS": "ods",
                 "JSON": "json"}
"""Format codes (:mod:`dcatwatch.dcat.formats`) validated as tables, and frictionless' name."""
SAMPLED_FORMATS = frozenset({"csv", "tsv"})
UNREACHABLE_CODES = frozenset({"fetch.connection", "fetch.timeout", "fetch.refused_address",
                               "fetch.refused_scheme", "fetch.invalid_url", "fetch.http_status",
                               "fetch.host_unavailable", "fetch.rate_limited",
                               "fetch.too_many_redirects"})


@dataclass(frozen=True, slots=True)
class DataTarget:
    """What to do with one distribution's data: the URL and the table format, or why not."""

    url: str | None
    format: str | None  # csv, tsv, xlsx, xls, ods, json; None when not tabular
    reason: str = ""  # why it is not validated


def target(dist: Distribution) -> DataTarget:
    """Which URL of ``dist`` to validate and as what (module doc)."""
    url = next(iter(dist.download_urls or dist.access_urls), None)
    values = [value for _, value in declared_formats(dist) if value.code] or \
        [value for _, value in url_formats(dist)]
    tabular = [value for value in values if value.code in TABULAR_CODES]
    if not tabular:
        codes = ", ".join(dict.fromkeys(str(value.code) for value in values)) or "no format"
        return DataTarget(url, None, f"not a tabular format ({codes})")
    plain = [value for value in tabular if not value.packaging]
    if not plain:
        inner = tabular[0]
        return DataTarget(url, None, f"{inner.code} packed in {inner.packaging} is not validated")
    if url is None:
        return DataTarget(None, None, "no downloadURL or accessURL")
    return DataTarget(url, TABULAR_CODES[str(plain[0].code)])


@dataclass(slots=True)
class DataOutcome:
    """The result of one data check, as stored in ``data_check``."""

    url: str
    format: str
    valid: bool | None = None
    sampled: bool = False
    reason: str = ""
    http_status: int | None = None
    bytes_read: int = 0
    report: FileReport | None = None
    etag: str | None = None
    last_modified: str | None = None
    sha256: str | None = None
    unchanged: bool = False  # the stored result still holds (304 or same content)


Turn = Callable[[str, Callable[[], Sample]], Sample]  # (url, download) -> the download's result


def _now(_url: str, download: Callable[[], Sample]) -> Sample:
    return download()


class DataChecker:
    """Downloads and validates tabular files within the limits of ``settings``; each
    download is made when ``turn`` lets it (the link engine's host lane), the validation
    after the host's turn is over."""

    def __init__(self, client: HttpClient, settings: ValidationSettings,
                 directory: Path | None = None, turn: Turn = _now) -> None:
        self.client = client
        self.settings = settings
        self.directory = directory
        self.turn = turn

    def check(self, url: str, fmt: str, cached: CacheValidators | None,
              known_sha256: str | None) -> DataOutcome:
        """Fetch and validate one file; never raises for the file's or the server's faults."""
        settings = self.settings
        limit = settings.sample_bytes if fmt in SAMPLED_FORMATS else settings.max_file_bytes
        try:
            sample = self.turn(url, partial(fetch_sample, self.client, url, limit,
                                            cached=cached, timeout=settings.data_timeout,
                                            directory=self.directory))
        except FetchError as error:
            return DataOutcome(url, fmt, reason=f"{error.code}: {error.message}",
                               http_status=error.status)
        result = sample.result
        outcome = DataOutcome(url, fmt, http_status=result.status, bytes_read=result.size,
                              etag=result.headers.get("etag"),
                              last_modified=result.headers.get("last-modified"),
                              sha256=result.sha256)
        if sample.path is None:  # 304 Not Modified
            outcome.unchanged = True
            return outcome
        try:
            if result.sha256 == known_sha256:
                outcome.unchanged = True
            else:
                self._validate(sample, fmt, outcome)
        finally:
            sample.path.unlink(missing_ok=True)
        return outcome

    def _validate(self, sample: Sample, fmt: str, outcome: DataOutcome) -> None:
        assert sample.path is not None
        if sample.truncated and fmt not in SAMPLED_FORMATS:
            outcome.reason = (f"larger than [validation] max_file_bytes = "
                              f"{self.settings.max_file_bytes} bytes; not validated")
            return
        try:
            outcome.format = actual_format(sample.path, fmt,
                                           UNPACKED_RATIO * self.settings.max_file_bytes)
            if sample.truncated:
                outcome.bytes_read = cut_at_last_line(sample.path)
            report = validate_file(sample.path, outcome.format, self.settings)
        except NotATable as exc:
            outcome.reason = str(exc)
            return
        outcome.report = report
        outcome.valid = report.valid
        outcome.sampled = sample.truncated or report.row_limit_reached


def cut_at_last_line(path: Path) -> int:
    """Cut the file after its last newline (a sample ends mid-line); returns the new size."""
    size = path.stat().st_size
    with path.open("rb") as handle:
        tail_start = max(0, size - (1 << 20))
        handle.seek(tail_start)
        tail = handle.read()
    end = tail.rfind(b"\n")
    keep = tail_start + end + 1 if end >= 0 else size
    os.truncate(path, keep)
    return keep


def check_data(store: Store, client: HttpClient, targets: Iterable[DataTarget],
               settings: ValidationSettings, *, now: Callable[[], datetime],
               progress: Progress | None = None, lanes: LinkChecker | None = None) -> int:
    """Validate the due tabular ``targets`` (module doc); returns how many URLs were checked.
    ``lanes``: each download waits for its host's turn in this link engine; the files are
    validated after it."""
    formats = {t.url: t.format for t in targets if t.url and t.format}
    with store.write() as unit:
        todo, state = _due(unit, formats, now(), settings.recheck_hours)
    if progress:
        progress("data", 0, len(todo))
    checker = DataChecker(client, settings, turn=lanes.in_lane if lanes else _now)
    with ThreadPoolExecutor(max_workers=max(1, settings.workers),
                            thread_name_prefix="data") as pool:
        futures = []
        for url in interleave_hosts(todo):
            stored = state.get(url)
            cached = CacheValidators(stored.etag, stored.last_modified) if stored else None
            futures.append(pool.submit(checker.check, url, formats[url], cached,
                                       stored.sha256 if stored else None))
        for count, future in enumerate(as_completed(futures), 1):
            outcome = future.result()
            with store.write() as unit:
                unit.checks.save_data(outcome.url, _values(outcome, now()))
            if progress:
                progress("data", count, len(todo))
    return len(todo)


@dataclass(frozen=True, slots=True)
class _Stored:
    etag: str | None
    last_modified: str | None
    sha256: str | None


def _due(unit: Unit, formats: dict[str, str], now: datetime,
         recheck_hours: float) -> tuple[list[str], dict[str, _Stored]]:
    """URLs to check now, and what earlier validations left for a conditional GET; the URLs
    the link check could not reach are recorded as not downloaded."""
    urls = list(formats)
    limit = now - timedelta(hours=recheck_hours)
    stored: dict[str, _Stored] = {}
    recent: set[str] = set()
    for url, row in unit.checks.data_checks(urls).items():
        if row.checked_at > limit:
            recent.add(url)
        if row.format == formats[url] and row.validated_at is not None:
            stored[url] = _Stored(row.etag, row.last_modified, row.sha256)
        else:
            stored[url] = _Stored(None, None, None)
    unreachable = unit.checks.unreachable(urls, UNREACHABLE_CODES)
    todo = [url for url in urls if url not in recent and url not in unreachable]
    for url in (url for url in urls if url not in recent and url in unreachable):
        unit.checks.save_data(url, {
            "format": formats[url], "tabular": True, "valid": None, "sampled": False,
            "reason": f"not downloaded: the link check failed ({unreachable[url]})",
            "checked_at": now, "error_count": 0, "error_types": "{}", "examples": "[]",
            "validated_at": None})
    return todo, stored


def _values(outcome: DataOutcome, now: datetime) -> dict[str, Any]:
    """The ``data_check`` columns ``outcome`` sets."""
    values: dict[str, Any] = {"checked_at": now, "tabular": True}
    if outcome.etag or outcome.last_modified:
        values |= {"etag": outcome.etag, "last_modified": outcome.last_modified}
    if not outcome.unchanged:
        report = outcome.report
        values |= {
            "format": outcome.format, "valid": outcome.valid, "sampled": outcome.sampled,
            "reason": outcome.reason, "http_status": outcome.http_status,
            "bytes_read": outcome.bytes_read, "sha256": outcome.sha256,
            "rows_checked": report.rows if report else 0,
            "error_count": report.error_count if report else 0,
            "error_types": json.dumps(report.error_types if report else {}),
            "examples": json.dumps(report.examples if report else [], ensure_ascii=False),
            "validated_at": now if report else None,
        }
    return values
