"""Dataset descriptions repacked from zlib to zstd with the shipped N-Triples dictionary.

Stored descriptions now start with a tag byte naming their format (0x01: zstd frame packed
with ``dcatwatch/dcat/ntriples.zdict``; a zlib stream's first byte is 0x78, so rows from
before the tag still read back). This rewrites the zlib rows, 500 at a time and in id
order, so the store shrinks (generated descriptions: 4× → 15× smaller than the text, see
``benchmarks/bench_codec.py``). No column changes. Numbered 0012: 0010 and 0011 are taken
by migrations merged at the same time; at merge, ``down_revision`` follows the newest.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

import sqlalchemy as sa
from alembic import op

from dcatwatch.dcat.model import ZLIB, ZSTD_DICT, pack_description, unpack_description

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

ROWS = 500


def upgrade() -> None:
    _repack(ZLIB, lambda packed: pack_description(unpack_description(packed)))


def downgrade() -> None:
    _repack(ZSTD_DICT, lambda packed: zlib.compress(
        unpack_description(packed).encode("utf-8", "surrogateescape"), 1))


def _repack(tag: int, change: Callable[[bytes], bytes]) -> None:
    """Rewrite every description whose first byte is ``tag`` with ``change``."""
    connection = op.get_bind()
    last = 0
    while True:
        rows = connection.execute(sa.text(
            f"SELECT id, description FROM dataset WHERE id > :last ORDER BY id LIMIT {ROWS}"),
            {"last": last}).all()
        if not rows:
            return
        updates = [{"id": row_id, "value": change(bytes(value))} for row_id, value in rows
                   if value is not None and bytes(value)[:1] == bytes((tag,))]
        if updates:
            connection.execute(sa.text("UPDATE dataset SET description = :value WHERE id = :id"),
                               updates)
        last = rows[-1][0]
