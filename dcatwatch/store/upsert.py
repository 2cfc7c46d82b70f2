"""``INSERT … ON CONFLICT`` for PostgreSQL and SQLite alike.

Two harvests of different sources can see the same new agency at the same moment; a plain
INSERT would make the second fail on the primary key. Both dialects support
``INSERT … ON CONFLICT``, which SQLAlchemy exposes per dialect.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table


def insert(conn: Connection, table: Table) -> Any:
    """The dialect's INSERT of ``table``, which has ``on_conflict_do_*`` and ``excluded``
    (only the dialect in use is imported: a SQLite harvest skips PostgreSQL's catalogue)."""
    dialect = conn.dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert

        return postgresql_insert(table)
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(table)
    raise NotImplementedError(f"upserts are implemented for PostgreSQL and SQLite, not {dialect}")
