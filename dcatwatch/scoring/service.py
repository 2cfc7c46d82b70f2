"""A scoring run over the store: the service ``dcatwatch scores`` and the daemon call.

1. Datasets whose score is out of date (or all, with ``full``) are mapped, classified and
   given MQA-predicted points; results are kept per dataset with their evidence and with
   what they were computed from besides the description: the link checks, the data
   services and the SHACL verdict they read, as they read them. A score is out of date when
   its description or agency changed, or when one of those inputs reads otherwise now, so a
   round of link checks, a validation or a harvest rescores only the datasets it affects. The work is done outside any
   write transaction and written a batch at a time, so harvests and link checks never wait
   for a whole scoring run.
2. Current datasets are counted once (research/quality.md §4.5, :func:`counted`): first by
   IRI over all agencies, then by ``dct:identifier`` within an agency between its own
   catalogue and dataportal.se; the preferred source's copy (:data:`SOURCE_PREFERENCE`)
   decides the level, the MQA points and the agency; a copy with an agency is preferred to
   one without. Copies without an agency (unattributed) count nationally.
3. Agencies and the nation are aggregated; a snapshot of both is appended.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache, partial
from typing import Any, NamedTuple, TypeVar

from dcatwatch.dcat import labels, records
from dcatwatch.dcat.classify import LinkInfo, classify_dataset, services_by_dataset
from dcatwatch.dcat.model import Dataset, DataService
from dcatwatch.dcat.twins import DIRECT, PORTAL, DatasetRef, compare, identifiers
from dcatwatch.scoring.aggregate import Agency as RegistryAgency
from dcatwatch.scoring.aggregate import DatasetRow, Scores, aggregate
from dcatwatch.scoring.mqa import score_dataset
from dcatwatch.store.core import Store, Unit
from dcatwatch.store.db import chunks
from dcatwatch.validators.metadata import Finding

SCORE_BATCH = 500  # datasets scored, then written in one short transaction, at a time
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
    """Rescore what is out of date (everything with ``full``), aggregate, and append a
    snapshot.

    ``links`` defaults to the stored link checks. A dataset is rescored when its description
    or agency changed, or when a link check or data service its score read reads otherwise
    now (reachability earns MQA points; a level can rest on a data service): see the module
    doc. Scores are computed outside any write transaction and written
    :data:`SCORE_BATCH` at a time; the aggregate is read after them.
    """
    stamp = datetime.now(UTC)
    with store.read() as unit:
        services = _Services(unit.services.current_records())
        stale = set(unit.scores.stale(every=full))
        if not full:
            stale.update(services.stale(unit))
    for part in chunks(sorted(stale), SCORE_BATCH):
        with store.read() as unit:
            loaded = [(row, records.load_dataset(row.description, row.source))
                      for row in unit.scores.to_score(part)]
            read = links
            if read is None:  # the batch's link checks, not the whole table
                read = _StoredLinks(unit, (url for _, dataset in loaded
                                           for dist in dataset.distributions
                                           for url in (*dist.access_urls, *dist.download_urls)))
            verdicts = unit.shacl.verdicts([row.id for row, _ in loaded])
            scored = [_score_row(row, dataset, services, read, stamp, verdicts.get(row.id))
                      for row, dataset in loaded]
        with store.write() as unit:
            unit.scores.save([row for row, _ in scored],
                             [link for _, read in scored for link in read])
    with store.read() as unit:
        scores = _aggregate(unit)
    if snapshot:
        with store.write() as unit:
            unit.scores.snapshot([agency.to_dict() for agency in scores.agencies],
                                 scores.national and scores.national.to_dict(), stamp)
    return ScoringRun(scores, len(stale), stamp)


K = TypeVar("K")
V = TypeVar("V")
_ABSENT: Any = object()


class _Reads(Mapping[K, V]):
    """A mapping that remembers every key looked up in it and what was found (``_ABSENT``
    when nothing): what a score read, so it is rescored when that reads otherwise."""

    __slots__ = ("_data", "read")

    def __init__(self, data: Mapping[K, V]) -> None:
        self._data = data
        self.read: dict[K, V] = {}

    def __getitem__(self, key: K) -> V:
        found = self._data.get(key, _ABSENT)
        self.read[key] = found
        if found is _ABSENT:
            raise KeyError(key)
        return found

    def get(self, key: K, default: Any = None) -> Any:
        found = self._data.get(key, _ABSENT)
        self.read[key] = found
        return default if found is _ABSENT else found

    def __contains__(self, key: object) -> bool:
        found = self._data.get(key, _ABSENT)  # type: ignore[call-overload]
        self.read[key] = found  # type: ignore[index]
        return found is not _ABSENT

    def __iter__(self) -> Iterator[K]:
        raise TypeError("a score may only look keys up (its inputs are what it looked up)")

    def __len__(self) -> int:
        raise TypeError("a score may only look keys up (its inputs are what it looked up)")


@lru_cache(maxsize=65536)
def _load_service(record: str) -> DataService:
    """A stored data service record, parsed (records repeat from run to run)."""
    return records.load_service(record)


class _Services:
    """The current data services as scoring reads them: by IRI (the first stored wins), and
    by the dataset each serves; with the fingerprint of what one score read of them."""

    def __init__(self, rows: Iterable[Any]) -> None:
        self.by_iri: dict[str, DataService] = {}
        self.records: dict[str, str] = {}
        for row in rows:
            service = _load_service(row.record)
            if service.iri not in self.by_iri:
                self.by_iri[service.iri] = service
                self.records[service.iri] = row.record
        self.serving = services_by_dataset(self.by_iri.values())

    def inputs(self, looked_up: Iterable[str], dataset: str) -> str | None:
        """The ``service_inputs`` of a score that looked up the services ``looked_up`` and
        was served by those serving ``dataset`` now; None when it read none."""
        iris = sorted(looked_up)
        if not iris and not self.serving.get(dataset):
            return None
        return json.dumps({"services": iris, "fingerprint": self._fingerprint(iris, dataset)},
                          separators=(",", ":"))

    def _fingerprint(self, iris: Sequence[str], dataset: str) -> str:
        digest = hashlib.sha256()
        for iri in iris:
            digest.update(f"{iri}\0{self.records.get(iri, '')}\1".encode())
        digest.update(b"\2")
        for service in self.serving.get(dataset, ()):
            digest.update(f"{service.iri}\0{self.records[service.iri]}\1".encode())
        return digest.hexdigest()

    def stale(self, unit: Unit) -> set[int]:
        """Ids of the current datasets whose score read data services that read otherwise
        now, or read none and is now served by one."""
        stale: set[int] = set()
        for row in unit.scores.service_inputs():
            read = json.loads(row.service_inputs)
            if read["fingerprint"] != self._fingerprint(read["services"], row.iri):
                stale.add(row.dataset_id)
        stale.update(unit.scores.read_no_services(list(self.serving)))
        return stale


class _StoredLinks(Mapping[str, LinkInfo]):
    """The stored link checks as scoring reads them (``Checks.link_infos``): those of
    ``urls`` read at once, any other URL looked up read when it is."""

    def __init__(self, unit: Unit, urls: Iterable[str]) -> None:
        self._unit = unit
        self._known: dict[str, LinkInfo | None] = {}
        self._fetch(urls)

    def _fetch(self, urls: Iterable[str]) -> None:
        wanted = [url for url in dict.fromkeys(urls) if url not in self._known]
        found = self._unit.checks.link_infos(wanted) if wanted else {}
        self._known.update((url, found.get(url)) for url in wanted)

    def _info(self, url: str) -> LinkInfo | None:
        if url not in self._known:
            self._fetch([url])
        return self._known[url]

    def __getitem__(self, url: str) -> LinkInfo:
        info = self._info(url)
        if info is None:
            raise KeyError(url)
        return info

    def get(self, url: str, default: Any = None) -> Any:
        info = self._info(url)
        return default if info is None else info

    def __contains__(self, url: object) -> bool:
        return isinstance(url, str) and self._info(url) is not None

    def __iter__(self) -> Iterator[str]:
        raise TypeError("stored link checks are looked up by URL")

    def __len__(self) -> int:
        raise TypeError("stored link checks are looked up by URL")


def _score_row(row: Any, dataset: Dataset, services: _Services, links: Mapping[str, LinkInfo],
               stamp: datetime, compliance: bool | None = None,
               ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The ``dataset_score`` row of one dataset (``row``, read as ``dataset``, whose
    description's SHACL verdict is ``compliance``, None: unchecked) and the
    ``dataset_score_link`` rows of the link checks it read."""
    read_links = _Reads(links)
    read_services = _Reads(services.by_iri)
    level = classify_dataset(dataset, read_services, services.serving.get(dataset.iri, ()),
                             read_links)
    mqa = score_dataset(dataset, read_links, compliance)
    details = {"identifiers": [text for raw in dataset.identifiers if (text := raw.strip())],
               "classification": level.to_dict(), "mqa": mqa.to_dict()}  # identifiers first
    unchecked = LinkInfo()
    read = [{"dataset_id": row.id, "url": url, "status": info.status,
             "content_type": info.content_type, "reachable": info.reachable}
            for url, found in read_links.read.items()
            for info in (unchecked if found is _ABSENT else found,)]
    return {
        "dataset_id": row.id, "agency_id": row.agency_id, "level": level.level,
        "strong": level.strong, "open": level.open, "api_by_title_only": level.api_by_title_only,
        "mqa_points": mqa.points, "mqa_band": mqa.band, "mqa_unknown_points": mqa.unknown_points,
        "content_hash": row.content_hash, "scored_at": stamp,
        "details": json.dumps(details, ensure_ascii=False, separators=(",", ":")),
        "service_inputs": services.inputs(read_services.read, dataset.iri),
        "compliance": compliance,
    }, read


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
    if scores.national is not None:
        scores.national.unattributed_services = unit.services.unattributed_total()
    names = {a.id: (a.name, a.name_derived) for a in agencies if a.name}
    for agency in scores.agencies:
        if not agency.registered and agency.id in names:
            agency.name, agency.name_derived = names[agency.id]
    return scores


