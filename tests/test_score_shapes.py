"""The snapshot tables store the figures the aggregation produces, field for field: the
shape is declared by :mod:`dcatwatch.scoring.aggregate` and the tables must keep to it."""

from __future__ import annotations

from dataclasses import MISSING, fields

from dcatwatch.scoring.aggregate import AgencyScore, NationalScore
from dcatwatch.store.scores import AGENCY_FIGURES, NATIONAL_FIGURES
from dcatwatch.store.tables import AGENCY_SNAPSHOTS, NATIONAL_SNAPSHOTS


def _nullable(annotation: object) -> bool:
    return "None" in str(annotation)


def test_agency_snapshot_columns_are_the_agency_score_contract_figures() -> None:
    contract = [f for f in fields(AgencyScore)
                if f.default is MISSING and f.name not in ("id", "name")]
    assert AGENCY_FIGURES == tuple(f.name for f in contract)
    for field in contract:
        assert AGENCY_SNAPSHOTS.c[field.name].nullable == _nullable(field.type), field.name


def test_national_snapshot_columns_are_the_national_score_fields() -> None:
    assert NATIONAL_FIGURES == tuple(f.name for f in fields(NationalScore))
    for field in fields(NationalScore):
        assert NATIONAL_SNAPSHOTS.c[field.name].nullable == _nullable(field.type), field.name
