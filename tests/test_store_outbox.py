"""The outbox repository on SQLite and PostgreSQL: one row per agency and period, and the
state changes a delivery makes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dcatwatch.store.core import Store

NOW = datetime(2026, 5, 1, 7, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=15)


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
            assert unit.outbox.claim(a.id, "h:1:x", NOW, LATER)
            unit.outbox.mark_failed(a.id, "h:1:x", "421 busy")
        with store.write() as unit:
            assert unit.outbox.claim(a.id, "h:1:y", NOW, LATER)
            assert unit.outbox.mark_data(a.id, "h:1:y", NOW, LATER)
            unit.outbox.mark_sent(a.id, "h:1:y", NOW)
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


def test_a_claim_is_held_by_one_sender_and_only_its_holder_reaches_data(
        database_url: str) -> None:
    with Store.open(database_url) as store:
        _queue(store, "a", "2026-04")
        with store.read() as unit:
            [a] = unit.outbox.unsent("2026-04", ["a"])
        with store.write() as unit:
            assert unit.outbox.claim(a.id, "one:1:x", NOW, LATER)
            assert not unit.outbox.claim(a.id, "two:2:y", NOW, LATER)  # held
            assert not unit.outbox.claim(a.id, "two:2:y", NOW, LATER, resend=True)
        with store.write() as unit:  # the lease ran out before DATA: taken over
            assert unit.outbox.claim(a.id, "two:2:y", LATER + timedelta(seconds=1),
                                     LATER + timedelta(minutes=15))
            assert not unit.outbox.mark_data(a.id, "one:1:x", LATER, LATER)  # lost it
            assert unit.outbox.mark_data(a.id, "two:2:y", LATER, LATER)
            assert not unit.outbox.claim(a.id, "three:3:z", LATER + timedelta(hours=1),
                                         LATER + timedelta(hours=2))  # data: never by send
            assert unit.outbox.states(LATER) == {"data": 1}
            assert unit.outbox.states(LATER + timedelta(seconds=1)) == {"unknown": 1}
        with store.write() as unit:
            assert unit.outbox.expire(LATER + timedelta(seconds=1)) == 1
        with store.read() as unit:
            [row] = unit.outbox.unknown("2026-04", ["a"])
            assert (row.status, row.attempts, row.claimed_by) == ("unknown", 2, "two:2:y")
            assert unit.outbox.unsent("2026-04", ["a"]) == []  # never sent again by itself
        with store.write() as unit:
            assert not unit.outbox.claim(a.id, "four:4:w", LATER, LATER)
            assert unit.outbox.claim(a.id, "four:4:w", LATER, LATER, resend=True)
