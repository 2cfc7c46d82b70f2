"""Agencies: the registry, publishers seen, aliases."""

from __future__ import annotations

from dcatwatch.store.core import Repository


class Agencies(Repository):
    """Agencies: the registry, publishers seen, aliases."""
