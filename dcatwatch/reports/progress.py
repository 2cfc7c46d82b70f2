"""Progress since the last report: the change of the headline figures and which problems of
the fix list were fixed or are new.

Both sides are stored states, never today's data recomputed for the past: the figures are two
agency score snapshots (``agency_score``); the broken links and problems of the earlier side
are what the earlier report stood on (``report_progress``, :meth:`ReportContent.problems`).
A problem is one fix of the fix list (:mod:`dcatwatch.reports.fixes`) and one dataset it
concerns. It is *fixed* when the dataset is still published and the fix no longer concerns
it; a problem of a dataset no longer published is counted apart, never as fixed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from dcatwatch.reports.refs import DatasetRef
from dcatwatch.reports.texts import Texts

LEVELS = (3, 2, 1, 0)  # api, machine_readable, document_only, unknown


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

    def level(self, level: int) -> int:
        """The datasets at ``level`` (3 api … 0 unknown)."""
        return (self.unknown, self.document_only, self.machine_readable, self.api)[level]

    def to_json(self) -> str:
        """For the outbox row."""
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Figures:
        """From an outbox row."""
        return cls(**json.loads(text))


@dataclass(frozen=True, slots=True)
class Change:
    """Change of the headline figures since an earlier report or snapshot (now − then)."""

    since: str  # a period (YYYY-MM) when since_report, else a date (YYYY-MM-DD)
    since_report: bool
    index: float | None
    mqa_points: float | None
    api_share: float | None = None  # a difference of shares (0.05: five percentage points)
    levels: dict[int, int] = field(default_factory=dict)  # level → change of its datasets
    broken_links: int | None = None  # None: the earlier side kept no count


def difference(since: str, since_report: bool, before: Figures, now: Figures,
               broken_before: int | None = None, broken_now: int | None = None) -> Change:
    """``now`` − ``before``, field by field (None where either side has no value)."""
    def minus(a: float | None, b: float | None) -> float | None:
        return None if a is None or b is None else round(a - b, 1)
    share = (now.share(now.api) - before.share(before.api)
             if now.datasets and before.datasets else None)
    broken = None if broken_before is None or broken_now is None else broken_now - broken_before
    return Change(since, since_report, minus(now.index, before.index),
                  minus(now.mqa_points, before.mqa_points), share,
                  {level: now.level(level) - before.level(level) for level in LEVELS}, broken)


@dataclass(frozen=True, slots=True)
class ProblemChange:
    """The datasets of one fix whose problem was fixed, or is new, since the last report."""

    id: str  # the fix (key of its texts)
    datasets: list[DatasetRef]


@dataclass(slots=True)
class FixProgress:
    """Which problems of the last report's fix list are fixed and which are new."""

    since: str  # the period of the report compared with
    fixed: list[ProblemChange]
    new: list[ProblemChange]
    gone: int = 0  # problems of datasets no longer published (neither fixed nor new)

    @property
    def fixed_count(self) -> int:
        """Problems fixed (one per fix and dataset)."""
        return sum(len(change.datasets) for change in self.fixed)

    @property
    def new_count(self) -> int:
        """New problems (one per fix and dataset)."""
        return sum(len(change.datasets) for change in self.new)


def fix_progress(since: str, before: Mapping[str, Sequence[str]],
                 now: Mapping[str, Sequence[DatasetRef]],
                 current: Mapping[str, DatasetRef], order: Sequence[str]) -> FixProgress:
    """Compare the problems ``before`` (fix id → dataset IRIs, as stored) with those ``now``
    (fix id → datasets); ``current`` holds the datasets published now, by IRI. Fixes come
    in ``order``, each with most datasets first; their datasets in ``now``'s order, else by
    title."""
    fixed: list[ProblemChange] = []
    new: list[ProblemChange] = []
    gone = 0
    for fix in order:
        was = set(before.get(fix, ()))
        still = {ref.iri for ref in now.get(fix, ())}
        done = sorted((current[iri] for iri in was - still if iri in current),
                      key=lambda ref: (ref.title.casefold(), ref.iri))
        gone += sum(1 for iri in was - still if iri not in current)
        added = [ref for ref in now.get(fix, ()) if ref.iri not in was]
        if done:
            fixed.append(ProblemChange(fix, done))
        if added:
            new.append(ProblemChange(fix, added))
    fixed.sort(key=lambda change: -len(change.datasets))  # stable: ``order`` breaks ties
    new.sort(key=lambda change: -len(change.datasets))
    return FixProgress(since, fixed, new, gone)


def stored_problems(text: str) -> dict[str, list[str]]:
    """The problems of a ``report_progress`` row."""
    data: Any = json.loads(text)
    return {str(fix): [str(iri) for iri in iris] for fix, iris in data.items()}


@dataclass(frozen=True, slots=True)
class ProgressRow:
    """One line of the progress table, worded: a figure now and its change."""

    label: str
    now: str
    change: str
    tone: str  # "up" (better), "down" (worse) or "" (neither, or no change)


def progress_rows(now: Figures, change: Change, broken_now: int, t: Texts) -> list[ProgressRow]:
    """The progress table of a report: index, API share, datasets per level, mean MQA points
    and confirmed broken links, each with its change (``–`` where the earlier side has none)."""
    def row(label: str, value: str, amount: float | None, text: str, better: int) -> ProgressRow:
        tone = "" if not amount or not better else ("up" if amount * better > 0 else "down")
        return ProgressRow(label, value, t("progress.unknown") if amount is None else text, tone)

    def signed(amount: float | None, digits: int) -> str:
        return t("progress.unchanged") if not amount else t.signed(amount, digits)

    points = None if change.api_share is None else round(100 * change.api_share, 1)
    rows = [row(t("progress.index"), t.number(now.index) if now.index is not None else
                t("progress.unknown"), change.index, signed(change.index, 1), 1),
            row(t("progress.api_share"), t.percent(now.share(now.api)), points,
                t("progress.share_points", change=signed(points, 1)) if points else
                signed(points, 1), 1)]
    rows += [row(t("levels." + str(level)), t.integer(now.level(level)),
                 change.levels.get(level), signed(change.levels.get(level), 0), 0)
             for level in LEVELS]
    if now.mqa_points is not None:
        rows.append(row(t("progress.mqa"), t.number(now.mqa_points, 0), change.mqa_points,
                        signed(change.mqa_points, 1), 1))
    rows.append(row(t("progress.broken_links"), t.integer(broken_now), change.broken_links,
                    signed(change.broken_links, 0), -1))
    return rows
