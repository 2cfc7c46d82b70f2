"""The conditional-GET cache is kept per (source, URL), not per URL.

Two sources on one URL shared a row: one source's run moved the cached hash on, and the
other then took the changed document for unchanged and kept stale datasets. The cache only
saves work, so the table is made anew, empty: each source's next run reads its document in
full and caches it again.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def _create(primary_key: tuple[str, ...]) -> None:
    op.create_table(
        "http_cache",
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("etag", sa.Text(), nullable=True),
        sa.Column("last_modified", sa.String(64), nullable=True),
        sa.Column("body_sha256", sa.String(64), nullable=True),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(*primary_key),
    )


def upgrade() -> None:
    op.drop_table("http_cache")
    _create(("source", "url"))


def downgrade() -> None:
    op.drop_table("http_cache")
    _create(("url",))
