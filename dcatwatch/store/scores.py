"""Dataset scores and agency and national snapshots: the tables ``dataset_score``,
``agency_score`` and ``national_score``. How points and levels are computed, and which copy
of a dataset counts, is :mod:`dcatwatch.scoring`'s; these methods read and write rows."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Row, case, delete, func, insert, null, select

from dcatwatch.store.checks import SCORED_VERDICTS
from dcatwatch.store.db import chunks
from dcatwatch.store.repository import Repository
from dcatwatch.store.tables import (
    AGENCIES,
    AGENCY_SNAPSHOTS,
    DATASETS,
    DELIVERIES,
    LINKS,
    NATIONAL_SNAPSHOTS,
    RUNS,
    SCORE_LINKS,
    SCORES,
    SERVICES,
    VALIDATION_RUNS,
    SHACL_CHECKS,
)

class Generation(NamedTuple):
    """The latest of each change the web view shows: it differs whenever a page may."""

    snapshot: int | None  # the latest national snapshot's id
    harvest: datetime | None  # the latest finished harvest
    validation: datetime | None  # the latest finished validation
    services: datetime | None  # the latest data service change
    report: datetime | None  # the latest sent report


SNAPSHOT_KEYS = ("id", "scored_at", "agency_id", "details")  # the rest: the agency's figures
AGENCY_FIGURES = tuple(c.name for c in AGENCY_SNAPSHOTS.columns if c.name not in SNAPSHOT_KEYS)
NATIONAL_FIGURES = tuple(c.name for c in NATIONAL_SNAPSHOTS.columns
                         if c.name not in SNAPSHOT_KEYS)


class Scores(Repository):
    """Dataset scores and agency and national snapshots."""

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
        """The agency's last snapshot before ``moment`` (None: none)."""
        return self.connection.execute(
            select(AGENCY_SNAPSHOTS)
            .where(AGENCY_SNAPSHOTS.c.agency_id == agency_id,
                   AGENCY_SNAPSHOTS.c.scored_at < moment)
            .order_by(AGENCY_SNAPSHOTS.c.scored_at.desc(), AGENCY_SNAPSHOTS.c.id.desc())
            .limit(1)).first()

    def snapshot_at(self, agency_id: str, scored_at: datetime) -> Any | None:
        """The agency's snapshot of the scoring run at ``scored_at`` (None: none)."""
        return self.connection.execute(
            select(AGENCY_SNAPSHOTS)
            .where(AGENCY_SNAPSHOTS.c.agency_id == agency_id,
                   AGENCY_SNAPSHOTS.c.scored_at == scored_at)
            .order_by(AGENCY_SNAPSHOTS.c.id.desc()).limit(1)).first()

    def index_history(self, agency_id: str) -> list[Any]:
        """The agency's snapshots in order: (scored_at, api_document_index)."""
        return list(self.connection.execute(
            select(AGENCY_SNAPSHOTS.c.scored_at, AGENCY_SNAPSHOTS.c.api_document_index)
            .where(AGENCY_SNAPSHOTS.c.agency_id == agency_id)
            .order_by(AGENCY_SNAPSHOTS.c.scored_at, AGENCY_SNAPSHOTS.c.id)))

    def median_history(self, since: datetime) -> list[Any]:
        """The national snapshots from ``since`` on, in order: (scored_at,
        median_api_document_index)."""
        return list(self.connection.execute(
            select(NATIONAL_SNAPSHOTS.c.scored_at,
                   NATIONAL_SNAPSHOTS.c.median_api_document_index)
            .where(NATIONAL_SNAPSHOTS.c.scored_at >= since)
            .order_by(NATIONAL_SNAPSHOTS.c.scored_at, NATIONAL_SNAPSHOTS.c.id)))

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

    def last_scored(self) -> datetime | None:
        """When a dataset was last scored (None: never)."""
        return self.connection.execute(select(func.max(SCORES.c.scored_at))).scalar()

    def stale(self, *, every: bool = False) -> list[int]:
        """Ids of the current datasets whose score is missing or out of date: never scored,
        scored from another description or under another agency, from a SHACL verdict
        (``shacl_check``) that reads otherwise now, or from a link check that reads otherwise
        now (:meth:`save` keeps each as read; a check whose verdict is
        not one of :data:`SCORED_VERDICTS` reads as unchecked, as ``Checks.link_infos``
        gives it). ``every``: all current datasets. Data services are the caller's to
        compare (:meth:`service_inputs`)."""
        current = DATASETS.c.removed_at.is_(None)
        if every:
            return list(self.connection.execute(select(DATASETS.c.id).where(current)).scalars())
        described = select(DATASETS.c.id).select_from(
            DATASETS.outerjoin(SCORES, SCORES.c.dataset_id == DATASETS.c.id)).where(
            current, SCORES.c.dataset_id.is_(None)
            | (SCORES.c.content_hash != DATASETS.c.content_hash)
            | SCORES.c.agency_id.is_distinct_from(DATASETS.c.agency_id))
        read = SCORE_LINKS.c
        scored = LINKS.c.verdict.in_(SCORED_VERDICTS)
        now = {name: case((scored, LINKS.c[name]), else_=null())
               for name in ("status", "content_type", "reachable")}
        linked = select(read.dataset_id).select_from(
            SCORE_LINKS.join(DATASETS, DATASETS.c.id == read.dataset_id)
            .outerjoin(LINKS, LINKS.c.url == read.url)).where(
            current, read.status.is_distinct_from(now["status"])
            | read.content_type.is_distinct_from(now["content_type"])
            | read.reachable.is_distinct_from(now["reachable"]))
        checked = SHACL_CHECKS.c
        verdict = case((checked.content_hash == DATASETS.c.content_hash, checked.conforms),
                       else_=null())
        judged = select(DATASETS.c.id).select_from(
            DATASETS.join(SCORES, SCORES.c.dataset_id == DATASETS.c.id)
            .outerjoin(SHACL_CHECKS, checked.dataset_id == DATASETS.c.id)).where(
            current, SCORES.c.compliance.is_distinct_from(verdict))
        ids = set(self.connection.execute(described).scalars())
        ids.update(self.connection.execute(linked).scalars())
        ids.update(self.connection.execute(judged).scalars())
        return sorted(ids)

    def service_inputs(self) -> list[Row[Any]]:
        """``dataset_id``, ``iri`` and ``service_inputs`` of the current datasets whose score
        read data services."""
        return list(self.connection.execute(
            select(SCORES.c.dataset_id, DATASETS.c.iri, SCORES.c.service_inputs)
            .select_from(DATASETS.join(SCORES, SCORES.c.dataset_id == DATASETS.c.id))
            .where(DATASETS.c.removed_at.is_(None), SCORES.c.service_inputs.is_not(None))))

    def read_no_services(self, iris: Sequence[str]) -> list[int]:
        """Ids of the current datasets among ``iris`` whose score read no data service."""
        found: list[int] = []
        for part in chunks(list(iris)):
            found += self.connection.execute(
                select(DATASETS.c.id)
                .select_from(DATASETS.join(SCORES, SCORES.c.dataset_id == DATASETS.c.id))
                .where(DATASETS.c.removed_at.is_(None), DATASETS.c.iri.in_(part),
                       SCORES.c.service_inputs.is_(None))).scalars()
        return found

    def to_score(self, ids: Sequence[int]) -> list[Row[Any]]:
        """``id``, ``source``, ``agency_id``, ``content_hash`` and ``description`` of the
        current datasets among ``ids``."""
        found: list[Row[Any]] = []
        for part in chunks(list(ids)):
            found += self.connection.execute(
                select(DATASETS.c.id, DATASETS.c.source, DATASETS.c.agency_id,
                       DATASETS.c.content_hash, DATASETS.c.description)
                .where(DATASETS.c.id.in_(part), DATASETS.c.removed_at.is_(None)))
        return found

    def save(self, rows: Sequence[dict[str, Any]],
             links: Sequence[dict[str, Any]] = ()) -> None:
        """Replace the scores of the datasets of ``rows`` (``dataset_score`` rows) and the
        link checks they read (``dataset_score_link`` rows of those datasets)."""
        for part in chunks(rows):
            ids = [row["dataset_id"] for row in part]
            self.connection.execute(delete(SCORE_LINKS).where(SCORE_LINKS.c.dataset_id.in_(ids)))
            self.connection.execute(delete(SCORES).where(SCORES.c.dataset_id.in_(ids)))
            self.connection.execute(insert(SCORES), list(part))
        for links_part in chunks(links):
            self.connection.execute(insert(SCORE_LINKS), list(links_part))

    def details(self, ids: Sequence[int]) -> dict[int, str]:
        """The stored details (JSON) of the scores of datasets, by dataset id."""
        found: dict[int, str] = {}
        for part in chunks(sorted(ids)):
            query = select(SCORES.c.dataset_id, SCORES.c.details).where(
                SCORES.c.dataset_id.in_(part))
            found.update((row.dataset_id, row.details) for row in self.connection.execute(query))
        return found

    def copies(self) -> list[Row[Any]]:
        """The scored current datasets, with an agency or not (``agency_id`` None): ``id``,
        ``iri``, ``source``, ``agency_id``, ``level``, ``strong``, ``mqa_points``, ``open``."""
        return list(self.connection.execute(
            select(DATASETS.c.id, DATASETS.c.iri, DATASETS.c.source, DATASETS.c.agency_id,
                   SCORES.c.level, SCORES.c.strong, SCORES.c.mqa_points, SCORES.c.open)
            .select_from(DATASETS.join(SCORES, SCORES.c.dataset_id == DATASETS.c.id))
            .where(DATASETS.c.removed_at.is_(None))))

    def of_dataset(self, iri: str) -> list[Row[Any]]:
        """Every stored copy of the dataset ``iri`` with its score, if any."""
        return list(self.connection.execute(
            select(DATASETS.c.id, DATASETS.c.source, DATASETS.c.agency_id, DATASETS.c.title,
                   DATASETS.c.removed_at, SCORES.c.level, SCORES.c.mqa_points,
                   SCORES.c.mqa_band, SCORES.c.details, SCORES.c.scored_at)
            .select_from(DATASETS.outerjoin(SCORES, SCORES.c.dataset_id == DATASETS.c.id))
            .where(DATASETS.c.iri == iri)))

    def snapshot(self, agencies: Iterable[Mapping[str, Any]],
                 national: Mapping[str, Any] | None, at: datetime) -> None:
        """Append the figures of each agency (its ``scores --json`` object) and of the
        nation as the snapshot at ``at``."""
        rows = [{key: data[key] for key in AGENCY_FIGURES}
                | {"agency_id": data["id"], "scored_at": at,
                   "details": json.dumps(data, ensure_ascii=False)} for data in agencies]
        if rows:
            self.connection.execute(insert(AGENCY_SNAPSHOTS), rows)
        if national is not None:
            self.connection.execute(insert(NATIONAL_SNAPSHOTS).values(scored_at=at, **national))

    def latest_national(self) -> Row[Any] | None:
        """``scored_at`` and ``agencies_with_api_share`` of the latest snapshot (None: none)."""
        return self.connection.execute(
            select(NATIONAL_SNAPSHOTS.c.scored_at, NATIONAL_SNAPSHOTS.c.agencies_with_api_share)
            .order_by(NATIONAL_SNAPSHOTS.c.scored_at.desc()).limit(1)).first()

    def agency_snapshot(self, at: datetime) -> list[Row[Any]]:
        """The agency figures of the snapshot taken ``at``, by agency id, each with ``name``:
        the agency's stored name, else its id (as the scores name agencies)."""
        snapshot = AGENCY_SNAPSHOTS.c
        name = func.coalesce(AGENCIES.c.name, snapshot.agency_id)
        return list(self.connection.execute(
            select(snapshot.agency_id, name.label("name"),
                   *(snapshot[figure] for figure in AGENCY_FIGURES))
            .select_from(AGENCY_SNAPSHOTS.outerjoin(AGENCIES, AGENCIES.c.id == snapshot.agency_id))
            .where(snapshot.scored_at == at).order_by(snapshot.agency_id)))

    def national_latest(self) -> Row[Any] | None:
        """The latest national snapshot, every figure (None: never scored)."""
        return self.connection.execute(
            select(NATIONAL_SNAPSHOTS).order_by(NATIONAL_SNAPSHOTS.c.scored_at.desc(),
                                                NATIONAL_SNAPSHOTS.c.id.desc()).limit(1)).first()

    def national_since(self, moment: datetime) -> datetime | None:
        """When the last national snapshot at or before ``moment`` was taken, else the first
        one (None: never scored): what a trend compares with."""
        at = NATIONAL_SNAPSHOTS.c.scored_at
        before = self.connection.execute(select(func.max(at)).where(at <= moment)).scalar()
        return before or self.connection.execute(select(func.min(at))).scalar()

    def agency_details(self, at: datetime) -> list[Row[Any]]:
        """``agency_id``, ``api_document_index`` and ``details`` (its ``scores --json``
        object) of every agency in the snapshot taken ``at``."""
        snapshot = AGENCY_SNAPSHOTS.c
        return list(self.connection.execute(
            select(snapshot.agency_id, snapshot.api_document_index, snapshot.details)
            .where(snapshot.scored_at == at)))

    def indexes_by_agency(self, at: datetime) -> dict[str, float | None]:
        """Each agency's index in the snapshot taken ``at``."""
        snapshot = AGENCY_SNAPSHOTS.c
        rows = self.connection.execute(select(snapshot.agency_id, snapshot.api_document_index)
                                       .where(snapshot.scored_at == at))
        return {agency_id: index for agency_id, index in rows}

    def generation(self) -> Generation:
        """What the web view's pages are made of, as of now (one query on small tables or
        indexed keys)."""
        latest = [select(func.max(column)).scalar_subquery() for column in (
            NATIONAL_SNAPSHOTS.c.id, RUNS.c.finished_at,
            VALIDATION_RUNS.c.finished_at, SERVICES.c.changed_at, DELIVERIES.c.sent_at)]
        return Generation(*self.connection.execute(select(*latest)).one())
