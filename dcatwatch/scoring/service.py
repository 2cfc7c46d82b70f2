"""A scoring run over the store: the service ``dcatwatch scores`` and the daemon call.

1. Datasets whose description changed since they were last scored (or all, with ``full``)
   are mapped, classified and given MQA-predicted points; results are kept per dataset with
   their evidence.
2. Current datasets are counted once (research/quality.md §4.5, :func:`counted`): first by
   IRI over all agencies, then by ``dct:identifier`` within an agency between its own
   catalogue and dataportal.se; the preferred source's copy (:data:`SOURCE_PREFERENCE`)
   decides the level, the MQA points and the agency.
3. Agencies and the nation are aggregated; a snapshot of both is appended.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any, NamedTuple

from sqlalchemy import Connection, Engine, delete, func, insert, select

from dcatwatch.dcat import records
from dcatwatch.dcat.classify import LinkInfo, classify_dataset, services_by_dataset
from dcatwatch.dcat.model import DataService
from dcatwatch.registry.coverage import DIRECT, PORTAL, DatasetRef, compare, identifiers
from dcatwatch.scoring.aggregate import Agency as RegistryAgency
from dcatwatch.scoring.aggregate import DatasetRow, Scores, aggregate
from dcatwatch.scoring.mqa import score_dataset
from dcatwatch.store.db import chunks
from dcatwatch.store.tables import (
    AGENCIES,
    AGENCY_SNAPSHOTS,
    DATASETS,
    LINKS,
    NATIONAL_SNAPSHOTS,
    SCORES,
    SERVICES,
    SOURCES,
)

SOURCE_PREFERENCE = {DIRECT: 0, PORTAL: 1}  # lower wins when a dataset is seen twice
_IDENTIFIERS_PREFIX = '{"identifiers":'
_JSON = json.JSONDecoder()


@dataclass(slots=True)
class ScoringRun:
    """What a scoring run did, and the scores it produced."""

    scores: Scores
    rescored: int
    scored_at: datetime


def score(engine: Engine, links: Mapping[str, LinkInfo] | None = None, *, full: bool = False,
          snapshot: bool = True) -> ScoringRun:
    """Rescore what changed, aggregate, and append a snapshot.

    ``links`` defaults to the stored link checks. Every dataset is rescored (``full``) when
    links were checked after the last scoring run, since reachability earns MQA points, and
    when a data service changed since (a level can rest on a service while the dataset's
    own description stays the same).
    """
    stamp = datetime.now(UTC)
    with engine.begin() as conn:
        full = full or _changed_since_scoring(conn, LINKS.c.last_checked_at) \
            or _changed_since_scoring(conn, SERVICES.c.changed_at)
        rescored = _rescore(conn, engine, links, full, stamp)
        scores = _aggregate(conn)
        if snapshot:
            _snapshot(conn, scores, stamp)
    return ScoringRun(scores, rescored, stamp)


def _changed_since_scoring(conn: Connection, column: Any) -> bool:
    """Whether the latest time in ``column`` is after the last scoring run."""
    changed = conn.execute(select(func.max(column))).scalar()
    scored = conn.execute(select(func.max(SCORES.c.scored_at))).scalar()
    return changed is not None and scored is not None and _aware(changed) > _aware(scored)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _rescore(conn: Connection, engine: Engine, links: Mapping[str, LinkInfo] | None,
             full: bool, stamp: datetime) -> int:
    query = (select(DATASETS.c.id, DATASETS.c.source, DATASETS.c.agency_id,
                    DATASETS.c.content_hash, DATASETS.c.description)
             .select_from(DATASETS.outerjoin(SCORES, SCORES.c.dataset_id == DATASETS.c.id))
             .where(DATASETS.c.removed_at.is_(None)))
    if not full:
        query = query.where((SCORES.c.dataset_id.is_(None))
                            | (SCORES.c.content_hash != DATASETS.c.content_hash))
    stale = conn.execute(query).all()
    if not stale:
        return 0
    if links is None:  # read only when something is rescored: the table can be large
        from dcatwatch.validators.service import link_infos

        links = link_infos(engine)
    services = _services(conn)
    serving = services_by_dataset(services.values())
    for part in chunks(stale):
        rows = [_score_row(row, services, serving, links, stamp) for row in part]
        conn.execute(delete(SCORES).where(SCORES.c.dataset_id.in_([r["dataset_id"] for r in rows])))
        conn.execute(insert(SCORES), rows)
    return len(stale)


def _services(conn: Connection) -> dict[str, DataService]:
    found: dict[str, DataService] = {}
    for row in conn.execute(select(SERVICES.c.record).where(SERVICES.c.removed_at.is_(None))):
        service = records.load_service(row.record)
        found.setdefault(service.iri, service)
    return found


def _score_row(row: Any, services: dict[str, DataService],
               serving: dict[str, list[DataService]], links: Mapping[str, LinkInfo],
               stamp: datetime) -> dict[str, Any]:
    dataset = records.load_dataset(row.description, row.source)
    level = classify_dataset(dataset, services, serving.get(dataset.iri, ()), links)
    mqa = score_dataset(dataset, links)
    details = {"identifiers": [text for raw in dataset.identifiers if (text := raw.strip())],
               "classification": level.to_dict(), "mqa": mqa.to_dict()}  # identifiers first
    return {
        "dataset_id": row.id, "agency_id": row.agency_id, "level": level.level,
        "strong": level.strong, "open": level.open, "api_by_title_only": level.api_by_title_only,
        "mqa_points": mqa.points, "mqa_band": mqa.band, "mqa_unknown_points": mqa.unknown_points,
        "content_hash": row.content_hash, "scored_at": stamp,
        "details": json.dumps(details, ensure_ascii=False, separators=(",", ":")),
    }


class Copy(NamedTuple):
    """One source's current, scored copy of a dataset."""

    id: int
    iri: str
    source: str
    kind: str  # the source's type: "dcat", "dataportal"
    row: DatasetRow

    @property
    def preference(self) -> tuple[int, str, int]:
        """Lower is preferred: source type (:data:`SOURCE_PREFERENCE`), source name, id."""
        return SOURCE_PREFERENCE.get(self.kind, 2), self.source, self.id


