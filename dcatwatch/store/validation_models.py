"""Tables of the validation room: link checks, data checks, metadata findings and runs.

Link and data checks are kept per URL (one URL may serve several distributions), with the
history a report needs ("broken for N checks since …") and the validators a conditional GET
needs. Metadata findings are kept per dataset and replaced each time its source is validated.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, Text, text
from sqlmodel import Field, SQLModel


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
    """One metadata rule a record breaks (codes: :mod:`dcatwatch.validators.rules`)."""

    __tablename__ = "metadata_finding"
    __table_args__ = (
        Index("ix_metadata_finding_source", "source"),
        Index("ix_metadata_finding_dataset", "dataset_iri"),
    )

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=64)
    dataset_iri: str | None = Field(default=None, sa_column=Column(Text))  # None: a service
    subject: str = Field(sa_column=Column(Text, nullable=False))  # the record breaking the rule
    record: str = Field(max_length=16)  # catalog, dataset, distribution, data_service, agent …
    code: str = Field(max_length=80)
    severity: str = Field(max_length=8)  # error | warning | info
    property: str = Field(max_length=64)
    value: str | None = Field(default=None, sa_column=Column(Text))
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
    worker: str | None = Field(default=None, max_length=120)  # host-pid of a queue worker
    scheduled_for: datetime | None = None  # the time a queued run was deferred for
