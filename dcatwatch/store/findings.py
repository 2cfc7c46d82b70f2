"""Metadata findings."""

from __future__ import annotations

from dcatwatch.store.core import Repository


class Findings(Repository):
    """Metadata findings."""
