"""The link engine with :class:`StoreLeases` in three worker processes: the servers see one
request at a time per host and no gap under ``min_delay`` over all of them together (issue
23: three workers sent up to 3 at once, gaps of 0 s)."""

from __future__ import annotations

import time
from contextlib import ExitStack

import pytest

from dcatwatch.store.core import Store
from tests.servers import LoopbackServer
from tests.test_shared_leases import CLOCK, Recorder, worker


@pytest.mark.slow
def test_three_engines_in_three_processes_keep_each_hosts_pace(database_url: str) -> None:
    min_delay, per_worker = 0.3, 6
    recorders = [Recorder(work=0.03) for _ in range(2)]
    with ExitStack() as stack:
        servers = [stack.enter_context(LoopbackServer()) for _ in recorders]
        Store.open(database_url).close()  # the schema, before three processes race for it
        start_at = time.time() + 3
        names = ["w1", "w2", "w3"]
        urls: dict[str, list[str]] = {name: [] for name in names}
        for server, recorder in zip(servers, recorders, strict=True):
            for name in names:
                for number in range(per_worker):  # each worker its own URLs (its sources')
                    urls[name].append(server.handle(f"/{name}/{number}.csv", recorder))
        processes = [worker("engine", database_url, name, str(start_at), str(min_delay), "0",
                            *urls[name]) for name in names]
        outputs = [process.communicate(timeout=180)[0] for process in processes]
    assert [process.returncode for process in processes] == [0, 0, 0]
    assert outputs == ["done\n"] * 3
    for recorder in recorders:
        calls = sorted(recorder.calls)
        assert len(calls) == len(names) * per_worker  # each URL asked once
        end = calls[0][1]
        for arrival, finish, _ in calls[1:]:
            assert arrival - end >= min_delay - CLOCK  # one at a time, min_delay apart
            end = max(end, finish)


@pytest.mark.slow
def test_a_url_listed_on_three_workers_is_asked_once_in_the_deployment(
        database_url: str) -> None:
    """Three workers whose sources list the same URLs (dataportal.se repeats the agencies'
    datasets): a lane stores its results before it gives its host up, and the next holder
    leaves out what was stored meanwhile, so each URL is asked once over all three."""
    min_delay, links = 0.05, 12
    recorder = Recorder(work=0.02)
    with LoopbackServer() as server:
        Store.open(database_url).close()
        start_at = time.time() + 3
        urls = [server.handle(f"/shared/{number}.csv", recorder) for number in range(links)]
        orders = [urls, urls[::-1], urls[4:] + urls[:4]]
        processes = [worker("engine", database_url, f"w{n}", str(start_at), str(min_delay),
                            "24", *order) for n, order in enumerate(orders)]
        outputs = [process.communicate(timeout=180)[0] for process in processes]
    assert [process.returncode for process in processes] == [0, 0, 0]
    assert outputs == ["done\n"] * 3
    calls = sorted(recorder.calls)
    assert len(calls) == links  # once each, though three workers were asked for all
    end = calls[0][1]
    for arrival, finish, _ in calls[1:]:
        assert arrival - end >= min_delay - CLOCK
        end = max(end, finish)
    with Store.open(database_url) as store, store.read() as unit:
        assert len(unit.checks.history(urls)) == links
