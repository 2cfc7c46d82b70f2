"""The daemon's schedule of each source."""

from __future__ import annotations

from dcatwatch.store.core import Repository


class Schedules(Repository):
    """The daemon's schedule of each source."""
