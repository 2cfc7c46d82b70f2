"""Link checks: every accessURL, downloadURL and endpointURL answered or not, with history.

A check is :meth:`HttpClient.probe`: HEAD, repeated as GET (body unread) when the HEAD is
answered 405/501 or broken off; redirects are followed hop by hop through the address guard.
The URL is *reachable* when the final status is 2xx or 3xx (MQA's rule); otherwise the reason
is the status or the fetch error (its ``fetch.*`` code and socket ``cause`` are kept).

**Blame.** A failed check is the agency's when its server answered (4xx, 5xx, a bad TLS
certificate, a refused or reset connection) or its host name does not exist (NXDOMAIN), and
the monitor's when we could not ask (a temporary DNS failure, no route to the network): see
:attr:`FetchError.blame`. A timeout is the agency's only when another host answered during
the same round (our own network works), else the monitor's. A monitor-side failure is
*inconclusive*: the URL is due again next round, and reports and scoring treat it as unchecked.

**Confirmation.** An agency-side failure is *failing* (unconfirmed: not reported, no points
lost) until an agency-side failure is seen again at least ``confirm_after_hours`` after the
first; then the link is *broken*. A success ends the run of failures; an inconclusive check
neither ends nor confirms it. The stored ``verdict`` is ok | failing | broken | inconclusive.

**Rounds.** One check per URL per round (URLs are deduplicated; one checked less than
``recheck_hours`` ago is not asked again, unless its last check was inconclusive or it is
failing and due for confirmation). Connection failures are not retried within the round: the
next round is the retry. Each host's URLs are checked one after the other by one worker
(the client's per-host gate spaces them ``min_delay`` apart), hosts with most URLs first, so
a round takes about max over hosts of (its URLs × ``min_delay``). A per-host circuit breaker:
after ``host_failures`` checks in a row on one host failed on the connection (or timed out)
or with 5xx, the host's other URLs are not asked this round; they are recorded once as
``fetch.host_unavailable`` with the blame of the failures that tripped the breaker (the
agency's when its server answered — refused, no such host, 5xx, bad TLS — else
inconclusive) and are due again next round. A host answering 429 is left alone for its
Retry-After (at most ``[http] retry_after_max``) and the URL is asked again; a longer wait
leaves the host's remaining URLs inconclusive (``fetch.rate_limited``).

``workers`` URLs are asked at a time (:class:`LinkWorkers`); a thread waiting out its host's
``min_delay`` does not count, so hosts resting between requests leave the slots to others.
The daemon runs every validation's link checks in one :class:`LinkWorkers`, so that sources
checked at the same time (each mostly its own host) share the slots: hosts are checked
side by side however the URLs are split among sources.

Results are written from the calling thread in small batches as they arrive, so a killed run
keeps what it checked.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import ExitStack
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from itertools import zip_longest
from typing import Protocol
from urllib.parse import urlsplit

from dcatwatch.errors import FetchError
from dcatwatch.http.client import HttpClient
from dcatwatch.http.politeness import backoff_delay, parse_retry_after
from dcatwatch.store.core import Store, Unit

Progress = Callable[[str, int, int], None]  # (stage, done, total)
BATCH = 50  # results written per transaction, at most
FLUSH_SECONDS = 2.0  # and at least this often while results arrive
RATE_LIMIT_TRIES = 3  # 429s one URL may get in a round before it is left inconclusive
VERDICTS = ("ok", "failing", "broken", "inconclusive")


class LinkMetrics(Protocol):
    """What the link checker reports as it goes (:class:`~dcatwatch.metrics.instruments.
    Instruments` implements it)."""

    def link_checks_state(self, queued: int, in_flight: int) -> None:
        """URLs of the round not yet asked, and checks under way now."""

    def link_checks_recorded(self, verdicts: Sequence[str]) -> None:
        """Checks stored, by verdict (ok | failing | broken | inconclusive)."""

    def link_round_finished(self, seconds: float) -> None:
        """A round checked every URL due."""


@dataclass(frozen=True, slots=True)
class LinkOutcome:
    """The result of probing one URL; ``blame`` is None when reachable, else agency |
    monitor | unknown (a timeout, judged by the round)."""

    url: str
    status: int | None
    content_type: str | None
    final_url: str | None
    elapsed_s: float
    reachable: bool
    reason: str
    error_code: str | None = None
    cause: str | None = None
    blame: str | None = None
    retry_after: float | None = None  # a 429's Retry-After

    @property
    def host_failure(self) -> bool:
        """Whether the check counts against its host's circuit breaker."""
        return (self.error_code in ("fetch.connection", "fetch.timeout")
                or (self.status is not None and self.status >= 500))


