"""Per-agency and national aggregates of dataset levels and MQA points (pure: no store, no I/O).

API–document index (research/quality.md §4.5): ``100 × (3·api + 2·machine_readable +
1·document_only) / (3·N)``, i.e. the mean dataset level as a share of 3, rounded to one decimal
with Python's ``round``. An agency with no datasets (N = 0) has index ``None`` (null in JSON:
"nothing to score" is not the same as "everything unknown", which scores 0) and all shares 0.0.
Registry agencies without datasets count as agencies without API. Publishers found in the
data but missing from the registry are scored too, named by their id, ``registered = False``.
Shares are unrounded ratios in [0, 1]. The mean MQA points are rounded to one decimal and
the band is that of the rounded value, so the two never disagree (350.04 → 350.0, "Good").
A dataset without an agency (``agency_id`` None: no publisher, none inherited, no source
agency) is in no agency's figures but counts nationally: in ``datasets``, the shares and the
index, and in ``unattributed``.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from dcatwatch.dcat.classify import LEVEL_NAMES
from dcatwatch.scoring.mqa import band

LEVEL_WEIGHTS = {3: 3, 2: 2, 1: 1, 0: 0}


@dataclass(frozen=True, slots=True)
class DatasetRow:
    """What aggregation needs of one scored dataset."""

    agency_id: str | None  # None: unattributed
    level: int  # 3 api, 2 machine_readable, 1 document_only, 0 unknown
    strong: bool = True  # the level rests on strong evidence
    mqa_points: float | None = None  # None: not scored
    open: bool = False  # has an open machine-readable distribution


@dataclass(frozen=True, slots=True)
class Agency:
    """A registry entry: an agency that should publish (it may have no datasets)."""

    id: str
    name: str


@dataclass(slots=True)
class AgencyScore:
    """One agency's channel counts, shares, index and mean MQA points."""

    id: str
    name: str
    datasets: int
    api: int
    machine_readable: int
    document_only: int
    unknown: int
    api_share: float
    document_only_share: float
    api_document_index: float | None
    mqa_points: float | None
    mqa_band: str | None
    api_strong: int = 0
    api_share_strong: float = 0.0
    download_share: float = 0.0
    open_download_share: float = 0.0
    unknown_share: float = 0.0
    has_api: bool = False
    registered: bool = True
    name_derived: bool = False  # the publisher gave no name: dcatwatch made this one

    def to_dict(self) -> dict[str, Any]:
        """JSON contract shape (contract fields first, extras after)."""
        return asdict(self)


@dataclass(slots=True)
class NationalScore:
    """Figures over all agencies."""

    agencies: int
    agencies_with_api: int
    agencies_with_api_share: float
    datasets: int
    api_share: float
    document_only_share: float
    api_document_index: float | None = None  # over all datasets
    median_api_document_index: float | None = None  # over agencies with datasets
    unattributed: int = 0  # datasets (in ``datasets``) of no agency
    unattributed_services: int = 0  # current data services of no agency (each IRI once)

    def to_dict(self) -> dict[str, Any]:
        """JSON contract shape."""
        return asdict(self)


@dataclass(slots=True)
class Scores:
    """The result of one aggregation: what ``dcatwatch scores --json`` prints."""

    agencies: list[AgencyScore] = field(default_factory=list)
    national: NationalScore | None = None

    def to_dict(self) -> dict[str, Any]:
        """``{"agencies": [...], "national": {...}}``."""
        national = self.national.to_dict() if self.national else None
        return {"agencies": [a.to_dict() for a in self.agencies], "national": national}


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def api_document_index(levels: Counter[int]) -> float | None:
    """100 × Σ weight(level) / (3·N), rounded to one decimal; None when N = 0."""
    total = sum(levels.values())
    if not total:
        return None
    points = sum(LEVEL_WEIGHTS[level] * count for level, count in levels.items())
    return round(100 * points / (3 * total), 1)


def _check_level(row: DatasetRow) -> int:
    if row.level not in LEVEL_NAMES:
        raise ValueError(f"dataset level must be 0–3, got {row.level!r} ({row.agency_id})")
    return row.level


def score_agency(
    agency: Agency, rows: Sequence[DatasetRow], registered: bool = True
) -> AgencyScore:
    """Aggregate one agency's dataset rows."""
    levels = Counter(_check_level(row) for row in rows)
    n = len(rows)
    points = [row.mqa_points for row in rows if row.mqa_points is not None]
    shown = round(sum(points) / len(points), 1) if points else None  # the band follows it
    api_strong = sum(1 for row in rows if row.level == 3 and row.strong)
    open_download = sum(1 for row in rows if row.level == 2 and row.open)
    return AgencyScore(
        id=agency.id,
        name=agency.name,
        datasets=n,
        api=levels[3],
        machine_readable=levels[2],
        document_only=levels[1],
        unknown=levels[0],
        api_share=_share(levels[3], n),
        document_only_share=_share(levels[1], n),
        api_document_index=api_document_index(levels),
        mqa_points=shown,
        mqa_band=band(shown) if shown is not None else None,
        api_strong=api_strong,
        api_share_strong=_share(api_strong, n),
        download_share=_share(levels[2], n),
        open_download_share=_share(open_download, n),
        unknown_share=_share(levels[0], n),
        has_api=levels[3] > 0,
        registered=registered,
    )


def national_score(agencies: Sequence[AgencyScore],
                   unattributed: Sequence[DatasetRow] = ()) -> NationalScore:
    """National figures from per-agency scores and the datasets of no agency."""
    levels = Counter(
        {3: sum(a.api for a in agencies), 2: sum(a.machine_readable for a in agencies),
         1: sum(a.document_only for a in agencies), 0: sum(a.unknown for a in agencies)}
    )  # fmt: skip
    levels.update(_check_level(row) for row in unattributed)
    datasets = sum(levels.values())
    with_api = sum(1 for a in agencies if a.has_api)
    indexes = [a.api_document_index for a in agencies if a.api_document_index is not None]
    return NationalScore(
        agencies=len(agencies),
        agencies_with_api=with_api,
        agencies_with_api_share=_share(with_api, len(agencies)),
        datasets=datasets,
        api_share=_share(levels[3], datasets),
        document_only_share=_share(levels[1], datasets),
        api_document_index=api_document_index(levels),
        median_api_document_index=round(statistics.median(indexes), 1) if indexes else None,
        unattributed=len(unattributed),
    )


def aggregate(rows: Iterable[DatasetRow], registry: Iterable[Agency]) -> Scores:
    """Score every registry agency (registry order) and every other publisher (by id); rows
    without an agency count nationally only."""
    by_agency: defaultdict[str, list[DatasetRow]] = defaultdict(list)
    unattributed: list[DatasetRow] = []
    for row in rows:
        if row.agency_id is None:
            unattributed.append(row)
        else:
            by_agency[row.agency_id].append(row)
    known = {agency.id: agency for agency in registry}
    scores = [score_agency(agency, by_agency.get(agency.id, ())) for agency in known.values()]
    scores += [
        score_agency(Agency(agency_id, agency_id), by_agency[agency_id], registered=False)
        for agency_id in sorted(by_agency.keys() - known.keys())
    ]
    return Scores(agencies=scores, national=national_score(scores, unattributed))
