"""Harvest on PostgreSQL beside SQLite: a large source's first harvest, and its retry after
the database dropped the harvest's connection mid-write.

    python benchmarks/bench_postgres.py [--datasets 60000] [--runs 1] [--postgres URL] [--smoke]

Needs PostgreSQL: ``--postgres URL`` or ``DCATWATCH_TEST_POSTGRES_URL`` (an admin URL; a
database is made and dropped per measurement). Without either it says so and exits 0.

1. generates a catalogue of ``--datasets`` datasets (``benchmarks/generate.py``, RDF/XML)
   and serves it on loopback;
2. per backend (SQLite, PostgreSQL), on an empty store whose schema was made beforehand:
   - times ``dcatwatch harvest`` (a process, start to exit): the first harvest;
   - empties the store again, starts a harvest and, once it is writing datasets, ends its
     database session (PostgreSQL: ``pg_terminate_backend``, what a restart of the server
     does to it; SQLite: the process is killed, the nearest an embedded store has), then
     times the retried ``dcatwatch harvest`` (what the daemon does after an outage);
3. repeats 2. ``--runs`` times, SQLite and PostgreSQL in turn (so both see the same load),
   and prints the median of each, every run's time, and the PostgreSQL/SQLite ratio of the
   medians (target: at most 2).
"""

from __future__ import annotations

import argparse
import compileall
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import generate  # noqa: E402
from scratch import (  # noqa: E402
    add_postgres_argument,
    postgres_database,
    skipped_without_postgres,
)
from bench_harvest import serve_and_configure  # noqa: E402

SMOKE = {"datasets": 4000}
TARGET = 2.0  # PostgreSQL may take at most twice SQLite's time
WRITING = "INSERT INTO distribution"  # the harvest's write phase has begun


def dcatwatch(config: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "dcatwatch", "--config", str(config), *args]


def timed_harvest(config: Path) -> float:
    """Wall time of one ``dcatwatch harvest``; it must end ``ok`` having added datasets."""
    started = time.perf_counter()
    result = subprocess.run(dcatwatch(config, "harvest", "--json"), capture_output=True,
                            text=True)
    wall = time.perf_counter() - started
    [run] = json.loads(result.stdout or "[{}]") if result.stdout.startswith("[") else [{}]
    if result.returncode != 0 or run.get("status") != "ok" or not run.get("added"):
        raise SystemExit(f"harvest of {config.read_text().splitlines()[1]} failed or added "
                         f"nothing ({result.returncode}): {result.stdout[-1500:]}"
                         f"{result.stderr[-1500:]}")
    return wall


@contextmanager
def empty_database(admin: str | None, root: Path) -> Iterator[str]:
    """A fresh empty database: SQLite in ``root`` (``admin`` None), else one made on the
    PostgreSQL server of ``admin`` and dropped afterwards."""
    if admin is None:
        path = root / "bench.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        yield f"sqlite:///{path}"
        return
    with postgres_database(admin) as url:
        yield url


def configure(base: Path, url: str) -> Path:
    """``base`` (the served config) with its database set to ``url``, schema made."""
    text = base.read_text(encoding="utf-8")
    head, _, rest = text.partition("\n")
    config = base.with_name("run.toml")
    config.write_text(f'[database]\nurl = "{url}"\n' + rest.partition("\n")[2]
                      if head == "[database]" else text, encoding="utf-8")
    subprocess.run(dcatwatch(config, "db", "upgrade"), check=True, capture_output=True)
    return config


