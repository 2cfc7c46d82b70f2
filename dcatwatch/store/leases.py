"""Host leases: one worker of the deployment at a time asks a host (``unit.leases``).

A row per host names its holder and when the lease expires; the holder renews it while it
works (a heartbeat) and releases it with ``not_before``, the earliest time the next request
to the host may start, which the next holder waits for: ``min_delay`` and Retry-After hold
across workers. A worker that dies stops renewing, and its leases are free once expired.
Each call is one statement, atomic on PostgreSQL and SQLite alike (``INSERT … ON CONFLICT DO
UPDATE … WHERE``), so two workers never both get a host. Times are ``time.time()`` seconds
(see :mod:`.lease_models`).
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import case, delete, update

from dcatwatch.store.db import chunks
from dcatwatch.store.repository import Repository
from dcatwatch.store.tables import LEASES
from dcatwatch.store.upsert import insert as upsert_into


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
            statement = upsert_into(self.connection, LEASES).values(
                [{"host": host, "worker": worker, "expires_at": now + ttl, "not_before": 0.0}
                 for host in part])
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
        return result.rowcount == 1

    def prune(self, now: float) -> int:
        """Delete the leases that are free at ``now`` and whose ``not_before`` has passed
        (they hold nothing a worker needs); returns how many."""
        c = LEASES.c
        return self.connection.execute(
            delete(LEASES).where(c.expires_at <= now, c.not_before <= now)).rowcount
