"""Race-free inserts for PostgreSQL and SQLite alike.

Two harvests of different sources can see the same new agency at the same moment; a plain
INSERT would make the second fail on the primary key. Both dialects support
``INSERT … ON CONFLICT``, which SQLAlchemy exposes per dialect.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite


def _insert(conn: Connection, table: Table) -> Any:
    dialect = conn.dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"upserts are implemented for PostgreSQL and SQLite, not {dialect}")


def insert_missing(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows``, silently skipping those whose primary key already exists."""
    if rows:
        conn.execute(_insert(conn, table).on_conflict_do_nothing(), list(rows))


def upsert(conn: Connection, table: Table, rows: Sequence[dict[str, Any]],
           update: Sequence[str]) -> None:
    """Insert ``rows``; where the primary key exists, overwrite the ``update`` columns."""
    if not rows:
        return
    statement = _insert(conn, table)
    keys = [column.name for column in table.primary_key.columns]
    statement = statement.on_conflict_do_update(
        index_elements=keys, set_={name: statement.excluded[name] for name in update})
    conn.execute(statement, list(rows))
