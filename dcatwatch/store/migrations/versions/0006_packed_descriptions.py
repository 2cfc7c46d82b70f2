"""Dataset descriptions stored packed (zlib), as the last column.

N-Triples compress to about a third, so a harvest writes, and the store keeps, a third of
the bytes (the 10 000-dataset benchmark's SQLite file held 30 MB of descriptions). The
column moves to the end of the row so that SQLite reads the other columns without reading
past it. Existing descriptions are packed here, 500 rows at a time.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

ROWS = 500


def upgrade() -> None:
    with op.batch_alter_table("dataset") as batch:
        batch.add_column(sa.Column("packed", sa.LargeBinary(), nullable=True))
    _convert("description", "packed",
             lambda text: zlib.compress(text.encode("utf-8", "surrogateescape"), 1))
    with op.batch_alter_table("dataset") as batch:
        batch.drop_column("description")
        batch.alter_column("packed", new_column_name="description", nullable=False,
                           existing_type=sa.LargeBinary())


def downgrade() -> None:
    with op.batch_alter_table("dataset") as batch:
        batch.add_column(sa.Column("text", sa.Text(), nullable=True))
    _convert("description", "text",
             lambda packed: zlib.decompress(bytes(packed)).decode("utf-8", "surrogateescape"))
    with op.batch_alter_table("dataset") as batch:
        batch.drop_column("description")
        batch.alter_column("text", new_column_name="description", nullable=False,
                           existing_type=sa.Text())


def _convert(source: str, target: str, change: Callable[[object], object]) -> None:
    connection = op.get_bind()
    last = 0
    while True:
        rows = connection.execute(sa.text(
            f"SELECT id, {source} FROM dataset WHERE id > :last ORDER BY id LIMIT {ROWS}"),
            {"last": last}).all()
        if not rows:
            return
        connection.execute(sa.text(f"UPDATE dataset SET {target} = :value WHERE id = :id"),
                           [{"id": row_id, "value": change(value)} for row_id, value in rows])
        last = rows[-1][0]
