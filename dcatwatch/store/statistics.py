"""Planner statistics on PostgreSQL, kept fresh after bulk writes.

PostgreSQL plans from statistics that ANALYZE gathers; autovacuum refreshes them only after a
transaction commits and a minute may pass. A harvest writes a large source in one transaction
and reads it again in that transaction (change detection per batch, then the counts and the
datasets it no longer lists): planned from the statistics of an empty table, the distribution
count became a nested loop comparing every distribution with every dataset (minutes for
60 000 datasets). ANALYZE inside the transaction sees the transaction's own rows, so the
writer refreshes the statistics of what it grew. SQLite plans from its indexes alone
(``ANALYZE`` there is never run): nothing to do.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from dcatwatch.store.repository import Repository

MIN_ROWS = 1000  # fewer written rows never make a plan go wrong: not worth an ANALYZE
LOCK_WAIT = "200ms"  # another writer's ANALYZE of these tables: skip ours rather than wait


class Statistics(Repository):
    """Planner statistics (PostgreSQL)."""

    def refresh(self, tables: tuple[str, ...], written: int, share: float = 1.0) -> bool:
        """ANALYZE ``tables`` when ``written`` rows (written to them since their last
        refresh by this unit) are at least :data:`MIN_ROWS` and ``share`` of the rows the
        first table had when last analyzed (1: its statistics are off by half or more;
        autovacuum's own rule is 0.1 of a table changed). Returns whether it did (the
        caller counts again from 0).

        ANALYZE holds a lock that another ANALYZE of the same table waits for until this
        transaction ends: when a concurrent writer holds it, this refresh is skipped (a
        savepoint keeps the transaction usable) instead of queueing behind that writer.
        """
        if self.connection.dialect.name != "postgresql" or written < MIN_ROWS:
            return False
        known = self.connection.execute(
            text("SELECT reltuples FROM pg_class WHERE oid = CAST(:table AS regclass)"),
            {"table": tables[0]}).scalar()
        if known is not None and written < share * known:
            return False
        previous = self.connection.execute(text("SELECT current_setting('lock_timeout')")).scalar()
        try:
            with self.connection.begin_nested():
                self.connection.execute(text("SELECT set_config('lock_timeout', :wait, true)"),
                                        {"wait": LOCK_WAIT})
                # names from the caller's code, never from input; one statement locks them
                # in one order, so two writers cannot deadlock on them
                self.connection.execute(text(f"ANALYZE {', '.join(tables)}"))
        except OperationalError as exc:
            if getattr(exc.orig, "sqlstate", None) != "55P03":  # lock_not_available
                raise
            return False
        finally:
            self.connection.execute(text("SELECT set_config('lock_timeout', :previous, true)"),
                                    {"previous": previous})
        return True