def counted(copies: Iterable[Copy],
            identifiers_of: Callable[[list[int]], Mapping[int, list[str]]]) -> list[Copy]:
    """The copies that count: one per dataset (research/quality.md §4.5).

    1. One per IRI over all agencies: the preferred copy, under its own agency.
    2. Then, within an agency, an own-catalogue copy and a dataportal.se copy are one dataset
       when the IRI or a ``dct:identifier`` of one equals the IRI or an identifier of the
       other (portal coverage's matching, :func:`dcatwatch.registry.coverage.compare`: one
       to one); the own copy counts. ``identifiers_of`` reads the identifiers of copies by
       id; it is asked only about agencies that still have copies of both kinds.
    """
    best: dict[str, Copy] = {}
    for copy in copies:
        held = best.get(copy.iri)
        if held is None or copy.preference < held.preference:
            best[copy.iri] = copy
    sides: dict[str, dict[str, list[Copy]]] = {}
    for copy in sorted(best.values(), key=lambda c: c.iri):
        if copy.kind in (DIRECT, PORTAL):
            sides.setdefault(copy.row.agency_id, {DIRECT: [], PORTAL: []})[copy.kind].append(copy)
    both = [side for side in sides.values() if side[DIRECT] and side[PORTAL]]
    found = identifiers_of([c.id for side in both for group in side.values() for c in group])
    for side in both:
        direct, portal = ([DatasetRef(c.iri, c.source, identifiers=found.get(c.id, []))
                           for c in side[kind]] for kind in (DIRECT, PORTAL))
        for match in compare("", direct, portal).matched:
            del best[match.portal.iri]
    return list(best.values())


def count_once(conn: Connection, copies: Iterable[Copy]) -> list[Copy]:
    """:func:`counted`, reading identifiers from the store of ``conn``."""
    return counted(copies, partial(_identifiers, conn))


