"""Indexes that keep a /metrics scrape fast: held removals per source, the latest snapshot.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

HELD = sa.text("removal_held_at IS NOT NULL")


def upgrade() -> None:
    op.create_index("ix_dataset_held", "dataset", ["source"], sqlite_where=HELD,
                    postgresql_where=HELD)
    op.create_index("ix_agency_score_scored_at", "agency_score", ["scored_at"])


def downgrade() -> None:
    op.drop_index("ix_agency_score_scored_at", table_name="agency_score")
    op.drop_index("ix_dataset_held", table_name="dataset")
