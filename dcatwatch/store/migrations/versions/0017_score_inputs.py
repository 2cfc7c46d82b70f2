"""Scores keep what they were computed from besides the description, so a scoring run
rescores only the datasets whose inputs changed.

A scoring run rescored every dataset whenever any link had been checked or any data service
had changed since the last run: during a national round of link checks that was every run,
each holding the write lock for the whole store. Each score now keeps the link checks it
read (``dataset_score_link``: URL, status, Content-Type, reachability as scoring saw them)
and the data services it read (``dataset_score.service_inputs``); a score is stale when one
of them reads otherwise now.

Scores stored before keep no inputs: their ``content_hash`` is cleared so that the next
scoring run rescores them (once) and records what they read.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dataset_score_link",
        sa.Column("dataset_id", sa.Integer(), sa.ForeignKey("dataset.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("content_type", sa.Text(), nullable=True),
        sa.Column("reachable", sa.Boolean(), nullable=True),
        sa.PrimaryKeyConstraint("dataset_id", "url"),
    )
    op.create_index("ix_dataset_score_link_url", "dataset_score_link", ["url"])
    with op.batch_alter_table("dataset_score") as batch:
        batch.add_column(sa.Column("service_inputs", sa.Text(), nullable=True))
    op.execute("UPDATE dataset_score SET content_hash = ''")  # rescored once, inputs kept


def downgrade() -> None:
    with op.batch_alter_table("dataset_score") as batch:
        batch.drop_column("service_inputs")
    op.drop_index("ix_dataset_score_link_url", table_name="dataset_score_link")
    op.drop_table("dataset_score_link")
