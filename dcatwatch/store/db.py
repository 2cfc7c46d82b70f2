"""Engines, schema version checks and migrations.

An empty database gets the current schema automatically on first use; a database behind the code's
schema asks for ``dcatwatch db upgrade`` (so an operator decides when a production schema
changes). Alembic is imported only when a migration actually runs, which keeps the
command line fast.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from dcatwatch.errors import ConfigError, DcatwatchError, StoreFault

HEAD = "0022"  # the newest migration in store/migrations/versions (a test keeps them in step)
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
SCHEMA_LOCK = 0x64637477  # "dctw": the advisory lock key for creating the schema
SQLITE_PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL",
                  "PRAGMA foreign_keys=ON")
NO_SPACE = 64 << 10  # a SQLite I/O error with less free space than this: the disk is full
IN_LIST = 1000  # values per ``IN (...)`` list: far below any driver's parameter limit
T = TypeVar("T")


def cannot_open(url: str, exc: BaseException) -> DcatwatchError:
    """The error for a store that cannot be opened: a :class:`StoreFault` when the database
    is there but read-only, full or locked; else a ConfigError with its URL without the
    password, the driver's reason (first line) and what to check."""
    fault = store_fault(exc, url)
    if fault is not None:
        return fault
    lines = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    check = ("the file's directory exists and is writable" if url.startswith("sqlite")
             else "the database server is running and the URL, user and password are right")
    return ConfigError("database.url", f"cannot open {hide_password(url)}: "
                       f"{lines[0] if lines else type(exc).__name__} (check that {check})")


# driver error -> store fault: SQLite's result code names (extended ones reduced to their
# base, e.g. SQLITE_READONLY_DBMOVED), PostgreSQL's SQLSTATEs
_SQLITE_FAULTS = {"SQLITE_READONLY": "store.read_only", "SQLITE_FULL": "store.full",
                  "SQLITE_BUSY": "store.locked", "SQLITE_LOCKED": "store.locked"}
_POSTGRES_FAULTS = {"25006": "store.read_only",  # read_only_sql_transaction (a standby)
                    "53100": "store.full",  # disk_full
                    "55P03": "store.locked"}  # lock_not_available (lock_timeout)
_WHAT_TO_DO = {
    "store.read_only": "is read-only ({reason}): {fix}",
    "store.full": "cannot grow: the disk or quota is full ({reason}); free space there, then "
                  "run again",
    "store.locked": "stayed locked past the busy timeout ({reason}): another process holds a "
                    "long write (a harvest, a backup, a migration); wait for it, then run again",
}


def store_fault(exc: BaseException, url: str) -> StoreFault | None:
    """Classify a driver error (bare or wrapped by SQLAlchemy) of the database at ``url``:
    read-only, full or locked, as a :class:`StoreFault` naming the file or server and what
    to do; None for anything else (a bug, a bad URL, an unreachable server)."""
    if isinstance(exc, StoreFault):
        return exc
    orig = getattr(exc, "orig", None) or exc
    code = None
    name = getattr(orig, "sqlite_errorname", None)
    if name:
        code = _SQLITE_FAULTS.get("_".join(name.split("_")[:2]))
        path = sqlite_path(url)
        if code is None and path is not None and name.startswith(("SQLITE_CANTOPEN",
                                                                   "SQLITE_IOERR")):
            # what SQLite reports when WAL's -shm file cannot be made or grown
            if path.exists() and not _writable(path):
                code = "store.read_only"
            elif _no_space(path):
                code = "store.full"
    else:
        code = _POSTGRES_FAULTS.get(getattr(orig, "sqlstate", None) or "")
    if code is None:
        return None
    lines = str(orig).strip().splitlines()
    reason = lines[0] if lines else type(orig).__name__
    fix = ("make the file and its directory writable for the user dcatwatch runs as (and the "
           "file system writable), or point [database] url at a writable file"
           if url.startswith("sqlite") else "connect to the primary server, as a user that "
           "may write")
    return StoreFault(code, f"{where(url)} {_WHAT_TO_DO[code].format(reason=reason, fix=fix)}")


