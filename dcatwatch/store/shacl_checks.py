"""SHACL verdicts of dataset descriptions: the table ``shacl_check``.

A verdict holds for the description it was checked at (``content_hash``) against the
shapes, background and engine it was checked with (``shapes``): a validation run checks
only the current datasets whose verdict does not (:meth:`ShaclChecks.due`), and reads the
findings of the others back (:meth:`ShaclChecks.findings`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, delete, insert, select

from dcatwatch.store.db import chunks
from dcatwatch.store.repository import Repository
from dcatwatch.store.tables import DATASETS, SHACL_CHECKS


def _current(source: str | None) -> Any:
    query = DATASETS.c.removed_at.is_(None)
    return query if source is None else query & (DATASETS.c.source == source)


class ShaclChecks(Repository):
    """SHACL verdicts, one per dataset."""

    def due(self, source: str | None, shapes: str, *, after: int = 0,
            limit: int = 1000) -> list[Row[Any]]:
        """``id``, ``iri``, ``source``, ``content_hash`` and ``description`` of up to
        ``limit`` current datasets (of ``source``) above id ``after`` whose verdict is
        missing, of another description, or checked against other ``shapes``."""
        checked = SHACL_CHECKS.c
        return list(self.connection.execute(
            select(DATASETS.c.id, DATASETS.c.iri, DATASETS.c.source, DATASETS.c.content_hash,
                   DATASETS.c.description)
            .select_from(DATASETS.outerjoin(SHACL_CHECKS, checked.dataset_id == DATASETS.c.id))
            .where(_current(source), DATASETS.c.id > after,
                   checked.dataset_id.is_(None) | (checked.content_hash != DATASETS.c.content_hash)
                   | (checked.shapes != shapes))
            .order_by(DATASETS.c.id).limit(limit)))

    def findings(self, source: str | None, shapes: str, *, after: int = 0,
                 limit: int = 1000) -> list[Row[Any]]:
        """``dataset_id``, ``iri``, ``source`` and ``findings`` (JSON) of up to ``limit``
        current datasets above id ``after`` whose verdict holds (see :meth:`due`)."""
        checked = SHACL_CHECKS.c
        return list(self.connection.execute(
            select(checked.dataset_id, DATASETS.c.iri, DATASETS.c.source, checked.findings)
            .select_from(DATASETS.join(SHACL_CHECKS, checked.dataset_id == DATASETS.c.id))
            .where(_current(source), DATASETS.c.id > after,
                   checked.content_hash == DATASETS.c.content_hash, checked.shapes == shapes)
            .order_by(DATASETS.c.id).limit(limit)))

    def save(self, rows: Sequence[dict[str, Any]]) -> None:
        """Replace the verdicts of the datasets of ``rows`` (``shacl_check`` rows)."""
        for part in chunks(rows):
            ids = [row["dataset_id"] for row in part]
            self.connection.execute(delete(SHACL_CHECKS).where(
                SHACL_CHECKS.c.dataset_id.in_(ids)))
            self.connection.execute(insert(SHACL_CHECKS), list(part))

    def verdicts(self, ids: Sequence[int]) -> dict[int, bool]:
        """Whether each dataset among ``ids`` complies, by id, for those whose verdict is of
        their current description (absent: unchecked)."""
        checked = SHACL_CHECKS.c
        found: dict[int, bool] = {}
        for part in chunks(list(ids)):
            found.update(self.connection.execute(
                select(checked.dataset_id, checked.conforms)
                .select_from(SHACL_CHECKS.join(DATASETS, DATASETS.c.id == checked.dataset_id))
                .where(checked.dataset_id.in_(part),
                       checked.content_hash == DATASETS.c.content_hash)).all())
        return found

    def failing(self, ids: Sequence[int]) -> dict[int, str]:
        """The findings (JSON) of each dataset among ``ids`` whose verdict on its current
        description is a violation, by id."""
        checked = SHACL_CHECKS.c
        found: dict[int, str] = {}
        for part in chunks(list(ids)):
            found.update(self.connection.execute(
                select(checked.dataset_id, checked.findings)
                .select_from(SHACL_CHECKS.join(DATASETS, DATASETS.c.id == checked.dataset_id))
                .where(checked.dataset_id.in_(part), checked.conforms.is_(False),
                       checked.content_hash == DATASETS.c.content_hash)).all())
        return found
