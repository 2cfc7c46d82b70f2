"""What one agency's report says, read from the store: no rendering, no sending.

* Headline figures from the agency's latest score snapshot, the national median and rank from
  the same scoring run, and progress (:mod:`dcatwatch.reports.progress`): the change of the
  figures and broken links since what the latest report of an earlier period stood on
  (``report_progress``), with the problems fixed and new since; else the change of the
  figures since the previous report sent, or the last snapshot before this period began.
* The index per month (the last snapshot of each month) beside the national median (the
  last national snapshot of each month) for a small chart.
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
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from dcatwatch.config import Language, ReportsSettings
from dcatwatch.dcat import records
from dcatwatch.dcat.classify import services_by_dataset
from dcatwatch.dcat.model import DataService, Dataset
from dcatwatch.errors import CATALOGUE, DcatwatchError, blame_of
from dcatwatch.reports.fixes import RULES, Trier
from dcatwatch.reports.period import STOCKHOLM, Period
from dcatwatch.reports.progress import (
    Change,
    Figures,
    FixProgress,
    difference,
    fix_progress,
    stored_problems,
)
from dcatwatch.reports.refs import DatasetRef, dataset_ref
from dcatwatch.reports.validation import Rechecks, ValidationFindings, read_findings
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


@dataclass(frozen=True, slots=True)
class Comparison:
    """Where the agency stands nationally (agencies with datasets, same scoring run)."""

    median_index: float | None
    rank: int | None
    ranked: int


@dataclass(frozen=True, slots=True)
class HistoryPoint:
    """The index at the end of one month and the national median then (None: no snapshot
    that month)."""

    period: Period
    index: float | None
    median: float | None = None


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
    def key(self) -> str:
        """The problem's key across reports: the fix id, with the property and the record for
        a DCAT-AP fix (``dcat_ap|dct:format|distribution``)."""
        return self.id if self.shape is None else "|".join((self.id, *self.shape[:2]))

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
    detail: str = ""  # what matched (the quoted words of A6/A7, a service's title)


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
    scored_at: datetime | None = None  # of the score snapshot shown, as stored
    progress: FixProgress | None = None  # None: no earlier report kept its problems
    agency_name_derived: bool = False  # the publisher gave no name: dcatwatch made this one

    def problems(self) -> dict[str, list[str]]:
        """The problems of the fix list: fix id → IRIs of the datasets it concerns (kept for
        the next report's :class:`~dcatwatch.reports.progress.FixProgress`)."""
        return {fix.key: [ref.iri for ref in fix.datasets] for fix in self.fixes}


@dataclass(slots=True)
class _Current:
    """A current, scored dataset of the agency (one per IRI)."""

    ref: DatasetRef
    model: Dataset
    score: Any


def build(store: Store, agency_id: str, period: Period, language: Language,
          options: ReportsSettings, rechecks: Rechecks | None = None,
          trier: Trier | None = None) -> ReportContent:
    """The report of ``agency_id`` for ``period`` (NotScored when there are no scores yet),
    read in one transaction. ``rechecks`` says when a link that failed once is checked
    again (default: the default settings); ``trier``: one made by :func:`trier_of` for many
    reports (default: made from the current data services for this one)."""
    with store.read() as unit:
        snapshot = unit.scores.latest_snapshot(agency_id)
        if snapshot is None:
            raise NotScored(agency_id)
        figures = _figures(snapshot)
        current = _current(unit, agency_id, language)
        findings = read_findings(unit.checks, [(c.ref, c.model) for c in current],
                                 rechecks or Rechecks.default())
        name, name_derived = _name(unit, agency_id, snapshot)
        content = ReportContent(
            agency_id=agency_id,
            agency_name=name,
            period=period,
            language=language,
            figures=figures,
            comparison=_comparison(unit, snapshot),
            change=None,
            history=_history(unit, agency_id, options.history_months),
            fixes=sorted(_fixes(unit, current, trier) + _shacl_fixes(unit, current, language),
                         key=lambda fix: -fix.weight),  # stable: rule order breaks ties
            api_title_only=[c.ref for c in current if c.score.api_by_title_only],
            findings=findings,
            datasets=_dataset_lines(current, options.dataset_rows),
            datasets_total=len(current),
            catalogues=_catalogues(unit, agency_id),
            scored_at=snapshot.scored_at,
            agency_name_derived=name_derived,
        )
        _compare(unit, content, {c.ref.iri: c.ref for c in current})
        return content


def _figures(row: Any) -> Figures:
    return Figures(scored_at=_utc(row.scored_at).isoformat(timespec="seconds"),
                   datasets=row.datasets, api=row.api, machine_readable=row.machine_readable,
                   document_only=row.document_only, unknown=row.unknown,
                   index=row.api_document_index, mqa_points=row.mqa_points,
                   mqa_band=row.mqa_band)


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _name(unit: Unit, agency_id: str, snapshot: Any) -> tuple[str, bool]:
    """The agency's name, and whether dcatwatch made it (its publishers gave none)."""
    contact = unit.agencies.contact(agency_id)
    if contact and contact.name:
        return contact.name, bool(contact.name_derived)
    return json.loads(snapshot.details).get("name") or agency_id, False


def _comparison(unit: Unit, snapshot: Any) -> Comparison:
    median = unit.scores.national_median(snapshot.scored_at)
    indexes = unit.scores.indexes_at(snapshot.scored_at)
    own = snapshot.api_document_index
    rank = None if own is None else 1 + sum(1 for index in indexes if index > own)
    return Comparison(median, rank, len(indexes))


def _compare(unit: Unit, content: ReportContent, current: dict[str, DatasetRef]) -> None:
    """Set the report's change and fix progress: against what the latest report of an earlier
    period stood on (its score snapshot, broken links and problems); else, for the figures
    only, against the figures of the latest report sent (kept before reports kept their
    problems) or the last snapshot before this period began."""
    period, figures = str(content.period), content.figures
    broken = len(content.findings.broken)
    earlier = unit.progress.before(content.agency_id, period)
    snapshot = (None if earlier is None
                else unit.scores.snapshot_at(content.agency_id, earlier.scored_at))
    if earlier is not None and snapshot is not None:
        content.change = difference(earlier.period, True, _figures(snapshot), figures,
                                    earlier.broken_links, broken)
        before = stored_problems(earlier.problems)
        now = {fix.key: fix.datasets for fix in content.fixes}
        shapes = sorted(key for key in before.keys() | now.keys() if "|" in key)
        content.progress = fix_progress(earlier.period, before, now, current,
                                        [rule.id for rule in RULES] + shapes)
        return
    report = unit.outbox.last_sent(content.agency_id, period)
    if report is not None:
        content.change = difference(report.period, True, Figures.from_json(report.figures),
                                    figures)
        return
    start = datetime(content.period.year, content.period.month, 1,
                     tzinfo=STOCKHOLM).astimezone(UTC)
    snapshot = unit.scores.snapshot_before(content.agency_id, start)
    if snapshot is not None:
        day = _utc(snapshot.scored_at).astimezone(STOCKHOLM).date().isoformat()
        content.change = difference(day, False, _figures(snapshot), figures)


def _history(unit: Unit, agency_id: str, months: int) -> list[HistoryPoint]:
    """The agency's index at the end of each of the last ``months`` months with a snapshot,
    beside the national median at the end of each (both the month's last snapshot)."""
    last: dict[Period, float | None] = {}
    for row in unit.scores.index_history(agency_id):
        last[Period.of(row.scored_at)] = row.api_document_index
    if not last:
        return []
    period, first = max(last), min(last)
    periods = []
    while len(periods) < months and period >= first:
        periods.append(period)
        period = period.previous()
    start = datetime(periods[-1].year, periods[-1].month, 1, tzinfo=STOCKHOLM).astimezone(UTC)
    medians: dict[Period, float | None] = {}
    for row in unit.scores.median_history(start):
        medians[Period.of(row.scored_at)] = row.median_api_document_index
    return [HistoryPoint(p, last.get(p), medians.get(p)) for p in reversed(periods)]


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


def trier_of(unit: Unit) -> Trier:
    """A trier of fixes over the current data services."""
    services = _services(unit)
    return Trier(services, services_by_dataset(services.values()))


def _fixes(unit: Unit, current: list[_Current], trier: Trier | None) -> list[Fix]:
    if not current:
        return []
    trier = trier or trier_of(unit)
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
        evidence = [EvidenceLine(e["rule"], e["property"], e["value"], e["strong"],
                                 e.get("detail", "")) for e in classification["evidence"]]
        lines.append(DatasetLine(item.ref, item.score.level, evidence, item.score.mqa_points,
                                 item.score.mqa_band))
    lines.sort(key=lambda line: (line.level, line.mqa_points))
    return lines[:limit]
