"""Datasets and their distributions: change detection writes, current-dataset reads."""

from __future__ import annotations

from dcatwatch.store.core import Repository


class Datasets(Repository):
    """Datasets and their distributions: change detection writes, current-dataset reads."""
