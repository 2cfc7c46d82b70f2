"""Dataset scores and agency and national snapshots."""

from __future__ import annotations

from dcatwatch.store.core import Repository


class Scores(Repository):
    """Dataset scores and agency and national snapshots."""
