"""The language an agency's reports are written in, kept with the agency.

The registry import (``dcatwatch agencies import``) reads a ``language`` column (``sv`` or
``en``); without a place to keep it, an agency imported with ``en`` got Swedish reports.
Empty means the ``[reports] language`` default.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("agency") as batch:
        batch.add_column(sa.Column("language", sa.String(length=2), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("agency") as batch:
        batch.drop_column("language")
