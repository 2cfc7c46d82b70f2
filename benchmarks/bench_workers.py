"""Queue workers benchmark: link checks spread over many loopback hosts, 1, 2 and 3 workers.

    python benchmarks/bench_workers.py [--smoke] [--sources 12] [--links 40] [--hosts-per-source 4]
                                       [--delay 0.2]

Needs PostgreSQL: ``DCATWATCH_TEST_POSTGRES_URL`` (an admin URL; a database is made and
dropped).

1. serves ``--sources`` × ``--hosts-per-source`` loopback addresses (127.0.x.y, one small
   HTTP server each) that answer every request after ``--delay`` seconds (slow servers);
2. writes ``--sources`` catalogues whose distributions link to those hosts round robin
   (``--links`` per source, over hosts of its own: one request at a time per host), harvests
   them once into a fresh PostgreSQL database;
3. with 1, then 2, then 3 ``dcatwatch serve`` worker processes (``[queue] backend =
   "postgres"``, ``--concurrency 2``; one more started each round): forgets the link checks,
   defers one ``validate`` job per source and times until no ``validate`` job is left;
4. prints ``name: value`` lines: links checked, seconds and links per second per worker
   count, and the speed-up over one worker.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

PREFIXES = """@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix dct: <http://purl.org/dc/terms/> .
"""


def slow_handler(delay: float, catalogues: dict[str, bytes]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

        def _answer(self, body: bool) -> None:
            payload = catalogues.get(self.path)
            if payload is None:
                time.sleep(delay)
                payload = b"a,b\n1,2\n"
            self.send_response(200)
            self.send_header("Content-Type", "text/turtle" if self.path in catalogues
                             else "text/csv")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if body:
                self.wfile.write(payload)

        def do_GET(self) -> None:  # noqa: N802
            self._answer(True)

        def do_HEAD(self) -> None:  # noqa: N802
            self._answer(False)

    return Handler


@contextmanager
def hosts(count: int, delay: float, catalogues: dict[str, bytes]) -> Iterator[list[str]]:
    """``count`` servers on 127.0.x.y; yields their base URLs (the first also serves the
    catalogues)."""
    servers = []
    handler = slow_handler(delay, catalogues)
    for n in range(count):
        address = f"127.0.{1 + n // 200}.{1 + n % 200}"
        server = ThreadingHTTPServer((address, 0), handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
    try:
        yield [f"http://{s.server_address[0]}:{s.server_address[1]}" for s in servers]
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


def catalogue(source: int, links: list[str]) -> bytes:
    lines = [PREFIXES]
    for n, link in enumerate(links):
        iri = f"https://bench.example.se/s{source}/d{n}"
        lines.append(f'<{iri}> a dcat:Dataset ; dct:title "D {source}.{n}"@sv ;\n'
                     f'  dct:publisher <http://dataportal.se/organisation/SE2021005448> ;\n'
                     f'  dcat:distribution <{iri}/csv> .\n'
                     f'<{iri}/csv> a dcat:Distribution ; dcat:accessURL <{link}> ;\n'
                     f'  dcat:downloadURL <{link}> .\n')
    return "".join(lines).encode()


def write_config(directory: Path, url: str, sources: list[tuple[str, str]]) -> Path:
    lines = [f'[database]\nurl = "{url}"', "[server]\nport = 0",
             "[http]\nallow_private_networks = true\nmin_delay = 0\nretries = 0",
             "[validation]\ndata = false\nworkers = 8\nrecheck_hours = 0",
             '[queue]\nbackend = "postgres"\npoll_interval = 0.5\nstalled_after = 10',
             "[daemon]\nshutdown_grace = 5"]
    for name, source_url in sources:
        lines.append(f'[[sources]]\nname = "{name}"\ntype = "dcat"\nurl = "{source_url}"\n'
                     f'schedule = "0 0 1 1 *"')
    path = directory / "dcatwatch.toml"
    path.write_text("\n\n".join(lines) + "\n", encoding="utf-8")
    return path


def dcatwatch(config: Path, *args: str) -> None:
    subprocess.run([sys.executable, "-m", "dcatwatch", "--config", str(config), *args],
                   check=True, cwd=ROOT, stdout=subprocess.DEVNULL)


def harvested(admin: str, directory: Path, sources: list[tuple[str, str]]) -> str:
    """A database with the schema, the job tables and ``sources`` harvested (a template)."""
    name = f"dcatwatch_bench_{uuid.uuid4().hex[:8]}"
    admin_engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with admin_engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin_engine.dispose()
    config = write_config(directory, make_url(admin).set(database=name).render_as_string(
        hide_password=False), sources)
    dcatwatch(config, "db", "upgrade")
    dcatwatch(config, "harvest")
    return name


def drop(admin: str, name: str) -> None:
    admin_engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with admin_engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin_engine.dispose()


class Pool:
    """Worker processes on one harvested database, added one at a time."""

    def __init__(self, url: str, config: Path, sources: list[tuple[str, str]]) -> None:
        self.url, self.config, self.sources = url, config, sources
        self.processes: list[subprocess.Popen[bytes]] = []
        self.engine = create_engine(url)
        with self.engine.begin() as conn:  # not due: the workers only validate
            for source, _ in sources:
                conn.execute(text("INSERT INTO source_schedule (source, schedule, next_run_at) "
                                  "VALUES (:s, '0 0 1 1 *', :t)"),
                             {"s": source, "t": datetime.now(UTC) + timedelta(days=300)})

    def add(self) -> None:
        log = self.config.parent / f"worker-{len(self.processes)}.log"
        with log.open("wb") as out:
            self.processes.append(subprocess.Popen(
                [sys.executable, "-m", "dcatwatch", "--config", str(self.config), "serve",
                 "--concurrency", "2"], stdout=out, stderr=subprocess.STDOUT, cwd=ROOT))
        deadline = time.monotonic() + 60
        while not re.search("ready; metrics", log.read_text()):
            if time.monotonic() > deadline or self.processes[-1].poll() is not None:
                raise SystemExit("worker did not start:\n" + log.read_text())
            time.sleep(0.1)
        time.sleep(0.5)  # its startup dispatch finds nothing due

    def measure(self, expected: int) -> float:
        """Seconds for the workers to check every link (checked anew: the old checks go)."""
        from dcatwatch import config as config_module
        from dcatwatch.queue.app import Jobs

        with self.engine.begin() as conn:
            conn.execute(text("DELETE FROM link_check"))
        jobs = Jobs(config_module.load(self.config))
        started = time.monotonic()
        with jobs.app.open():
            for source, _ in self.sources:
                jobs.defer_validate(source)
        while True:
            with self.engine.connect() as conn:
                left = conn.execute(text(
                    "SELECT count(*) FROM procrastinate_jobs WHERE status IN ('todo', 'doing') "
                    "AND task_name = 'dcatwatch.validate'")).scalar()
            if not left:
                break
            if time.monotonic() - started > 600:
                raise SystemExit("validation did not finish")
            time.sleep(0.05)
        elapsed = time.monotonic() - started
        with self.engine.connect() as conn:
            checked = conn.execute(text("SELECT count(*) FROM link_check")).scalar()
        if checked < expected:
            raise SystemExit(f"only {checked} of {expected} links checked")
        return elapsed

    def close(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.wait(30)
        self.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="a small run (under a minute)")
    parser.add_argument("--sources", type=int, default=12)
    parser.add_argument("--links", type=int, default=40, help="links per source")
    parser.add_argument("--hosts-per-source", type=int, default=4,
                        help="each source's links are spread over this many hosts of its own")
    parser.add_argument("--delay", type=float, default=0.2, help="seconds per request")
    args = parser.parse_args()
    if args.smoke:
        args.sources, args.links, args.hosts_per_source, args.delay = 6, 16, 2, 0.25
    args.hosts = args.sources * args.hosts_per_source
    admin = os.environ.get("DCATWATCH_TEST_POSTGRES_URL")
    if not admin:
        raise SystemExit("set DCATWATCH_TEST_POSTGRES_URL to a PostgreSQL admin URL")
    catalogues: dict[str, bytes] = {}
    with hosts(args.hosts, args.delay, catalogues) as bases, \
            tempfile.TemporaryDirectory(prefix="bench-workers-") as tmp:
        sources = []
        per = args.hosts_per_source
        for s in range(args.sources):
            links = [f"{bases[s * per + k % per]}/s{s}/f{k}.csv" for k in range(args.links)]
            catalogues[f"/s{s}.ttl"] = catalogue(s, links)
            sources.append((f"s{s}", f"{bases[0]}/s{s}.ttl"))
        total = args.sources * args.links
        print(f"links: {total}")
        print(f"hosts: {args.hosts}")
        print(f"per_host_delay_s: {args.delay}")
        times = {}
        name = harvested(admin, Path(tmp), sources)
        url = make_url(admin).set(database=name).render_as_string(hide_password=False)
        pool = Pool(url, Path(tmp) / "dcatwatch.toml", sources)
        try:
            for workers in (1, 2, 3):
                pool.add()
                times[workers] = pool.measure(total)
                print(f"workers_{workers}_seconds: {times[workers]:.2f}")
                print(f"workers_{workers}_links_per_s: {total / times[workers]:.1f}")
        finally:
            pool.close()
            drop(admin, name)
        for workers in (2, 3):
            print(f"speedup_{workers}_vs_1: {times[1] / times[workers]:.2f}")


if __name__ == "__main__":
    main()
