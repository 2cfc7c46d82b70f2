"""A fresh PostgreSQL database for a benchmark, dropped afterwards (benchmarks that measure
the store on PostgreSQL: bench_postgres.py, bench_leases.py, national.py --postgres)."""

from __future__ import annotations

import argparse
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager


def add_postgres_argument(parser: argparse.ArgumentParser) -> None:
    """``--postgres URL``, by default ``$DCATWATCH_TEST_POSTGRES_URL`` (as ``.ci/run`` sets)."""
    parser.add_argument("--postgres", default=os.environ.get("DCATWATCH_TEST_POSTGRES_URL"),
                        help="PostgreSQL admin URL (default: $DCATWATCH_TEST_POSTGRES_URL)")


def skipped_without_postgres(admin: str | None) -> bool:
    """True, after saying so, when no PostgreSQL was given: the benchmark is skipped."""
    if admin:
        return False
    print("skipped: no PostgreSQL (pass --postgres URL or set DCATWATCH_TEST_POSTGRES_URL, "
          "e.g. export DCATWATCH_TEST_POSTGRES_URL=$(scripts/test-postgres.sh))")
    return True


@contextmanager
def postgres_database(admin: str, prefix: str = "dcatwatch_bench") -> Iterator[str]:
    """The URL of a new database on the PostgreSQL server of ``admin`` (an SQLAlchemy URL
    whose user may create databases), dropped with its connections when the block ends."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin).set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()
