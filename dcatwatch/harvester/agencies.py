"""Resolving publishers to agencies and keeping the agency table in step.

The registry (``[[agencies]]`` in the config, or ``dcatwatch agencies import``) names the
bodies that should publish; its aliases map further publisher IRIs to a registry id (the
configuration wins over imported aliases). Publishers outside the registry
become agencies too, identified by :func:`dcatwatch.dcat.agency.identify`.

A dataset or service without a usable publisher has already taken its catalogue's
``dct:publisher`` (the mapper); failing that it takes its source's configured agency
(``agency`` on a ``[[sources]]`` entry), else it stays unattributed (agency None), which the
scores, ``harvest`` and ``/metrics`` count and show.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field

from dcatwatch.config import AgencySettings
from dcatwatch.dcat.agency import AgencyIdentity, derived_name, identify
from dcatwatch.dcat.model import Agent
from dcatwatch.store.core import Unit


@dataclass(slots=True)
class Seen:
    identity: AgencyIdentity
    iris: set[str] = field(default_factory=set)


class AgencyResolver:
    """Maps publishers to agency ids and remembers which agencies a run saw."""

    def __init__(self, registry: Iterable[AgencySettings] = (),
                 imported: dict[str, str] | None = None,
                 source_agency: str | None = None) -> None:
        self.source_agency = source_agency  # for publisher-less records; None: unattributed
        self.aliases = dict(imported or {})  # aliases of imported registry agencies
        self.aliases |= {alias: a.id for a in registry for alias in a.aliases}
        self.seen: dict[str, Seen] = {}

    def __call__(self, agent: Agent | None) -> str | None:
        if agent is None:
            if self.source_agency is not None and self.source_agency not in self.seen:
                self.seen[self.source_agency] = Seen(AgencyIdentity(self.source_agency, None,
                                                                    "source"))
            return self.source_agency
        registry_id = self.aliases.get(agent.iri)
        identity = identify(agent)
        if registry_id is not None:
            identity = AgencyIdentity(registry_id, identity.name, "alias")
        seen = self.seen.get(identity.id)
        if seen is None:
            seen = self.seen[identity.id] = Seen(identity)
        seen.iris.add(agent.iri)
        return identity.id


def sync_registry(unit: Unit, registry: Iterable[AgencySettings]) -> None:
    """Write the configured registry into the agency table (names and addresses win; a
    configured report language wins over an imported one)."""
    registry = list(registry)
    unit.agencies.sync_registry([{"id": a.id, "name": a.name, "email": a.email,
                                  "language": a.language} for a in registry])
    _adopt_aliased(unit, {alias: a.id for a in registry for alias in a.aliases})


def _adopt_aliased(unit: Unit, aliases: dict[str, str]) -> None:
    """Move the datasets and services of publishers now aliased to a registry agency."""
    if not aliases:
        return
    for agency_id, publisher_iris in unit.agencies.outside_registry():
        targets = {aliases[iri] for iri in publisher_iris if iri in aliases}
        if len(targets) == 1:
            unit.agencies.reassign(agency_id, targets.pop())


def record_seen(unit: Unit, seen: dict[str, Seen]) -> None:
    """Insert agencies first seen in this run; add publisher IRIs and names to known ones.

    A publisher's own name wins; an agency with none is given one dcatwatch derives
    (:func:`dcatwatch.dcat.agency.derived_name`), flagged ``name_derived``."""
    rows = unit.agencies.get(list(seen))
    namer = _Namer(unit)
    new, changed = [], []
    for agency_id, item in seen.items():
        row = rows.get(agency_id)
        if row is None:
            name, derived = item.identity.name, False
            if name is None:
                name = namer(item.iris)
                derived = name is not None
            new.append({"id": agency_id, "name": name, "email": None,
                        "in_registry": False, "identity_rule": item.identity.rule,
                        "flagged": item.identity.flagged, "name_derived": derived,
                        "publisher_iris": sorted(item.iris)})
            continue
        known_iris = json.loads(row.publisher_iris)
        iris = sorted(set(known_iris) | item.iris)
        name, derived = row.name, row.name_derived
        if not row.in_registry:
            if item.identity.name:
                name, derived = item.identity.name, False
            elif name is None or derived:
                name = namer(iris) or name
                derived = name is not None
        if iris != known_iris or (name, derived) != (row.name, row.name_derived):
            changed.append((agency_id, name, derived, iris))
    unit.agencies.record_seen(new, changed)


class _Namer:
    """Derives agency names, reading the registry's names once, when first needed."""

    def __init__(self, unit: Unit) -> None:
        self.unit = unit
        self.registry: dict[str, str] | None = None

    def __call__(self, iris: Iterable[str]) -> str | None:
        if self.registry is None:
            self.registry = {row.id: row.name for row in self.unit.agencies.in_registry()
                             if row.name}
        return derived_name(sorted(iris), self.registry)
