"""Runs of every kind: started, finished, failed, interrupted."""

from __future__ import annotations

from dcatwatch.store.core import Repository


class Runs(Repository):
    """Runs of every kind: started, finished, failed, interrupted."""
