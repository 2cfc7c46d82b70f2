"""Link engine benchmark: one round of link checks against simulated hosts on loopback.

    python benchmarks/bench_links.py [--hosts 100] [--links 50000] [--sources 100]
        [--slow-hosts 2] [--slow-links 134] [--slow-seconds 0.3] [--min-delay 0.02]
        [--in-flight 200] [--smoke]

A child process serves ``--hosts`` hosts (127.0.4.x … , each its own address; keep-alive
HTTP/1.1): ``--slow-hosts`` of them answer after ``--slow-seconds`` and hold
``--slow-links`` links each, the others answer at once and share the rest. Each server logs
when every request arrived and when its response was sent. The links are split over
``--sources`` overlapping lists (every link is in two of them, as dataportal.se repeats the
agencies' datasets), which are handed to one :class:`LinkEngine` from as many threads at
once, as the daemon's validations do. It prints, one ``name: value`` a line:

- the round's wall time beside the real bound: max over hosts of that host's links ×
  (``min_delay`` + its response time), and actual ÷ bound (issue 23's target: at most 1.5);
- requests the hosts saw (each link once: target ``requests_per_link`` 1.0) and links whose
  stored result differs from the host's truth (target 0);
- politeness seen by the servers: the most requests in flight at once on one host (target
  1) and gaps between the end of one response and the next request on a host shorter than
  ``min_delay`` (target 0);
- CPU seconds of this process (engine, client, store writes; the servers run in the child)
  per link check (target ≤ 0.5 ms), and its peak RSS.

``--smoke``: 20 hosts, 2 000 links, 20 sources, slow hosts with 20 links of 0.1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import multiprocessing
import resource
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from dcatwatch.config import HttpSettings
from dcatwatch.store.core import Store
from dcatwatch.validators.linkengine import EngineSettings, LinkEngine

SMOKE = {"hosts": 20, "links": 2000, "sources": 20, "slow_links": 20, "slow_seconds": 0.1}


def address(n: int) -> str:
    return f"127.0.4.{n + 1}"


def serve(hosts: int, port: int, slow: dict[str, float], log: Any, ready: Any,
          stop: Any) -> None:
    """Serve every host; append (host, arrived, answered) per request to ``log`` at the end."""
    records: list[tuple[str, float, float]] = []

    async def main() -> None:
        def handler(host: str) -> Any:
            async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
                try:
                    while True:
                        line = await reader.readline()
                        if not line:
                            break
                        arrived = time.time()
                        while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                            pass
                        target = line.split(b" ")[1]
                        if host in slow:
                            await asyncio.sleep(slow[host])
                        status = b"404 Not Found" if target.startswith(b"/missing/") \
                            else b"200 OK"
                        writer.write(b"HTTP/1.1 " + status + b"\r\nContent-Type: text/csv\r\n"
                                     b"Content-Length: 0\r\n\r\n")
                        await writer.drain()
                        records.append((host, arrived, time.time()))
                except (ConnectionError, IndexError):
                    pass
                finally:
                    writer.close()
            return handle
        for n in range(hosts):
            await asyncio.start_server(handler(address(n)), address(n), port, backlog=512)
        ready.set()
        while not stop.is_set():
            await asyncio.sleep(0.1)
    asyncio.run(main())
    log.send(records)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def build(args: argparse.Namespace, port: int) -> tuple[dict[str, list[str]], dict[str, float]]:
    """Links per host (one in 20 on a fast host a 404) and the slow hosts' response times."""
    slow = {address(n): args.slow_seconds for n in range(args.slow_hosts)}
    per_host: dict[str, list[str]] = defaultdict(list)
    for host in slow:
        per_host[host] = [f"http://{host}:{port}/file/{i}.csv" for i in range(args.slow_links)]
    fast = [address(n) for n in range(args.slow_hosts, args.hosts)]
    rest = args.links - args.slow_links * len(slow)
    for i in range(rest):
        host = fast[i % len(fast)]
        kind = "missing" if i % 20 == 0 else "file"
        per_host[host].append(f"http://{host}:{port}/{kind}/{i}.csv")
    return dict(per_host), slow


