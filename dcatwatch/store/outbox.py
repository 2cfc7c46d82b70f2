"""Report deliveries: one row per (agency, period) holding the rendered message.

Every state change is its own unit of work (committed on its own), so a crash never loses
track of what was handed to the SMTP server. Claims and the move to ``data`` are single
conditional UPDATEs whose row count says whether this sender won: the database, not the
sender's own reading, decides who may send (see :mod:`dcatwatch.store.report_models`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, or_, select, update

from dcatwatch.store.repository import Repository
from dcatwatch.store.tables import DELIVERIES
from dcatwatch.store.upsert import insert as upsert_into

PENDING, SENDING, DATA, SENT, FAILED, UNKNOWN = (
    "pending", "sending", "data", "sent", "failed", "unknown")
STATES = (PENDING, SENDING, DATA, SENT, FAILED, UNKNOWN)


class Outbox(Repository):
    """Report deliveries: one row per (agency, period)."""

    def find(self, agency_id: str, period: str) -> Any | None:
        """The row of ``agency_id`` for ``period`` (``YYYY-MM``), if one was queued."""
        return self.connection.execute(
            select(DELIVERIES).where(DELIVERIES.c.agency_id == agency_id,
                                     DELIVERIES.c.period == period)).first()

    def queue(self, **values: Any) -> bool:
        """Insert a pending row; False when the (agency, period) row already exists."""
        statement = upsert_into(self.connection, DELIVERIES).values(
            status="pending", attempts=0, failures=0, **values)
        inserted = self.connection.execute(
            statement.on_conflict_do_nothing(index_elements=["agency_id", "period"])
            .returning(DELIVERIES.c.id)).first()
        return inserted is not None

    def unsent(self, period: str, agency_ids: Iterable[str]) -> list[Any]:
        """Rows of ``period`` for ``agency_ids`` neither sent nor unknown (pending, failed,
        claimed or interrupted), by agency."""
        wanted = list(agency_ids)
        if not wanted:
            return []
        return list(self.connection.execute(
            select(DELIVERIES).where(DELIVERIES.c.period == period,
                                     DELIVERIES.c.agency_id.in_(wanted),
                                     DELIVERIES.c.status.not_in([SENT, UNKNOWN]))
            .order_by(DELIVERIES.c.agency_id)))

    def unknown(self, period: str, agency_ids: Iterable[str]) -> list[Any]:
        """Rows of ``period`` for ``agency_ids`` whose delivery is unknown, by agency."""
        wanted = list(agency_ids)
        if not wanted:
            return []
        return list(self.connection.execute(
            select(DELIVERIES).where(DELIVERIES.c.period == period,
                                     DELIVERIES.c.agency_id.in_(wanted),
                                     DELIVERIES.c.status == UNKNOWN)
            .order_by(DELIVERIES.c.agency_id)))

    def states(self, now: datetime) -> dict[str, int]:
        """Rows per state; a ``data`` row whose lease ran out counts as ``unknown``."""
        state = case((and_(DELIVERIES.c.status == DATA, DELIVERIES.c.lease_until < now),
                      UNKNOWN), else_=DELIVERIES.c.status)
        rows = self.connection.execute(select(state, func.count()).group_by(state))
        return {row[0]: row[1] for row in rows}

    def expire(self, now: datetime) -> int:
        """Rows left in ``data`` by a sender that died after DATA (lease over) → unknown."""
        return self.connection.execute(
            update(DELIVERIES).where(DELIVERIES.c.status == DATA,
                                     DELIVERIES.c.lease_until < now)
            .values(status=UNKNOWN, last_error="the sender stopped after DATA")).rowcount

    def claim(self, row_id: int, holder: str, now: datetime, until: datetime, *,
              resend: bool = False) -> bool:
        """Take the row for ``holder`` until ``until`` (an SMTP attempt begins); True if
        this call won it.

        Claimable: pending or failed rows, and ``sending`` claims whose lease ran out (their
        holder died before DATA). ``resend`` also takes sent and unknown rows, and ``data``
        rows whose lease ran out; never a claim that is still held.
        """
        lapsed = or_(DELIVERIES.c.lease_until.is_(None), DELIVERIES.c.lease_until < now)
        free = [DELIVERIES.c.status.in_([PENDING, FAILED]),
                and_(DELIVERIES.c.status == SENDING, lapsed)]
        if resend:
            free += [DELIVERIES.c.status.in_([SENT, UNKNOWN]),
                     and_(DELIVERIES.c.status == DATA, lapsed)]
        return self.connection.execute(
            update(DELIVERIES).where(DELIVERIES.c.id == row_id, or_(*free))
            .values(status=SENDING, claimed_by=holder, lease_until=until,
                    attempts=DELIVERIES.c.attempts + 1, last_attempt_at=now)).rowcount == 1

    def mark_data(self, row_id: int, holder: str, now: datetime, until: datetime) -> bool:
        """Committed just before the DATA command; False when ``holder`` lost the claim (it
        was taken over), and then DATA must not be sent."""
        return self.connection.execute(
            update(DELIVERIES).where(DELIVERIES.c.id == row_id,
                                     DELIVERIES.c.claimed_by == holder,
                                     DELIVERIES.c.status.in_([SENDING, DATA]))
            .values(status=DATA, data_at=now, lease_until=until)).rowcount == 1

    def mark_unknown(self, row_id: int, holder: str, error: str) -> None:
        """DATA was sent but no reply came: maybe delivered; only ``report resend`` sends it
        again."""
        self._set(row_id, holder, status=UNKNOWN, last_error=error, lease_until=None)

    def last_sent(self, agency_id: str, before: str) -> Any | None:
        """The period and figures of the agency's latest report sent for a period before
        ``before``."""
        return self.connection.execute(
            select(DELIVERIES.c.period, DELIVERIES.c.figures)
            .where(DELIVERIES.c.agency_id == agency_id, DELIVERIES.c.period < before,
                   DELIVERIES.c.status == SENT)
            .order_by(DELIVERIES.c.period.desc()).limit(1)).first()

    def mark_sent(self, row_id: int, holder: str, now: datetime) -> None:
        """The server accepted the message."""
        self._set(row_id, holder, status=SENT, sent_at=now, last_error=None, lease_until=None)

    def mark_failed(self, row_id: int, holder: str, error: str) -> None:
        """The attempt failed before DATA (or was refused); the next run tries again."""
        self._set(row_id, holder, status=FAILED, failures=DELIVERIES.c.failures + 1,
                  last_error=error, lease_until=None)

    def _set(self, row_id: int, holder: str, **values: Any) -> None:
        """Change the row only while ``holder`` holds its claim."""
        self.connection.execute(update(DELIVERIES).where(DELIVERIES.c.id == row_id,
                                                         DELIVERIES.c.claimed_by == holder)
                                .values(**values))
