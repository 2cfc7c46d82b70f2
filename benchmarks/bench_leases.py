"""Host leases on PostgreSQL: what a lane pays to lease its host (``StoreLeases``).

    python benchmarks/bench_leases.py [--pairs 2000] [--handovers 50] [--waiting 1000]
                                      [--poll 1.0] [--postgres URL] [--smoke]

Needs PostgreSQL: ``--postgres URL`` or ``DCATWATCH_TEST_POSTGRES_URL`` (an admin URL; a
database is made and dropped). Without either it says so and exits 0.

In one process, two :class:`StoreLeases` (two workers: the store cannot tell them apart from
two processes) on one fresh database:

1. ``--pairs`` times, acquire then release a free host (a new host each time, as a lane
   does): the lease overhead of one lane, median and 90th percentile in ms, and the CPU time
   this process spent per pair (the wall time is mostly the database's); beside it the
   same two store units called directly (what the database costs of that);
2. ``--handovers`` times, one worker releases a host the other waits for: the time from the
   release call to the waiter holding it (LISTEN/NOTIFY wakes the waiter; without it, the
   next poll would, up to ``--poll`` s later);
3. one worker holds ``--waiting`` hosts and the other waits for all of them: the store time
   of one poll (the one statement that tries every waited-for host), median in ms.

Prints ``name: value`` lines.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dcatwatch.http.shared_leases import StoreLeases  # noqa: E402
from dcatwatch.store.core import Store  # noqa: E402
from scratch import (  # noqa: E402
    add_postgres_argument,
    postgres_database,
    skipped_without_postgres,
)

SMOKE = {"pairs": 200, "handovers": 10, "waiting": 200}
TTL = 30.0


def ms(values: list[float], quantile: int = 50) -> str:
    cut = statistics.quantiles(values, n=100, method="inclusive")[quantile - 1]
    return f"{cut * 1000:.2f} ms"


async def pairs(leases: StoreLeases, count: int) -> list[float]:
    took = []
    for number in range(count):
        started = time.perf_counter()
        await leases.acquire(f"pair-{number}.test")
        await leases.release(f"pair-{number}.test", 0.0)
        took.append(time.perf_counter() - started)
    return took


async def handovers(first: StoreLeases, second: StoreLeases, count: int) -> list[float]:
    took = []
    holder, waiter = first, second
    await holder.acquire("shared.test")
    for _ in range(count):
        waiting = asyncio.create_task(waiter.acquire("shared.test"))
        await asyncio.sleep(0.01)  # the waiter's first try is refused
        started = time.perf_counter()
        await holder.release("shared.test", 0.0)
        await waiting
        took.append(time.perf_counter() - started)
        holder, waiter = waiter, holder
    await holder.release("shared.test", 0.0)
    return took


def store_pairs(store: Store, count: int) -> list[float]:
    """The store's part of a pair: the two units StoreLeases runs, called directly."""
    took = []
    for number in range(count):
        started = time.perf_counter()
        with store.write() as unit:
            unit.leases.acquire([f"raw-{number}.test"], "raw", TTL, time.time())
        with store.write() as unit:
            unit.leases.release(f"raw-{number}.test", "raw", 0.0)
        took.append(time.perf_counter() - started)
    return took


def polls(store: Store, count: int) -> list[float]:
    """Store time of the poll statement while ``count`` waited-for hosts are held elsewhere."""
    hosts = [f"held-{number}.test" for number in range(count)]
    now = time.time()
    with store.write() as unit:
        unit.leases.acquire(hosts, "holder", TTL, now)
    took = []
    for _ in range(30):
        started = time.perf_counter()
        with store.write() as unit:
            got = unit.leases.acquire(hosts, "waiter", TTL, time.time())
        took.append(time.perf_counter() - started)
        assert not got, "hosts held by another worker were leased"
    return took


async def measure(store: Store, args: argparse.Namespace) -> None:
    first = StoreLeases(store, "bench-1", TTL, args.poll, 0.0)
    second = StoreLeases(store, "bench-2", TTL, args.poll, 0.0)
    try:
        await pairs(first, 20)  # warm up: connections, threads, statement cache
        cpu = time.process_time()
        took = await pairs(first, args.pairs)
        cpu = (time.process_time() - cpu) / args.pairs
        print(f"acquire+release of a free host: median {ms(took)}, p90 {ms(took, 90)}, "
              f"CPU {cpu * 1000:.2f} ms in this process ({args.pairs} pairs)", flush=True)
        took = await asyncio.to_thread(store_pairs, store, args.pairs)
        print(f"  the same two store units called directly: median {ms(took)}, "
              f"p90 {ms(took, 90)}", flush=True)
        took = await handovers(first, second, args.handovers)
        print(f"handover to a waiting worker (poll {args.poll} s): median {ms(took)}, "
              f"max {max(took) * 1000:.1f} ms ({args.handovers} handovers)", flush=True)
    finally:
        await first.close()
        await second.close()
    took = await asyncio.to_thread(polls, store, args.waiting)
    print(f"one poll for {args.waiting} hosts held elsewhere: median {ms(took)}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=2000)
    parser.add_argument("--handovers", type=int, default=50)
    parser.add_argument("--waiting", type=int, default=1000)
    parser.add_argument("--poll", type=float, default=1.0, help="[queue] lease_poll")
    add_postgres_argument(parser)
    parser.add_argument("--smoke", action="store_true", help=f"small sizes: {SMOKE}")
    args = parser.parse_args()
    if args.smoke:
        vars(args).update(SMOKE)
    if skipped_without_postgres(args.postgres):
        return
    with postgres_database(args.postgres) as url, Store.open(url) as store:
        asyncio.run(measure(store, args))


if __name__ == "__main__":
    main()
