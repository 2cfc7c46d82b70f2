"""A worker process for the host lease tests: lanes guarded by :class:`StoreLeases`.

    python -m tests.lease_worker lanes DB_URL NAME START_AT MIN_DELAY ROUNDS PER_ROUND URL...
    python -m tests.lease_worker hold DB_URL NAME HOST
    python -m tests.lease_worker engine DB_URL NAME START_AT MIN_DELAY RECHECK_HOURS URL...

``lanes``: from ``START_AT`` (a ``time.time()``), one lane per URL (its host is the lease
key), as the link engine's lanes do: ``ROUNDS`` times acquire the host, wait for its
``not_before``, make ``PER_ROUND`` GET requests ``MIN_DELAY`` apart, release it with the last
response's end + ``MIN_DELAY``. Prints ``done`` when every request was answered.
``hold``: acquire ``HOST``, print ``held``, keep it (the heartbeat renewing) until killed.
``engine``: from ``START_AT``, the link engine (with :class:`StoreLeases`) checks the URLs
``MIN_DELAY`` apart per host (with ``RECHECK_HOURS`` 0 every URL is due however recently
another worker stored it); prints ``done``.
"""

from __future__ import annotations

import asyncio
import sys
import time
import urllib.request
from datetime import UTC, datetime
from urllib.parse import urlsplit

from dcatwatch.config import HttpSettings
from dcatwatch.http.shared_leases import StoreLeases
from dcatwatch.store.core import Store

TTL = 1.5  # short, so that the killed holder's lease expires quickly
POLL = 0.05
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback only


def get(url: str) -> None:
    with OPENER.open(url, timeout=30) as response:
        response.read()


async def lane(leases: StoreLeases, url: str, min_delay: float, rounds: int,
               per_round: int) -> None:
    host = urlsplit(url).netloc
    for _ in range(rounds):
        not_before = await leases.acquire(host)
        for _ in range(per_round):
            await asyncio.sleep(max(0.0, not_before - time.time()))
            await asyncio.to_thread(get, url)
            not_before = time.time() + min_delay
        await leases.release(host, not_before)


async def lanes(store: Store, name: str, start_at: float, min_delay: float, rounds: int,
                per_round: int, urls: list[str]) -> None:
    leases = StoreLeases(store, name, TTL, POLL, min_delay)
    await asyncio.sleep(max(0.0, start_at - time.time()))
    try:
        await asyncio.gather(*(lane(leases, url, min_delay, rounds, per_round)
                               for url in urls))
    finally:
        await leases.close()
    print("done", flush=True)


async def hold(store: Store, name: str, host: str) -> None:
    leases = StoreLeases(store, name, TTL, POLL, 0.0)
    await leases.acquire(host)
    print("held", flush=True)
    await asyncio.Event().wait()


def engine(store: Store, name: str, start_at: float, min_delay: float, recheck_hours: float,
           urls: list[str]) -> None:
    from dcatwatch.validators.linkengine import EngineSettings, LinkEngine

    http = HttpSettings(allowed_networks=["127.0.0.0/8"], min_delay=min_delay)
    checks = EngineSettings(http, in_flight=50, timeout=10, recheck_hours=recheck_hours,
                            host_failures=3)
    links = LinkEngine(store, checks, now=lambda: datetime.now(UTC),
                       leases=StoreLeases(store, name, TTL, POLL, min_delay))
    time.sleep(max(0.0, start_at - time.time()))
    with links:
        links.check(urls)
    print("done", flush=True)


def main(argv: list[str]) -> None:
    mode, url, name, *rest = argv
    with Store.open(url) as store:
        if mode == "lanes":
            start_at, min_delay, rounds, per_round, *urls = rest
            asyncio.run(lanes(store, name, float(start_at), float(min_delay), int(rounds),
                              int(per_round), urls))
        elif mode == "engine":
            start_at, min_delay, recheck_hours, *urls = rest
            engine(store, name, float(start_at), float(min_delay), float(recheck_hours), urls)
        else:
            asyncio.run(hold(store, name, rest[0]))


if __name__ == "__main__":
    main(sys.argv[1:])
