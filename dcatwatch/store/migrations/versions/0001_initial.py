"""Initial tables: sources, harvest runs, agencies, datasets, distributions, data services,
HTTP cache.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "source",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("schedule", sa.String(120), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_status", sa.String(16), nullable=True),
        sa.Column("datasets", sa.Integer(), nullable=False),
    )
    op.create_table(
        "harvest_run",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        *[sa.Column(name, sa.Integer(), nullable=False) for name in (
            "datasets", "distributions", "data_services", "agencies", "added", "updated",
            "unchanged", "removed", "held_removals", "pages")],
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("errors", sa.Text(), nullable=False),
    )
    op.create_index("ix_harvest_run_source_started", "harvest_run", ["source", "started_at"])
    op.create_table(
        "agency",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("email", sa.String(320), nullable=True),
        sa.Column("in_registry", sa.Boolean(), nullable=False),
        sa.Column("identity_rule", sa.String(16), nullable=True),
        sa.Column("flagged", sa.Boolean(), nullable=False),
        sa.Column("publisher_iris", sa.Text(), nullable=False),
    )
    op.create_table(
        "dataset",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("iri", sa.Text(), nullable=False),
        sa.Column("agency_id", sa.String(64), nullable=True),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("removal_held_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("source", "iri", name="uq_dataset_source_iri"),
    )
    op.create_index("ix_dataset_agency", "dataset", ["agency_id"])
    op.create_index("ix_dataset_iri", "dataset", ["iri"])
    op.create_table(
        "distribution",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("dataset_id", sa.Integer(), sa.ForeignKey("dataset.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("iri", sa.Text(), nullable=False),
        sa.Column("access_url", sa.Text(), nullable=True),
        sa.Column("download_url", sa.Text(), nullable=True),
        sa.Column("format", sa.Text(), nullable=True),
    )
    op.create_index("ix_distribution_dataset", "distribution", ["dataset_id"])
    op.create_table(
        "data_service",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("iri", sa.Text(), nullable=False),
        sa.Column("agency_id", sa.String(64), nullable=True),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("endpoint_url", sa.Text(), nullable=True),
        sa.Column("record", sa.Text(), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("source", "iri", name="uq_data_service_source_iri"),
    )
    op.create_table(
        "http_cache",
        sa.Column("url", sa.Text(), primary_key=True),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("etag", sa.Text(), nullable=True),
        sa.Column("last_modified", sa.String(64), nullable=True),
        sa.Column("body_sha256", sa.String(64), nullable=True),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    for table in ("http_cache", "data_service", "distribution", "dataset", "agency",
                  "harvest_run", "source"):
        op.drop_table(table)
