"""The harvest's way into the store: SQL through the database driver itself.

Harvesting is the one job whose command-line start-up is most of the work: a source that
answers 304 has to be recorded in well under a second, process start included. Importing
SQLAlchemy alone takes 0.35–0.6 s on a 2-core machine, so the harvest speaks SQL through the
DB-API driver (sqlite3 for SQLite, psycopg for PostgreSQL) and this module holds the few
differences between the two: parameter style, how a timestamp is stored, how a write
transaction starts. The schema and its migrations, and every other service, stay on SQLModel
and SQLAlchemy; tests harvest into both dialects and read the rows back through SQLAlchemy.

Statements are written with ``?`` placeholders and no literal ``?`` or ``%``.

A run holds its source's lock (:meth:`Store.source_lock`) from start to end, so a harvest
from the command line and the daemon's never run the same source at once: a PostgreSQL
advisory lock, or for SQLite an ``flock`` on a file beside the database. Both belong to the
process (its connection, its open file), so a killed harvest never leaves a lock behind.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import zlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from functools import lru_cache
from typing import Any, TypeVar
from urllib.parse import urlsplit

from dcatwatch.errors import ConfigError

HEAD = "0010"  # the newest migration in store/migrations/versions (a test keeps them in step)
SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"  # SQLAlchemy's storage format for DateTime on SQLite
SQLITE_PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL",
                  "PRAGMA foreign_keys=ON")
BUSY_TIMEOUT_S = 30
IN_LIST = 1000  # psycopg sends at most 65 535 parameters per statement; stay far below
LOCK_SPACE = 0x64637774  # "dcwt": the first key of dcatwatch's PostgreSQL advisory locks
T = TypeVar("T")


class Store:
    """One connection to the store (closed when a ``with`` block ends); use
    :meth:`transaction` for writes."""

    def __init__(self, connection: Any, dialect: str, error: type[Exception],
                 path: str | None = None) -> None:
        self.connection = connection
        self.dialect = dialect
        self.error = error  # the driver's base exception class
        self.path = path  # a SQLite database's file (None: PostgreSQL or in memory)

    def revision(self) -> str | None:
        """The schema revision the store is at (None when it has no schema yet)."""
        try:
            return self.scalar("SELECT version_num FROM alembic_version")
        except self.error:
            return None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def execute(self, statement: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; returns the number of rows it changed."""
        cursor = self.connection.cursor()
        cursor.execute(self._native(statement), params)
        count = cursor.rowcount
        cursor.close()
        return max(count, 0)

    def executemany(self, statement: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run one statement for each parameter row."""
        cursor = self.connection.cursor()
        cursor.executemany(self._native(statement), rows)
        cursor.close()

    def all(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Every row of a query."""
        cursor = self.connection.cursor()
        cursor.execute(self._native(statement), params)
        rows = cursor.fetchall()
        cursor.close()
        return rows

    def scalar(self, statement: str, params: Sequence[Any] = ()) -> Any:
        """The first column of the first row (None when there is no row)."""
        rows = self.all(statement, params)
        return rows[0][0] if rows else None

    def time(self, moment: datetime | None) -> Any:
        """``moment`` as a DateTime column stores it (UTC, as the rest of the store keeps it)."""
        if moment is None or self.dialect != "sqlite":
            return moment
        return moment.strftime(SQLITE_TIME)

    @contextmanager
    def source_lock(self, source: str) -> Iterator[bool]:
        """Hold the lock on harvesting ``source`` for the block; yields False, holding
        nothing, when another connection or process holds it (see the module doc)."""
        if self.dialect == "postgresql":
            key = (LOCK_SPACE, zlib.crc32(source.encode()) - (1 << 31))  # two int4 keys
            held = bool(self.scalar("SELECT pg_try_advisory_lock(?, ?)", key))
            try:
                yield held
            finally:
                if held:
                    self.scalar("SELECT pg_advisory_unlock(?, ?)", key)
            return
        if self.path is None:
            yield True  # an in-memory database: no other connection sees it
            return
        handle = os.open(f"{self.path}.harvest-{source}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(handle)
            yield False
            return
        try:
            yield True
        finally:
            os.close(handle)  # releases the lock

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """A write transaction: committed when the block ends, rolled back when it raises.

        SQLite takes its write lock at the start (``BEGIN IMMEDIATE``) so that two
        harvests writing at once wait for each other instead of failing.
        """
        self.execute("BEGIN IMMEDIATE" if self.dialect == "sqlite" else "BEGIN")
        try:
            yield self
        except BaseException:
            self.connection.rollback()  # both drivers skip it when no transaction is open
            raise
        self.connection.commit()

    def close(self) -> None:
        """Close the connection (an open transaction is rolled back)."""
        self.connection.close()

    def _native(self, statement: str) -> str:
        return statement if self.dialect == "sqlite" else _pyformat(statement)


@lru_cache(maxsize=256)
def _pyformat(statement: str) -> str:
    return statement.replace("?", "%s")


def connect(url: str) -> Store:
    """Open the store at a SQLAlchemy-style ``url`` (``sqlite:///…`` or
    ``postgresql+psycopg://…``) with the settings :func:`dcatwatch.store.db.make_engine`
    gives SQLAlchemy's connections."""
    scheme = url.split(":", 1)[0]
    dialect, _, driver = scheme.partition("+")
    try:
        if dialect == "sqlite":
            return _connect_sqlite(url)
        if dialect in ("postgresql", "postgres") and driver in ("", "psycopg"):
            return _connect_postgresql(url)
    except (sqlite3.Error, ImportError) as exc:
        raise cannot_open(url, exc) from None
    raise ConfigError("database.url", f"harvesting supports sqlite:/// and "
                      f"postgresql+psycopg:// URLs, not {scheme}://")


def cannot_open(url: str, exc: BaseException) -> ConfigError:
    """The error for a store that cannot be opened: its URL without the password, the
    driver's reason (first line) and what to check."""
    lines = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    check = ("the file's directory exists and is writable" if url.startswith("sqlite")
             else "the database server is running and the URL, user and password are right")
    return ConfigError("database.url", f"cannot open {hide_password(url)}: "
                       f"{lines[0] if lines else type(exc).__name__} (check that {check})")


def hide_password(url: str) -> str:
    """``url`` with its password, if any, shown as ``***``."""
    netloc = urlsplit(url).netloc
    userinfo, at, host = netloc.rpartition("@")
    if not at or ":" not in userinfo:
        return url
    return url.replace(netloc, f"{userinfo.partition(':')[0]}:***@{host}", 1)


def _connect_sqlite(url: str) -> Store:
    path = url.split("://", 1)[1]
    path = path[1:] if path.startswith("/") else path  # sqlite:///rel, sqlite:////abs
    path = path.split("?", 1)[0] or ":memory:"
    # autocommit: transactions are begun and ended explicitly (Store.transaction)
    connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None,
                                 check_same_thread=False)
    for pragma in SQLITE_PRAGMAS:
        connection.execute(pragma)
    in_memory = path == ":memory:" or path.startswith("file::memory:")
    return Store(connection, "sqlite", sqlite3.Error, None if in_memory else path)


def _connect_postgresql(url: str) -> Store:
    import psycopg  # the driver SQLAlchemy uses for postgresql+psycopg URLs

    conninfo = "postgresql://" + url.split("://", 1)[1]
    try:
        connection = psycopg.connect(conninfo, autocommit=True)  # see Store.transaction
    except psycopg.Error as exc:
        raise cannot_open(url, exc) from None
    return Store(connection, "postgresql", psycopg.Error)


def placeholders(count: int) -> str:
    """``?, ?, …`` for an ``IN (…)`` list of ``count`` values."""
    return ", ".join("?" * count)


def chunks(items: Sequence[T], size: int = IN_LIST) -> Iterator[Sequence[T]]:
    """``items`` in slices of at most ``size``: for ``IN (...)`` lists of any length."""
    for start in range(0, len(items), size):
        yield items[start:start + size]
