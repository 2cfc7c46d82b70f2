"""National snapshots count the datasets of no agency (``unattributed``).

National ``datasets`` now counts every current dataset, attributed or not; the new column
says how many of them belong to no agency. Snapshots taken before count none (0): their
``datasets`` left those datasets out.

Numbered 0011: a migration 0010 is being merged on main at the same time; at merge this one
revises whichever migration is then the head.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("national_score") as batch:
        batch.add_column(sa.Column("unattributed", sa.Integer(), nullable=False,
                                   server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("national_score") as batch:
        batch.drop_column("unattributed")
