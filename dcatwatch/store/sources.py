"""Configured sources, their state and their conditional-GET cache."""

from __future__ import annotations

from dcatwatch.store.core import Repository


class Sources(Repository):
    """Configured sources, their state and their conditional-GET cache."""
