"""Report deliveries are claimed before SMTP: holder, lease and when DATA was sent.

Two senders (the daemon's report job and a manual ``report send``) could both deliver the
same (agency, period). The claim columns make the hand-over provably at most once; existing
rows keep their state (a ``sending`` row without a lease may be taken over).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("report_delivery", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_by", sa.String(160), nullable=True))
        batch_op.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("data_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("report_delivery", schema=None) as batch_op:
        batch_op.drop_column("data_at")
        batch_op.drop_column("lease_until")
        batch_op.drop_column("claimed_by")
