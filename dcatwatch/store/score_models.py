"""Tables of the scoring room: per-dataset results and per-agency and national snapshots.

A dataset's score is recomputed when what it was computed from changed: its description
(``content_hash``), its agency, a link check it read (``dataset_score_link`` keeps each as it
was read) or a data service it read (``service_inputs``); or when a full rescore is asked
for. Snapshots are appended after every scoring run so reports and dashboards can show
trends.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel

from dcatwatch.store.packing import PackedJson


class DatasetScore(SQLModel, table=True):
    """The channel level and MQA-predicted points of one current dataset, with evidence."""

    __tablename__ = "dataset_score"
    __table_args__ = (Index("ix_dataset_score_agency", "agency_id"),)

    dataset_id: int = Field(primary_key=True, foreign_key="dataset.id", ondelete="CASCADE")
    agency_id: str | None = Field(default=None, max_length=64)
    level: int  # 3 api, 2 machine_readable, 1 document_only, 0 unknown
    strong: bool = True
    open: bool = False
    api_by_title_only: bool = False
    mqa_points: float
    mqa_band: str = Field(max_length=16)
    mqa_unknown_points: float = 0.0
    content_hash: str = Field(max_length=64)  # the description the score was computed from
    # JSON: evidence, indicators; packed (:mod:`dcatwatch.store.packing`)
    details: str = Field(sa_column=Column(PackedJson, nullable=False))
    scored_at: datetime
    # the DCAT-AP compliance the score read: True/False a SHACL verdict of its description,
    # None unchecked; the score is stale once the verdict reads otherwise
    compliance: bool | None = None
    # JSON {"services": [IRIs looked up], "fingerprint": ...} of the data services the score
    # read (by accessService, and those serving the dataset); None: it read none
    service_inputs: str | None = Field(default=None, sa_column=Column(Text))


class DatasetScoreLink(SQLModel, table=True):
    """One link check a dataset's score read, as it read it (all None: unchecked, or a check
    scoring treats as unchecked). The score is stale once the check reads otherwise."""

    __tablename__ = "dataset_score_link"
    __table_args__ = (Index("ix_dataset_score_link_url", "url"),)

    dataset_id: int = Field(primary_key=True, foreign_key="dataset.id", ondelete="CASCADE")
    url: str = Field(sa_column=Column(Text, primary_key=True))
    status: int | None = None
    content_type: str | None = Field(default=None, sa_column=Column(Text))
    reachable: bool | None = None


class AgencyScoreSnapshot(SQLModel, table=True):
    """One agency's figures after one scoring run: the contract fields of
    :class:`dcatwatch.scoring.aggregate.AgencyScore`, name for name (``details`` holds the
    whole score; ``tests/test_score_shapes.py`` keeps the two in step)."""

    __tablename__ = "agency_score"
    __table_args__ = (Index("ix_agency_score_agency_time", "agency_id", "scored_at"),
                      Index("ix_agency_score_scored_at", "scored_at"))

    id: int | None = Field(default=None, primary_key=True)
    scored_at: datetime
    agency_id: str = Field(max_length=64)
    datasets: int
    api: int
    machine_readable: int
    document_only: int
    unknown: int
    api_share: float
    document_only_share: float
    api_document_index: float | None = None
    mqa_points: float | None = None
    mqa_band: str | None = Field(default=None, max_length=16)
    details: str = Field(sa_column=Column(Text, nullable=False))  # JSON of the full score


class NationalScoreSnapshot(SQLModel, table=True):
    """The national figures after one scoring run: the fields of
    :class:`dcatwatch.scoring.aggregate.NationalScore`, name for name."""

    __tablename__ = "national_score"

    id: int | None = Field(default=None, primary_key=True)
    scored_at: datetime = Field(index=True)
    agencies: int
    agencies_with_api: int
    agencies_with_api_share: float
    datasets: int
    api_share: float
    document_only_share: float
    api_document_index: float | None = None
    median_api_document_index: float | None = None
    unattributed: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    unattributed_services: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