def probe(client: HttpClient, url: str, timeout: float) -> LinkOutcome:
    """Probe ``url`` once (HEAD, GET where HEAD is refused); never raises for the URL's faults."""
    started = time.monotonic()
    try:
        result = client.probe(url, timeout=timeout)
    except FetchError as error:
        return LinkOutcome(url, error.status, None, None, round(time.monotonic() - started, 3),
                           False, error.message, error.code, error.cause, error.blame)
    reachable = 200 <= result.status < 400
    retry_after = parse_retry_after(result.headers.get("retry-after")) \
        if result.status == 429 else None
    return LinkOutcome(url, result.status, result.content_type, result.final_url,
                       round(result.elapsed, 3), reachable, f"HTTP {result.status}",
                       None if reachable else "fetch.http_status", None,
                       None if reachable else "agency", retry_after)


def host_of(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def interleave_hosts(urls: Iterable[str]) -> list[str]:
    """``urls`` reordered host by host in turn (a, b, c, a, b, a …), first-seen order kept."""
    return [url for row in zip_longest(*by_host(urls).values()) for url in row if url is not None]


def by_host(urls: Iterable[str]) -> dict[str, list[str]]:
    """``urls`` (deduplicated) grouped by lower-case host name, first-seen order kept."""
    groups: dict[str, list[str]] = {}
    for url in dict.fromkeys(urls):
        groups.setdefault(host_of(url), []).append(url)
    return groups


def due(store: Store, urls: Iterable[str], now: datetime, recheck_hours: float,
        confirm_after_hours: float | None = None) -> list[str]:
    """The URLs among ``urls`` never checked, last checked ``recheck_hours`` ago or more, last
    checked inconclusively, or (given ``confirm_after_hours``) failing unconfirmed for so long."""
    wanted = list(dict.fromkeys(urls))
    confirm = None if confirm_after_hours is None else now - timedelta(hours=confirm_after_hours)
    with store.read() as unit:
        recent = unit.checks.recent_links(wanted, now - timedelta(hours=recheck_hours), confirm)
    return [url for url in wanted if url not in recent]


def record(unit: Unit, outcomes: Sequence[LinkOutcome], now: datetime,
           confirm_after_hours: float = 6.0) -> list[str]:
    """Store ``outcomes`` as their URLs' latest checks and advance each URL's history (see the
    module doc); returns each outcome's verdict. A ``blame`` of ``unknown`` counts as the
    monitor's here (the round judges timeouts before recording)."""
    previous = unit.checks.link_histories([outcome.url for outcome in outcomes])
    confirm = timedelta(hours=confirm_after_hours)
    rows, verdicts = [], []
    for outcome in outcomes:
        before = previous.get(outcome.url)
        values = {"url": outcome.url, "status": outcome.status,
                  "content_type": outcome.content_type, "final_url": outcome.final_url,
                  "elapsed_s": outcome.elapsed_s, "reachable": outcome.reachable,
                  "reason": outcome.reason, "error_code": outcome.error_code,
                  "cause": outcome.cause, "last_checked_at": now}
        if outcome.reachable:
            values |= {"last_success_at": now, "first_failure_at": None,
                       "consecutive_failures": 0, "agency_failure_at": None, "blame": None,
                       "verdict": "ok"}
        else:
            failures = before.consecutive_failures if before else 0
            since = before.agency_failure_at if before else None
            values |= {"last_success_at": before.last_success_at if before else None,
                       "consecutive_failures": failures + 1,
                       "first_failure_at": before.first_failure_at if before and failures
                       else now}
            if outcome.blame == "agency":
                since = since or now
                values |= {"blame": "agency", "agency_failure_at": since,
                           "verdict": "broken" if now - since >= confirm else "failing"}
            else:
                values |= {"blame": "monitor", "agency_failure_at": since,
                           "verdict": "inconclusive"}
        rows.append(values)
        verdicts.append(values["verdict"])
    unit.checks.save_links(rows)
    return verdicts


class _Round:
    """The shared state of one round: results on their way to the writer, which hosts
    answered (to judge timeouts), what is in flight."""

    def __init__(self, total: int, host_failures: int, retry_after_max: float,
                 metrics: LinkMetrics | None, slots: threading.Semaphore) -> None:
        self.slots = slots
        self.host_failures = host_failures
        self.retry_after_max = retry_after_max
        self.metrics = metrics
        self.results: queue.Queue[LinkOutcome] = queue.Queue()
        self.lock = threading.Lock()
        self.answered: set[str] = set()  # hosts that sent an HTTP response this round
        self.queued = total  # URLs not yet asked nor skipped
        self.in_flight = 0
        self._report()

    def _count(self, queued: int = 0, in_flight: int = 0) -> None:
        with self.lock:
            self.queued += queued
            self.in_flight += in_flight
        self._report()

    def _report(self) -> None:
        if self.metrics:
            self.metrics.link_checks_state(max(0, self.queued), self.in_flight)

    def judge(self, outcome: LinkOutcome, host: str) -> LinkOutcome:
        """A timeout is the agency's when another host answered this round, else ours."""
        if outcome.blame != "unknown":
            return outcome
        with self.lock:
            others = bool(self.answered - {host})
        return replace(outcome, blame="agency" if others else "monitor")

    def check(self, client: HttpClient, host: str, url: str, timeout: float,
              first: bool = True) -> LinkOutcome:
        client.gate.rest(host)  # the host's pause, waited out without a slot
        with self.slots:
            self._count(queued=-1 if first else 0, in_flight=1)
            try:
                outcome = probe(client, url, timeout)
            finally:
                self._count(in_flight=-1)
        if outcome.status is not None:
            with self.lock:
                self.answered.add(host)
        return outcome

    def host(self, client: HttpClient, host: str, urls: list[str], timeout: float) -> None:
        """Check one host's URLs in turn, with the circuit breaker and 429 handling."""
        failed: list[LinkOutcome] = []  # the failures in a row that count for the breaker
        for index, url in enumerate(urls):
            if len(failed) >= self.host_failures:
                self._skip(urls[index:], failed, host)
                return
            outcome = self.check(client, host, url, timeout)
            tries = 1
            while outcome.status == 429:
                wait = outcome.retry_after
                if wait is None:
                    wait = backoff_delay(tries, client.settings.backoff_base,
                                         client.settings.backoff_max)
                if tries >= RATE_LIMIT_TRIES or wait > self.retry_after_max:
                    self._rate_limited(urls[index:], wait)
                    return
                client.gate.defer(host, wait)
                outcome = self.check(client, host, url, timeout, first=False)
                tries += 1
            self.results.put(self.judge(outcome, host))
            failed = failed + [outcome] if outcome.host_failure else []

    def _skip(self, urls: list[str], failed: list[LinkOutcome], host: str) -> None:
        last = failed[-1]
        judged = [self.judge(o, host).blame for o in failed]
        blame = "agency" if all(b == "agency" for b in judged) else "monitor"
        what = f"HTTP {last.status}" if last.status else last.reason
        reason = (f"not asked: the last {len(failed)} checks on {host or 'this host'} failed "
                  f"this round ({what})")
        self._count(queued=-len(urls))
        for url in urls:
            self.results.put(LinkOutcome(url, last.status, None, None, 0.0, False, reason,
                                         "fetch.host_unavailable", last.cause, blame))

    def _rate_limited(self, urls: list[str], wait: float) -> None:
        reason = (f"not asked: the server answered 429 and asks to wait {wait:g} s "
                  f"(more than [http] retry_after_max = {self.retry_after_max:g} s, or "
                  f"{RATE_LIMIT_TRIES} times); asked again next round")
        self._count(queued=1 - len(urls))  # the first of them was asked
        for url in urls:
            self.results.put(LinkOutcome(url, 429, None, None, 0.0, False, reason,
                                         "fetch.rate_limited", None, "monitor"))


class LinkWorkers:
    """The threads that check links, for one round or shared by the rounds running at once
    (the daemon's): at most ``workers`` URLs are asked at the same time, one host per thread.
    A thread waiting out its host's ``min_delay`` holds none of those slots, and there are
    :data:`THREADS_PER_SLOT` threads per slot, so the slots stay busy while hosts rest."""

    THREADS_PER_SLOT = 4

    def __init__(self, workers: int) -> None:
        self.slots = threading.BoundedSemaphore(max(1, workers))
        self.pool = ThreadPoolExecutor(max(1, workers) * self.THREADS_PER_SLOT,
                                       thread_name_prefix="link")

    def shutdown(self, cancel: bool = False) -> None:
        self.pool.shutdown(wait=not cancel, cancel_futures=cancel)


def check_links(store: Store, client: HttpClient, urls: Iterable[str], *, workers: int,
                timeout: float, recheck_hours: float, now: Callable[[], datetime],
                progress: Progress | None = None, confirm_after_hours: float = 6.0,
                host_failures: int = 3, metrics: LinkMetrics | None = None,
                pool: LinkWorkers | None = None) -> int:
    """Check the URLs among ``urls`` that are due (see :func:`due`) in one round (see the
    module doc); returns how many were due.

    Each host's URLs are one task of ``pool`` (shared with other rounds running at the same
    time, as the daemon's validations do), or of :class:`LinkWorkers` of ``workers`` of the
    round's own."""
    started = time.monotonic()
    todo = due(store, urls, now(), recheck_hours, confirm_after_hours)
    with ExitStack() as stack:
        if pool is None:
            pool = LinkWorkers(workers)
            stack.callback(pool.shutdown)
        return _check(store, client, todo, pool, timeout, now, started, progress,
                      confirm_after_hours, host_failures, metrics)


def _check(store: Store, client: HttpClient, todo: list[str], workers: LinkWorkers,
           timeout: float, now: Callable[[], datetime], started: float, progress: Progress | None,
           confirm_after_hours: float, host_failures: int,
           metrics: LinkMetrics | None) -> int:
    hosts = sorted(by_host(todo).items(), key=lambda item: -len(item[1]))
    total = len(todo)
    state = _Round(total, host_failures, client.settings.retry_after_max, metrics,
                   workers.slots)
    if progress:
        progress("links", 0, total)
    done, pending = 0, []
    flushed = time.monotonic()
    with ExitStack() as stack:
        futures = [workers.pool.submit(state.host, client, host, group, timeout)
                   for host, group in hosts]
        stack.callback(_cancel, futures)  # a round that fails asks no more hosts
        while done < total:
            try:
                pending.append(state.results.get(timeout=0.2))
            except queue.Empty:
                failed = next((f for f in futures if f.done() and
                               (f.cancelled() or f.exception())), None)
                if failed is not None:
                    _write(store, pending, now(), confirm_after_hours, state)
                    if failed.cancelled():
                        raise RuntimeError("the link checks were stopped (shutting down)")
                    raise failed.exception()  # type: ignore[misc]
            else:
                done += 1
            if pending and (len(pending) >= BATCH or done == total
                            or time.monotonic() - flushed >= FLUSH_SECONDS):
                _write(store, pending, now(), confirm_after_hours, state)
                flushed = time.monotonic()
            if progress:
                progress("links", done, total)
        wait(futures)  # every host's task has put its last result; let them end
    _write(store, pending, now(), confirm_after_hours, state)
    if metrics and total:
        metrics.link_round_finished(time.monotonic() - started)
    return total


def _cancel(futures: Iterable[Future[None]]) -> None:
    for future in futures:
        future.cancel()


def _write(store: Store, outcomes: list[LinkOutcome], stamp: datetime,
           confirm_after_hours: float, state: _Round) -> None:
    if outcomes:
        with store.write() as unit:
            verdicts = record(unit, outcomes, stamp, confirm_after_hours)
        outcomes.clear()
        if state.metrics:
            state.metrics.link_checks_recorded(verdicts)
