"""The outbox repository on SQLite and PostgreSQL: one row per agency and period, and the
state changes a delivery makes."""

from __future__ import annotations

from datetime import UTC, datetime

from dcatwatch.store.core import Store

NOW = datetime(2026, 5, 1, 7, 0, tzinfo=UTC)


def _queue(store: Store, agency: str, period: str) -> bool:
    with store.write() as unit:
        return unit.outbox.queue(agency_id=agency, period=period,
                                 recipient=f"{agency}@x.example", language="sv",
                                 subject="Rapport", message_id=f"<{agency}>", message="body",
                                 figures='{"index": 1}', created_at=NOW)


def test_one_row_per_agency_and_period_and_its_delivery(database_url: str) -> None:
    with Store.open(database_url) as store:
        assert _queue(store, "a", "2026-04") is True
        assert _queue(store, "a", "2026-04") is False  # already queued: left as it is
        assert _queue(store, "b", "2026-04") is True
        with store.read() as unit:
            [a] = unit.outbox.unsent("2026-04", ["a"])
        with store.write() as unit:
            unit.outbox.mark_sending(a.id, NOW)
            unit.outbox.mark_failed(a.id, "421 busy")
        with store.write() as unit:
            unit.outbox.mark_sending(a.id, NOW)
            unit.outbox.mark_sent(a.id, NOW)
        with store.read() as unit:
            row = unit.outbox.find("a", "2026-04")
            assert (row.status, row.attempts, row.failures, row.last_error) == ("sent", 2, 1, None)
            assert [r.agency_id for r in unit.outbox.unsent("2026-04", ["a", "b"])] == ["b"]
            assert unit.outbox.unsent("2026-04", []) == []
            assert unit.outbox.find("a", "2026-05") is None
            before = unit.outbox.last_sent("a", "2026-05")
            assert (before.period, before.figures) == ("2026-04", '{"index": 1}')
            assert unit.outbox.last_sent("a", "2026-04") is None  # only earlier periods
            assert unit.outbox.last_sent("b", "2026-05") is None  # never sent
