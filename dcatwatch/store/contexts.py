"""Remote JSON-LD contexts fetched by the harvester: the stored copy of each."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, select

from dcatwatch.store.repository import Repository
from dcatwatch.store.tables import JSONLD_CONTEXTS
from dcatwatch.store.upsert import insert as upsert_into


class JsonLdContexts(Repository):
    """The stored copy of each remote JSON-LD context (``[jsonld] allowed_contexts``)."""

    def get(self, url: str) -> Row[Any] | None:
        """The stored copy of ``url``: (body, etag, last_modified, fetched_at), or None."""
        c = JSONLD_CONTEXTS.c
        return self.connection.execute(select(c.body, c.etag, c.last_modified, c.fetched_at)
                                       .where(c.url == url)).first()

    def save(self, url: str, body: str, etag: str | None, last_modified: str | None,
             at: datetime) -> None:
        """Keep ``body`` as the copy of ``url``, with the validators it came with (an upsert:
        two sources harvested at once may fetch one context)."""
        statement = upsert_into(self.connection, JSONLD_CONTEXTS).values(
            url=url, body=body, etag=etag, last_modified=last_modified, fetched_at=at)
        self.connection.execute(statement.on_conflict_do_update(
            index_elements=[JSONLD_CONTEXTS.c.url],
            set_={key: statement.excluded[key]
                  for key in ("body", "etag", "last_modified", "fetched_at")}))
