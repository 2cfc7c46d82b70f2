"""Checking DCAT-AP-SE metadata rules (:mod:`dcatwatch.validators.rules`) on triples.

The checks read a :class:`~dcatwatch.dcat.parse.Graph` (triples grouped by subject, terms
in N-Triples form), so they see every triple the publisher gave, also the ones the model
does not map: a whole parsed document (:func:`check_graph`) or a stored dataset description
(:func:`check_description`: the dataset, its distributions, publisher and contact points).

Which nodes are which records: catalogues, datasets, distributions and data services by
``rdf:type`` or by the property linking them (``dcat:dataset``, ``dcat:distribution``,
``dcat:accessService``/``dcat:service``), agents as objects of ``dct:publisher``, contact
points as objects of ``dcat:contactPoint``. A blank-node record is named after the record
pointing to it (``<parent> dct:publisher``) unless the caller names it.

Data services are stored as mapped JSON, not as triples: :func:`service_graph` rebuilds
their triples from the model (values that look like absolute IRIs become IRIs), and their
contact points are left out, as the model does not keep a contact point's ``rdf:type``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from dcatwatch.dcat import namespaces as ns
from dcatwatch.dcat import vocabularies as vocab
from dcatwatch.dcat.mapper import AGENT_FIELDS, SERVICE_FIELDS
from dcatwatch.dcat.model import Agent, DataService, best_text
from dcatwatch.dcat.parse import Graph, graph_from_ntriples
from dcatwatch.dcat.terms import iri, is_blank, is_iri, is_literal, literal, value
from dcatwatch.validators.rules import RULES, Record, Rule, Severity, hint

_HTTP = re.compile(r"^https?://[^\s/?#]+[^\s]*$", re.IGNORECASE)
_ABSOLUTE = re.compile(r"^[a-z][a-z0-9+.-]*:[^\s<>\"{}|\\^`]+$", re.IGNORECASE)
RULES_FOR: dict[Record, tuple[Rule, ...]] = {
    record: tuple(rule for rule in RULES if rule.record == record)
    for record in ("catalog", "dataset", "distribution", "data_service", "agent", "contact")
}

TYPE = iri(ns.RDF_TYPE)
_TITLE = iri(ns.DCT, "title")
_DISTRIBUTION = iri(ns.DCAT, "distribution")
CATALOG_TYPES = {iri(ns.CATALOG)}
DATASET_TYPES = {iri(ns.DATASET), iri(ns.DATASET_SERIES)}
DISTRIBUTION_TYPES = {iri(ns.DISTRIBUTION)}
SERVICE_TYPES = {iri(ns.DATA_SERVICE)}
LINKS: dict[str, Record] = {
    iri(ns.DCAT, "dataset"): "dataset",
    iri(ns.DCAT, "distribution"): "distribution",
    iri(ns.DCAT, "accessService"): "data_service",
    iri(ns.DCAT, "service"): "data_service",
    iri(ns.DCT, "publisher"): "agent",
    iri(ns.DCAT, "contactPoint"): "contact",
}
"""Predicate → the record its object is (the object of a link is checked as that record)."""
SHARED: frozenset[Record] = frozenset({"agent", "contact", "data_service"})
"""Records several datasets may point to: a named one is checked once per run."""


@dataclass(frozen=True, slots=True)
class Finding:
    """One rule broken by one record."""

    code: str
    severity: Severity
    record: Record
    subject: str  # the record's IRI, or a name for a blank node
    property: str  # compact property name ("" for the record itself)
    value: str | None = None  # the offending value, when there is one
    dataset: str | None = None  # the IRI (or name) of the dataset the record belongs to
    title: str | None = None  # that dataset's title

    def to_row(self) -> list[str | None]:
        """The stored form: what the record breaks, without its dataset (kept beside it)."""
        return [self.code, self.severity, self.record, self.subject, self.property, self.value]

    @classmethod
    def from_row(cls, row: list[Any], dataset: str | None) -> Finding:
        """A finding of ``dataset`` from its stored form (:meth:`to_row`)."""
        return cls(*row, dataset=dataset)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, with the dataset's title and the hint in Swedish and English
        (the dataset is the caller's to add: it knows it also for SHACL findings)."""
        return {"code": self.code, "severity": self.severity, "record": self.record,
                "subject": self.subject, "property": self.property, "value": self.value,
                "title": self.title,
                "hint": {lang: hint(self.code, lang, self.property, self.record)
                         for lang in ("sv", "en")}}


