"""Host leases: one worker of the deployment at a time asks a host (``unit.leases``).

A row per host names its holder and when the lease expires; the holder renews it while it
works (a heartbeat) and releases it with ``not_before``, the earliest time the next request
to the host may start, which the next holder waits for: ``min_delay`` and Retry-After hold
across workers. A worker that dies stops renewing, and its leases are free once expired.
Taking a host is one statement, atomic on PostgreSQL and SQLite alike (``INSERT … ON
CONFLICT DO UPDATE … WHERE`` expired), so two workers never both get it. Times are ``time.time()`` seconds
(see :mod:`.lease_models`). On PostgreSQL a release also notifies :data:`CHANNEL` with the
host, so a worker waiting for it (:func:`watch_releases`) need not poll.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection

from sqlalchemy import Engine, case, delete, func, select, update
from sqlalchemy.exc import SQLAlchemyError

from dcatwatch.store.core import describe
from dcatwatch.store.db import chunks
from dcatwatch.store.repository import Repository
from dcatwatch.store.tables import LEASES
from dcatwatch.store.upsert import insert as upsert_into

CHANNEL = "dcatwatch_host_lease"  # PostgreSQL NOTIFY channel: a host was released
log = logging.getLogger(__name__)


class Leases(Repository):
    """The ``host_lease`` rows."""

    def acquire(self, hosts: Collection[str], worker: str, ttl: float,
                now: float) -> dict[str, float]:
        """Lease each of ``hosts`` that is free at ``now`` (never leased, released or expired)
        to ``worker`` until ``now + ttl``; returns the hosts it got, each with the
        ``not_before`` its last holder left (0.0 for a new host). A host held by anyone, this
        worker included, is not taken again before it expires."""
        c = LEASES.c
        got: dict[str, float] = {}
        for part in chunks(sorted(set(hosts))):
            held = set(self.connection.execute(  # a read first: the upsert locks every row
                select(c.host).where(c.host.in_(part), c.expires_at > now)).scalars())
            free = [host for host in part if host not in held]
            if not free:
                continue
            statement = upsert_into(self.connection, LEASES).values(
                [{"host": host, "worker": worker, "expires_at": now + ttl, "not_before": 0.0}
                 for host in free])
            statement = statement.on_conflict_do_update(
                index_elements=[c.host],
                set_={"worker": statement.excluded.worker,
                      "expires_at": statement.excluded.expires_at},
                where=c.expires_at <= now).returning(c.host, c.not_before)
            got.update((host, not_before)
                       for host, not_before in self.connection.execute(statement))
        return got

    def renew(self, hosts: Collection[str], worker: str, ttl: float,
              now: float) -> set[str]:
        """Extend ``worker``'s leases on ``hosts`` to ``now + ttl``; returns those it still
        held (a lease that expired and was taken by another worker is lost)."""
        c = LEASES.c
        kept: set[str] = set()
        for part in chunks(sorted(set(hosts))):
            kept.update(self.connection.execute(
                update(LEASES).where(c.host.in_(part), c.worker == worker)
                .values(expires_at=now + ttl).returning(c.host)).scalars())
        return kept

    def release(self, host: str, worker: str, not_before: float) -> bool:
        """Free ``host`` if ``worker`` holds it, keeping the later of its ``not_before`` and
        the one given; False (nothing changed) when another worker holds it or nobody does."""
        c = LEASES.c
        result = self.connection.execute(
            update(LEASES).where(c.host == host, c.worker == worker)
            .values(worker=None, expires_at=0.0,
                    not_before=case((c.not_before > not_before, c.not_before),
                                    else_=not_before)))
        if result.rowcount != 1:
            return False
        if self.connection.dialect.name == "postgresql":  # delivered when the unit commits
            self.connection.execute(select(func.pg_notify(CHANNEL, host)))
        return True

    def prune(self, now: float) -> int:
        """Delete the leases that are free at ``now`` and whose ``not_before`` has passed
        (they hold nothing a worker needs); returns how many."""
        c = LEASES.c
        return self.connection.execute(
            delete(LEASES).where(c.expires_at <= now, c.not_before <= now)).rowcount


def watch_releases(engine: Engine, released: Callable[[str], None],
                   stop: threading.Event) -> None:
    """Call ``released(host)`` for each host any worker releases, until ``stop`` is set
    (PostgreSQL: LISTEN on a connection of its own, taken out of the pool; a lost connection
    is opened again a second later, logged once per outage). Blocks: run it in a thread."""
    failing = False
    while not stop.is_set():
        try:
            connection = engine.raw_connection()
            driver = connection.driver_connection
            assert driver is not None
            connection.detach()
        except SQLAlchemyError as exc:
            failing = _failed(failing, exc)
            stop.wait(1.0)
            continue
        try:
            driver.rollback()
            driver.autocommit = True
            driver.execute(f"LISTEN {CHANNEL}")
            failing = False
            while not stop.is_set():
                for notify in driver.notifies(timeout=0.5):
                    released(notify.payload)
        except engine.dialect.loaded_dbapi.Error as exc:
            failing = _failed(failing, exc)
            stop.wait(1.0)
        finally:
            connection.close()


def _failed(failing: bool, exc: BaseException) -> bool:
    if not failing:
        log.warning("cannot listen for host lease releases (%s): waiting workers poll",
                    describe(exc), extra={"code": "lease.store"})
    return True
