"""Link checks: every accessURL, downloadURL and endpointURL answered or not, with history.

A check is :meth:`HttpClient.probe`: HEAD, repeated as GET (body unread) when the HEAD is
answered 405/501 or refused on the connection; redirects are followed hop by hop through the
address guard. The URL is *reachable* when the final status is 2xx or 3xx (MQA's rule);
otherwise the reason is the status or the fetch error (its ``fetch.*`` code is kept). Each URL
keeps its history: when it last answered, since when and how many checks in a row it has
failed. A URL checked less than ``recheck_hours`` ago is not asked again.

Checks run in a small thread pool; URLs are queued host by host in turn, so the client's
per-host gate (one request at a time, ``min_delay`` apart) holds back only the requests to
a busy host, not the whole pool. Results are written from the calling thread.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import zip_longest
from urllib.parse import urlsplit

from dcatwatch.errors import FetchError
from dcatwatch.http.client import HttpClient
from dcatwatch.store.core import Store, Unit

Progress = Callable[[str, int, int], None]  # (stage, done, total)
BATCH = 200  # results written per transaction


@dataclass(frozen=True, slots=True)
class LinkOutcome:
    """The result of probing one URL."""

    url: str
    status: int | None
    content_type: str | None
    final_url: str | None
    elapsed_s: float
    reachable: bool
    reason: str
    error_code: str | None = None


def probe(client: HttpClient, url: str, timeout: float) -> LinkOutcome:
    """Probe ``url`` once (HEAD, GET where HEAD is refused); never raises for the URL's faults."""
    started = time.monotonic()
    try:
        result = client.probe(url, timeout=timeout)
    except FetchError as error:
        return LinkOutcome(url, error.status, None, None, round(time.monotonic() - started, 3),
                           False, error.message, error.code)
    reachable = 200 <= result.status < 400
    return LinkOutcome(url, result.status, result.content_type, result.final_url,
                       round(result.elapsed, 3), reachable, f"HTTP {result.status}",
                       None if reachable else "fetch.http_status")


def interleave_hosts(urls: Iterable[str]) -> list[str]:
    """``urls`` reordered host by host in turn (a, b, c, a, b, a …), first-seen order kept."""
    by_host: dict[str, list[str]] = {}
    for url in dict.fromkeys(urls):
        by_host.setdefault((urlsplit(url).hostname or "").lower(), []).append(url)
    return [url for row in zip_longest(*by_host.values()) for url in row if url is not None]


def due(store: Store, urls: Iterable[str], now: datetime, recheck_hours: float) -> list[str]:
    """The URLs among ``urls`` never checked, or last checked ``recheck_hours`` ago or more."""
    wanted = list(dict.fromkeys(urls))
    with store.read() as unit:
        recent = unit.checks.recent_links(wanted, now - timedelta(hours=recheck_hours))
    return [url for url in wanted if url not in recent]


def record(unit: Unit, outcomes: Sequence[LinkOutcome], now: datetime) -> None:
    """Store ``outcomes`` as their URLs' latest checks and advance each URL's history."""
    previous = unit.checks.link_histories([outcome.url for outcome in outcomes])
    new, known = [], []
    for outcome in outcomes:
        before = previous.get(outcome.url)
        values = {"url": outcome.url, "status": outcome.status,
                  "content_type": outcome.content_type, "final_url": outcome.final_url,
                  "elapsed_s": outcome.elapsed_s, "reachable": outcome.reachable,
                  "reason": outcome.reason, "error_code": outcome.error_code,
                  "last_checked_at": now}
        if outcome.reachable:
            values |= {"last_success_at": now, "first_failure_at": None,
                       "consecutive_failures": 0}
        else:
            failures = before.consecutive_failures if before else 0
            values |= {"last_success_at": before.last_success_at if before else None,
                       "consecutive_failures": failures + 1,
                       "first_failure_at": before.first_failure_at if before and failures
                       else now}
        (known if before else new).append(values)
    unit.checks.save_links(new, known)


def check_links(store: Store, client: HttpClient, urls: Iterable[str], *, workers: int,
                timeout: float, recheck_hours: float, now: Callable[[], datetime],
                progress: Progress | None = None) -> int:
    """Check the URLs among ``urls`` that are due (see :func:`due`); returns how many."""
    todo = interleave_hosts(due(store, urls, now(), recheck_hours))
    if progress:
        progress("links", 0, len(todo))
    done: list[LinkOutcome] = []
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="link") as pool:
        futures = [pool.submit(probe, client, url, timeout) for url in todo]
        for count, future in enumerate(as_completed(futures), 1):
            done.append(future.result())
            if len(done) >= BATCH:
                _write(store, done, now())
            if progress:
                progress("links", count, len(todo))
    _write(store, done, now())
    return len(todo)


def _write(store: Store, outcomes: list[LinkOutcome], stamp: datetime) -> None:
    if outcomes:
        with store.write() as unit:
            record(unit, outcomes, stamp)
        outcomes.clear()

