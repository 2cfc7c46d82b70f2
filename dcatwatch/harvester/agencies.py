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

from dcatwatch.config import AgencySettings
from dcatwatch.dcat.agency import AgencyIdentity, identify
from dcatwatch.dcat.model import Agent
from dcatwatch.store.sql import Store, chunks, placeholders


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


def registry_aliases(store: Store) -> dict[str, str]:
    """Publisher IRIs recorded for registry agencies (e.g. by ``agencies import``) → their ids."""
    rows = store.all("SELECT id, publisher_iris FROM agency WHERE in_registry = ?", (True,))
    return {iri: agency_id for agency_id, iris in rows for iri in json.loads(iris)}


def sync_registry(store: Store, registry: Iterable[AgencySettings]) -> None:
    """Write the configured registry into the agency table (names and addresses win; a
    configured report language wins over an imported one)."""
    rows = [(a.id, a.name, a.email, a.language, True, "registry", False, "[]") for a in registry]
    store.executemany(
        "INSERT INTO agency (id, name, email, language, in_registry, identity_rule, flagged, "
        "publisher_iris) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
        "name = excluded.name, email = excluded.email, in_registry = excluded.in_registry, "
        "language = COALESCE(excluded.language, agency.language)", rows)
    _adopt_aliased(store, {alias: a.id for a in registry for alias in a.aliases})


def _adopt_aliased(store: Store, aliases: dict[str, str]) -> None:
    """Move the datasets and services of publishers now aliased to a registry agency."""
    if not aliases:
        return
    others = store.all("SELECT id, publisher_iris FROM agency WHERE in_registry = ?", (False,))
    for agency_id, publisher_iris in others:
        targets = {aliases[iri] for iri in json.loads(publisher_iris) if iri in aliases}
        if len(targets) == 1:
            target = targets.pop()
            for table in ("dataset", "data_service"):
                store.execute(f"UPDATE {table} SET agency_id = ? WHERE agency_id = ?",
                              (target, agency_id))


def record_seen(store: Store, seen: dict[str, Seen]) -> None:
    """Insert agencies first seen in this run; add publisher IRIs and names to known ones."""
    rows = {row[0]: row for part in chunks(list(seen)) for row in store.all(
        f"SELECT id, name, publisher_iris, in_registry FROM agency "
        f"WHERE id IN ({placeholders(len(part))})", part)}
    new, changed = [], []
    for agency_id, item in seen.items():
        row = rows.get(agency_id)
        if row is None:
            new.append((agency_id, item.identity.name, None, False, item.identity.rule,
                        item.identity.flagged, json.dumps(sorted(item.iris))))
            continue
        _, known_name, known_iris, in_registry = row
        iris = sorted(set(json.loads(known_iris)) | item.iris)
        name = known_name if in_registry or not item.identity.name else item.identity.name
        if iris != json.loads(known_iris) or name != known_name:
            changed.append((name, json.dumps(iris), agency_id))
    # another harvest may have added the same agency meanwhile: skip it then
    store.executemany("INSERT INTO agency (id, name, email, in_registry, identity_rule, flagged, "
                      "publisher_iris) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
                      new)
    store.executemany("UPDATE agency SET name = ?, publisher_iris = ? WHERE id = ?", changed)
