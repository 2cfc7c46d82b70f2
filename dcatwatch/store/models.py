"""The tables. A dataset keeps its description as N-Triples (every triple the source gave,
mapped to the model when read; stored packed: zstd with a dictionary), a data service its mapped record as JSON,
beside the columns that are queried.

Rows are never deleted by a harvest: a dataset that disappears from its source gets
``removed_at`` (or ``removal_held_at`` while the mass-deletion guard holds it), so history and
reports survive, and a re-appearing dataset is simply revived.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Dialect,
    Index,
    LargeBinary,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    text,
)
from sqlmodel import Field, SQLModel

from dcatwatch.dcat.model import pack_description, unpack_description


class PackedText(TypeDecorator[str]):
    """Text stored packed (a tag byte, then zstd with the N-Triples dictionary; rows from
    before the tag are zlib: see :func:`~dcatwatch.dcat.model.pack_description`).
    SQLAlchemy reads and writes ``str``; the harvest writes the packed bytes directly."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> Any:
        return None if value is None else pack_description(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else unpack_description(bytes(value))


class Source(SQLModel, table=True):
    """A configured source and its current state (kept in sync with the config)."""

    __tablename__ = "source"

    name: str = Field(primary_key=True, max_length=64)
    type: str = Field(max_length=32)
    url: str = Field(sa_column=Column(Text, nullable=False))
    schedule: str = Field(default="0 5 * * *", max_length=120)
    enabled: bool = True
    last_attempt_at: datetime | None = None
    last_success_at: datetime | None = None
    last_status: str | None = Field(default=None, max_length=16)
    datasets: int = 0


class RunCounts(SQLModel):
    """What a harvest run counted: the count columns of ``harvest_run``, and the keys of
    the ``harvest --json`` object, in this order (declared once: the table inherits them)."""

    datasets: int = 0
    distributions: int = 0
    data_services: int = 0
    agencies: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    held_removals: int = 0
    pages: int = 0


class HarvestRun(RunCounts, table=True):
    """One harvest of one source."""

    __tablename__ = "harvest_run"
    __table_args__ = (Index("ix_harvest_run_source_started", "source", "started_at"),
                      Index("ix_harvest_run_source_id", "source", "id"),  # a source's latest
                      # runs left running, found at every start (a handful among millions)
                      Index("ix_harvest_run_running", "source",
                            sqlite_where=text("status = 'running'"),
                            postgresql_where=text("status = 'running'")))

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=64)
    started_at: datetime
    finished_at: datetime | None = None
    status: str = Field(default="running", max_length=16)  # running | ok | partial | failed
    duration_s: float = 0.0
    errors: str = Field(default="[]", sa_column=Column(Text, nullable=False))  # JSON list
    worker: str | None = Field(default=None, max_length=120)  # host-pid of a queue worker
    scheduled_for: datetime | None = None  # the cron time a queued run was deferred for


class Agency(SQLModel, table=True):
    """A publishing body: from the registry (config / import) or seen as a publisher."""

    __tablename__ = "agency"

    id: str = Field(primary_key=True, max_length=64)
    name: str | None = Field(default=None, sa_column=Column(Text))
    email: str | None = Field(default=None, max_length=320)
    in_registry: bool = False
    identity_rule: str | None = Field(default=None, max_length=16)
    flagged: bool = False
    # the publisher gave no name: dcatwatch made this one (dcat.agency.derived_name)
    name_derived: bool = Field(default=False, sa_column=Column(
        Boolean, nullable=False, server_default=false()))
    publisher_iris: str = Field(default="[]", sa_column=Column(Text, nullable=False))  # JSON list
    language: str | None = Field(default=None, max_length=2)  # of its reports; None: the default


class Dataset(SQLModel, table=True):
    """A dataset as last harvested from one source."""

    __tablename__ = "dataset"
    __table_args__ = (
        UniqueConstraint("source", "iri", name="uq_dataset_source_iri"),
        Index("ix_dataset_agency", "agency_id"),
        Index("ix_dataset_iri", "iri"),
        Index("ix_dataset_held", "source", sqlite_where=text("removal_held_at IS NOT NULL"),
              postgresql_where=text("removal_held_at IS NOT NULL")),
        Index("ix_dataset_current", "source", "removed_at", "agency_id", "id",
              sqlite_where=text("removed_at IS NULL"), postgresql_where=text("removed_at IS NULL")),
    )

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=64)
    iri: str = Field(sa_column=Column(Text, nullable=False))
    agency_id: str | None = Field(default=None, max_length=64)
    title: str | None = Field(default=None, sa_column=Column(Text))
    content_hash: str = Field(max_length=64)
    first_seen_at: datetime
    last_seen_at: datetime  # the last run that read it (a 304 reads nothing: see the source)
    changed_at: datetime
    removed_at: datetime | None = None
    removal_held_at: datetime | None = None
    # N-Triples, dataset first; last, so that reading the other columns never reads past it
    description: str = Field(sa_column=Column(PackedText, nullable=False))


class Distribution(SQLModel, table=True):
    """A distribution of a current dataset (replaced when its dataset changes)."""

    __tablename__ = "distribution"
    __table_args__ = (Index("ix_distribution_dataset", "dataset_id"),)

    id: int | None = Field(default=None, primary_key=True)
    dataset_id: int = Field(foreign_key="dataset.id", ondelete="CASCADE")
    source: str = Field(max_length=64)
    iri: str = Field(sa_column=Column(Text, nullable=False))
    access_url: str | None = Field(default=None, sa_column=Column(Text))
    download_url: str | None = Field(default=None, sa_column=Column(Text))
    format: str | None = Field(default=None, sa_column=Column(Text))


class DataService(SQLModel, table=True):
    """A data service as last harvested from one source."""

    __tablename__ = "data_service"
    __table_args__ = (UniqueConstraint("source", "iri", name="uq_data_service_source_iri"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=64)
    iri: str = Field(sa_column=Column(Text, nullable=False))
    agency_id: str | None = Field(default=None, max_length=64)
    title: str | None = Field(default=None, sa_column=Column(Text))
    endpoint_url: str | None = Field(default=None, sa_column=Column(Text))
    record: str = Field(sa_column=Column(Text, nullable=False))  # JSON of dcat.model.DataService
    first_seen_at: datetime
    last_seen_at: datetime  # the last run that read it (a 304 reads nothing: see the source)
    removed_at: datetime | None = None
    changed_at: datetime | None = None  # added, described differently, removed or back


class HttpCache(SQLModel, table=True):
    """What a source's last good fetch of a URL left for conditional GET and change
    detection (per source: two sources may read one URL)."""

    __tablename__ = "http_cache"

    source: str = Field(primary_key=True, max_length=64)
    url: str = Field(sa_column=Column(Text, primary_key=True))
    etag: str | None = Field(default=None, sa_column=Column(Text))
    last_modified: str | None = Field(default=None, max_length=64)
    body_sha256: str | None = Field(default=None, max_length=64)
    fetched_at: datetime


class JsonLdContext(SQLModel, table=True):
    """The last good fetch of a remote JSON-LD ``@context`` allowed in ``[jsonld]
    allowed_contexts``: its body (used on a 304 and when the server fails) and validators."""

    __tablename__ = "jsonld_context"

    url: str = Field(sa_column=Column(Text, primary_key=True))
    body: str = Field(sa_column=Column(Text, nullable=False))
    etag: str | None = Field(default=None, sa_column=Column(Text))
    last_modified: str | None = Field(default=None, max_length=64)
    fetched_at: datetime
