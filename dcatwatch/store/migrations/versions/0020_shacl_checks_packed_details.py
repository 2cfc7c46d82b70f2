"""SHACL verdicts kept per description, and score details packed.

* ``shacl_check``: the DCAT-AP SHACL verdict of each dataset's description, with the hash
  it was checked at and what it was checked against, so a validation run checks only
  descriptions that changed; its findings packed beside it.
* ``dataset_score.compliance``: the verdict a score read (None: unchecked), so a score is
  stale once its dataset's verdict reads otherwise.
* ``dataset_score.details`` becomes binary and every row is repacked: a tag byte, then zstd
  with the trained details dictionary (:mod:`dcatwatch.store.packing`; about 5 KB of JSON →
  a few hundred bytes). Rows are rewritten 500 at a time in dataset id order. Scores are
  rescored once (``content_hash`` cleared) so they read the compliance indicator.

Revision ID: 0020
Revises: 0017
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from alembic import op

from dcatwatch.store.packing import pack_json, unpack_json

revision = "0020"
down_revision = "0017"
branch_labels = None
depends_on = None

ROWS = 500


def upgrade() -> None:
    op.create_table(
        "shacl_check",
        sa.Column("dataset_id", sa.Integer(), sa.ForeignKey("dataset.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("shapes", sa.String(length=16), nullable=False),
        sa.Column("conforms", sa.Boolean(), nullable=False),
        sa.Column("findings", sa.LargeBinary(), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("dataset_id"),
    )
    bind = op.get_bind()
    with op.batch_alter_table("dataset_score") as batch:
        batch.add_column(sa.Column("compliance", sa.Boolean(), nullable=True))
        batch.alter_column("details", type_=sa.LargeBinary(), existing_nullable=False,
                           **({"postgresql_using": "convert_to(details, 'UTF8')"}
                              if bind.dialect.name == "postgresql" else {}))
    _repack(lambda raw: pack_json(unpack_json(raw)))
    op.execute("UPDATE dataset_score SET content_hash = ''")  # rescored once: compliance


def downgrade() -> None:
    _repack(lambda raw: unpack_json(raw).encode("utf-8"))
    bind = op.get_bind()
    with op.batch_alter_table("dataset_score") as batch:
        batch.alter_column("details", type_=sa.Text(), existing_nullable=False,
                           **({"postgresql_using": "convert_from(details, 'UTF8')"}
                              if bind.dialect.name == "postgresql" else {}))
        batch.drop_column("compliance")
    op.drop_table("shacl_check")


def _repack(change: Callable[[bytes | str], bytes]) -> None:
    """Rewrite every score's details with ``change``."""
    connection = op.get_bind()
    last = 0
    while True:
        rows = connection.execute(sa.text(
            "SELECT dataset_id, details FROM dataset_score WHERE dataset_id > :last "
            f"ORDER BY dataset_id LIMIT {ROWS}"), {"last": last}).all()
        if not rows:
            return
        connection.execute(
            sa.text("UPDATE dataset_score SET details = :value WHERE dataset_id = :id"),
            [{"id": row_id, "value": change(value if isinstance(value, str) else bytes(value))}
             for row_id, value in rows])
        last = rows[-1][0]
