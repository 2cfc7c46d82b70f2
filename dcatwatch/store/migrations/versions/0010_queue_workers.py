"""Runs say which worker ran them and for which scheduled time (``[queue] backend =
"postgres"``: many ``serve`` processes share the work, so ``dcatwatch runs`` names the
process, host-pid, and the cron time a harvest was deferred for).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("harvest_run", "validation_run"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("worker", sa.String(120), nullable=True))
            batch.add_column(sa.Column("scheduled_for", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("report_delivery") as batch:
        batch.add_column(sa.Column("worker", sa.String(120), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("report_delivery") as batch:
        batch.drop_column("worker")
    for table in ("harvest_run", "validation_run"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("scheduled_for")
            batch.drop_column("worker")
