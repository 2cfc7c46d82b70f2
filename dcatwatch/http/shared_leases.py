"""Host leases kept in the store: the per-host rule holds across every worker of a deployment.

:class:`StoreLeases` is the :class:`~dcatwatch.http.leases.HostLeases` of ``[queue] backend =
"postgres"``, where every ``serve`` checks links. A lane leases its host before its first
request and releases it, with the earliest start of the next request, when its queue is
empty; the lease is a ``host_lease`` row (:mod:`dcatwatch.store.leases`), so a host has one
lane in the whole deployment, and ``min_delay`` and Retry-After pass to the next holder.

Side tasks, started with the first :meth:`~StoreLeases.acquire`:

* the poller asks the store for the hosts lanes wait for, all in one statement: a host asked
  for the first time at once, a host released (by this worker, or on PostgreSQL by any:
  LISTEN/NOTIFY, a thread of its own) at once, and every host still held elsewhere every
  ``poll`` seconds (a lease that expired, a notification lost with its connection);
* the heartbeat renews the held leases every ``ttl / 3`` and prunes the free rows. A worker
  that dies stops renewing: its hosts are free ``ttl`` seconds later at most.

The store is synchronous and called in threads of the leases' own (so a heartbeat never
queues behind other work in the loop's default executor, such as data checks). A store that
fails makes lanes wait (they never ask a host unleased); a lease that could not be renewed
and was taken over is logged (``lease.lost``).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from dcatwatch.store.core import Store, StoreError, describe
from dcatwatch.store.leases import watch_releases

log = logging.getLogger(__name__)
T = TypeVar("T")
STORE_THREADS = 4  # store calls at once: the poller, the heartbeat, releases


class StoreLeases:
    """Host leases of one worker process (or one engine in it), deployment-wide.

    ``worker`` names the process in ``host_lease.worker`` (a random suffix is added, so two
    instances in one process never hold a host at once); ``ttl`` is how long a lease lasts
    unrenewed; ``poll`` the pause between tries for hosts held elsewhere; ``rest`` how long
    after :meth:`close` the hosts still held then wait (a request may have been cut off).
    """

    shared = True

    def __init__(self, store: Store, worker: str, ttl: float, poll: float,
                 rest: float) -> None:
        self.store = store
        self.holder = f"{worker}:{uuid.uuid4().hex[:8]}"
        self.ttl = ttl
        self.poll = poll
        self.rest = rest
        self._held: dict[str, int] = {}  # host -> serial of its acquisition (see _beat)
        self._serials = itertools.count()
        self._waiting: dict[str, deque[asyncio.Future[float]]] = {}
        self._fresh: set[str] = set()  # waited for, not tried yet
        self._wake: asyncio.Event | None = None
        self._poller: asyncio.Task[None] | None = None
        self._heartbeat: asyncio.Task[None] | None = None
        self._listener: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._threads = ThreadPoolExecutor(STORE_THREADS, thread_name_prefix="lease-store")
        self._store_failing = False
        self._stop_listening = threading.Event()
        self._closing = False

    async def acquire(self, host: str) -> float:
        """Wait until this worker holds ``host``; returns the earliest ``time.time()`` at which
        its next request may start (the last holder's ``not_before``, 0.0 if none)."""
        if self._closing:
            raise RuntimeError("the host leases are closed")
        if self._poller is not None and self._poller.done():
            raise RuntimeError("the host lease poller failed (see the log)")
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(host, deque()).append(future)
        self._fresh.add(host)
        self._start().set()
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():  # granted as the caller gave up
                await self.release(host, future.result())
            future.cancel()
            raise

    async def release(self, host: str, not_before: float) -> None:
        """Give ``host`` up; its next request, by any worker, starts at ``not_before`` at the
        earliest."""
        if self._held.pop(host, None) is None:
            return  # lost (logged by the heartbeat) or never held
        try:
            released = await self._call(self._release, [host], not_before)
        except StoreError as exc:
            log.warning("cannot release the lease on %s (%s): it expires in %.0f s", host,
                        describe(exc), self.ttl, extra={"code": "lease.lost"})
            return
        if not released:
            log.warning("the lease on %s had expired and was taken by another worker", host,
                        extra={"code": "lease.lost"})
        self._released(host)  # a lane of ours may wait for it

    async def close(self) -> None:
        """Stop the side tasks, fail the waiting acquires, release every host still held. The
        leases may be used again afterwards (the engine started anew, in another loop)."""
        if self._closing:
            return
        self._closing = True
        if self._wake is not None and self._poller is not None:
            self._wake.set()
            # ends after its current try, so nothing it gets is lost (its failure is logged)
            await asyncio.gather(self._poller, return_exceptions=True)
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            await asyncio.gather(self._heartbeat, return_exceptions=True)
        if self._listener is not None:
            self._stop_listening.set()
            await self._call(self._listener.join)
        self._fail_waiters(RuntimeError("the host leases are closed"))
        held, self._held = list(self._held), {}
        if held:
            try:
                await self._call(self._release, held, time.time() + self.rest)
            except StoreError as exc:
                log.warning("cannot release %d host lease(s) (%s): they expire in %.0f s",
                            len(held), describe(exc), self.ttl, extra={"code": "lease.lost"})
        self._threads.shutdown()
        self._threads = ThreadPoolExecutor(STORE_THREADS, thread_name_prefix="lease-store")
        self._loop = self._wake = self._poller = self._heartbeat = self._listener = None
        self._stop_listening = threading.Event()
        self._closing = False

    def _start(self) -> asyncio.Event:
        if self._wake is None:
            self._loop = asyncio.get_running_loop()
            self._wake = asyncio.Event()
            self._poller = asyncio.create_task(self._poll(self._wake), name="lease-poller")
            self._heartbeat = asyncio.create_task(self._beat(), name="lease-heartbeat")
            if self.store.dialect == "postgresql":
                self._listener = threading.Thread(
                    target=watch_releases, name="lease-listener", daemon=True,
                    args=(self.store.engine, self._released_elsewhere, self._stop_listening))
                self._listener.start()
        return self._wake

    def _released_elsewhere(self, host: str) -> None:
        """(The listener's thread.) Try ``host`` at once if a lane waits for it."""
        if self._loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has closed
                self._loop.call_soon_threadsafe(self._released, host)

    def _released(self, host: str) -> None:
        if host in self._waiting and self._wake is not None:
            self._fresh.add(host)
            self._wake.set()

    async def _poll(self, wake: asyncio.Event) -> None:
        """Run the poller; if it fails (a bug), the lanes waiting get its error."""
        try:
            await self._poll_until_closed(wake)
        except Exception as exc:
            log.exception("the host lease poller failed")
            self._fail_waiters(exc)
            raise

    async def _poll_until_closed(self, wake: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        tick = 0.0  # loop time of the next try of every waited-for host
        while not self._closing:
            self._forget_abandoned()
            timeout = None if not self._waiting else max(0.0, tick - loop.time())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout)
            wake.clear()
            if self._closing:
                return
            if loop.time() >= tick:
                hosts, tick = set(self._waiting), loop.time() + self.poll
            else:
                hosts = self._fresh & self._waiting.keys()
            self._fresh.clear()
            if not hosts:
                continue
            try:
                granted = await self._call(self._acquire, hosts)
                unwanted = [(host, not_before) for host, not_before in granted.items()
                            if not self._grant(host, not_before)]
                for host, not_before in unwanted:  # its lanes gave up meanwhile
                    await self._call(self._release, [host], not_before)
            except StoreError as exc:
                if not self._store_failing:  # once per outage, not once per poll
                    log.warning("cannot lease hosts (%s): %d lane(s) wait", describe(exc),
                                len(self._waiting), extra={"code": "lease.store"})
                self._store_failing = True
            else:
                self._store_failing = False

    def _grant(self, host: str, not_before: float) -> bool:
        """Hand ``host`` to its first waiter still waiting; False when none is."""
        waiters = self._waiting.get(host, deque())
        while waiters:
            future = waiters.popleft()
            if not future.done():
                self._held[host] = next(self._serials)
                future.set_result(not_before)
                return True
        return False

    def _fail_waiters(self, exc: Exception) -> None:
        for waiters in self._waiting.values():
            for future in waiters:
                if not future.done():
                    future.set_exception(exc)
        self._waiting.clear()

    def _forget_abandoned(self) -> None:
        for host in [host for host, waiters in self._waiting.items()
                     if all(future.done() for future in waiters)]:
            del self._waiting[host]

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self.ttl / 3)
            held = dict(self._held)
            try:
                kept = await self._call(self._renew, held)
            except StoreError as exc:
                log.warning("cannot renew %d host lease(s) (%s)", len(held), describe(exc),
                            extra={"code": "lease.store"})
                continue
            for host, serial in held.items():
                if host not in kept and self._held.get(host) == serial:  # not released since
                    del self._held[host]
                    log.warning("the lease on %s expired and was taken by another worker",
                                host, extra={"code": "lease.lost"})

    # the store calls (in the leases' threads)

    async def _call(self, function: Callable[..., T], *args: object) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._threads, function, *args)

    def _acquire(self, hosts: Collection[str]) -> dict[str, float]:
        with self.store.write() as unit:
            return unit.leases.acquire(hosts, self.holder, self.ttl, time.time())

    def _renew(self, hosts: Collection[str]) -> set[str]:
        now = time.time()
        with self.store.write() as unit:
            kept = unit.leases.renew(hosts, self.holder, self.ttl, now) if hosts else set()
            unit.leases.prune(now)
        return kept

    def _release(self, hosts: Collection[str], not_before: float) -> bool:
        with self.store.write() as unit:
            released = [unit.leases.release(host, self.holder, not_before) for host in hosts]
        return all(released)  # each released, even after one that was not