def check_node(graph: Graph, node: str, record: Record, subject: str,
               dataset: str | None = None, title: str | None = None) -> list[Finding]:
    """The findings of the rules of ``record`` on ``node`` (of the dataset ``dataset``)."""
    values_of: dict[str, list[str]] = {}
    for predicate, obj in graph.subjects.get(node, ()):
        values_of.setdefault(predicate[1:-1], []).append(obj)
    findings = []
    for rule in RULES_FOR[record]:
        values = [obj for name in rule.iris for obj in values_of.get(name, ())]
        for bad in _violations(rule, node, values):
            findings.append(Finding(rule.code, rule.severity, record, subject, rule.property,
                                    bad, dataset, title))
    return findings


def _violations(rule: Rule, node: str, values: list[str]) -> list[str | None]:
    """The offending values of ``values`` (None for a missing value or the record itself)."""
    kind = rule.kind
    if kind in ("required", "recommended"):
        return [] if values else [None]
    if kind == "blank_node":
        return [None] if is_blank(node) else []
    if kind == "max_one":
        distinct = list(dict.fromkeys(values))
        return [", ".join(map(value, distinct))] if len(distinct) > 1 else []
    if kind == "iri":
        return [value(v) for v in values if is_literal(v)]
    if kind == "http_url":
        return [value(v) for v in values
                if not (is_iri(v) and _HTTP.match(value(v))) and not _url_text(v)]
    if kind == "url_literal":
        return [value(v) for v in values if _url_text(v)]
    if kind == "media_type":
        return [value(v) for v in values if not _media_type(v)]
    if kind == "mailto":
        return [value(v) for v in values if not (is_iri(v) and v[1:8].lower() == "mailto:")]
    named = [value(v) for v in values if is_iri(v)]
    if kind == "vocabulary":
        assert rule.vocabulary is not None
        return [v for v in named if not rule.vocabulary.accepts(v)]
    if kind == "deprecated":
        assert rule.vocabulary is not None
        return [v for v in named if rule.vocabulary.accepts(v)]
    if kind == "equals":
        expected = _loose(rule.expected)
        return [value(v) for v in values if not (is_iri(v) and _loose(value(v)) == expected)]
    if kind == "licence_form":
        return [v for v in named if vocab.canonical_licence(v)]
    raise AssertionError(f"unknown rule kind {kind}")


def _url_text(term: str) -> bool:
    """Whether ``term`` is an http(s) URL written as a text (plain or ``xsd:anyURI``)."""
    return is_literal(term) and bool(_HTTP.match(value(term).strip()))


def _media_type(term: str) -> bool:
    if is_literal(term):
        return bool(vocab.MEDIA_TYPE_LITERAL.match(value(term).strip()))
    return is_iri(term) and (vocab.FILE_TYPE.accepts(value(term))
                              or vocab.MEDIA_TYPE_IRI.accepts(value(term)))


def _loose(text: str) -> str:
    return text.split("://", 1)[-1].rstrip("/")


def check_graph(graph: Graph, roots: Iterable[str] | None = None,
                names: Mapping[str, str] | None = None,
                seen: set[str] | None = None) -> list[Finding]:
    """Findings of every record in ``graph``.

    ``roots``: check only these dataset nodes and what they point to (a stored description);
    None: every record of the document. ``names``: subject names for nodes (blank ones
    otherwise get ``<parent> <property>``). ``seen``: named shared records (agents, contact
    points, services) already checked; they are skipped and the set grows.
    """
    seen = set() if seen is None else seen
    names = names or {}
    findings: list[Finding] = []
    titles: dict[str, str | None] = {}
    for record, node, subject, dataset in _records(graph, roots, names):
        if record in SHARED and not is_blank(node):
            if node in seen:
                continue
            seen.add(node)
        if dataset is not None and dataset not in titles:
            titles[dataset] = _title(graph, dataset)
        findings += check_node(graph, node, record, subject,
                               _name(dataset, names, "") if dataset else None,
                               titles.get(dataset) if dataset else None)
    return findings


def _title(graph: Graph, node: str) -> str | None:
    texts = {}
    for predicate, obj in graph.subjects.get(node, ()):
        if predicate == _TITLE and is_literal(obj):
            text, lang = literal(obj)
            texts.setdefault(lang, text)
    return best_text(texts)


def _owners(graph: Graph) -> dict[str, str]:
    """Distribution node → the dataset node listing it (the first one)."""
    owners: dict[str, str] = {}
    for node, types in graph.types.items():
        if not DATASET_TYPES.isdisjoint(types):
            for predicate, obj in graph.subjects.get(node, ()):
                if predicate == _DISTRIBUTION:
                    owners.setdefault(obj, node)
    return owners