def explain(store: Store, iri: str) -> list[dict[str, Any]]:
    """Everything known about the scoring of the dataset ``iri``, once per source holding it,
    with the findings of its description's DCAT-AP violations (``shacl``)."""
    with store.read() as unit:
        rows = unit.scores.of_dataset(iri)
        failing = unit.shacl.failing([row.id for row in rows])
    return [{"source": row.source, "agency": row.agency_id, "title": row.title,
             "removed": row.removed_at is not None, "level": row.level,
             "mqa_points": row.mqa_points, "mqa_band": row.mqa_band,
             "scored_at": row.scored_at.isoformat() if row.scored_at else None,
             "details": _with_labels(json.loads(row.details)) if row.details else None,
             "shacl": [Finding.from_row(finding, iri).to_dict()
                       for finding in json.loads(failing.get(row.id, "[]"))]}
            for row in rows]


def _with_labels(details: dict[str, Any]) -> dict[str, Any]:
    """A stored score with ``labels`` (Swedish and English words) beside the raw values of
    every evidence item and MQA indicator (:func:`dcatwatch.dcat.labels.labelled`)."""
    classification = details.get("classification") or {}
    items = list(classification.get("evidence", []))
    items += [e for dist in classification.get("distributions", []) for e in dist["evidence"]]
    items += (details.get("mqa") or {}).get("indicators", [])
    for item in items:
        item["labels"] = labels.labelled(item)
    return details
