"""Report deliveries: one row per (agency, period) holding the rendered message.

Every state change is its own unit of work (committed on its own), so a crash never loses
track of what was handed to the SMTP server (see :mod:`dcatwatch.store.report_models`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from dcatwatch.store.core import Repository
from dcatwatch.store.tables import DELIVERIES
from dcatwatch.store.upsert import insert as upsert_into

SENT = "sent"


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
        """Rows of ``period`` for ``agency_ids`` not yet sent (pending, failed or
        interrupted), by agency."""
        wanted = list(agency_ids)
        if not wanted:
            return []
        return list(self.connection.execute(
            select(DELIVERIES).where(DELIVERIES.c.period == period,
                                     DELIVERIES.c.agency_id.in_(wanted),
                                     DELIVERIES.c.status != SENT)
            .order_by(DELIVERIES.c.agency_id)))

    def last_sent(self, agency_id: str, before: str) -> Any | None:
        """The period and figures of the agency's latest report sent for a period before
        ``before``."""
        return self.connection.execute(
            select(DELIVERIES.c.period, DELIVERIES.c.figures)
            .where(DELIVERIES.c.agency_id == agency_id, DELIVERIES.c.period < before,
                   DELIVERIES.c.status == SENT)
            .order_by(DELIVERIES.c.period.desc()).limit(1)).first()

    def mark_sending(self, row_id: int, now: datetime) -> None:
        """Committed before the message goes to the SMTP server."""
        self._set(row_id, status="sending", attempts=DELIVERIES.c.attempts + 1,
                  last_attempt_at=now)

    def mark_sent(self, row_id: int, now: datetime) -> None:
        """The server accepted the message."""
        self._set(row_id, status=SENT, sent_at=now, last_error=None)

    def mark_failed(self, row_id: int, error: str) -> None:
        """The attempt failed; the next run tries again."""
        self._set(row_id, status="failed", failures=DELIVERIES.c.failures + 1,
                  last_error=error)

    def _set(self, row_id: int, **values: Any) -> None:
        self.connection.execute(update(DELIVERIES).where(DELIVERIES.c.id == row_id)
                                .values(**values))
