"""Link and data checks and validation runs."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Table, select

from dcatwatch.store.core import Repository
from dcatwatch.store.sql import chunks
from dcatwatch.store.tables import DATA, LINKS


class Checks(Repository):
    """Link and data checks and validation runs."""

    # reads for reports, the daemon and coverage

    def links_of(self, urls: Sequence[str]) -> Iterator[Any]:
        """The ``link_check`` rows of ``urls`` (URLs never checked have none)."""
        yield from self._of(LINKS, urls)

    def data_of(self, urls: Sequence[str]) -> Iterator[Any]:
        """The ``data_check`` rows of ``urls`` (URLs never checked have none)."""
        yield from self._of(DATA, urls)

    def _of(self, table: Table, urls: Sequence[str]) -> Iterator[Any]:
        for part in chunks(urls):
            yield from self.connection.execute(select(table).where(table.c.url.in_(part)))
