"""Agencies: the registry, publishers seen, aliases."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Row, bindparam, func, select, union, update

from dcatwatch.store.db import chunks
from dcatwatch.store.repository import Repository
from dcatwatch.store.tables import AGENCIES, DATASETS, SERVICES
from dcatwatch.store.upsert import insert as upsert_into


class Agencies(Repository):
    """Agencies: the registry, publishers seen, aliases."""

    def sync_registry(self, rows: Sequence[dict[str, Any]]) -> None:
        """Write configured registry agencies (id, name, email, language): names and
        addresses are overwritten, a language only when one is given."""
        if not rows:
            return
        statement = upsert_into(self.connection, AGENCIES)
        excluded = statement.excluded
        self.connection.execute(statement.on_conflict_do_update(
            index_elements=[AGENCIES.c.id],
            set_={"name": excluded.name, "email": excluded.email,
                  "in_registry": excluded.in_registry,
                  "language": func.coalesce(excluded.language, AGENCIES.c.language)}),
            [{**row, "in_registry": True, "identity_rule": "registry", "flagged": False,
              "publisher_iris": "[]"} for row in rows])

    def import_registry(self, rows: Sequence[dict[str, Any]]) -> None:
        """Write imported registry agencies (id, name, email, language, publisher IRIs),
        overwriting what is stored of them."""
        if not rows:
            return
        statement = upsert_into(self.connection, AGENCIES)
        self.connection.execute(statement.on_conflict_do_update(
            index_elements=[AGENCIES.c.id],
            set_={key: statement.excluded[key] for key in
                  ("name", "email", "language", "in_registry", "publisher_iris")}),
            [{**row, "publisher_iris": json.dumps(row["publisher_iris"]), "in_registry": True,
              "identity_rule": "registry", "flagged": False} for row in rows])

    def registry_aliases(self) -> dict[str, str]:
        """Publisher IRIs recorded for registry agencies → their ids."""
        return {iri: agency_id for agency_id, iris in self._publishers(registry=True)
                for iri in iris}

    def outside_registry(self) -> list[tuple[str, list[str]]]:
        """Agencies outside the registry with their publisher IRIs."""
        return self._publishers(registry=False)

    def reassign(self, agency_id: str, target: str) -> None:
        """Give the datasets and data services of ``agency_id`` to ``target``."""
        for table in (DATASETS, SERVICES):
            self.connection.execute(update(table).where(table.c.agency_id == agency_id)
                                    .values(agency_id=target))

    def get(self, ids: Sequence[str]) -> dict[str, Row[Any]]:
        """The stored (id, name, email, in_registry, publisher_iris, language, name_derived)
        of those ``ids`` that exist, by id."""
        c = AGENCIES.c
        return {row.id: row for part in chunks(ids) for row in self.connection.execute(
            select(c.id, c.name, c.email, c.in_registry, c.publisher_iris, c.language,
                   c.name_derived)
            .where(c.id.in_(part)))}

    def record_seen(self, new: Iterable[dict[str, Any]],
                    changed: Iterable[tuple[str, str | None, bool, list[str]]]) -> None:
        """Add agencies first seen (another harvest may just have added one: it is kept),
        and give known ones (id, name, name_derived, publisher IRIs) their new names and
        IRIs."""
        rows = [{**row, "publisher_iris": json.dumps(row["publisher_iris"])} for row in new]
        if rows:
            self.connection.execute(
                upsert_into(self.connection, AGENCIES).on_conflict_do_nothing(), rows)
        updates = [{"row_id": agency_id, "name": name, "name_derived": derived,
                    "publisher_iris": json.dumps(iris)}
                   for agency_id, name, derived, iris in changed]
        if updates:
            self.connection.execute(
                update(AGENCIES).where(AGENCIES.c.id == bindparam("row_id")), updates)

    def of_source(self, source: str) -> int:
        """How many agencies the current datasets and data services of ``source`` belong to."""
        parts = [select(table.c.agency_id).where(table.c.source == source,
                                                 table.c.removed_at.is_(None),
                                                 table.c.agency_id.is_not(None))
                 for table in (DATASETS, SERVICES)]
        return int(self.connection.execute(
            select(func.count()).select_from(union(*parts).subquery())).scalar_one())

    def _publishers(self, *, registry: bool) -> list[tuple[str, list[str]]]:
        rows = self.connection.execute(select(AGENCIES.c.id, AGENCIES.c.publisher_iris)
                                       .where(AGENCIES.c.in_registry == registry))
        return [(agency_id, json.loads(iris)) for agency_id, iris in rows]

    def in_registry(self) -> list[Any]:
        """The registry agencies: (id, name, email, language)."""
        return list(self.connection.execute(
            select(AGENCIES.c.id, AGENCIES.c.name, AGENCIES.c.email, AGENCIES.c.language)
            .where(AGENCIES.c.in_registry.is_(True))))

    def contact(self, agency_id: str) -> Any | None:
        """The agency's (name, email, language, name_derived), registry or harvested; None
        if unknown."""
        return self.connection.execute(
            select(AGENCIES.c.name, AGENCIES.c.email, AGENCIES.c.language,
                   AGENCIES.c.name_derived)
            .where(AGENCIES.c.id == agency_id)).first()

    def listed(self) -> list[Row[Any]]:
        """``id``, ``name``, ``in_registry`` and ``name_derived`` of every agency known."""
        return list(self.connection.execute(
            select(AGENCIES.c.id, AGENCIES.c.name, AGENCIES.c.in_registry,
                   AGENCIES.c.name_derived)))
