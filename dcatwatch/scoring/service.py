"""A scoring run over the store: the service ``dcatwatch scores`` and the daemon call.

1. Datasets whose description changed since they were last scored (or all, with ``full``)
   are mapped, classified and given MQA-predicted points; results are kept per dataset with
   their evidence.
2. Current datasets are counted once (research/quality.md §4.5, :func:`counted`): first by
   IRI over all agencies, then by ``dct:identifier`` within an agency between its own
   catalogue and dataportal.se; the preferred source's copy (:data:`SOURCE_PREFERENCE`)
   decides the level, the MQA points and the agency; a copy with an agency is preferred to
   one without. Copies without an agency (unattributed) count nationally.
3. Agencies and the nation are aggregated; a snapshot of both is appended.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any, NamedTuple

from dcatwatch.dcat import records
from dcatwatch.dcat.classify import LinkInfo, classify_dataset, services_by_dataset
from dcatwatch.dcat.model import DataService
from dcatwatch.dcat.twins import DIRECT, PORTAL, DatasetRef, compare, identifiers
from dcatwatch.scoring.aggregate import Agency as RegistryAgency
from dcatwatch.scoring.aggregate import DatasetRow, Scores, aggregate
from dcatwatch.scoring.mqa import score_dataset
from dcatwatch.store.core import Store, Unit
from dcatwatch.store.db import chunks

SOURCE_PREFERENCE = {DIRECT: 0, PORTAL: 1}  # lower wins when a dataset is seen twice
_IDENTIFIERS_PREFIX = '{"identifiers":'
_JSON = json.JSONDecoder()


@dataclass(slots=True)
class ScoringRun:
    """What a scoring run did, and the scores it produced."""

    scores: Scores
    rescored: int
    scored_at: datetime


def score(store: Store, links: Mapping[str, LinkInfo] | None = None, *, full: bool = False,
          snapshot: bool = True) -> ScoringRun:
    """Rescore what changed, aggregate, and append a snapshot.

    ``links`` defaults to the stored link checks. Every dataset is rescored (``full``) when
    links were checked after the last scoring run, since reachability earns MQA points, and
    when a data service changed since (a level can rest on a service while the dataset's
    own description stays the same).
    """
    stamp = datetime.now(UTC)
    with store.write() as unit:
        scored = unit.scores.last_scored()
        full = full or _after(unit.checks.last_link_check(), scored) \
            or _after(unit.services.last_change(), scored)
        rescored = _rescore(unit, links, full, stamp)
        scores = _aggregate(unit)
        if snapshot:
            unit.scores.snapshot([agency.to_dict() for agency in scores.agencies],
                                 scores.national and scores.national.to_dict(), stamp)
    return ScoringRun(scores, rescored, stamp)


def _after(changed: datetime | None, scored: datetime | None) -> bool:
    """Whether ``changed`` is after the last scoring run (``scored``)."""
    return changed is not None and scored is not None and _aware(changed) > _aware(scored)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _rescore(unit: Unit, links: Mapping[str, LinkInfo] | None, full: bool,
             stamp: datetime) -> int:
    stale = unit.scores.unscored(every=full)
    if not stale:
        return 0
    if links is None:  # read only when something is rescored: the table can be large
        links = unit.checks.link_infos()
    services: dict[str, DataService] = {}
    for row in unit.services.current_records():
        service = records.load_service(row.record)
        services.setdefault(service.iri, service)
    serving = services_by_dataset(services.values())
    for part in chunks(stale):
        unit.scores.save([_score_row(row, services, serving, links, stamp) for row in part])
    return len(stale)


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
    def preference(self) -> tuple[bool, int, str, int]:
        """Lower is preferred: attributed first, then source type
        (:data:`SOURCE_PREFERENCE`), source name, id."""
        return self.row.agency_id is None, SOURCE_PREFERENCE.get(self.kind, 2), self.source, \
            self.id


def counted(copies: Iterable[Copy],
            identifiers_of: Callable[[list[int]], Mapping[int, list[str]]]) -> list[Copy]:
    """The copies that count: one per dataset (research/quality.md §4.5).

    1. One per IRI over all agencies: the preferred copy, under its own agency.
    2. Then, within an agency, an own-catalogue copy and a dataportal.se copy are one dataset
       when the IRI or a ``dct:identifier`` of one equals the IRI or an identifier of the
       other (portal coverage's matching, :func:`dcatwatch.dcat.twins.compare`: one
       to one); the own copy counts. ``identifiers_of`` reads the identifiers of copies by
       id; it is asked only about agencies that still have copies of both kinds.
    """
    best: dict[str, Copy] = {}
    for copy in copies:
        held = best.get(copy.iri)
        if held is None or copy.preference < held.preference:
            best[copy.iri] = copy
    sides: dict[str | None, dict[str, list[Copy]]] = {}
    for copy in sorted(best.values(), key=lambda c: c.iri):
        if copy.kind in (DIRECT, PORTAL) and copy.row.agency_id is not None:
            sides.setdefault(copy.row.agency_id, {DIRECT: [], PORTAL: []})[copy.kind].append(copy)
    both = [side for side in sides.values() if side[DIRECT] and side[PORTAL]]
    found = identifiers_of([c.id for side in both for group in side.values() for c in group])
    for side in both:
        direct, portal = ([DatasetRef(c.iri, c.source, identifiers=found.get(c.id, []))
                           for c in side[kind]] for kind in (DIRECT, PORTAL))
        for match in compare("", direct, portal).matched:
            del best[match.portal.iri]
    return list(best.values())


def count_once(unit: Unit, copies: Iterable[Copy]) -> list[Copy]:
    """:func:`counted`, reading identifiers in ``unit``."""
    return counted(copies, partial(_identifiers, unit))


def _identifiers(unit: Unit, ids: list[int]) -> dict[int, list[str]]:
    """The ``dct:identifier`` values of datasets, by id.

    Read from the score's details, which begin with them (``{"identifiers":[...],``): only
    that prefix is decoded. Scores written before identifiers were kept fall back to the
    stored description.
    """
    found: dict[int, list[str]] = {}
    for dataset_id, details in unit.scores.details(ids).items():
        if details.startswith(_IDENTIFIERS_PREFIX):
            found[dataset_id] = _JSON.raw_decode(details, len(_IDENTIFIERS_PREFIX))[0]
    missing = [i for i in ids if i not in found]
    found.update((dataset_id, identifiers(description)) for dataset_id, description
                 in unit.datasets.descriptions(missing).items())
    return found


def _aggregate(unit: Unit) -> Scores:
    kinds = unit.sources.types()
    copies = [Copy(row.id, row.iri, row.source, kinds.get(row.source, ""),
                   DatasetRow(row.agency_id, row.level, row.strong, row.mqa_points, row.open))
              for row in unit.scores.copies()]
    agencies = unit.agencies.listed()
    registry = [RegistryAgency(a.id, a.name or a.id) for a in agencies if a.in_registry]
    scores = aggregate((copy.row for copy in count_once(unit, copies)), registry)
    names = {a.id: a.name for a in agencies if a.name}
    for agency in scores.agencies:
        if not agency.registered and agency.id in names:
            agency.name = names[agency.id]
    return scores


def explain(store: Store, iri: str) -> list[dict[str, Any]]:
    """Everything known about the scoring of the dataset ``iri``, once per source holding it."""
    with store.read() as unit:
        rows = unit.scores.of_dataset(iri)
    return [{"source": row.source, "agency": row.agency_id, "title": row.title,
             "removed": row.removed_at is not None, "level": row.level,
             "mqa_points": row.mqa_points, "mqa_band": row.mqa_band,
             "scored_at": row.scored_at.isoformat() if row.scored_at else None,
             "details": json.loads(row.details) if row.details else None} for row in rows]
