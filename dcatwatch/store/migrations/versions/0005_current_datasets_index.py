"""An index of each source's current datasets, so counting them never reads descriptions.

A dataset row keeps its description (kilobytes of N-Triples) before ``removed_at``; SQLite
reads past it to test ``removed_at IS NULL``, so counting a source's 10 000 datasets read
20 MB. The partial index answers the harvest's counts (datasets, agencies, distributions by
join) from the index alone; ``removed_at`` is among its columns because SQLite only then
sees that it covers the query.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

CURRENT = sa.text("removed_at IS NULL")


def upgrade() -> None:
    op.create_index("ix_dataset_current", "dataset", ["source", "removed_at", "agency_id", "id"],
                    sqlite_where=CURRENT, postgresql_where=CURRENT)


def downgrade() -> None:
    op.drop_index("ix_dataset_current", table_name="dataset")
