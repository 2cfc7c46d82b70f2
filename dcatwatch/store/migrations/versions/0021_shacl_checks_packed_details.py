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
* ``metadata_finding``: one packed row per dataset (a JSON list of ``[code, severity,
  record, subject, property, value]``) instead of one row per finding; the existing
  findings are copied over grouped, in their order.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from dcatwatch.store.packing import pack_json, unpack_json

revision = "0021"
down_revision = "0020"
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
    _replace_findings([sa.Column("findings", sa.LargeBinary(), nullable=False)], _packed)


def downgrade() -> None:
    _replace_findings([sa.Column("subject", sa.Text(), nullable=False),
                       sa.Column("record", sa.String(16), nullable=False),
                       sa.Column("code", sa.String(80), nullable=False),
                       sa.Column("severity", sa.String(8), nullable=False),
                       sa.Column("property", sa.String(64), nullable=False),
                       sa.Column("value", sa.Text(), nullable=True)], _unpacked)
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


FINDING = ("code", "severity", "record", "subject", "property", "value")


def _replace_findings(columns: list[sa.Column[Any]],
                      convert: Callable[[sa.Connection], Iterator[dict[str, Any]]]) -> None:
    """Make ``metadata_finding`` anew with ``columns`` (besides id, source, dataset_iri and
    found_at) and fill it with ``convert`` of the old table's rows."""
    with op.batch_alter_table("metadata_finding") as batch:
        batch.drop_index("ix_metadata_finding_dataset")
        batch.drop_index("ix_metadata_finding_source")
    op.rename_table("metadata_finding", "metadata_finding_old")
    op.create_table(
        "metadata_finding",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("dataset_iri", sa.Text(), nullable=True),
        *columns,
        sa.Column("found_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("metadata_finding") as batch:
        batch.create_index("ix_metadata_finding_dataset", ["dataset_iri"], unique=False)
        batch.create_index("ix_metadata_finding_source", ["source"], unique=False)
    names = ["source", "dataset_iri", "found_at", *(column.name for column in columns)]
    insert = sa.text(f"INSERT INTO metadata_finding ({', '.join(names)}) "
                     f"VALUES ({', '.join(':' + name for name in names)})")  # values as read
    connection = op.get_bind()
    batch_rows: list[dict[str, Any]] = []
    for row in convert(connection):
        batch_rows.append(row)
        if len(batch_rows) == ROWS:
            connection.execute(insert, batch_rows)
            batch_rows = []
    if batch_rows:
        connection.execute(insert, batch_rows)
    op.drop_table("metadata_finding_old")


def _old_rows(connection: sa.Connection, columns: str) -> Iterator[Sequence[Any]]:
    return iter(connection.execute(sa.text(
        f"SELECT {columns} FROM metadata_finding_old ORDER BY source, dataset_iri, id")
        .execution_options(stream_results=True, yield_per=ROWS)))


def _packed(connection: sa.Connection) -> Iterator[dict[str, Any]]:
    """One row per (source, dataset) of the old rows, its findings packed in order."""
    group: dict[str, Any] | None = None
    found: list[list[Any]] = []
    for source, dataset, found_at, *finding in _old_rows(
            connection, "source, dataset_iri, found_at, " + ", ".join(FINDING)):
        if group is None or (group["source"], group["dataset_iri"]) != (source, dataset):
            if group is not None:
                yield group | {"findings": _pack(found)}
            group, found = {"source": source, "dataset_iri": dataset, "found_at": found_at}, []
        found.append(list(finding))
    if group is not None:
        yield group | {"findings": _pack(found)}


def _pack(found: list[list[Any]]) -> bytes:
    return pack_json(json.dumps(found, ensure_ascii=False, separators=(",", ":")))


def _unpacked(connection: sa.Connection) -> Iterator[dict[str, Any]]:
    """One row per finding of the packed rows."""
    for source, dataset, found_at, packed in _old_rows(
            connection, "source, dataset_iri, found_at, findings"):
        for finding in json.loads(unpack_json(packed if isinstance(packed, str)
                                              else bytes(packed))):
            yield {"source": source, "dataset_iri": dataset, "found_at": found_at,
                   **dict(zip(FINDING, finding, strict=True))}