def _identifiers(conn: Connection, ids: list[int]) -> dict[int, list[str]]:
    """The ``dct:identifier`` values of datasets, by id.

    Read from the score's details, which begin with them (``{"identifiers":[...],``): only
    that prefix is decoded. Scores written before identifiers were kept fall back to the
    stored description.
    """
    found: dict[int, list[str]] = {}
    for part in chunks(sorted(ids)):
        query = (select(SCORES.c.dataset_id, SCORES.c.details)
                 .where(SCORES.c.dataset_id.in_(part)))
        for row in conn.execute(query):
            if row.details.startswith(_IDENTIFIERS_PREFIX):
                found[row.dataset_id] = _JSON.raw_decode(row.details,
                                                         len(_IDENTIFIERS_PREFIX))[0]
    for part in chunks([i for i in ids if i not in found]):
        query = select(DATASETS.c.id, DATASETS.c.description).where(DATASETS.c.id.in_(part))
        found.update((row.id, identifiers(row.description)) for row in conn.execute(query))
    return found


def _aggregate(conn: Connection) -> Scores:
    kinds: dict[str, str] = dict(conn.execute(select(SOURCES.c.name, SOURCES.c.type)).all())
    query = (select(DATASETS.c.id, DATASETS.c.iri, DATASETS.c.source, DATASETS.c.agency_id,
                    SCORES.c.level, SCORES.c.strong, SCORES.c.mqa_points, SCORES.c.open)
             .select_from(DATASETS.join(SCORES, SCORES.c.dataset_id == DATASETS.c.id))
             .where(DATASETS.c.removed_at.is_(None), DATASETS.c.agency_id.is_not(None)))
    copies = [Copy(row.id, row.iri, row.source, kinds.get(row.source, ""),
                   DatasetRow(row.agency_id, row.level, row.strong, row.mqa_points, row.open))
              for row in conn.execute(query)]
    agencies = conn.execute(select(AGENCIES.c.id, AGENCIES.c.name, AGENCIES.c.in_registry)).all()
    registry = [RegistryAgency(a.id, a.name or a.id) for a in agencies if a.in_registry]
    scores = aggregate((copy.row for copy in count_once(conn, copies)),
                       registry)
    names = {a.id: a.name for a in agencies if a.name}
    for agency in scores.agencies:
        if not agency.registered and agency.id in names:
            agency.name = names[agency.id]
    return scores


def _snapshot(conn: Connection, scores: Scores, stamp: datetime) -> None:
    rows = []
    for agency in scores.agencies:
        data = agency.to_dict()
        rows.append({key: data[key] for key in (
            "datasets", "api", "machine_readable", "document_only", "unknown", "api_share",
            "document_only_share", "api_document_index", "mqa_points", "mqa_band")}
            | {"agency_id": agency.id, "scored_at": stamp,
               "details": json.dumps(data, ensure_ascii=False)})
    if rows:
        conn.execute(insert(AGENCY_SNAPSHOTS), rows)
    if scores.national is not None:
        conn.execute(insert(NATIONAL_SNAPSHOTS).values(scored_at=stamp,
                                                       **scores.national.to_dict()))


def explain(engine: Engine, iri: str) -> list[dict[str, Any]]:
    """Everything known about the scoring of the dataset ``iri``, once per source holding it."""
    query = (select(DATASETS.c.source, DATASETS.c.agency_id, DATASETS.c.title,
                    DATASETS.c.removed_at, SCORES.c.level, SCORES.c.mqa_points,
                    SCORES.c.mqa_band, SCORES.c.details, SCORES.c.scored_at)
             .select_from(DATASETS.outerjoin(SCORES, SCORES.c.dataset_id == DATASETS.c.id))
             .where(DATASETS.c.iri == iri))
    with engine.connect() as conn:
        found = []
        for row in conn.execute(query):
            details = json.loads(row.details) if row.details else None
            found.append({"source": row.source, "agency": row.agency_id, "title": row.title,
                          "removed": row.removed_at is not None, "level": row.level,
                          "mqa_points": row.mqa_points, "mqa_band": row.mqa_band,
                          "scored_at": row.scored_at.isoformat() if row.scored_at else None,
                          "details": details})
    return found