def _records(graph: Graph, roots: Iterable[str] | None,
             names: Mapping[str, str]) -> list[tuple[Record, str, str, str | None]]:
    """(record, node, subject, dataset node) of the records to check, each node once,
    parents first; the dataset node is the dataset the record is or belongs to."""
    if roots is None:
        starts: list[tuple[Record, str]] = [
            (record, node) for node, types in graph.types.items()
            for record, wanted in (("catalog", CATALOG_TYPES), ("dataset", DATASET_TYPES),
                                   ("distribution", DISTRIBUTION_TYPES),
                                   ("data_service", SERVICE_TYPES))
            if not wanted.isdisjoint(types)]
    else:
        starts = [("dataset", node) for node in roots]
    owners = _owners(graph) if roots is None else {}
    found: list[tuple[Record, str, str, str | None]] = []
    done: set[str] = set()
    todo = [(record, node, _name(node, names, ""),
             node if record == "dataset" else owners.get(node)) for record, node in starts]
    while todo:
        record, node, subject, dataset = todo.pop(0)
        if node in done:
            continue
        done.add(node)
        found.append((record, node, subject, dataset))
        for predicate, obj in graph.subjects.get(node, ()):
            linked = LINKS.get(predicate)
            if linked is None or is_literal(obj) or obj in done:
                continue
            if linked in ("dataset", "data_service") and obj not in graph.subjects:
                continue  # described elsewhere (or not at all): not this graph's record
            owner = obj if linked == "dataset" else dataset
            todo.append((linked, obj, _name(obj, names, f"{subject} {_compact(predicate)}"),
                         owner))
    return found


def _name(node: str, names: Mapping[str, str], fallback: str) -> str:
    if node in names:
        return names[node]
    return value(node) if not is_blank(node) else (fallback or node)


def _compact(predicate: str) -> str:
    name = predicate[1:-1]
    for prefix, namespace in (("dct", ns.DCT), ("dcat", ns.DCAT)):
        if name.startswith(namespace):
            return f"{prefix}:{name[len(namespace):]}"
    return predicate


def check_description(description: str, names: Mapping[str, str] | None = None,
                      seen: set[str] | None = None) -> list[Finding]:
    """Findings of a stored dataset description (N-Triples, the dataset's triples first)."""
    graph = graph_from_ntriples(description)
    root = description.split(" ", 1)[0] if description else None
    return check_graph(graph, [root] if root else [], names, seen)


def check_service(service: DataService, seen: set[str] | None = None) -> list[Finding]:
    """Findings of a stored (mapped) data service and its publisher (see the module doc)."""
    seen = set() if seen is None else seen
    graph, node = service_graph(service)
    findings = check_node(graph, node, "data_service", service.iri)
    publisher = service.publisher
    if publisher is not None:
        agent = _agent_node(publisher)
        if publisher.blank or agent not in seen:
            seen.add(agent)
            findings += check_node(graph, agent, "agent", publisher.iri)
    return findings


def service_graph(service: DataService) -> tuple[Graph, str]:
    """Triples of a mapped data service and its publisher, rebuilt from the model."""
    node = "_:service" if service.blank else f"<{service.iri}>"
    lines = [f"{node} {TYPE} {t} .\n" for t in map(_term, service.types)]
    lines += _record_lines(node, service, SERVICE_FIELDS)
    if service.publisher is not None:
        agent = _agent_node(service.publisher)
        lines.append(f"{node} {iri(ns.DCT, 'publisher')} {agent} .\n")
        lines += _record_lines(agent, service.publisher, AGENT_FIELDS)
    return graph_from_ntriples("".join(lines)), node


def _agent_node(agent: Agent) -> str:
    return "_:publisher" if agent.blank else f"<{agent.iri}>"


def _record_lines(node: str, record: Any, fields: Mapping[str, tuple[str, str]]) -> list[str]:
    lines, done = [], set()
    for predicate, (attribute, kind) in fields.items():
        if attribute in done:  # several predicates map to one attribute: write it once
            continue
        done.add(attribute)
        content = getattr(record, attribute)
        if kind == "text":
            terms = [_literal(text, lang) for lang, text in content.items()]
        else:
            items = content if isinstance(content, list) else [content] if content else []
            terms = [_term(item) for item in items]
        lines += [f"{node} {predicate} {term} .\n" for term in terms]
    return lines


def _term(text: str) -> str:
    return f"<{text}>" if _ABSOLUTE.match(text) else _literal(text, "")


def _literal(text: str, lang: str) -> str:
    escaped = (text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
               .replace("\r", "\\r"))
    return f'"{escaped}"' + (f"@{lang}" if lang else "")
