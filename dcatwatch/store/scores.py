"""Dataset scores and agency and national snapshots."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import select

from dcatwatch.registry.coverage import identifiers
from dcatwatch.store.core import Repository
from dcatwatch.store.sql import chunks
from dcatwatch.store.tables import AGENCY_SNAPSHOTS, DATASETS, NATIONAL_SNAPSHOTS, SCORES

_IDENTIFIERS_PREFIX = '{"identifiers":'
_JSON = json.JSONDecoder()


class Scores(Repository):
    """Dataset scores and agency and national snapshots."""

    # reads for reports, the daemon and coverage

    def latest_snapshot(self, agency_id: str) -> Any | None:
        """The agency's latest score snapshot (None: never scored)."""
        return self.connection.execute(
            select(AGENCY_SNAPSHOTS).where(AGENCY_SNAPSHOTS.c.agency_id == agency_id)
            .order_by(AGENCY_SNAPSHOTS.c.scored_at.desc(), AGENCY_SNAPSHOTS.c.id.desc())
            .limit(1)).first()

    def national_median(self, scored_at: datetime) -> float | None:
        """The national median index of the scoring run at ``scored_at``."""
        return self.connection.execute(
            select(NATIONAL_SNAPSHOTS.c.median_api_document_index)
            .where(NATIONAL_SNAPSHOTS.c.scored_at == scored_at)).scalar()

    def indexes_at(self, scored_at: datetime) -> list[float]:
        """The agencies' indexes (those that have one) in the scoring run at ``scored_at``."""
        return list(self.connection.execute(
            select(AGENCY_SNAPSHOTS.c.api_document_index).where(
                AGENCY_SNAPSHOTS.c.scored_at == scored_at,
                AGENCY_SNAPSHOTS.c.api_document_index.is_not(None))).scalars())

    def snapshot_before(self, agency_id: str, moment: datetime) -> Any | None:
        """The agency's last snapshot before ``moment``: (scored_at, api_document_index,
        mqa_points)."""
        return self.connection.execute(
            select(AGENCY_SNAPSHOTS.c.scored_at, AGENCY_SNAPSHOTS.c.api_document_index,
                   AGENCY_SNAPSHOTS.c.mqa_points)
            .where(AGENCY_SNAPSHOTS.c.agency_id == agency_id,
                   AGENCY_SNAPSHOTS.c.scored_at < moment)
            .order_by(AGENCY_SNAPSHOTS.c.scored_at.desc()).limit(1)).first()

    def index_history(self, agency_id: str) -> list[Any]:
        """The agency's snapshots in order: (scored_at, api_document_index)."""
        return list(self.connection.execute(
            select(AGENCY_SNAPSHOTS.c.scored_at, AGENCY_SNAPSHOTS.c.api_document_index)
            .where(AGENCY_SNAPSHOTS.c.agency_id == agency_id)
            .order_by(AGENCY_SNAPSHOTS.c.scored_at, AGENCY_SNAPSHOTS.c.id)))

    def current_of_agency(self, agency_id: str) -> list[Any]:
        """The agency's current datasets with their scores: (id, iri, source, title,
        description, level, strong, open, api_by_title_only, mqa_points, mqa_band,
        details)."""
        return list(self.connection.execute(
            select(DATASETS.c.id, DATASETS.c.iri, DATASETS.c.source, DATASETS.c.title,
                   DATASETS.c.description, SCORES.c.level, SCORES.c.strong, SCORES.c.open,
                   SCORES.c.api_by_title_only, SCORES.c.mqa_points, SCORES.c.mqa_band,
                   SCORES.c.details)
            .select_from(DATASETS.join(SCORES, SCORES.c.dataset_id == DATASETS.c.id))
            .where(DATASETS.c.removed_at.is_(None), SCORES.c.agency_id == agency_id)))

    def identifiers(self, ids: list[int]) -> dict[int, list[str]]:
        """The ``dct:identifier`` values of datasets, by id (for
        :func:`~dcatwatch.scoring.service.counted`): from the score's details, which begin
        with them (only that prefix is decoded); else from the stored description."""
        found: dict[int, list[str]] = {}
        for part in chunks(sorted(ids)):
            for row in self.connection.execute(select(SCORES.c.dataset_id, SCORES.c.details)
                                               .where(SCORES.c.dataset_id.in_(part))):
                if row.details.startswith(_IDENTIFIERS_PREFIX):
                    found[row.dataset_id] = _JSON.raw_decode(row.details,
                                                             len(_IDENTIFIERS_PREFIX))[0]
        for part in chunks([i for i in ids if i not in found]):
            found.update((row.id, identifiers(row.description)) for row in self.connection.execute(
                select(DATASETS.c.id, DATASETS.c.description).where(DATASETS.c.id.in_(part))))
        return found
