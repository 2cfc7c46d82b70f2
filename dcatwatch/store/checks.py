"""Link and data checks and validation runs."""

from __future__ import annotations

from dcatwatch.store.core import Repository


class Checks(Repository):
    """Link and data checks and validation runs."""
