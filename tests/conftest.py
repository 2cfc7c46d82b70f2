"""Shared fixtures: a real loopback HTTP server, the shared corpus, a fresh config."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.servers import LoopbackServer

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
CORPUS = ROOT.parent / "shared" / "corpus"
POSTGRES_ADMIN_URL = os.environ.get("DCATWATCH_TEST_POSTGRES_URL")


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    """A fresh loopback HTTP server for one test."""
    with LoopbackServer() as srv:
        yield srv


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The shared corpus of real catalogues; skips the test when it is absent."""
    if not CORPUS.is_dir():
        pytest.skip(f"shared corpus not found at {CORPUS}")
    return CORPUS


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: SQLite, and PostgreSQL when $DCATWATCH_TEST_POSTGRES_URL is
    set (``scripts/test-postgres.sh`` starts one; CI does)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/dcatwatch.db"
        return
    if not POSTGRES_ADMIN_URL:
        pytest.skip("no PostgreSQL: export DCATWATCH_TEST_POSTGRES_URL=$(scripts/test-postgres.sh)")
    with postgres_database() as url:
        yield url


@contextmanager
def postgres_database() -> Iterator[str]:
    """Create a uniquely named database on the test server; drop it afterwards."""
    assert POSTGRES_ADMIN_URL
    name = f"dcatwatch_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
