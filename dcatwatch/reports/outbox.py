"""The outbox (``report_delivery``): one row per agency and period holding the rendered
message; every state change is committed on its own, so a crash never loses track of what
was handed to the SMTP server (see :mod:`dcatwatch.store.report_models`)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from dcatwatch.reports.period import Period
from dcatwatch.store.tables import DELIVERIES

SENT = "sent"


def _now() -> datetime:
    return datetime.now(UTC)


def find(engine: Engine, agency_id: str, period: Period) -> Any | None:
    """The row of ``agency_id`` for ``period``, if one was queued."""
    with engine.connect() as conn:
        return conn.execute(select(DELIVERIES).where(DELIVERIES.c.agency_id == agency_id,
                                                     DELIVERIES.c.period == str(period))).first()


def queue(engine: Engine, **values: Any) -> bool:
    """Insert a pending row; False when the (agency, period) row already exists."""
    try:
        with engine.begin() as conn:
            conn.execute(insert(DELIVERIES).values(status="pending", attempts=0, failures=0,
                                                   **values))
    except IntegrityError:
        return False
    return True


def unsent(engine: Engine, period: Period, agency_ids: Iterable[str]) -> list[Any]:
    """Rows of ``period`` for ``agency_ids`` not yet sent (pending, failed or interrupted)."""
    wanted = list(agency_ids)
    if not wanted:
        return []
    with engine.connect() as conn:
        return list(conn.execute(
            select(DELIVERIES).where(DELIVERIES.c.period == str(period),
                                     DELIVERIES.c.agency_id.in_(wanted),
                                     DELIVERIES.c.status != SENT)
            .order_by(DELIVERIES.c.agency_id)))


def _set(engine: Engine, row_id: int, **values: Any) -> None:
    with engine.begin() as conn:
        conn.execute(update(DELIVERIES).where(DELIVERIES.c.id == row_id).values(**values))


def mark_sending(engine: Engine, row_id: int) -> None:
    """Committed before the message goes to the SMTP server."""
    _set(engine, row_id, status="sending", attempts=DELIVERIES.c.attempts + 1,
         last_attempt_at=_now())


def mark_sent(engine: Engine, row_id: int) -> None:
    """The server accepted the message."""
    _set(engine, row_id, status=SENT, sent_at=_now(), last_error=None)


def mark_failed(engine: Engine, row_id: int, error: str) -> None:
    """The attempt failed; the next run tries again."""
    _set(engine, row_id, status="failed", failures=DELIVERIES.c.failures + 1, last_error=error)
