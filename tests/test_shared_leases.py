"""Host leases across workers (:class:`StoreLeases`): never two requests at once to a host,
never a gap under ``min_delay``, counted over every worker process together; a killed
holder's hosts are free after the lease's ttl. Real processes, loopback servers, SQLite and
PostgreSQL."""

from __future__ import annotations

import asyncio
import itertools
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from sqlalchemy import text

from dcatwatch.http.shared_leases import StoreLeases
from dcatwatch.store.core import Store
from tests.lease_worker import POLL, TTL
from tests.servers import LoopbackServer, Request, Response

ROOT = Path(__file__).resolve().parent.parent
CLOCK = 0.005  # seconds of tolerance between processes reading one clock


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    with Store.open(database_url) as opened:
        yield opened


class Recorder:
    """A handler that takes ``work`` seconds and records (arrival, finish, query) of each
    request."""

    def __init__(self, work: float) -> None:
        self.work = work
        self.calls: list[tuple[float, float, str]] = []
        self._lock = threading.Lock()

    def __call__(self, request: Request) -> Response:
        arrival = time.time()
        time.sleep(self.work)
        with self._lock:
            self.calls.append((arrival, time.time(), request.path.partition("?")[2]))
        return Response(200, b"ok")


def worker(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "tests.lease_worker", *args], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_three_worker_processes_keep_each_hosts_pace_together(database_url: str) -> None:
    min_delay, rounds, per_round = 0.25, 3, 2
    recorders = [Recorder(work=0.02) for _ in range(2)]
    with ExitStack() as stack:
        servers = [stack.enter_context(LoopbackServer()) for _ in recorders]
        for server, recorder in zip(servers, recorders, strict=True):
            server.handle("/link", recorder)
        Store.open(database_url).close()  # the schema, before three processes race for it
        start_at = time.time() + 2
        names = ["w1", "w2", "w3"]
        processes = [worker("lanes", database_url, name, str(start_at), str(min_delay),
                            str(rounds), str(per_round),
                            *(server.url(f"/link?{name}") for server in servers))
                     for name in names]
        outputs = [process.communicate(timeout=120)[0] for process in processes]
    assert [process.returncode for process in processes] == [0, 0, 0]
    assert outputs == ["done\n"] * 3
    for recorder in recorders:
        calls = sorted(recorder.calls)
        assert len(calls) == len(names) * rounds * per_round  # every request was made
        ends = itertools.accumulate((finish for _, finish, _ in calls), max)
        gaps = [arrival - end for (arrival, _, _), end in zip(calls[1:], ends, strict=False)]
        assert min(gaps) >= min_delay - CLOCK  # never two at once, never closer than min_delay
        senders = [name for _, _, name in calls]
        assert set(senders) == set(names)
        handovers = sum(1 for a, b in itertools.pairwise(senders) if a != b)
        assert handovers >= len(names) - 1  # the host passed between the processes


@pytest.mark.slow
def test_a_killed_holders_hosts_are_free_after_the_ttl(database_url: str, store: Store) -> None:
    holder = worker("hold", database_url, "doomed", "h.test")
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
    except BaseException:
        holder.kill()
        raise

    async def scenario() -> float:
        leases = StoreLeases(store, "survivor", TTL, POLL, 0.0)
        try:
            with pytest.raises(TimeoutError):  # alive, the holder's heartbeat renews it
                await asyncio.wait_for(leases.acquire("h.test"), 2 * TTL)
            holder.kill()
            holder.wait()
            killed = time.monotonic()
            await asyncio.wait_for(leases.acquire("h.test"), TTL + 2)
            return time.monotonic() - killed
        finally:
            await leases.close()

    try:
        waited = asyncio.run(scenario())
    finally:
        holder.kill()
        holder.wait()
    assert waited <= TTL + POLL + 1.0  # expired ttl after its last renewal at the latest


def test_the_next_holder_gets_not_before_and_close_releases(store: Store) -> None:
    async def scenario() -> None:
        first = StoreLeases(store, "w1", 30, 0.02, rest=5.0)
        second = StoreLeases(store, "w2", 30, 0.02, rest=5.0)
        try:
            assert await first.acquire("a.test") == 0.0
            assert await first.acquire("b.test") == 0.0
            waiting = asyncio.create_task(second.acquire("a.test"))
            await asyncio.sleep(0.2)
            assert not waiting.done()  # held by the first
            not_before = time.time() + 0.5
            await first.release("a.test", not_before)
            assert await asyncio.wait_for(waiting, 2) == not_before
            closed = time.time()
            await first.close()  # releases b.test, to be asked again 5 s later
            assert await asyncio.wait_for(second.acquire("b.test"), 2) >= closed + 5.0
            await second.release("b.test", 0.0)
            assert await asyncio.wait_for(first.acquire("b.test"), 2) >= closed + 5.0  # again
        finally:
            await first.close()
            await second.close()

    asyncio.run(scenario())


def test_an_acquire_given_up_leaves_the_host_free(store: Store) -> None:
    async def scenario() -> None:
        first = StoreLeases(store, "w1", 30, 0.02, rest=0.0)
        second = StoreLeases(store, "w2", 30, 0.02, rest=0.0)
        third = StoreLeases(store, "w3", 30, 0.02, rest=0.0)
        try:
            await first.acquire("a.test")
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(second.acquire("a.test"), 0.2)
            await first.release("a.test", 0.0)
            await asyncio.sleep(0.2)  # the second's poller would have taken it by now
            assert await asyncio.wait_for(third.acquire("a.test"), 2) == 0.0
        finally:
            for leases in (first, second, third):
                await leases.close()

    asyncio.run(scenario())


@pytest.mark.parametrize("connection", ["kept", "cut"])
def test_on_postgresql_a_release_wakes_a_waiting_worker_without_polling(
        store: Store, connection: str) -> None:
    """Also after the listening connection was cut (a server restart, a proxy's timeout)."""
    if store.dialect != "postgresql":
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's; SQLite polls")

    async def scenario() -> float:
        first = StoreLeases(store, "w1", 30, 30.0, rest=0.0)
        second = StoreLeases(store, "w2", 30, 30.0, rest=0.0)  # its next poll: 30 s away
        try:
            await first.acquire("a.test")
            waiting = asyncio.create_task(second.acquire("a.test"))
            await asyncio.sleep(0.5)  # refused once; listening
            if connection == "cut":
                with store.write() as unit:  # the test's own SQL: the listeners' sessions end
                    cut = unit.connection.execute(text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE query LIKE 'LISTEN %' AND pid <> pg_backend_pid()")).scalar()
                assert cut == 2
                await asyncio.sleep(2.0)  # listening again a second later
            released = time.monotonic()
            await first.release("a.test", 0.0)
            await asyncio.wait_for(waiting, 5)
            return time.monotonic() - released
        finally:
            await first.close()
            await second.close()

    assert asyncio.run(scenario()) < 2.0
