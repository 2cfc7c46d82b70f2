"""Tables of the validation room: link checks, data checks, metadata findings and runs.

Link and data checks are kept per URL (one URL may serve several distributions), with the
history a report needs ("broken for N checks since …") and the validators a conditional GET
needs. Metadata findings are kept packed per dataset and replaced each time its source is
validated;
the SHACL verdict of each description is kept with the hash it was checked at.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, Text, text
from sqlmodel import Field, SQLModel

from dcatwatch.store.packing import PackedJson


class LinkCheck(SQLModel, table=True):
    """The latest check of one URL (accessURL, downloadURL or endpointURL) and its history."""

    __tablename__ = "link_check"

    url: str = Field(sa_column=Column(Text, primary_key=True))
    status: int | None = None  # HTTP status of the final response; None when none came
    content_type: str | None = Field(default=None, sa_column=Column(Text))
    final_url: str | None = Field(default=None, sa_column=Column(Text))
    elapsed_s: float | None = None
    reachable: bool = False  # 2xx or 3xx
    reason: str = Field(default="", sa_column=Column(Text, nullable=False))
    error_code: str | None = Field(default=None, max_length=64)  # fetch.* code of a failure
    last_checked_at: datetime
    last_success_at: datetime | None = None
    first_failure_at: datetime | None = None  # start of the current run of failures
    consecutive_failures: int = 0
    # whose failure the latest check was: agency (the server answered, or its name does not
    # exist) | monitor (we could not ask) | None (reachable); cause: the socket error's kind
    blame: str | None = Field(default=None, max_length=16)
    cause: str | None = Field(default=None, max_length=32)
    # start of the current run of agency-side failures (monitor-side checks neither end nor
    # confirm it); a second agency-side failure confirm_after_hours later confirms it
    agency_failure_at: datetime | None = None
    # ok | failing (agency's, unconfirmed) | broken (agency's, confirmed) | inconclusive
    verdict: str = Field(default="ok", max_length=16)


class DataCheck(SQLModel, table=True):
    """The latest frictionless validation of one file URL, with its conditional-GET state."""

    __tablename__ = "data_check"

    url: str = Field(sa_column=Column(Text, primary_key=True))
    format: str | None = Field(default=None, max_length=16)  # csv, tsv, xlsx, xls, ods, json
    tabular: bool = False
    valid: bool | None = None  # None: not validated (see reason)
    sampled: bool = False  # the result covers the first bytes or rows only
    reason: str = Field(default="", sa_column=Column(Text, nullable=False))  # why skipped
    http_status: int | None = None
    bytes_read: int = 0
    rows_checked: int = 0
    error_count: int = 0
    error_types: str = Field(default="{}", sa_column=Column(Text, nullable=False))  # JSON
    examples: str = Field(default="[]", sa_column=Column(Text, nullable=False))  # JSON list
    etag: str | None = Field(default=None, sa_column=Column(Text))
    last_modified: str | None = Field(default=None, max_length=64)
    sha256: str | None = Field(default=None, max_length=64)  # of the bytes validated
    checked_at: datetime
    validated_at: datetime | None = None  # when frictionless last ran on new content


class MetadataFinding(SQLModel, table=True):
    """The metadata findings of one dataset in one run (its distributions, contact points …
    included; ``dataset_iri`` None: the source's catalogue, agents and data services), packed
    (codes: :mod:`dcatwatch.validators.rules`, ``shacl.*``)."""

    __tablename__ = "metadata_finding"
    __table_args__ = (
        Index("ix_metadata_finding_source", "source"),
        Index("ix_metadata_finding_dataset", "dataset_iri"),
    )

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=64)
    dataset_iri: str | None = Field(default=None, sa_column=Column(Text))
    # JSON list of [code, severity, record, subject, property, value], packed
    # (:meth:`dcatwatch.validators.metadata.Finding.to_row`)
    findings: str = Field(sa_column=Column(PackedJson, nullable=False))
    found_at: datetime


class ValidationRun(SQLModel, table=True):
    """One ``validate`` run and its summary."""

    __tablename__ = "validation_run"
    __table_args__ = (Index("ix_validation_run_source_started", "source", "started_at"),
                      Index("ix_validation_run_running", "source",
                            sqlite_where=text("status = 'running'"),
                            postgresql_where=text("status = 'running'")))

    id: int | None = Field(default=None, primary_key=True)
    source: str | None = Field(default=None, max_length=64)  # None: every source
    started_at: datetime
    finished_at: datetime | None = None
    status: str = Field(default="running", max_length=16)  # running | ok | failed
    summary: str = Field(default="{}", sa_column=Column(Text, nullable=False))  # JSON
    worker: str | None = Field(default=None, max_length=120)  # host-pid that runs it
    scheduled_for: datetime | None = None  # the time a queued run was deferred for


class ShaclCheck(SQLModel, table=True):
    """The latest DCAT-AP SHACL check of one dataset's description (see
    :mod:`dcatwatch.validators.shacl`): checked again only when the description or what it
    was checked against changed."""

    __tablename__ = "shacl_check"

    dataset_id: int = Field(primary_key=True, foreign_key="dataset.id", ondelete="CASCADE")
    content_hash: str = Field(max_length=64)  # the description checked
    shapes: str = Field(max_length=16)  # fingerprint of the shapes, background and engine
    conforms: bool  # no sh:Violation on the dataset or its distributions
    # JSON list of the findings, packed: [code, severity, record, subject, property, value]
    findings: str = Field(sa_column=Column(PackedJson, nullable=False))
    checked_at: datetime
