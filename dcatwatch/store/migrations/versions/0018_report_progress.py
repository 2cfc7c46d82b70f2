"""What each period's report stood on (``report_progress``), so the next report shows
progress as the difference of two stored states: the agency score snapshot the report showed,
its confirmed broken links and the problems of its fix list (fix id → dataset IRIs).

Reports queued before keep no such row: the first report after this one measures its change
against the previous report's stored figures, as before, and lists no fixes done.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_progress",
        sa.Column("agency_id", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("scored_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("broken_links", sa.Integer(), nullable=False),
        sa.Column("problems", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("agency_id", "period"),
    )


def downgrade() -> None:
    op.drop_table("report_progress")
