"""Remote JSON-LD contexts are cached in the store (``jsonld_context``).

A context allowed in ``[jsonld] allowed_contexts`` was fetched anew for every run of a
source; its body and validators are now kept, so the next harvest revalidates it with a
conditional GET and a server outage falls back on the stored copy.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "jsonld_context",
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("etag", sa.Text(), nullable=True),
        sa.Column("last_modified", sa.String(64), nullable=True),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("url"),
    )


def downgrade() -> None:
    op.drop_table("jsonld_context")
