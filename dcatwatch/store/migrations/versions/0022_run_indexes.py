"""Indexes for the run queries that read every run of every source on PostgreSQL.

At every start the daemon and each queue worker look for runs left ``running``; ``dcatwatch
runs --source`` lists a source's validations, a report reads the latest run of the agency's
sources: with no index these scanned ``harvest_run`` and ``validation_run`` whole (a year of
half-hourly runs of 200 sources is 3.5 million rows each). Partial indexes hold only the few
running rows.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

RUNNING = sa.text("status = 'running'")


def upgrade() -> None:
    op.create_index("ix_harvest_run_source_id", "harvest_run", ["source", "id"])
    op.create_index("ix_harvest_run_running", "harvest_run", ["source"],
                    sqlite_where=RUNNING, postgresql_where=RUNNING)
    op.create_index("ix_validation_run_source_started", "validation_run",
                    ["source", "started_at"])
    op.create_index("ix_validation_run_running", "validation_run", ["source"],
                    sqlite_where=RUNNING, postgresql_where=RUNNING)


def downgrade() -> None:
    op.drop_index("ix_validation_run_running", table_name="validation_run")
    op.drop_index("ix_validation_run_source_started", table_name="validation_run")
    op.drop_index("ix_harvest_run_running", table_name="harvest_run")
    op.drop_index("ix_harvest_run_source_id", table_name="harvest_run")
