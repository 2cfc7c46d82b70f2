"""Resolving publishers to agencies and keeping the agency table in step.

The registry (``[[agencies]]`` in the config, or ``dcatwatch agencies import``) names the
bodies that should publish; its aliases map further publisher IRIs to a registry id (the
configuration wins over imported aliases). Publishers outside the registry
become agencies too, identified by :func:`dcatwatch.dcat.agency.identify`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import Connection, bindparam, select, update

from dcatwatch.config import AgencySettings
from dcatwatch.dcat.agency import AgencyIdentity, identify
from dcatwatch.dcat.model import Agent
from dcatwatch.store.upsert import chunks, insert_missing, upsert
from dcatwatch.store.tables import AGENCIES, DATASETS, SERVICES



@dataclass(slots=True)
class Seen:
    identity: AgencyIdentity
    iris: set[str] = field(default_factory=set)


class AgencyResolver:
    """Maps publishers to agency ids and remembers which agencies a run saw."""

    def __init__(self, registry: Iterable[AgencySettings] = (),
                 imported: dict[str, str] | None = None) -> None:
        self.aliases = dict(imported or {})  # aliases of imported registry agencies
        self.aliases.update({alias: a.id for a in registry for alias in a.aliases})
        self.seen: dict[str, Seen] = {}

    def __call__(self, agent: Agent | None) -> str | None:
        if agent is None:
            return None
        registry_id = self.aliases.get(agent.iri)
        identity = identify(agent)
        if registry_id is not None:
            identity = AgencyIdentity(registry_id, identity.name, "alias")
        seen = self.seen.get(identity.id)
        if seen is None:
            seen = self.seen[identity.id] = Seen(identity)
        seen.iris.add(agent.iri)
        return identity.id


def registry_aliases(conn: Connection) -> dict[str, str]:
    """Publisher IRIs recorded for registry agencies (e.g. by ``agencies import``) → their ids."""
    rows = conn.execute(select(AGENCIES.c.id, AGENCIES.c.publisher_iris)
                        .where(AGENCIES.c.in_registry.is_(True)))
    return {iri: row.id for row in rows for iri in json.loads(row.publisher_iris)}


def sync_registry(conn: Connection, registry: Iterable[AgencySettings]) -> None:
    """Write the configured registry into the agency table (names and addresses win)."""
    rows = [{"id": a.id, "name": a.name, "email": a.email, "in_registry": True,
             "identity_rule": "registry", "flagged": False, "publisher_iris": "[]"}
            for a in registry]
    upsert(conn, AGENCIES, rows, update=("name", "email", "in_registry"))
    _adopt_aliased(conn, {alias: a.id for a in registry for alias in a.aliases})


def _adopt_aliased(conn: Connection, aliases: dict[str, str]) -> None:
    """Move the datasets and services of publishers now aliased to a registry agency."""
    if not aliases:
        return
    others = conn.execute(select(AGENCIES.c.id, AGENCIES.c.publisher_iris)
                          .where(AGENCIES.c.in_registry.is_(False)))
    for row in others:
        targets = {aliases[iri] for iri in json.loads(row.publisher_iris) if iri in aliases}
        if len(targets) == 1:
            target = targets.pop()
            for table in (DATASETS, SERVICES):
                conn.execute(update(table).where(table.c.agency_id == row.id)
                             .values(agency_id=target))


def record_seen(conn: Connection, seen: dict[str, Seen]) -> None:
    """Insert agencies first seen in this run; add publisher IRIs and names to known ones."""
    if not seen:
        return
    rows = {row.id: row for part in chunks(list(seen)) for row in conn.execute(
        select(AGENCIES.c.id, AGENCIES.c.name, AGENCIES.c.publisher_iris, AGENCIES.c.in_registry)
        .where(AGENCIES.c.id.in_(part)))}
    new, changed = [], []
    for agency_id, item in seen.items():
        row = rows.get(agency_id)
        if row is None:
            new.append({"id": agency_id, "name": item.identity.name, "email": None,
                        "in_registry": False, "identity_rule": item.identity.rule,
                        "flagged": item.identity.flagged,
                        "publisher_iris": json.dumps(sorted(item.iris))})
            continue
        iris = sorted(set(json.loads(row.publisher_iris)) | item.iris)
        name = row.name if row.in_registry or not item.identity.name else item.identity.name
        if iris != json.loads(row.publisher_iris) or name != row.name:
            changed.append({"row_id": agency_id, "v_name": name, "v_iris": json.dumps(iris)})
    insert_missing(conn, AGENCIES, new)  # another harvest may have added it meanwhile
    if changed:
        conn.execute(update(AGENCIES).where(AGENCIES.c.id == bindparam("row_id"))
                     .values(name=bindparam("v_name"), publisher_iris=bindparam("v_iris")),
                     changed)
