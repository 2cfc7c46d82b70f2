"""One harvest of a source at a time, across processes.

A run holds its source's lock from start to end, so a harvest from the command line and the
daemon's never run the same source at once. On PostgreSQL it is a session advisory lock on a
connection kept for the run; on SQLite an ``flock`` on a file under the user's runtime
directory (``$XDG_RUNTIME_DIR``, else the system temp dir) in ``dcatwatch-locks/``, named by
a hash of the database file's real path and the source, so nothing appears beside the
database (which may sit in a repository). Both belong to the process (its connection, its
open file): a killed harvest never leaves a lock behind.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, func, select

LOCK_SPACE = 0x64637774  # "dcwt": the first key of dcatwatch's PostgreSQL advisory locks


@contextmanager
def source_lock(engine: Engine, source: str) -> Iterator[bool]:
    """Hold the lock on harvesting ``source`` for the block; yields False, holding nothing,
    when another connection or process holds it."""
    if engine.dialect.name == "postgresql":
        with _advisory_lock(engine, source) as held:
            yield held
        return
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        yield True  # an in-memory database: no other connection sees it
        return
    with _file_lock(lock_path(database, source)) as held:
        yield held


def lock_path(database: str, source: str) -> Path:
    """The lock file of harvesting ``source`` into the SQLite file ``database``."""
    key = hashlib.sha256(f"{os.path.realpath(database)}\0{source}".encode()).hexdigest()[:32]
    base = os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()
    directory = Path(base) / "dcatwatch-locks"
    directory.mkdir(mode=0o700, exist_ok=True)
    return directory / f"{key}.lock"


@contextmanager
def _advisory_lock(engine: Engine, source: str) -> Iterator[bool]:
    key = (LOCK_SPACE, zlib.crc32(source.encode()) - (1 << 31))  # two int4 keys
    with engine.connect() as connection:
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        held = bool(connection.execute(select(func.pg_try_advisory_lock(*key))).scalar())
        try:
            yield held
        finally:
            if held:
                connection.execute(select(func.pg_advisory_unlock(*key)))


@contextmanager
def _file_lock(path: Path) -> Iterator[bool]:
    handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
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
