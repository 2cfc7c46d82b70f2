"""Tables of the daemon: when each source is next due.

The cron expression itself lives in ``source.schedule`` (synced from the config); this row
holds the daemon's decision, so a restart carries on where the last process stopped: a
source without a row (new, or never seen by a daemon) is due at once, an interrupted run is
retried at once, and time spent down is caught up with one run per source.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel


class SourceSchedule(SQLModel, table=True):
    """The next time the daemon harvests a source."""

    __tablename__ = "source_schedule"

    source: str = Field(primary_key=True, max_length=64, foreign_key="source.name",
                        ondelete="CASCADE")
    schedule: str = Field(max_length=120)  # the cron the next_run_at was computed from
    next_run_at: datetime = Field(index=True)
