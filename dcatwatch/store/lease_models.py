"""The table of host leases: which worker may send requests to a host, deployment-wide.

Times are seconds since the epoch (``time.time()``, as :mod:`dcatwatch.http.shared_leases`
and the link engine's lanes count them): sub-millisecond and compared the same way on
PostgreSQL and SQLite. Workers' clocks are assumed in step (NTP), as ``not_before`` made on one
worker is waited for on another.
"""

from __future__ import annotations

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel


class HostLease(SQLModel, table=True):
    """One host's lease: its holder until ``expires_at`` (free when that has passed), and the
    earliest time the next request to it may start (``min_delay``, Retry-After)."""

    __tablename__ = "host_lease"

    host: str = Field(sa_column=Column(Text, primary_key=True))
    worker: str | None = Field(default=None, max_length=200)  # None: released
    expires_at: float = 0.0  # 0 when released
    not_before: float = 0.0
