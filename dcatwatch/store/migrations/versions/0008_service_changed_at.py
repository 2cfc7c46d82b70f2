"""When a data service last changed: added, described differently, removed or back.

A dataset's level can rest on a service that serves it (dcat:servesDataset) or that its
distribution names (dcat:accessService); the dataset's own description, and so its hash,
does not change when only the service does. Scoring compares this time with its last run
and rescores when a service changed since. Existing rows start empty (no change known).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("data_service") as batch:
        batch.add_column(sa.Column("changed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("data_service") as batch:
        batch.drop_column("changed_at")
