"""Agencies stored under ids of the earlier rule take the ids the current rule gives them.

The agency id rule changed (:mod:`dcatwatch.dcat.agency`: Unicode-aware slugs with a hash of
the whole name): a store harvested before holds ``name-umea-kommun``-style ids, names cut at
40 characters, and ``name-unnamed`` for every name without Latin letters. Left alone, the next
harvest would file the same publishers under new ids and split their history. For each
agency outside the registry, :func:`dcatwatch.dcat.agency.current_id` gives the new id where
it can be computed from the stored publisher IRIs; the agency row and every reference to it
(datasets, data services, dataset scores, agency snapshots with their JSON details, report
deliveries) move to it. Where the new id is already an agency (a harvest ran first), the two
rows become one. Ids that cannot be computed (``name-unnamed`` holding several publishers)
stay; the next harvest files those publishers under their own ids. Registry agencies keep
their configured ids.

Downgrade changes nothing: the old ids merged publishers and cannot be recomputed.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

from dcatwatch.dcat.agency import current_id

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_AGENCY = sa.table("agency", sa.column("id", sa.String), sa.column("in_registry", sa.Boolean),
                   sa.column("publisher_iris", sa.Text))
_REFERENCES = [sa.table(name, sa.column("agency_id", sa.String))
               for name in ("dataset", "data_service", "dataset_score")]
_SNAPSHOTS = sa.table("agency_score", sa.column("id", sa.Integer),
                      sa.column("agency_id", sa.String), sa.column("details", sa.Text))
_DELIVERIES = sa.table("report_delivery", sa.column("agency_id", sa.String),
                       sa.column("period", sa.String))


def upgrade() -> None:
    connection = op.get_bind()
    rows = connection.execute(sa.select(_AGENCY.c.id, _AGENCY.c.in_registry,
                                        _AGENCY.c.publisher_iris)).all()
    iris_of = {row.id: json.loads(row.publisher_iris or "[]") for row in rows}
    moves = {}
    for row in rows:
        if row.in_registry:
            continue
        new = current_id(row.id, iris_of[row.id])
        if new is not None and new != row.id:
            moves[row.id] = new
    for old, new in sorted(moves.items()):
        _move(connection, old, new, iris_of)


def _move(connection: sa.Connection, old: str, new: str, iris_of: dict[str, list[str]]) -> None:
    if new in iris_of:  # the new id is an agency already: one row with both publishers' IRIs
        merged = sorted(set(iris_of[new]) | set(iris_of[old]))
        connection.execute(sa.update(_AGENCY).where(_AGENCY.c.id == new)
                           .values(publisher_iris=json.dumps(merged, ensure_ascii=False)))
        connection.execute(sa.delete(_AGENCY).where(_AGENCY.c.id == old))
        iris_of[new] = merged
    else:
        connection.execute(sa.update(_AGENCY).where(_AGENCY.c.id == old).values(id=new))
        iris_of[new] = iris_of[old]
    del iris_of[old]
    for table in _REFERENCES:
        connection.execute(sa.update(table).where(table.c.agency_id == old).values(agency_id=new))
    snapshots = connection.execute(sa.select(_SNAPSHOTS.c.id, _SNAPSHOTS.c.details)
                                   .where(_SNAPSHOTS.c.agency_id == old)).all()
    for snapshot_id, details in snapshots:
        data = json.loads(details)
        if isinstance(data, dict) and data.get("id") == old:
            data["id"] = new
            details = json.dumps(data, ensure_ascii=False)
        connection.execute(sa.update(_SNAPSHOTS).where(_SNAPSHOTS.c.id == snapshot_id)
                           .values(agency_id=new, details=details))
    taken = sa.select(_DELIVERIES.c.period).where(_DELIVERIES.c.agency_id == new)
    # a period reported under both ids keeps the old row under the old id (history only)
    connection.execute(sa.update(_DELIVERIES)
                       .where(_DELIVERIES.c.agency_id == old, ~_DELIVERIES.c.period.in_(taken))
                       .values(agency_id=new))


def downgrade() -> None:
    """Nothing to undo: the earlier ids cannot be recomputed (see the module doc)."""
