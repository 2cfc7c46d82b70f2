"""Link checks say whose failure a failed check was, and when a broken link is confirmed.

A check that failed because the monitor could not ask (temporary DNS failure, no route) was
reported to the agency as a broken link and cost it MQA points. ``blame`` and ``cause`` keep
whose failure the latest check was, ``agency_failure_at`` the start of the agency-side
failures a later check must confirm, ``verdict`` the outcome reports and scoring read
(ok | failing | broken | inconclusive). Existing failures were judged without this, so they
start as ``failing`` (unconfirmed): the next check decides.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("link_check") as batch:
        batch.add_column(sa.Column("blame", sa.String(16), nullable=True))
        batch.add_column(sa.Column("cause", sa.String(32), nullable=True))
        batch.add_column(sa.Column("agency_failure_at", sa.DateTime(timezone=True),
                                   nullable=True))
        batch.add_column(sa.Column("verdict", sa.String(16), nullable=False,
                                   server_default="ok"))
    op.execute("UPDATE link_check SET verdict = 'failing' WHERE NOT reachable")
    with op.batch_alter_table("link_check") as batch:
        batch.alter_column("verdict", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("link_check") as batch:
        for column in ("verdict", "agency_failure_at", "cause", "blame"):
            batch.drop_column(column)
