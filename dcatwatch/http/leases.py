"""Host leases: whose turn a host is, deployment-wide.

A link-engine lane holds its host's lease while it works through its queue: it acquires the
lease before its first request (learning when the previous holder allowed the next request
to start) and releases it when its queue is empty, recording when the host may be asked
again (the last response's end + ``min_delay``, or later when the server sent
``Retry-After``). So however many workers run, one host is worked by one lane at a time and
``min_delay`` holds between any two requests to it.

:class:`LocalLeases` holds the leases in this process (SQLite, ``[queue] backend = "local"``,
tests). With ``backend = "postgres"`` the leases live in PostgreSQL
(``dcatwatch/http/shared_leases.py``), so the rule holds across ``serve`` workers.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from dcatwatch.config import Settings
    from dcatwatch.store import Store


class HostLeases(Protocol):
    """Deployment-wide turns on hosts (see the module docstring)."""

    shared: bool  # held with other processes (then a lane stores its results before release)

    async def acquire(self, host: str) -> float:
        """Wait until this process holds `host` deployment-wide; return the earliest
        time.time() at which its next request may start (the previous holder's not_before,
        0.0 if none)."""

    async def release(self, host: str, not_before: float) -> None:
        """Give `host` up, recording when the next request to it may start (last response
        end + min_delay, or Retry-After)."""

    async def close(self) -> None:
        """Release every host still held (shutdown)."""


@dataclass(slots=True)
class _Lease:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    not_before: float = 0.0


class LocalLeases:
    """In-process leases: one :class:`asyncio.Lock` per host plus its ``not_before``.

    Used within one event loop; one small entry per host seen by the process.
    """

    shared = False

    def __init__(self) -> None:
        self._hosts: dict[str, _Lease] = {}

    async def acquire(self, host: str) -> float:
        lease = self._hosts.get(host)
        if lease is None:
            lease = self._hosts[host] = _Lease()
        await lease.lock.acquire()
        return lease.not_before

    async def release(self, host: str, not_before: float) -> None:
        lease = self._hosts.get(host)
        if lease is None or not lease.lock.locked():
            return
        lease.not_before = max(lease.not_before, not_before)
        lease.lock.release()

    async def close(self) -> None:
        for lease in self._hosts.values():
            if lease.lock.locked():
                lease.lock.release()

    def held(self) -> list[str]:
        """The hosts currently held (for tests and diagnostics)."""
        return sorted(host for host, lease in self._hosts.items() if lease.lock.locked())


def host_leases(store: Store, settings: Settings, worker: str) -> HostLeases:
    """The leases for this deployment: shared in the store when the queue is PostgreSQL's
    (``[queue] backend = "postgres"``: several workers ask the same hosts), else in-process."""
    if settings.queue.backend == "postgres":
        from dcatwatch.http.shared_leases import StoreLeases

        return StoreLeases(store, worker, settings.queue.lease_ttl, settings.queue.lease_poll,
                           rest=settings.http.min_delay)
    return LocalLeases()