def interrupt(config: Path, url: str, datasets: int) -> str:
    """Start a harvest and end its database session once it writes datasets; returns how."""
    process = subprocess.Popen(dcatwatch(config, "harvest", "--json"),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if url.startswith("sqlite"):
            return _kill_when_writing(process)
        return _terminate_when_writing(process, url, datasets / 60_000)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


def _kill_when_writing(process: subprocess.Popen[bytes]) -> str:
    """Kill the harvest once its parser child has finished: it is applying the records."""
    parsed = False
    while process.poll() is None:
        children = _children(process.pid)
        if children:
            parsed = True
        elif parsed:
            process.kill()
            return "harvest process killed while writing"
        time.sleep(0.02)
    raise SystemExit("the harvest ended before it could be interrupted")


def _children(pid: int) -> list[str]:
    try:
        return [c for task in Path(f"/proc/{pid}/task").iterdir()
                for c in (task / "children").read_text().split()]
    except OSError:
        return []


def _terminate_when_writing(process: subprocess.Popen[bytes], url: str, delay: float) -> str:
    from sqlalchemy import create_engine, text

    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            while process.poll() is None:
                pids = connection.execute(text(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid() AND query LIKE :writing"),
                    {"writing": WRITING + "%"}).scalars().all()
                if pids:
                    time.sleep(delay)  # further into the write phase
                    for pid in pids:
                        connection.execute(text("SELECT pg_terminate_backend(:pid)"),
                                           {"pid": pid})
                    process.wait(120)
                    return "the harvest's session terminated (pg_terminate_backend) mid-write"
                time.sleep(0.01)
    finally:
        engine.dispose()
    raise SystemExit("the harvest ended before it could be interrupted")


def measure(admin: str | None, root: Path, base: Path, datasets: int) -> dict[str, float | str]:
    with empty_database(admin, root) as url:
        first = timed_harvest(configure(base, url))
    with empty_database(admin, root) as url:
        config = configure(base, url)
        how = interrupt(config, url, datasets)
        retry = timed_harvest(config)
    return {"first": first, "retry": retry, "interrupted": how}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", type=int, default=60_000)
    parser.add_argument("--runs", type=int, default=1, help="measurements of each (median)")
    add_postgres_argument(parser)
    parser.add_argument("--smoke", action="store_true", help=f"small sizes: {SMOKE}")
    args = parser.parse_args()
    if args.smoke:
        vars(args).update(SMOKE)
    if skipped_without_postgres(args.postgres):
        return
    import dcatwatch

    compileall.compile_dir(Path(dcatwatch.__file__).parent, quiet=1)
    with tempfile.TemporaryDirectory(prefix="dcatwatch-bench-pg-") as tmp:
        root = Path(tmp)
        catalogue = generate.write(args.datasets, root / "catalog.rdf", "rdfxml")
        server, base = serve_and_configure(
            root, f'name = "bench"\ntype = "dcat"\nurl = "{{base}}/{catalogue.name}"\n')
        threading.current_thread().name = "bench"
        try:
            print(f"catalogue: {args.datasets} datasets, "
                  f"{catalogue.stat().st_size / 1e6:.1f} MB RDF/XML", flush=True)
            runs: dict[str, list[dict[str, float | str]]] = {"sqlite": [], "postgresql": []}
            for _ in range(args.runs):
                runs["sqlite"].append(measure(None, root, base, args.datasets))
                runs["postgresql"].append(measure(args.postgres, root, base, args.datasets))
        finally:
            server.shutdown()
    for phase, label in (("first", "first harvest, empty store"),
                         ("retry", "retried harvest after an interrupted one")):
        times = {backend: [float(run[phase]) for run in measured]
                 for backend, measured in runs.items()}
        sqlite, postgres = (statistics.median(times[b]) for b in ("sqlite", "postgresql"))
        print(f"{label}: sqlite {sqlite:.1f} s, postgresql {postgres:.1f} s, ratio "
              f"{postgres / sqlite:.2f} (target <= {TARGET}; medians of {args.runs}: sqlite "
              f"{', '.join(f'{t:.1f}' for t in times['sqlite'])}, postgresql "
              f"{', '.join(f'{t:.1f}' for t in times['postgresql'])})")
    print(f"interruption: sqlite: {runs['sqlite'][0]['interrupted']}; postgresql: "
          f"{runs['postgresql'][0]['interrupted']}")


if __name__ == "__main__":
    main()
