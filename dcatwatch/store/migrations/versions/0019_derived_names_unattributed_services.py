"""Agencies say whether dcatwatch made their name; national snapshots count the data
services of no agency.

``agency.name_derived``: the publisher gave no name, so dcatwatch named the agency (the
registry's name for an organisation number in its IRI, else a readable form of the IRI).
Agencies stored before are left as they are (false): the next harvest that sees them names
those without a name. ``national_score.unattributed_services``: current data services of no
agency; snapshots taken before count none (0).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("agency") as batch:
        batch.add_column(sa.Column("name_derived", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
    with op.batch_alter_table("national_score") as batch:
        batch.add_column(sa.Column("unattributed_services", sa.Integer(), nullable=False,
                                   server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("national_score") as batch:
        batch.drop_column("unattributed_services")
    with op.batch_alter_table("agency") as batch:
        batch.drop_column("name_derived")
