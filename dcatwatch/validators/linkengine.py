"""The link engine: one asyncio loop per process checking the links of every validation.

Validations hand their due URLs to :meth:`LinkEngine.check` (from any thread) as soon as
they have read their source, and wait for the verdicts. Inside the engine:

* **Once per round.** A URL already queued or in flight is not queued again: every caller
  waits for the same check. A URL checked less than ``round_seconds`` ago by this engine
  is not asked again either, unless ``recheck_hours`` is shorter (the store's rule covers
  the rest). With leases shared by workers, a lane stores its results before it gives its
  host up, and the next holder leaves out the queued URLs stored meanwhile: once per round
  in the whole deployment.
* **One lane per host** (:class:`HostLane`): a queue and one task working it, one request in
  flight per host, each request starting at least ``[http] min_delay`` after the end of the
  previous response to that host (or after a server's ``Retry-After``). A lane takes its
  host's lease (:mod:`dcatwatch.http.leases`) before its first request and gives it up,
  with the time the next request may start, when its queue is empty, so the rule holds for
  every worker of the deployment.
* **Hundreds in flight.** A global semaphore of ``[validation] in_flight`` is held only
  around the exchange: a lane resting between requests holds no slot.
* **Breaker and 429.** After ``host_failures`` checks in a row on one host failed on the
  connection, timed out or answered 5xx, the host is not asked again for ``round_seconds``:
  its queued and later URLs are recorded as ``fetch.host_unavailable`` (see
  :mod:`dcatwatch.validators.links`). A 429 is waited out (Retry-After, at most ``[http]
  retry_after_max``, :data:`~dcatwatch.validators.links.RATE_LIMIT_TRIES` times); else the
  host's queued URLs are left inconclusive (``fetch.rate_limited``).
* **Stored as they arrive.** A writer task stores results in batches (at most
  :data:`BATCH`, at least every :data:`FLUSH_SECONDS`) with ``asyncio.to_thread`` into
  ``store.write()`` (the store stays synchronous); a caller's check ends when its URLs are
  stored. A store error fails the callers whose results it lost.

Data checks go through the same lanes (:meth:`LinkEngine.in_lane`): a download waits for its
host's turn like a probe.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from concurrent.futures import Future as ThreadFuture
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from dcatwatch.config import HttpSettings, Settings, ValidationSettings
from dcatwatch.errors import FetchError
from dcatwatch.http.aclient import AsyncFetcher
from dcatwatch.http.client import ResponseHook
from dcatwatch.http.leases import HostLeases, LocalLeases
from dcatwatch.http.politeness import backoff_after, parse_retry_after
from dcatwatch.store.core import Store, StoreError, describe
from dcatwatch.validators.links import (
    RATE_LIMIT_TRIES,
    LinkMetrics,
    LinkOutcome,
    due,
    host_of,
    record,
)

if TYPE_CHECKING:
    from dcatwatch.metrics.instruments import Instruments
    from dcatwatch.validators.linkprocess import LinkProcess

log = logging.getLogger(__name__)
Progress = Callable[[str, int, int], None]  # (stage, done, total)
BATCH = 500  # results written per transaction, at most
FLUSH_SECONDS = 1.0  # and at least this often while results arrive
THREADS = 32  # the loop's threads: store writes and data downloads in their host's turn
STORED_WAIT = 10.0  # seconds a lane waits for its results to be stored before its release
ROUND_SECONDS = 600.0  # a URL checked, or a host tripped, this long ago counts as this round's
T = TypeVar("T")


class LinkChecker(Protocol):
    """What validations and the jobs need of the link checks: this engine, or the daemon's
    engine in its own process (:class:`~dcatwatch.validators.linkprocess.LinkProcess`)."""

    def start(self) -> LinkChecker:
        """Start (idempotent); itself."""

    def feed(self, urls: Iterable[str]) -> None:
        """Queue the due URLs among ``urls`` without waiting for them."""

    def check(self, urls: Iterable[str], progress: Progress | None = None) -> int:
        """Check the due URLs among ``urls``; return when stored; how many were due."""

    def in_lane(self, url: str, work: Callable[[], T]) -> T:
        """Run the download ``work`` of ``url`` in its host's turn."""


