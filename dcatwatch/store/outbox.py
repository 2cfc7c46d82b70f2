"""Report deliveries: one row per (agency, period)."""

from __future__ import annotations

from dcatwatch.store.core import Repository


class Outbox(Repository):
    """Report deliveries: one row per (agency, period)."""
