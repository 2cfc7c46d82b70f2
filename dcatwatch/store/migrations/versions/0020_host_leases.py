"""Host leases (``host_lease``): the per-host politeness rule holds across queue workers.

With ``[queue] backend = "postgres"`` every ``serve`` checks links; each kept its own host
queues, so three workers sent up to three requests at once to one host, with no gap between
them. A worker now leases a host before asking it and releases it with the time its next
request may start; a dead worker's leases expire.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "host_lease",
        sa.Column("host", sa.Text(), nullable=False),
        sa.Column("worker", sa.String(200), nullable=True),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.Column("not_before", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("host"),
    )


def downgrade() -> None:
    op.drop_table("host_lease")