@dataclass(slots=True)
class _Job:
    """A data check waiting for its host's turn: ``work`` runs in a thread."""

    work: Callable[[], Any]
    done: asyncio.Future[Any]


@dataclass(slots=True)
class HostLane:
    """One host's queue, its breaker and its pacing."""

    host: str
    queue: deque[str | _Job] = field(default_factory=deque)
    task: asyncio.Task[None] | None = None
    not_before: float = 0.0  # time.time() before which the next request may not start
    failed: list[LinkOutcome] = field(default_factory=list)  # host failures in a row
    tripped: LinkOutcome | None = None  # what skipped URLs are recorded as
    tripped_at: float = 0.0
    unfiltered: bool = False  # URLs queued since the store was last asked which are due
    answered: list[str] = field(default_factory=list)  # URLs put to be stored, this lease


@dataclass(frozen=True, slots=True)
class EngineSettings:
    """What the engine needs from ``[http]`` and ``[validation]``."""

    http: HttpSettings
    in_flight: int = 200
    timeout: float = 20.0
    recheck_hours: float = 24.0
    confirm_after_hours: float = 6.0
    host_failures: int = 3

    @classmethod
    def of(cls, http: HttpSettings, checks: ValidationSettings) -> EngineSettings:
        return cls(http, checks.in_flight, checks.link_timeout, checks.recheck_hours,
                   checks.confirm_after_hours, checks.host_failures)


