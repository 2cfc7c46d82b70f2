"""Per-agency and national aggregation: the index exactly as defined, empty agencies, nation."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from dcatwatch.scoring.aggregate import (
    Agency,
    DatasetRow,
    aggregate,
    api_document_index,
)
from dcatwatch.scoring.mqa import band
from dcatwatch.scoring.service import Copy, counted

CONTRACT_AGENCY = {"id", "name", "datasets", "api", "machine_readable", "document_only", "unknown",
                   "api_share", "document_only_share", "api_document_index", "mqa_points",
                   "mqa_band"}  # fmt: skip
CONTRACT_NATIONAL = {"agencies", "agencies_with_api", "agencies_with_api_share", "datasets",
                     "api_share", "document_only_share"}  # fmt: skip

REGISTRY = [
    Agency("2021005448", "Skatteverket"),
    Agency("2021001538", "Trafikverket"),
    Agency("2021000001", "Tyst myndighet"),  # publishes nothing
]


def rows(agency: str, *levels: int, points: float | None = None) -> list[DatasetRow]:
    return [DatasetRow(agency, level, mqa_points=points) for level in levels]


@pytest.mark.parametrize(
    ("levels", "expected"),
    [
        ({3: 2, 2: 1, 1: 1, 0: 1}, 60.0),  # 100·(6+2+1)/15
        ({3: 1, 2: 1, 1: 1}, 66.7),  # 100·6/9 = 66.67
        ({3: 4}, 100.0),
        ({0: 7}, 0.0),
        ({1: 3}, 33.3),
        ({2: 1, 0: 2}, 22.2),  # 100·2/9
        ({}, None),
    ],
)
def test_index_formula(levels: dict[int, int], expected: float | None) -> None:
    assert api_document_index(Counter(levels)) == expected


def test_agency_counts_shares_and_index() -> None:
    data = rows("2021005448", 3, 3, 2, 1, 0, points=200.0)
    skv = aggregate(data, REGISTRY).agencies[0]
    assert (skv.id, skv.name, skv.datasets) == ("2021005448", "Skatteverket", 5)
    assert (skv.api, skv.machine_readable, skv.document_only, skv.unknown) == (2, 1, 1, 1)
    assert skv.api_share == pytest.approx(0.4)
    assert skv.document_only_share == pytest.approx(0.2)
    assert skv.download_share == pytest.approx(0.2)
    assert skv.unknown_share == pytest.approx(0.2)
    assert skv.api_document_index == 60.0
    assert (skv.mqa_points, skv.mqa_band) == (200.0, "Sufficient")
    assert skv.has_api and skv.registered


def test_shares_add_up_to_one() -> None:
    agency = aggregate(rows("a", 3, 2, 2, 1, 1, 1, 0), [Agency("a", "A")]).agencies[0]
    total = agency.api_share + agency.download_share + agency.document_only_share
    assert total + agency.unknown_share == pytest.approx(1.0)


def test_registry_agency_without_datasets() -> None:
    scores = aggregate(rows("2021005448", 3), REGISTRY)
    silent = next(a for a in scores.agencies if a.id == "2021000001")
    assert (silent.datasets, silent.api, silent.unknown) == (0, 0, 0)
    assert (silent.api_share, silent.document_only_share) == (0.0, 0.0)
    assert (silent.api_document_index, silent.mqa_points, silent.mqa_band) == (None, None, None)
    assert not silent.has_api and silent.registered


def test_unregistered_publisher_is_scored_by_id() -> None:
    scores = aggregate(rows("okand", 2), REGISTRY)
    assert [a.id for a in scores.agencies] == [a.id for a in REGISTRY] + ["okand"]
    extra = scores.agencies[-1]
    assert (extra.name, extra.registered, extra.api_document_index) == ("okand", False, 66.7)


def test_mqa_mean_and_band_ignore_unscored_datasets() -> None:
    data = [DatasetRow("a", 2, mqa_points=300.0), DatasetRow("a", 2, mqa_points=360.0),
            DatasetRow("a", 2, mqa_points=None)]  # fmt: skip
    agency = aggregate(data, []).agencies[0]
    assert (agency.mqa_points, agency.mqa_band) == (330.0, "Good")


@pytest.mark.parametrize(
    ("points", "shown", "name"),
    [((350.0, 350.08), 350.0, "Good"),  # mean 350.04: not "Excellent" beside 350.0
     ((120.0, 120.06), 120.0, "Bad"),  # mean 120.03
     ((350.0, 350.12), 350.1, "Excellent")],
)  # fmt: skip
def test_mqa_band_is_the_band_of_the_points_shown(points: tuple[float, ...], shown: float,
                                                  name: str) -> None:
    agency = aggregate([DatasetRow("a", 2, mqa_points=p) for p in points], []).agencies[0]
    assert (agency.mqa_points, agency.mqa_band) == (shown, name)
    assert agency.mqa_band == band(agency.mqa_points)


def copy(id_: int, iri: str, source: str, agency: str, level: int = 2) -> Copy:
    kind = "dataportal" if source.startswith("portal") else "dcat"
    return Copy(id_, iri, source, kind, DatasetRow(agency, level))


def test_copies_count_once_by_iri_then_by_identifier_within_an_agency() -> None:
    copies = [
        copy(1, "https://a.se/1", "portal", "B", level=1),  # the own copy (2) wins, under A
        copy(2, "https://a.se/1", "own", "A", level=3),
        copy(3, "https://a.se/2", "own", "A"),  # identifier X
        copy(4, "https://dp.se/4", "portal", "A"),  # identifier X: the same dataset as 3
        copy(5, "https://dp.se/5", "portal", "A"),  # X as well, but matches are one to one
        copy(6, "https://dp.se/6", "portal", "C"),  # C has no own catalogue: nothing to read
        copy(7, "https://a.se/7", "own-b", "D"), copy(8, "https://a.se/7", "own-a", "E"),
    ]
    asked: list[list[int]] = []

    def identifiers_of(ids: list[int]) -> dict[int, list[str]]:
        asked.append(sorted(ids))
        return {3: ["X"], 4: ["X"], 5: ["X"]}

    kept = {c.id: c.row for c in counted(copies, identifiers_of)}
    assert sorted(kept) == [2, 3, 5, 6, 8]  # same type: the source first by name wins
    assert (kept[2].agency_id, kept[2].level) == ("A", 3)
    assert asked == [[2, 3, 4, 5]]
    scores = aggregate(kept.values(), [])
    assert {a.id: a.datasets for a in scores.agencies} == {"A": 3, "C": 1, "E": 1}


def test_strong_api_and_open_download_shares() -> None:
    data = [DatasetRow("a", 3, strong=True), DatasetRow("a", 3, strong=False),
            DatasetRow("a", 2, open=True), DatasetRow("a", 2, open=False)]  # fmt: skip
    agency = aggregate(data, []).agencies[0]
    assert (agency.api_strong, agency.api_share_strong) == (1, 0.25)
    assert agency.open_download_share == 0.25


def test_national_figures() -> None:
    data = rows("2021005448", 3, 1, 1, 0) + rows("2021001538", 2, 2) + rows("okand", 3)
    national = aggregate(data, REGISTRY).national
    assert national is not None
    assert (national.agencies, national.agencies_with_api) == (4, 2)
    assert national.agencies_with_api_share == 0.5
    assert national.datasets == 7
    assert national.api_share == pytest.approx(2 / 7)
    assert national.document_only_share == pytest.approx(2 / 7)
    assert national.api_document_index == round(100 * (3 * 2 + 2 * 2 + 2) / 21, 1)  # 57.1
    # agency indexes 41.7, 66.7, 100.0; the silent agency has none
    assert national.median_api_document_index == 66.7


def test_empty_nation() -> None:
    national = aggregate([], []).national
    assert national is not None
    assert (national.agencies, national.datasets, national.api_share) == (0, 0, 0.0)
    assert (national.agencies_with_api_share, national.api_document_index) == (0.0, None)
    assert national.median_api_document_index is None


def test_to_dict_has_the_contract_shape() -> None:
    data = json.loads(json.dumps(aggregate(rows("2021005448", 3, 1), REGISTRY).to_dict()))
    assert set(data) == {"agencies", "national"}
    assert all(CONTRACT_AGENCY.issubset(agency) for agency in data["agencies"])
    assert CONTRACT_NATIONAL.issubset(data["national"])
    assert data["agencies"][0]["api_document_index"] == 66.7
    assert data["agencies"][2]["api_document_index"] is None


def test_invalid_level_is_rejected() -> None:
    with pytest.raises(ValueError, match="0–3"):
        aggregate([DatasetRow("a", 4)], [])
