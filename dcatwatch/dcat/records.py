"""Records as the store keeps them: datasets as N-Triples descriptions, services as JSON."""

from __future__ import annotations

import json
from typing import Any

from dcatwatch.dcat.model import Agent, ContactPoint, DataService, Dataset


def _plain(obj: Any) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in obj.__slots__}


def dumps(record: Any) -> str:
    """Compact JSON of a model record (nested records included)."""
    return json.dumps(record, default=_plain, ensure_ascii=False, separators=(",", ":"))


def _agent(data: dict[str, Any] | None) -> Agent | None:
    return Agent(**data) if data else None


def service_from_dict(data: dict[str, Any]) -> DataService:
    """Rebuild a :class:`DataService` from its JSON form."""
    data = dict(data)
    data["publisher"] = _agent(data.get("publisher"))
    data["contact_points"] = [ContactPoint(**c) for c in data.get("contact_points", [])]
    return DataService(**data)


def load_dataset(description: str, source: str = "source") -> Dataset:
    """Map a stored dataset description (N-Triples, dataset first) to a :class:`Dataset`."""
    from dcatwatch.dcat.mapper import Mapper
    from dcatwatch.dcat.parse import graph_from_ntriples

    node = description.split(" ", 1)[0]
    return Mapper(graph_from_ntriples(description), url="", source=source).dataset(node)


def load_service(text: str) -> DataService:
    return service_from_dict(json.loads(text))
