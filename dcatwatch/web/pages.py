"""What each page of the web view shows, read from the store: no rendering, no writing.

* The national page: the latest score snapshot (the figures ``scores --json`` gives, as the
  scoring run that took it stored them), each agency's index change since the snapshot
  :data:`TREND_DAYS` days earlier (else the first one), sorted as asked.
* The agency page: the report's content (:func:`dcatwatch.reports.content.build`) as of the
  latest snapshot.
* The dataset page: ``explain --json`` of the dataset, with agency names and, for each
  current copy, the report's fixes tried on that one dataset
  (:class:`dcatwatch.reports.fixes.Trier`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from dcatwatch.config import Language, ReportsSettings
from dcatwatch.dcat import records
from dcatwatch.reports.content import NotScored, ReportContent, build
from dcatwatch.reports.fixes import RULES, Trier
from dcatwatch.reports.period import Period
from dcatwatch.scoring.mqa import SCALE
from dcatwatch.scoring.service import explain
from dcatwatch.store.core import Store
from dcatwatch.store.scores import NATIONAL_FIGURES

TREND_DAYS = 30
ORDERS = ("asc", "desc")


@dataclass(frozen=True, slots=True)
class AgencyLine:
    """One agency on the national page: its ``scores --json`` object and index change."""

    id: str
    name: str
    figures: dict[str, Any]
    trend: float | None  # index change since the trend's snapshot; None: no index then or now


Key = Callable[[AgencyLine], Any]
SORTS: dict[str, tuple[Key, bool]] = {  # sort key → (value, descending by default)
    "name": (lambda a: a.name.casefold(), False),
    "index": (lambda a: a.figures["api_document_index"], True),
    "api": (lambda a: a.figures["api_share"], True),
    "mqa": (lambda a: a.figures["mqa_points"], True),
    "datasets": (lambda a: a.figures["datasets"], True),
    "trend": (lambda a: a.trend, True),
}


@dataclass(slots=True)
class NationalPage:
    """Every agency of the latest snapshot, sorted."""

    scored_at: datetime | None  # None: nothing scored yet
    national: dict[str, Any] | None
    agencies: list[AgencyLine]
    trend_since: datetime | None
    sort: str
    descending: bool


def national_page(store: Store, sort: str | None, order: str | None) -> NationalPage:
    """The national page sorted by ``sort`` (a key of :data:`SORTS`, default ``index``) in
    ``order`` (``asc`` | ``desc``, default the key's own); agencies without a value last."""
    sort = sort if sort in SORTS else "index"
    value, descending = SORTS[sort]
    if order in ("asc", "desc"):
        descending = order == "desc"
    with store.read() as unit:
        latest = unit.scores.national_latest()
        if latest is None:
            return NationalPage(None, None, [], None, sort, descending)
        rows = unit.scores.agency_details(latest.scored_at)
        since = unit.scores.national_since(latest.scored_at - timedelta(days=TREND_DAYS))
        before = ({} if since is None or since == latest.scored_at
                  else unit.scores.indexes_by_agency(since))
    lines = []
    for row in rows:
        figures = _json(row.details)
        then = before.get(row.agency_id)
        now = row.api_document_index
        trend = None if now is None or then is None else round(now - then, 1)
        lines.append(AgencyLine(row.agency_id, figures.get("name") or row.agency_id, figures,
                                trend))
    lines.sort(key=lambda a: (a.name.casefold(), a.id))
    present = [a for a in lines if value(a) is not None]
    present.sort(key=value, reverse=descending)  # stable: ties stay by name
    lines = present + [a for a in lines if value(a) is None]
    national = {name: latest._mapping[name] for name in NATIONAL_FIGURES}
    return NationalPage(_utc(latest.scored_at), national, lines,
                        None if not before or since is None else _utc(since), sort, descending)


def scored_agencies(store: Store) -> list[str]:
    """The agencies of the latest score snapshot (those with a page)."""
    with store.read() as unit:
        latest = unit.scores.national_latest()
        if latest is None:
            return []
        return sorted(row.agency_id for row in unit.scores.agency_details(latest.scored_at))


def agency_page(store: Store, agency_id: str, language: Language,
                options: ReportsSettings, trier: Trier | None = None) -> ReportContent | None:
    """The report's content for the agency now (None: no such scored agency)."""
    try:
        return build(store, agency_id, Period.parse(None), language, options, trier=trier)
    except NotScored:
        return None


@dataclass(frozen=True, slots=True)
class DatasetFix:
    """One fix of the report, tried on one copy of a dataset, and what it earns."""

    id: str
    level: int
    mqa: float | None  # None: not claimed (the fix's level gain is a lower bound)
    minimum: bool


@dataclass(slots=True)
class DatasetCopy:
    """One source's copy of a dataset: its ``explain --json`` object, the agency's name and
    the fixes that raise its score (none for a removed or unscored copy)."""

    explained: dict[str, Any]
    agency_name: str | None
    fixes: list[DatasetFix] = field(default_factory=list)


@dataclass(slots=True)
class DatasetPage:
    """A dataset as every source holding it describes it."""

    iri: str
    title: str
    copies: list[DatasetCopy]


def dataset_page(store: Store, iri: str, trier: Trier) -> DatasetPage | None:
    """The dataset ``iri`` (None: no source ever held it); ``trier`` tries the fixes."""
    explained = explain(store, iri)
    if not explained:
        return None
    with store.read() as unit:
        agencies = unit.agencies.get(sorted({e["agency"] for e in explained if e["agency"]}))
        current = {row.source: row for row in unit.datasets.current_of_iri(iri)}
    copies = []
    for item in explained:
        agency = agencies.get(item["agency"]) if item["agency"] else None
        row = current.get(item["source"])
        fixes = [] if row is None or item["details"] is None else _fixes(trier, row)
        copies.append(DatasetCopy(item, (agency.name if agency else None) or item["agency"],
                                  fixes))
    title = next((e["title"] for e in explained if e["title"]), iri)
    return DatasetPage(iri, title, copies)


def _fixes(trier: Trier, row: Any) -> list[DatasetFix]:
    trial = trier.trial(records.load_dataset(row.description, row.source))
    found = []
    for rule in RULES:
        gain = trier.gain(rule, trial)
        if gain is not None and gain.any:
            found.append(DatasetFix(rule.id, gain.level,
                                    None if gain.mqa is None else round(gain.mqa, 1),
                                    rule.minimum))
    return sorted(found, key=lambda fix: -(fix.level / 3 + (fix.mqa or 0.0) / SCALE))


def _json(text: str) -> dict[str, Any]:
    return dict(json.loads(text))


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