def fault_of(exc: BaseException) -> StoreFault | None:
    """The :class:`StoreFault` an engine of :func:`make_engine` found in ``exc`` (a
    SQLAlchemy error), if it is one."""
    return exc if isinstance(exc, StoreFault) else getattr(exc, "dcatwatch_fault", None)


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for other databases and in-memory SQLite)."""
    if not url.startswith("sqlite"):
        return None
    try:
        database = (make_url(url).database or "").removeprefix("file:")
    except ArgumentError:
        return None
    return Path(database) if database and database != ":memory:" else None


def where(url: str) -> str:
    """How messages name the database: its file, or its URL without the password."""
    path = sqlite_path(url)
    return f"the database file {path}" if path is not None else \
        f"the database {hide_password(url)}"


def _no_space(path: Path) -> bool:
    try:
        return shutil.disk_usage(path.parent).free < NO_SPACE
    except OSError:
        return False


def _writable(path: Path) -> bool:
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)


def hide_password(url: str) -> str:
    """``url`` with its password, if any, shown as ``***``."""
    netloc = urlsplit(url).netloc
    userinfo, at, host = netloc.rpartition("@")
    if not at or ":" not in userinfo:
        return url
    return url.replace(netloc, f"{userinfo.partition(':')[0]}:***@{host}", 1)


def chunks(items: Sequence[T], size: int = IN_LIST) -> Iterator[Sequence[T]]:
    """``items`` in slices of at most ``size``: for ``IN (...)`` lists of any length."""
    for start in range(0, len(items), size):
        yield items[start:start + size]


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL, foreign keys and a busy timeout."""
    try:
        if url.startswith("sqlite"):
            engine = create_engine(url, connect_args={"timeout": 30})
            event.listen(engine, "connect", _sqlite_pragmas)
            event.listen(engine, "begin", _sqlite_begin)
        else:
            # no server-side prepared statements (psycopg prepares a query run 5 times): a
            # prepared statement is soon run from a generic plan, made once for any value
            # and from the statistics of that moment. A harvest repeats its statements
            # while its own rows fill an empty table, and sources differ in size by 1000x:
            # a generic plan for ``source = $1 AND iri IN (...)`` filtered every row of a
            # 60 000-dataset source against 1000 IRIs per batch (1.4 s a batch, growing).
            # Unprepared, each query is planned for its values (well under a millisecond).
            engine = create_engine(url, pool_pre_ping=True,
                                   connect_args={"prepare_threshold": None})
    except (SQLAlchemyError, ImportError, ValueError) as exc:
        raise ConfigError("database.url", f"cannot use {hide_password(url)}: {exc}") from None

    def classify(context: Any) -> None:
        """Note what a failing statement means (read-only, full, locked) on the SQLAlchemy
        error, which stays what it is for the code that catches it (:func:`fault_of`)."""
        fault = store_fault(context.original_exception, url)
        if fault is not None and context.sqlalchemy_exception is not None:
            context.sqlalchemy_exception.dcatwatch_fault = fault

    event.listen(engine, "handle_error", classify)
    return engine


def _sqlite_pragmas(connection: Any, _record: object) -> None:
    connection.isolation_level = None  # the driver begins nothing itself: _sqlite_begin does
    cursor = connection.cursor()
    for pragma in SQLITE_PRAGMAS:
        cursor.execute(pragma)
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    """``BEGIN IMMEDIATE`` for a write unit (:meth:`.core.Store.write`), so two writers queue
    for the lock at the start instead of one failing on its first write; plain ``BEGIN``
    (no lock until needed) otherwise."""
    write = connection.get_execution_options().get("dcatwatch_write", False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def url_of(engine: Engine) -> str:
    """The URL ``engine`` connects to, password included."""
    return engine.url.render_as_string(hide_password=False)


def current_revision(engine: Engine) -> str | None:
    """The schema revision recorded in the database (None for an empty database)."""
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Run all pending migrations; returns (revision before, revision after)."""
    from alembic import command
    from alembic.config import Config

    before = current_revision(engine)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    return before, current_revision(engine) or ""


def create(engine: Engine) -> None:
    """Create the current schema in an empty database and stamp it with :data:`HEAD`.

    Equivalent to running every migration (a test compares the two) without importing
    Alembic; the documented "create_all, then stamp head" recipe. On PostgreSQL an advisory
    lock serialises processes that start on the same empty database at once.
    """
    from sqlmodel import SQLModel

    from dcatwatch.store import tables

    tables.load_all()
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK})
        if inspect(connection).has_table("alembic_version"):
            return  # another process created it while we waited
        SQLModel.metadata.create_all(connection)
        connection.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, "
                                "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))"))
        connection.execute(text("INSERT INTO alembic_version (version_num) VALUES (:head)"),
                           {"head": HEAD})


def ready(engine: Engine) -> Engine:
    """Make sure the schema is current: migrate an empty database, refuse an outdated one."""
    try:
        revision = current_revision(engine)
    except SQLAlchemyError as exc:
        raise cannot_open(url_of(engine), exc) from None
    if revision == HEAD:
        return engine
    if revision is None and not _has_tables(engine):
        create(engine)
        return engine
    found = f"the schema of {where(url_of(engine))} is at {revision or 'no version'}"
    if revision and revision.isdigit() and int(revision) > int(HEAD):
        raise StoreFault("store.schema", f"{found}, newer than this dcatwatch knows ({HEAD}): "
                         "run the dcatwatch version that upgraded it (or a newer one)")
    raise StoreFault("store.schema", f"{found} but this dcatwatch needs {HEAD}: run "
                     "`dcatwatch db upgrade` first")


def _has_tables(engine: Engine) -> bool:
    with engine.connect() as connection:
        return bool(inspect(connection).get_table_names())


def open_store(url: str) -> Engine:
    """An engine for ``url`` with a current schema (see :func:`ready`)."""
    return ready(make_engine(url))