class LinkEngine:
    """See the module doc. :meth:`start` runs the loop in a thread of its own; :meth:`check`
    and :meth:`in_lane` may then be called from any thread; :meth:`stop` ends it."""

    def __init__(self, store: Store, settings: EngineSettings, *, now: Callable[[], datetime],
                 leases: HostLeases | None = None, metrics: LinkMetrics | None = None,
                 on_response: ResponseHook | None = None,
                 round_seconds: float = ROUND_SECONDS) -> None:
        self.store = store
        self.settings = settings
        self.now = now
        self.leases = leases
        self.metrics = metrics
        self.on_response = on_response
        self.round_seconds = round_seconds
        # a URL this engine stored is not asked again for this long: a round, but never past
        # the store's own recheck rule (recheck_hours = 0 means every validation asks anew)
        self.remember_seconds = min(round_seconds, settings.recheck_hours * 3600)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._starting = threading.Lock()
        self._stopped = False
        # the loop's state (touched only in the loop's thread)
        self._lanes: dict[str, HostLane] = {}
        self._waiting: dict[str, asyncio.Future[str]] = {}  # url -> its verdict, once stored
        self._checked: dict[str, float] = {}  # url -> monotonic time it was stored
        self._results: list[tuple[LinkOutcome, datetime]] = []
        self._answered: dict[str, float] = {}  # host -> when it last sent an HTTP response
        self._queued = 0
        self._in_flight = 0
        self._fetcher: AsyncFetcher | None = None
        self._slots: asyncio.Semaphore | None = None
        self._writer: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        self._flush_now = False  # a lane waits for its results to be stored
        self._shared = False  # the leases are shared with other workers (set at start)

    # -- the thread facade ---------------------------------------------------------------

    def start(self) -> LinkEngine:
        """Run the engine's loop in a daemon thread (idempotent); RuntimeError once stopped."""
        with self._starting:
            if self._stopped:
                raise RuntimeError("the link checks were stopped (shutting down)")
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="link-engine",
                                                daemon=True)
                self._thread.start()
                self._started.wait()
        return self

    def __enter__(self) -> LinkEngine:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def check(self, urls: Iterable[str], progress: Progress | None = None) -> int:
        """Check the URLs among ``urls`` that are due, and wait until their results are
        stored; returns how many were due. Thread-safe; raises what lost the results."""
        started = time.monotonic()
        wanted = list(dict.fromkeys(urls))
        todo = due(self.store, wanted, self.now(), self.settings.recheck_hours,
                   self.settings.confirm_after_hours)
        if progress:
            progress("links", 0, len(todo))
        if todo:
            self._call(self._check(todo, progress))
            if self.metrics:
                self.metrics.link_round_finished(time.monotonic() - started)
        return len(todo)

    def feed(self, urls: Iterable[str]) -> None:
        """Queue the URLs among ``urls`` that are due without waiting for them (the daemon
        feeds a source's links as soon as it is harvested); a later :meth:`check` of them
        waits for these checks instead of asking again. Thread-safe."""
        if self._loop is None:
            raise RuntimeError("the link engine is not started")
        wanted = list(dict.fromkeys(urls))
        todo = due(self.store, wanted, self.now(), self.settings.recheck_hours,
                   self.settings.confirm_after_hours)
        if todo:
            self._loop.call_soon_threadsafe(self._queue_urls, todo)

    def in_lane(self, url: str, work: Callable[[], T]) -> T:
        """Run ``work`` (a blocking download of ``url``) in a thread when ``url``'s host
        lane gives it the turn, as a probe would be; its result. Thread-safe."""
        result: T = self._call(self._in_lane(url, work))
        return result

    def stop(self) -> None:
        """Stop asking: callers still waiting get a RuntimeError; leases are released."""
        self._stopped = True
        if self._loop is None or self._thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(30)
        self._thread = None

    def _call(self, coroutine: Awaitable[T]) -> T:
        if self._loop is None:
            raise RuntimeError("the link engine is not started")
        future: ThreadFuture[T] = asyncio.run_coroutine_threadsafe(coroutine, self._loop)  # type: ignore[arg-type]
        try:
            return future.result()
        except BaseException:
            future.cancel()
            raise

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        # stores and data downloads: more than asyncio's default of cpu_count + 4 threads, so
        # downloads in their turn never hold up the storing of results
        loop.set_default_executor(ThreadPoolExecutor(THREADS, thread_name_prefix="link-engine"))
        self._loop = loop
        self._fetcher = AsyncFetcher(self.settings.http, self.on_response)
        self._slots = asyncio.Semaphore(max(1, self.settings.in_flight))
        self._wake = asyncio.Event()
        self.leases = self.leases or LocalLeases()
        self._shared = self.leases.shared
        self._writer = loop.create_task(self._write_loop())
        loop.call_soon(self._started.set)
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
            self._loop = None

    async def _shutdown(self) -> None:
        tasks = [lane.task for lane in self._lanes.values() if lane.task is not None]
        if self._writer is not None:
            tasks.append(self._writer)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        stopped = RuntimeError("the link checks were stopped (shutting down)")
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(stopped)
        for lane in self._lanes.values():
            for item in lane.queue:
                if isinstance(item, _Job) and not item.done.done():
                    item.done.set_exception(stopped)
        self._waiting.clear()
        if self.leases is not None:
            await self.leases.close()
        if self._fetcher is not None:
            await self._fetcher.close()

    # -- in the loop ---------------------------------------------------------------------

    def _queue_urls(self, urls: Sequence[str]) -> list[asyncio.Future[str]]:
        """The futures of ``urls`` (their verdicts once stored), queueing those that are
        neither queued nor in flight nor stored this round."""
        mine: list[asyncio.Future[str]] = []
        now = time.monotonic()
        self._forget(now)
        for url in urls:
            future = self._waiting.get(url)
            if future is None:
                if now - self._checked.get(url, -math.inf) < self.remember_seconds:
                    continue  # stored this round, by another caller's check
                future = self._waiting[url] = asyncio.get_running_loop().create_future()
                future.add_done_callback(_retrieved)
                self._enqueue(url)
            mine.append(future)
        self._report()
        return mine

    async def _check(self, urls: Sequence[str], progress: Progress | None) -> None:
        """Wait until the results of ``urls`` are stored (the first failure to store one
        is raised); the futures are shared with other callers, so they are only watched."""
        mine = self._queue_urls(urls)
        if not mine:
            return
        finished: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        pending, done = len(mine), len(urls) - len(mine)

        def one(future: asyncio.Future[str]) -> None:
            nonlocal pending, done
            pending, done = pending - 1, done + 1
            if progress:
                progress("links", done, len(urls))
            if finished.done():
                return
            if future.cancelled() or future.exception() is not None:
                finished.set_exception(future.exception() if not future.cancelled()
                                       else RuntimeError("the link checks were stopped"))
            elif not pending:
                finished.set_result(None)

        for future in mine:
            future.add_done_callback(one)
        try:
            await finished
        finally:
            for future in mine:
                future.remove_done_callback(one)

    async def _in_lane(self, url: str, work: Callable[[], T]) -> T:
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        lane = self._lane(host_of(url))
        lane.queue.append(_Job(work, future))
        self._wake_lane(lane)
        return await future

    def _lane(self, host: str) -> HostLane:
        lane = self._lanes.get(host)
        if lane is None:
            lane = self._lanes[host] = HostLane(host)
        return lane

    def _enqueue(self, url: str) -> None:
        lane = self._lane(host_of(url))
        if self._is_tripped(lane):
            self._put(self._skipped(lane, url))
            return
        lane.queue.append(url)
        lane.unfiltered = self._shared
        self._queued += 1
        self._wake_lane(lane)

    def _wake_lane(self, lane: HostLane) -> None:
        if lane.task is None:
            lane.task = asyncio.get_running_loop().create_task(self._work(lane))

    def _is_tripped(self, lane: HostLane) -> bool:
        if lane.tripped is not None and time.monotonic() - lane.tripped_at >= self.round_seconds:
            lane.tripped, lane.failed = None, []
        return lane.tripped is not None

    async def _work(self, lane: HostLane) -> None:
        """Work through ``lane``'s queue holding its host's lease."""
        assert self.leases is not None
        lane.not_before = max(lane.not_before, await self.leases.acquire(lane.host))
        lane.unfiltered = self._shared
        try:
            while lane.queue:
                if lane.unfiltered:
                    await self._drop_stored(lane)
                    continue
                item = lane.queue.popleft()
                if isinstance(item, _Job):
                    await self._run_job(lane, item)
                    continue
                self._queued -= 1
                if self._is_tripped(lane):
                    self._put(self._skipped(lane, item), lane)
                    continue
                outcome = await self._ask(lane, item)
                if outcome is not None:
                    self._put(self.judge(outcome, lane.host), lane)
                    self._breaker(lane, outcome)
        finally:
            lane.task = None
            if self._shared:
                await self._stored(lane)
            await self.leases.release(lane.host, lane.not_before)

    async def _drop_stored(self, lane: HostLane) -> None:
        """With leases shared by workers: leave out the queued URLs that another worker
        stored while this lane waited for the host (it stores its results before it gives
        the host up), so each URL is asked once per round in the whole deployment."""
        lane.unfiltered = False
        queued = [item for item in lane.queue if isinstance(item, str)]
        if not queued:
            return
        try:
            todo = set(await asyncio.to_thread(
                due, self.store, queued, self.now(), self.settings.recheck_hours,
                self.settings.confirm_after_hours))
        except StoreError as exc:  # ask them all: a duplicate is better than a stuck lane
            log.warning("cannot read which of %d links on %s another worker checked (%s)",
                        len(queued), lane.host, describe(exc), extra={"code": "lease.store"})
            return
        if len(todo) == len(queued):
            return
        lane.queue = deque(item for item in lane.queue if not isinstance(item, str)
                           or item in todo)
        stamp = time.monotonic()
        for url in queued:
            if url not in todo:
                self._queued -= 1
                self._checked[url] = stamp
                future = self._waiting.pop(url, None)
                if future is not None and not future.done():
                    future.set_result("stored by another worker")
        self._report()

    async def _stored(self, lane: HostLane) -> None:
        """Wait (a while at most) until the results this lane put are stored."""
        answered, lane.answered = lane.answered, []
        pending = [self._waiting[url] for url in answered if url in self._waiting]
        if pending and not self._stopped:
            self._flush_now = True
            assert self._wake is not None
            self._wake.set()
            await asyncio.wait(pending, timeout=STORED_WAIT)

    async def _turn(self, lane: HostLane) -> None:
        pause = lane.not_before - time.time()
        if pause > 0:
            await asyncio.sleep(pause)

    async def _ask(self, lane: HostLane, url: str) -> LinkOutcome | None:
        """Probe ``url`` in its turn, waiting out 429s; None when the host asked to be left
        alone too long (its queued URLs are then recorded as rate-limited)."""
        assert self._fetcher is not None and self._slots is not None
        http = self.settings.http
        tries = 0
        while True:
            await self._turn(lane)
            async with self._slots:
                self._in_flight += 1
                self._report()
                try:
                    outcome = await self._probe(url)
                finally:
                    self._in_flight -= 1
                    lane.not_before = time.time() + http.min_delay
                    self._report()
            if outcome.status is not None:
                self._answered[lane.host] = time.monotonic()
            if outcome.status != 429:
                return outcome
            tries += 1
            wait = outcome.retry_after
            if wait is None:
                wait = backoff_after(tries, http.backoff_base, http.backoff_max)
            lane.not_before = max(lane.not_before, time.time() + wait)
            if tries >= RATE_LIMIT_TRIES or wait > http.retry_after_max:
                self._rate_limited(lane, url, wait)
                return None

    async def _probe(self, url: str) -> LinkOutcome:
        assert self._fetcher is not None
        started = time.monotonic()
        try:
            result = await self._fetcher.probe(url, timeout=self.settings.timeout)
        except FetchError as error:
            return LinkOutcome(url, error.status, None, None,
                               round(time.monotonic() - started, 3), False, error.message,
                               error.code, error.cause, error.blame)
        reachable = 200 <= result.status < 400
        retry_after = parse_retry_after(result.headers.get("retry-after")) \
            if result.status == 429 else None
        return LinkOutcome(url, result.status, result.content_type, result.final_url,
                           round(result.elapsed, 3), reachable, f"HTTP {result.status}",
                           None if reachable else "fetch.http_status", None,
                           None if reachable else "agency", retry_after)

    async def _run_job(self, lane: HostLane, job: _Job) -> None:
        assert self._slots is not None
        if job.done.done():
            return  # its caller gave up
        await self._turn(lane)
        async with self._slots:
            try:
                result = await asyncio.to_thread(job.work)
            except Exception as exc:  # noqa: BLE001 - the caller's to handle
                if not job.done.done():
                    job.done.set_exception(exc)
            else:
                if not job.done.done():
                    job.done.set_result(result)
            finally:
                lane.not_before = time.time() + self.settings.http.min_delay

    def judge(self, outcome: LinkOutcome, host: str) -> LinkOutcome:
        """A timeout is the agency's when another host answered this round, else ours."""
        if outcome.blame != "unknown":
            return outcome
        since = time.monotonic() - self.round_seconds
        others = any(when >= since for other, when in self._answered.items() if other != host)
        return replace(outcome, blame="agency" if others else "monitor")

    def _breaker(self, lane: HostLane, outcome: LinkOutcome) -> None:
        lane.failed = lane.failed + [outcome] if outcome.host_failure else []
        if len(lane.failed) < self.settings.host_failures:
            return
        judged = [self.judge(o, lane.host).blame for o in lane.failed]
        blame = "agency" if all(b == "agency" for b in judged) else "monitor"
        last = lane.failed[-1]
        what = f"HTTP {last.status}" if last.status else last.reason
        reason = (f"not asked: the last {len(lane.failed)} checks on {lane.host or 'this host'}"
                  f" failed this round ({what})")
        lane.tripped = LinkOutcome("", last.status, None, None, 0.0, False, reason,
                                   "fetch.host_unavailable", last.cause, blame)
        lane.tripped_at = time.monotonic()

    def _skipped(self, lane: HostLane, url: str) -> LinkOutcome:
        assert lane.tripped is not None
        return replace(lane.tripped, url=url)

    def _rate_limited(self, lane: HostLane, url: str, wait: float) -> None:
        limit = self.settings.http.retry_after_max
        reason = (f"not asked: the server answered 429 and asks to wait {wait:g} s "
                  f"(more than [http] retry_after_max = {limit:g} s, or "
                  f"{RATE_LIMIT_TRIES} times); asked again next round")
        urls = [url] + [item for item in lane.queue if isinstance(item, str)]
        jobs = [item for item in lane.queue if isinstance(item, _Job)]
        lane.queue = deque(jobs)
        self._queued -= len(urls) - 1
        for each in urls:
            self._put(LinkOutcome(each, 429, None, None, 0.0, False, reason,
                                  "fetch.rate_limited", None, "monitor"), lane)

    def _put(self, outcome: LinkOutcome, lane: HostLane | None = None) -> None:
        assert self._wake is not None
        self._results.append((outcome, self.now()))
        if lane is not None and self._shared:
            lane.answered.append(outcome.url)
        self._wake.set()
        self._report()

    def _report(self) -> None:
        if self.metrics:
            self.metrics.link_checks_state(max(0, self._queued), self._in_flight)

    def _forget(self, now: float) -> None:
        """Drop what was stored more than a round ago, when the memory has grown."""
        if len(self._checked) > 4 * len(self._waiting) + 10_000:
            horizon = now - self.round_seconds
            self._checked = {u: t for u, t in self._checked.items() if t >= horizon}

    async def _write_loop(self) -> None:
        """Store results in batches as they arrive; resolve the callers' futures."""
        assert self._wake is not None
        while True:
            await self._wake.wait()
            flush_at = time.monotonic() + FLUSH_SECONDS
            while (len(self._results) < BATCH and time.monotonic() < flush_at
                   and (self._queued or self._in_flight) and not self._flush_now):
                await asyncio.sleep(0.05)
            self._flush_now = False
            batch, self._results = self._results[:BATCH], self._results[BATCH:]
            if not self._results:
                self._wake.clear()
            if batch:
                await self._store(batch)

    async def _store(self, batch: list[tuple[LinkOutcome, datetime]]) -> None:
        outcomes = [outcome for outcome, _ in batch]
        try:
            verdicts = await asyncio.to_thread(self._save, outcomes, batch[-1][1])
        except Exception as exc:  # noqa: BLE001 - the callers of the lost results get it
            for outcome in outcomes:
                future = self._waiting.pop(outcome.url, None)
                if future is not None and not future.done():
                    future.set_exception(exc)
            return
        stamp = time.monotonic()
        for outcome, verdict in zip(outcomes, verdicts, strict=True):
            self._checked[outcome.url] = stamp
            future = self._waiting.pop(outcome.url, None)
            if future is not None and not future.done():
                future.set_result(verdict)
        if self.metrics:
            self.metrics.link_checks_recorded(verdicts)

    def _save(self, outcomes: list[LinkOutcome], stamp: datetime) -> list[str]:
        with self.store.write() as unit:
            return record(unit, outcomes, stamp, self.settings.confirm_after_hours)


def _retrieved(future: asyncio.Future[str]) -> None:
    """Mark a fed check's failure seen: the callers waiting for it (if any) get it."""
    if not future.cancelled():
        future.exception()


def link_engine(settings: Settings, instruments: Instruments,
                worker: str | None = None) -> LinkProcess:
    """A daemon's or queue worker's engine (not started), in a process of its own (see
    :mod:`~dcatwatch.validators.linkprocess`), with the deployment's host leases; its
    figures reach the process's ``instruments``."""
    from dcatwatch.validators.linkprocess import LinkProcess

    return LinkProcess(settings, instruments, worker)
