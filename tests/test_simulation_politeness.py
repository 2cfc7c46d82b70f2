"""The simulated hosts of ``benchmarks/national.py`` count what issue 23 calls impolite: more
than one link request at once on a host, and a gap under ``min_delay`` from the end of a
response to the next request. Real loopback servers, real requests."""

from __future__ import annotations

import http.client
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import simulation  # noqa: E402

MIN_DELAY = 0.2


@pytest.fixture
def servers() -> Iterator[simulation.Servers]:
    world = simulation.build(agencies=2, datasets=10, links=20)
    running = simulation.Servers(world)
    running.start(simulation.documents(world))
    yield running
    running.close()


def get(servers: simulation.Servers, host: str, path: str) -> int:
    connection = http.client.HTTPConnection(host, servers.world.ports[host], timeout=5)
    try:
        connection.request("GET", path)
        return connection.getresponse().status
    finally:
        connection.close()


def test_polite_requests_count_no_violation(servers: simulation.Servers) -> None:
    host = servers.world.agencies[0].host
    for n in range(3):
        assert get(servers, host, f"/file/polite-{n}.csv") == 200
        time.sleep(MIN_DELAY * 1.5)
    seen = servers.politeness.violations(MIN_DELAY)
    assert seen["gaps"] == 2 and seen["gaps_under_min_delay"] == 0
    assert seen["most_requests_at_once_on_a_host"] == 1


def test_back_to_back_and_overlapping_requests_are_counted(servers: simulation.Servers) -> None:
    fast = servers.world.agencies[1].host
    assert get(servers, fast, "/file/a.csv") == 200
    assert get(servers, fast, "/file/b.csv") == 200  # at once after the first answer
    slow = next(h for h, b in servers.world.hosts.items() if b == "slow")
    both = [threading.Thread(target=get, args=(servers, slow, f"/file/slow-{n}.csv"))
            for n in range(2)]
    for thread in both:
        thread.start()
    for thread in both:
        thread.join()
    seen = servers.politeness.violations(MIN_DELAY)
    assert seen["most_requests_at_once_on_a_host"] == 2 and seen["host_with_most_at_once"] == slow
    assert seen["gaps_under_min_delay"] == 2  # b after a, and the second slow one (overlap)
    assert seen["smallest_gap_s"] == 0.0
    assert seen["hosts_with_gaps_under_min_delay"] == 2
    # back to back on loopback: well inside min_delay even from when the server began to send
    assert seen["gaps_under_min_delay_within_the_servers_send_time"] == 0
    assert "/file/a.csv -> GET /file/b.csv" in str(seen["shortest_gaps"])


def test_a_gap_counts_apart_when_the_server_was_late_to_stamp_its_send() -> None:
    """A gap short only because the server stamped its response's end late (descheduled
    after handing the bytes over) is still counted short, and counted apart."""
    politeness = simulation.Politeness()
    politeness.arrived("h", 0.0, "GET /a")
    politeness.answered("h", 0.05, 0.01)  # sent from 0.01, stamped 40 ms later
    politeness.arrived("h", 0.22, "GET /b")  # 0.17 s after the stamp, 0.21 s after sending
    politeness.answered("h", 0.23, 0.225)
    politeness.arrived("h", 0.30, "GET /c")  # 0.07 s: short however it is measured
    seen = politeness.violations(MIN_DELAY)
    assert seen["gaps_under_min_delay"] == 2
    assert seen["gaps_under_min_delay_within_the_servers_send_time"] == 1
