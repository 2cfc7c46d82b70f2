"""Host leases in the store (``unit.leases``): one holder per host, expiry, ``not_before``
carried from one holder to the next, pruning. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dcatwatch.store.core import Store

T = 1_000_000.0  # an arbitrary "now" (seconds since the epoch): the repository takes times


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    with Store.open(database_url) as opened:
        yield opened


def test_a_free_host_goes_to_one_worker_only(store: Store) -> None:
    with store.write() as unit:
        assert unit.leases.acquire(["a.test", "b.test"], "w1", 30, T) == \
            {"a.test": 0.0, "b.test": 0.0}
    with store.write() as unit:
        assert unit.leases.acquire(["a.test", "c.test"], "w2", 30, T + 1) == {"c.test": 0.0}
        assert unit.leases.acquire(["a.test"], "w1", 30, T + 1) == {}  # not taken twice


def test_an_expired_lease_is_taken_over_and_its_holder_cannot_renew_or_release_it(
        store: Store) -> None:
    with store.write() as unit:
        unit.leases.acquire(["a.test"], "w1", 30, T)
    with store.write() as unit:
        assert unit.leases.acquire(["a.test"], "w2", 30, T + 29.9) == {}
        assert unit.leases.acquire(["a.test"], "w2", 30, T + 30) == {"a.test": 0.0}
    with store.write() as unit:
        assert unit.leases.renew(["a.test"], "w1", 30, T + 31) == set()
        assert unit.leases.release("a.test", "w1", T + 99) is False
        assert unit.leases.renew(["a.test"], "w2", 30, T + 31) == {"a.test"}
    with store.write() as unit:  # renewed to T + 61: still w2's at T + 60
        assert unit.leases.acquire(["a.test"], "w3", 30, T + 60) == {}


def test_release_carries_not_before_to_the_next_holder(store: Store) -> None:
    with store.write() as unit:
        unit.leases.acquire(["a.test"], "w1", 30, T)
    with store.write() as unit:
        assert unit.leases.release("a.test", "w1", T + 5.25) is True
        assert unit.leases.release("a.test", "w1", T + 6) is False  # released already
    with store.write() as unit:
        assert unit.leases.acquire(["a.test"], "w2", 30, T + 1) == {"a.test": T + 5.25}
        assert unit.leases.release("a.test", "w2", T + 2) is True  # an earlier time ...
    with store.write() as unit:  # ... keeps the later one (a Retry-After seen before)
        assert unit.leases.acquire(["a.test"], "w3", 30, T + 2) == {"a.test": T + 5.25}


def test_release_by_a_worker_that_does_not_hold_the_host_is_refused(store: Store) -> None:
    with store.write() as unit:
        unit.leases.acquire(["a.test"], "w1", 30, T)
    with store.write() as unit:
        assert unit.leases.release("a.test", "w2", T + 50) is False
        assert unit.leases.release("never.test", "w2", T + 50) is False
    with store.write() as unit:  # still w1's, with the not_before it had
        assert unit.leases.acquire(["a.test"], "w3", 30, T + 1) == {}
        assert unit.leases.release("a.test", "w1", T + 2) is True
        assert unit.leases.acquire(["a.test"], "w3", 30, T + 3) == {"a.test": T + 2}


def test_prune_deletes_only_free_rows_whose_not_before_passed(store: Store) -> None:
    with store.write() as unit:
        unit.leases.acquire(["held", "expired", "waiting", "done"], "w1", 30, T)
        unit.leases.renew(["held"], "w1", 100, T)
        unit.leases.release("waiting", "w1", T + 200)
        unit.leases.release("done", "w1", T + 10)
    with store.write() as unit:
        assert unit.leases.prune(T + 50) == 2  # "expired" and "done"
    with store.write() as unit:  # "held" is w1's still, "waiting" keeps its not_before
        assert unit.leases.acquire(["held", "expired", "waiting", "done"], "w2", 30, T + 60) \
            == {"expired": 0.0, "waiting": T + 200, "done": 0.0}
