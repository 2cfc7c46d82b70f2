"""Data services of each source."""

from __future__ import annotations

from dcatwatch.store.core import Repository


class Services(Repository):
    """Data services of each source."""
