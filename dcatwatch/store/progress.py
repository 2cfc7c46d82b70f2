"""What each period's report stood on: the table ``report_progress`` (one row per agency and
period), read by the next period's report to show progress. Which problems count and how the
change is worded are :mod:`dcatwatch.reports`'; these methods read and write rows."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select

from dcatwatch.store.repository import Repository
from dcatwatch.store.tables import REPORT_PROGRESS
from dcatwatch.store.upsert import insert


class Progress(Repository):
    """The state each period's report stood on."""

    def record(self, agency_id: str, period: str, scored_at: datetime, broken_links: int,
               problems: Mapping[str, Sequence[str]], at: datetime) -> None:
        """Keep what the agency's report for ``period`` stood on (replacing an earlier one of
        the same period)."""
        values = {"scored_at": scored_at, "broken_links": broken_links,
                  "problems": json.dumps({fix: list(iris) for fix, iris in problems.items()},
                                         ensure_ascii=False, separators=(",", ":")),
                  "recorded_at": at}
        statement = insert(self.connection, REPORT_PROGRESS).values(
            agency_id=agency_id, period=period, **values)
        self.connection.execute(statement.on_conflict_do_update(
            index_elements=["agency_id", "period"], set_=values))

    def of(self, agency_id: str, period: str) -> Any | None:
        """The agency's row of ``period`` (None: none): ``scored_at``, ``broken_links``."""
        table = REPORT_PROGRESS.c
        return self.connection.execute(
            select(table.scored_at, table.broken_links)
            .where(table.agency_id == agency_id, table.period == period)).first()

    def before(self, agency_id: str, period: str) -> Any | None:
        """The agency's latest row of a period before ``period`` (None: none):
        ``period``, ``scored_at``, ``broken_links``, ``problems`` (JSON)."""
        table = REPORT_PROGRESS.c
        return self.connection.execute(
            select(table.period, table.scored_at, table.broken_links, table.problems)
            .where(table.agency_id == agency_id, table.period < period)
            .order_by(table.period.desc()).limit(1)).first()