def politeness(records: list[tuple[str, float, float]],
               min_delay: float) -> tuple[int, int, float, float]:
    """Most requests at once on one host, gaps under ``min_delay`` (allowing 1 ms of clock
    grain), the smallest gap and the median one."""
    by_host: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for host, arrived, answered in records:
        by_host[host].append((arrived, answered))
    most, short, gaps = 0, 0, []
    for spans in by_host.values():
        spans.sort()
        events = sorted([(a, 1) for a, _ in spans] + [(b, -1) for _, b in spans],
                        key=lambda e: (e[0], e[1]))
        now = 0
        for _, step in events:
            now += step
            most = max(most, now)
        for (_, end), (start, _) in itertools.pairwise(spans):
            gaps.append(start - end)
            short += start - end < min_delay - 0.001
    return most, short, min(gaps), statistics.median(gaps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=100)
    parser.add_argument("--links", type=int, default=50_000)
    parser.add_argument("--sources", type=int, default=100)
    parser.add_argument("--slow-hosts", type=int, default=2)
    parser.add_argument("--slow-links", type=int, default=134)
    parser.add_argument("--slow-seconds", type=float, default=0.3)
    parser.add_argument("--min-delay", type=float, default=0.02)
    parser.add_argument("--in-flight", type=int, default=200)
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    if args.smoke:
        for key, value in SMOKE.items():
            setattr(args, key, value)
    port = free_port()
    per_host, slow = build(args, port)
    links = [url for urls in per_host.values() for url in urls]
    receive, send = multiprocessing.Pipe(duplex=False)
    ready, stop = multiprocessing.Event(), multiprocessing.Event()
    server = multiprocessing.Process(target=serve, args=(args.hosts, port, slow, send, ready,
                                                         stop), daemon=True)
    server.start()
    if not ready.wait(30):
        sys.exit("the simulated hosts did not start")
    # every link in two sources' lists, as the dataportal-like source repeats agencies'
    sources = [links[i::args.sources] + links[(i + 1) % args.sources::args.sources]
               for i in range(args.sources)]
    settings = EngineSettings(HttpSettings(allowed_networks=["127.0.0.0/8"],
                                           min_delay=args.min_delay, connect_timeout=5),
                              in_flight=args.in_flight, timeout=10, recheck_hours=24)
    with tempfile.TemporaryDirectory() as tmp, \
            Store.open(f"sqlite:///{Path(tmp) / 'links.db'}") as store:
        cpu, wall, started = time.process_time(), time.monotonic(), time.time()
        with LinkEngine(store, settings, now=lambda: datetime.now(UTC)) as engine:
            threads = [threading.Thread(target=engine.check, args=(urls,)) for urls in sources]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        wall, cpu, ended = time.monotonic() - wall, time.process_time() - cpu, time.time()
        with store.read() as unit:
            rows = unit.checks.history(links)
    stop.set()
    records = receive.recv()
    server.join(10)
    truth = {url: "/missing/" not in url for url in links}
    differing = sum(1 for url in links
                    if url not in rows or rows[url].reachable is not truth[url])
    bound = max(len(urls) * (args.min_delay + slow.get(host, 0.0))
                for host, urls in per_host.items())
    most, short, smallest, median = politeness(records, args.min_delay)
    first = min(arrived for _, arrived, _ in records) - started
    last = ended - max(answered for _, _, answered in records)
    figures = {
        "hosts": args.hosts, "links": len(links), "sources": args.sources,
        "in_flight": args.in_flight, "min_delay_s": args.min_delay,
        "round_s": round(wall, 2), "bound_s": round(bound, 2),
        "actual_over_bound": round(wall / bound, 2) if bound else None,
        "requests": len(records), "requests_per_link": round(len(records) / len(links), 3),
        "results_differing": differing,
        "most_in_flight_per_host": most, "gaps_under_min_delay": short,
        "smallest_gap_ms": round(smallest * 1000, 1), "median_gap_ms": round(median * 1000, 1),
        "first_request_after_s": round(first, 2), "stored_after_last_response_s": round(last, 2),
        "cpu_s": round(cpu, 2), "cpu_ms_per_check": round(1000 * cpu / len(links), 3),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
    }
    for name, value in figures.items():
        print(f"{name}: {value}")


if __name__ == "__main__":
    main()
