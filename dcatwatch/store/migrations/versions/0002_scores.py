"""Scores: per-dataset results, per-agency and national snapshots.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "dataset_score",
        sa.Column("dataset_id", sa.Integer(), sa.ForeignKey("dataset.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("agency_id", sa.String(64), nullable=True),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("strong", sa.Boolean(), nullable=False),
        sa.Column("open", sa.Boolean(), nullable=False),
        sa.Column("api_by_title_only", sa.Boolean(), nullable=False),
        sa.Column("mqa_points", sa.Float(), nullable=False),
        sa.Column("mqa_band", sa.String(16), nullable=False),
        sa.Column("mqa_unknown_points", sa.Float(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("scored_at", WHEN, nullable=False),
    )
    op.create_index("ix_dataset_score_agency", "dataset_score", ["agency_id"])
    op.create_table(
        "agency_score",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("scored_at", WHEN, nullable=False),
        sa.Column("agency_id", sa.String(64), nullable=False),
        *[sa.Column(name, sa.Integer(), nullable=False) for name in (
            "datasets", "api", "machine_readable", "document_only", "unknown")],
        sa.Column("api_share", sa.Float(), nullable=False),
        sa.Column("document_only_share", sa.Float(), nullable=False),
        sa.Column("api_document_index", sa.Float(), nullable=True),
        sa.Column("mqa_points", sa.Float(), nullable=True),
        sa.Column("mqa_band", sa.String(16), nullable=True),
        sa.Column("details", sa.Text(), nullable=False),
    )
    op.create_index("ix_agency_score_agency_time", "agency_score", ["agency_id", "scored_at"])
    op.create_table(
        "national_score",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("scored_at", WHEN, nullable=False),
        *[sa.Column(name, sa.Integer(), nullable=False) for name in (
            "agencies", "agencies_with_api", "datasets")],
        *[sa.Column(name, sa.Float(), nullable=False) for name in (
            "agencies_with_api_share", "api_share", "document_only_share")],
        sa.Column("api_document_index", sa.Float(), nullable=True),
        sa.Column("median_api_document_index", sa.Float(), nullable=True),
    )
    op.create_index("ix_national_score_scored_at", "national_score", ["scored_at"])


def downgrade() -> None:
    for table in ("national_score", "agency_score", "dataset_score"):
        op.drop_table(table)
