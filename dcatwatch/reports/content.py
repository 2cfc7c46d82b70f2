"""What one agency's report says, read from the store: no rendering, no sending.

* Headline figures from the agency's latest score snapshot, the national median and rank from
  the same scoring run, and the change since the figures of the previous report (else since
  the last snapshot before this period began).
* The index per month (the last snapshot of each month) for a small chart.
* The health of the agency's own DCAT catalogues: the latest finished harvest of each
  ``dcat`` source that holds or held its datasets, and that run's problems the publisher can
  fix, grouped by code (codes the catalogue marks as ours, not the publisher's, are never
  shown).
* Fixes ranked by what they earn (:mod:`dcatwatch.reports.fixes`): the sum of the index gain
  as a share of 100 and the mean MQA gain as a share of 405, each naming its datasets; the
  DCAT-AP 3.0.1 (SHACL) violations among them, one fix per broken property and record.
* Datasets whose only API evidence is "API" in a title, link and data-check findings
  (:mod:`dcatwatch.reports.validation`), and each dataset's level with its evidence.

The content describes the store as it is when the report is made; the period names it.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from dcatwatch.config import Language, ReportsSettings
from dcatwatch.dcat import records
from dcatwatch.dcat.classify import services_by_dataset
from dcatwatch.dcat.model import DataService, Dataset
from dcatwatch.errors import CATALOGUE, DcatwatchError, blame_of
from dcatwatch.reports.fixes import RULES, Trier
from dcatwatch.reports.period import STOCKHOLM, Period
from dcatwatch.reports.refs import DatasetRef, dataset_ref
from dcatwatch.reports.validation import ValidationFindings, read_findings
from dcatwatch.scoring.aggregate import DatasetRow
from dcatwatch.scoring.mqa import INDICATORS, SCALE
from dcatwatch.scoring.service import Copy, count_once
from dcatwatch.store.core import Store, Unit
from dcatwatch.validators.rules import hint

PROBLEM_CODES = 6  # problem codes shown per catalogue, most severe first
COMPLIANCE_POINTS = next(i.max_points for i in INDICATORS if i.id == "dcat_ap_compliance")
MESSAGE_CHARS = 200  # a longer run message is cut
_SEVERITY_RANK = {"error": 0, "warning": 1, "info": 2}
_CODE_RANK = {code: index for index, code in enumerate(CATALOGUE)}


class NotScored(DcatwatchError):
    """The agency has no score snapshot yet, so there is nothing to report."""

    def __init__(self, agency_id: str) -> None:
        super().__init__("report.not_scored", f"agency {agency_id} has no score snapshot yet: "
                         "run `dcatwatch scores --snapshot` first")


@dataclass(slots=True)
class Figures:
    """The headline figures of one report (kept in the outbox for the next report's change)."""

    scored_at: str
    datasets: int
    api: int
    machine_readable: int
    document_only: int
    unknown: int
    index: float | None
    mqa_points: float | None
    mqa_band: str | None

    def share(self, count: int) -> float:
        """``count`` as a share of the datasets."""
        return count / self.datasets if self.datasets else 0.0

    def to_json(self) -> str:
        """For the outbox row."""
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Figures:
        """From an outbox row."""
        return cls(**json.loads(text))


@dataclass(frozen=True, slots=True)
class Comparison:
    """Where the agency stands nationally (agencies with datasets, same scoring run)."""

    median_index: float | None
    rank: int | None
    ranked: int


@dataclass(frozen=True, slots=True)
class Change:
    """Change of the headline figures since an earlier report or snapshot."""

    since: str  # a period (YYYY-MM) when since_report, else a date (YYYY-MM-DD)
    since_report: bool
    index: float | None
    mqa_points: float | None


@dataclass(frozen=True, slots=True)
class HistoryPoint:
    """The index at the end of one month (None: no snapshot that month)."""

    period: Period
    index: float | None


@dataclass(slots=True)
class Fix:
    """One fix and what it earns the agency."""

    id: str
    datasets: list[DatasetRef]
    level_points: int
    index_gain: float
    mqa_gain: float | None  # change of the agency's mean MQA points; None when not claimed
    minimum: bool
    # a DCAT-AP (SHACL) fix: the broken property and the record it is on, and what to put
    # there in the report's language (the finding's hint); None for the other fixes
    shape: tuple[str, str, str] | None = None

    @property
    def weight(self) -> float:
        """Rank key: index gain as a share of 100 plus MQA gain as a share of 405."""
        return self.index_gain / 100 + (self.mqa_gain or 0.0) / SCALE


@dataclass(frozen=True, slots=True)
class EvidenceLine:
    """One reason for a dataset's level."""

    rule: str
    property: str
    value: str
    strong: bool


@dataclass(frozen=True, slots=True)
class DatasetLine:
    """One dataset's level, evidence and MQA points, as scored."""

    ref: DatasetRef
    level: int
    evidence: list[EvidenceLine]
    mqa_points: float
    mqa_band: str


@dataclass(frozen=True, slots=True)
class HarvestProblem:
    """One code among the problems of a harvest run, with its first occurrence."""

    code: str
    title: str  # the catalogue's English title: the wording where the texts have none
    count: int
    message: str  # of the first occurrence, shortened
    url: str | None  # of the first occurrence; None when it is the catalogue's own URL


@dataclass(frozen=True, slots=True)
class CatalogueHealth:
    """The latest finished harvest of one of the agency's own catalogues (a ``dcat`` source)."""

    source: str
    url: str
    status: str  # ok | partial | failed | unchecked (failed only for the monitor's reasons)
    finished_at: datetime
    last_success_at: datetime | None  # the latest run with status ok
    problems: list[HarvestProblem]  # the publisher's to fix, most severe first
    more_problems: int  # codes left out of ``problems``

    @property
    def state(self) -> str:
        """The status, with ``warnings`` for an ok run that still has problems to show."""
        return "warnings" if self.status == "ok" and self.problems else self.status

    @property
    def ours(self) -> bool:
        """Whether the run went wrong only for reasons of ours (nothing for the agency to do)."""
        return self.status != "ok" and not self.problems


@dataclass(slots=True)
class ReportContent:
    """Everything one agency's report shows."""

    agency_id: str
    agency_name: str
    period: Period
    language: Language
    figures: Figures
    comparison: Comparison
    change: Change | None
    history: list[HistoryPoint]
    fixes: list[Fix]
    api_title_only: list[DatasetRef]
    findings: ValidationFindings
    datasets: list[DatasetLine] = field(default_factory=list)
    datasets_total: int = 0
    catalogues: list[CatalogueHealth] = field(default_factory=list)


@dataclass(slots=True)
class _Current:
    """A current, scored dataset of the agency (one per IRI)."""

    ref: DatasetRef
    model: Dataset
    score: Any


def build(store: Store, agency_id: str, period: Period, language: Language,
          options: ReportsSettings) -> ReportContent:
    """The report of ``agency_id`` for ``period`` (NotScored when there are no scores yet),
    read in one transaction."""
    with store.read() as unit:
        snapshot = unit.scores.latest_snapshot(agency_id)
        if snapshot is None:
            raise NotScored(agency_id)
        figures = _figures(snapshot)
        current = _current(unit, agency_id, language)
        return ReportContent(
            agency_id=agency_id,
            agency_name=_name(unit, agency_id, snapshot),
            period=period,
            language=language,
            figures=figures,
            comparison=_comparison(unit, snapshot),
            change=_change(unit, agency_id, period, figures),
            history=_history(unit, agency_id, options.history_months),
            fixes=sorted(_fixes(unit, current) + _shacl_fixes(unit, current, language),
                         key=lambda fix: -fix.weight),  # stable: rule order breaks ties
            api_title_only=[c.ref for c in current if c.score.api_by_title_only],
            findings=read_findings(unit.checks, [(c.ref, c.model) for c in current]),
            datasets=_dataset_lines(current, options.dataset_rows),
            datasets_total=len(current),
            catalogues=_catalogues(unit, agency_id),
        )


def _figures(row: Any) -> Figures:
    return Figures(scored_at=_utc(row.scored_at).isoformat(timespec="seconds"),
                   datasets=row.datasets, api=row.api, machine_readable=row.machine_readable,
                   document_only=row.document_only, unknown=row.unknown,
                   index=row.api_document_index, mqa_points=row.mqa_points,
                   mqa_band=row.mqa_band)


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _name(unit: Unit, agency_id: str, snapshot: Any) -> str:
    contact = unit.agencies.contact(agency_id)
    name = contact.name if contact else None
    return name or json.loads(snapshot.details).get("name") or agency_id


def _comparison(unit: Unit, snapshot: Any) -> Comparison:
    median = unit.scores.national_median(snapshot.scored_at)
    indexes = unit.scores.indexes_at(snapshot.scored_at)
    own = snapshot.api_document_index
    rank = None if own is None else 1 + sum(1 for index in indexes if index > own)
    return Comparison(median, rank, len(indexes))


def _change(unit: Unit, agency_id: str, period: Period, figures: Figures) -> Change | None:
    report = unit.outbox.last_sent(agency_id, str(period))
    if report is not None:
        before = Figures.from_json(report.figures)
        return _difference(report.period, True, before.index, before.mqa_points, figures)
    start = datetime(period.year, period.month, 1, tzinfo=STOCKHOLM).astimezone(UTC)
    snapshot = unit.scores.snapshot_before(agency_id, start)
    if snapshot is None:
        return None
    day = _utc(snapshot.scored_at).astimezone(STOCKHOLM).date().isoformat()
    return _difference(day, False, snapshot.api_document_index, snapshot.mqa_points, figures)


def _difference(since: str, since_report: bool, index: float | None, mqa: float | None,
                figures: Figures) -> Change:
    def minus(now: float | None, then: float | None) -> float | None:
        return None if now is None or then is None else round(now - then, 1)
    return Change(since, since_report, minus(figures.index, index),
                  minus(figures.mqa_points, mqa))


def _history(unit: Unit, agency_id: str, months: int) -> list[HistoryPoint]:
    last: dict[Period, float | None] = {}
    for row in unit.scores.index_history(agency_id):
        last[Period.of(row.scored_at)] = row.api_document_index
    if not last:
        return []
    period, first = max(last), min(last)
    points = []
    while len(points) < months and period >= first:
        points.append(HistoryPoint(period, last.get(period)))
        period = period.previous()
    return points[::-1]


def _catalogues(unit: Unit, agency_id: str) -> list[CatalogueHealth]:
    """The latest finished run of each ``dcat`` source with datasets of the agency, current
    or removed (a ``dataportal`` source is not the agency's own endpoint)."""
    found = []
    for row in unit.runs.latest_of_catalogues(agency_id):
        errors = json.loads(row.errors)
        problems = _problems(errors, row.url)
        status = "unchecked" if row.status == "failed" and _monitor_only(errors) else row.status
        found.append(CatalogueHealth(
            row.name, row.url, status, _utc(row.finished_at),
            _utc(row.last_success_at) if row.last_success_at else None,
            problems[:PROBLEM_CODES], max(0, len(problems) - PROBLEM_CODES)))
    return found


def _monitor_side(error: dict[str, Any]) -> bool:
    """The monitor could not ask (its own DNS or route failed, a host skipped this round):
    never the agency's problem (:func:`~dcatwatch.errors.blame_of`)."""
    code = str(error.get("code") or "")
    return code.startswith("fetch.") and blame_of(code, error.get("cause")) == "monitor"


def _monitor_only(errors: list[dict[str, Any]]) -> bool:
    """A failed run whose errors are all the monitor's own: the catalogue was not checked."""
    return bool(errors) and all(_monitor_side(error) for error in errors)


def _problems(errors: list[dict[str, Any]], source_url: str) -> list[HarvestProblem]:
    """The run's errors the publisher can fix, one per code: errors before warnings, then the
    most frequent first; the monitor's own fetch failures are left out."""
    counts: dict[str, int] = defaultdict(int)
    first: dict[str, dict[str, Any]] = {}
    for error in errors:
        code = error.get("code")
        if code not in CATALOGUE or not CATALOGUE[code].publisher or _monitor_side(error):
            continue
        counts[code] += 1
        first.setdefault(code, error)
    ranked = sorted(counts, key=lambda code: (_SEVERITY_RANK[CATALOGUE[code].severity],
                                              -counts[code], _CODE_RANK[code]))
    return [HarvestProblem(code, CATALOGUE[code].title, counts[code],
                           _shorten(str(first[code].get("message") or "")),
                           None if first[code].get("url") in (None, "", source_url)
                           else str(first[code]["url"]))
            for code in ranked]


def _shorten(message: str) -> str:
    text = " ".join(message.split())
    return text if len(text) <= MESSAGE_CHARS else text[:MESSAGE_CHARS - 1].rstrip() + "…"


def _current(unit: Unit, agency_id: str, language: Language) -> list[_Current]:
    """The agency's current scored datasets, each once as its scores count it (by IRI, then
    by identifier; the agency's own copy wins: :func:`~dcatwatch.scoring.service.counted`)."""
    types = unit.sources.types()
    rows = {row.id: row for row in unit.scores.current_of_agency(agency_id)}
    copies = (Copy(row.id, row.iri, row.source, types.get(row.source, ""),
                   DatasetRow(agency_id, row.level, row.strong, row.mqa_points, row.open))
              for row in rows.values())
    found = []
    for copy in count_once(unit, copies):
        row = rows[copy.id]
        model = records.load_dataset(row.description, row.source)
        found.append(_Current(dataset_ref(model, row.title, language), model, row))
    return sorted(found, key=lambda c: (c.ref.title.casefold(), c.ref.iri))


def _services(unit: Unit) -> dict[str, DataService]:
    found: dict[str, DataService] = {}
    for row in unit.services.current_records():
        service = records.load_service(row.record)
        found.setdefault(service.iri, service)
    return found


def _fixes(unit: Unit, current: list[_Current]) -> list[Fix]:
    if not current:
        return []
    services = _services(unit)
    trier = Trier(services, services_by_dataset(services.values()))
    concerned: defaultdict[str, list[DatasetRef]] = defaultdict(list)
    levels: defaultdict[str, int] = defaultdict(int)
    mqa: defaultdict[str, float] = defaultdict(float)
    for item in current:
        trial = trier.trial(item.model)
        for rule in RULES:
            gain = trier.gain(rule, trial)
            if gain is None or not gain.any:
                continue
            concerned[rule.id].append(item.ref)
            levels[rule.id] += gain.level
            mqa[rule.id] += gain.mqa or 0.0
    total = len(current)
    fixes = [Fix(rule.id, concerned[rule.id], levels[rule.id],
                 round(100 * levels[rule.id] / (3 * total), 1),
                 None if rule.minimum else round(mqa[rule.id] / total, 1), rule.minimum)
             for rule in RULES if concerned[rule.id]]
    return sorted(fixes, key=lambda fix: -fix.weight)  # stable: RULES order breaks ties


def _shacl_fixes(unit: Unit, current: list[_Current], language: Language) -> list[Fix]:
    """The DCAT-AP 3.0.1 violations of the agency's datasets as fixes, one per broken
    property and record, in the order of what they earn: a dataset whose violations are all
    of one fix gains the compliance indicator's 30 points by it (the same MQA rules)."""
    failing = unit.shacl.failing([item.score.id for item in current])
    concerned: defaultdict[tuple[str, str, str], list[DatasetRef]] = defaultdict(list)
    gains: defaultdict[tuple[str, str, str], float] = defaultdict(float)
    for item in current:
        if item.score.id not in failing:
            continue
        broken = sorted({(code, prop, record) for code, severity, record, _, prop, _
                         in json.loads(failing[item.score.id]) if severity == "error"})
        for key in broken:
            concerned[key].append(item.ref)
        if len(broken) == 1:
            gains[broken[0]] += COMPLIANCE_POINTS
    total = len(current)
    fixes = [Fix("dcat_ap", refs, 0, 0.0, round(gains[key] / total, 1), False,
                 (key[1], key[2], hint(key[0], language, key[1], key[2])))  # type: ignore[arg-type]
             for key, refs in concerned.items()]
    return sorted(fixes, key=lambda fix: -len(fix.datasets))


def _dataset_lines(current: list[_Current], limit: int) -> list[DatasetLine]:
    lines = []
    for item in current:
        classification = json.loads(item.score.details)["classification"]
        evidence = [EvidenceLine(e["rule"], e["property"], e["value"], e["strong"])
                    for e in classification["evidence"]]
        lines.append(DatasetLine(item.ref, item.score.level, evidence, item.score.mqa_points,
                                 item.score.mqa_band))
    lines.sort(key=lambda line: (line.level, line.mqa_points))
    return lines[:limit]
