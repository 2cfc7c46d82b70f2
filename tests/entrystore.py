"""A loopback emulation of dataportal.se's EntryStore search API, for tests.

    store = EntryStore.from_file(server, FIXTURES / "dataportal" / "dump.rdf")
    reader.read(store.base_url, organisations=["2021005448"])

The corpus is a dump-shaped catalogue cut into entries the way EntryScape keeps records:
every IRI subject (dataset, distribution, data service, organisation …) is one entry whose
``metadata`` graph holds its triples and the blank nodes it reaches. Datasets and services
live in their publisher's context, distributions and contact points in the context of the
record that names them, organisations in context ``1``.

``GET {base}search?type=solr&query=…`` answers as EntryStore does (``offset``, ``limit``,
``results`` = the total, ``resource.children`` with ``entryId``, ``contextId``,
``metadata`` as RDF/JSON, ``info``, ``relations``). It understands the query subset
dcatwatch sends -- ``field:value`` terms with backslash escapes, ``AND``/``OR``/``NOT`` and
parentheses over ``rdfType``, ``public``, ``context``, ``resource``, ``uri`` and
``metadata.predicate.uri.<md5[:8]>`` -- and answers 400 to anything else, to a query shorter
than 3 characters or to an unknown sort field. ``limit`` is capped at ``max_limit`` (100 as
on the real server). Without a sort the order is "relevance", which here changes on every
request, so a reader that does not sort misses records.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pyoxigraph as ox

from tests.servers import LoopbackServer, Request, Response

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
DCAT = "http://www.w3.org/ns/dcat#"
DCT = "http://purl.org/dc/terms/"
FOAF = "http://xmlns.com/foaf/0.1/"
ESTERMS = "http://entryscape.com/terms/"
XSD = "http://www.w3.org/2001/XMLSchema#"
ORGANISATIONS_CONTEXT = "1"
FIELD_HASHED = re.compile(r"^metadata\.predicate\.uri\.([0-9a-f]{8})$")
SORT_FIELDS = {"created", "modified", "uri", "score"}
SYNTAXES = {".rdf": ox.RdfFormat.RDF_XML, ".ttl": ox.RdfFormat.TURTLE,
            ".nt": ox.RdfFormat.N_TRIPLES}
RDFJSON = dict[str, dict[str, list[dict[str, str]]]]


class BadRequest(Exception):
    """The request is one EntryStore would refuse with 400."""


@dataclass
class Entry:
    """One EntryStore entry: a record and its index fields."""

    context: str
    id: str
    resource: str
    metadata: RDFJSON
    created: datetime
    types: set[str] = field(default_factory=set)
    predicates: dict[str, set[str]] = field(default_factory=dict)  # md5[:8] -> IRI objects


@dataclass
class Failure:
    """Answer ``status`` to searches at ``offset`` (whose query contains ``query``)."""

    offset: int
    status: int
    times: int
    query: str | None


class EntryStore:
    """The emulated store, serving ``{base}search`` on a :class:`LoopbackServer`."""

    def __init__(self, server: LoopbackServer, entries: list[Entry], *, base_path: str = "/store/",
                 max_limit: int = 100) -> None:
        self.base_url = server.url(base_path)
        self.entries = entries
        self.max_limit = max_limit
        self.failures: list[Failure] = []
        self.extra_results = 0  # reported beyond what matches: an index lagging behind
        self.searches: list[dict[str, str]] = []
        self._relevance = random.Random(7)
        server.handle(base_path + "search", self._answer)

    @classmethod
    def from_file(cls, server: LoopbackServer, path: Path, max_limit: int = 100) -> EntryStore:
        """An emulated store holding the records of the catalogue at ``path``."""
        triples = ox.parse(path=str(path), format=SYNTAXES[path.suffix])
        return cls(server, cut_into_entries(list(triples)), max_limit=max_limit)

    @classmethod
    def from_ntriples(cls, server: LoopbackServer, text: str, max_limit: int = 100) -> EntryStore:
        """An emulated store holding the records of an N-Triples text."""
        triples = ox.parse(input=text.encode(), format=ox.RdfFormat.N_TRIPLES)
        return cls(server, cut_into_entries(list(triples)), max_limit=max_limit)

    def fail(self, offset: int, status: int = 500, times: int = 1,
             query: str | None = None) -> None:
        """Make the next ``times`` searches at ``offset`` (for ``query``) answer ``status``."""
        self.failures.append(Failure(offset, status, times, query))

    def record_searches(self) -> list[dict[str, str]]:
        """The parameters of the searches for datasets/services (not linked-record lookups)."""
        return [s for s in self.searches if "rdfType:" in s["query"]]

    # -- answering -------------------------------------------------------------------------

    def _answer(self, request: Request) -> Response:
        params = {k: v[0] for k, v in parse_qs(urlsplit(request.path).query).items()}
        self.searches.append(params)
        try:
            return self._search(params)
        except BadRequest as exc:
            return Response(400, json.dumps({"error": str(exc)}).encode(),
                            {"Content-Type": "application/json"})

    def _search(self, params: dict[str, str]) -> Response:
        if params.get("type") != "solr":
            raise BadRequest("type must be solr")
        query = params.get("query", "")
        if len(query) < 3:
            raise BadRequest("query must be at least 3 characters")
        offset = int(params.get("offset", "0"))
        limit = min(int(params.get("limit", "50")), self.max_limit)
        for failure in self.failures:
            if failure.times and failure.offset == offset and (
                    failure.query is None or failure.query in query):
                failure.times -= 1
                return Response(failure.status, b"failure injected")
        matches = parse_query(query, self.field_values)
        hits = sorted((e for e in self.entries if matches(e)), key=self._sort_key(params))
        page = hits[offset:offset + limit]
        body = {"offset": offset, "limit": limit, "results": len(hits) + self.extra_results,
                "resource": {"children": [self._child(e) for e in page]}}
        return Response(200, json.dumps(body, ensure_ascii=False).encode(),
                        {"Content-Type": "application/json"})

    def _sort_key(self, params: dict[str, str]) -> Callable[[Entry], tuple]:
        clauses = [c.split() for c in params.get("sort", "score desc").split(",")]
        for clause in clauses:
            if len(clause) != 2 or clause[0] not in SORT_FIELDS or clause[1] not in ("asc", "desc"):
                raise BadRequest(f"cannot sort on {' '.join(clause)!r}")
        if clauses[0][0] == "score":
            shuffle = {id(e): self._relevance.random() for e in self.entries}
            return lambda e: (shuffle[id(e)],)

        def key(entry: Entry) -> tuple:
            values = []
            for name, direction in clauses:
                value = {"created": entry.created, "modified": entry.created,
                         "uri": self.entry_uri(entry)}[name]
                if direction == "desc":
                    value = _Reversed(value)
                values.append(value)
            return tuple(values)
        return key

    def entry_uri(self, entry: Entry) -> str:
        return f"{self.base_url}{entry.context}/entry/{entry.id}"

    def context_uri(self, entry: Entry) -> str:
        return f"{self.base_url}{entry.context}"

    def _child(self, entry: Entry) -> dict[str, object]:
        es = "http://entrystore.org/terms/"
        info = {self.entry_uri(entry): {
            es + "resource": [{"type": "uri", "value": entry.resource}],
            es + "metadata": [{"type": "uri",
                               "value": f"{self.base_url}{entry.context}/metadata/{entry.id}"}],
            DCT + "created": [{"type": "literal", "value": entry.created.isoformat(),
                               "datatype": XSD + "dateTime"}]}}
        return {"entryId": entry.id, "contextId": entry.context, "metadata": entry.metadata,
                "info": info, "relations": {}}

    def field_values(self, entry: Entry, name: str) -> set[str]:
        """The values of index field ``name`` of ``entry`` (a name :func:`parse_query` knows)."""
        if name == "rdfType":
            return entry.types
        if name == "public":
            return {"true"}
        if name == "context":
            return {self.context_uri(entry)}
        if name == "resource":
            return {entry.resource}
        if name == "uri":
            return {self.entry_uri(entry)}
        return entry.predicates.get(name.rsplit(".", 1)[1], set())


@dataclass(frozen=True)
class _Reversed:
    value: object

    def __lt__(self, other: _Reversed) -> bool:
        return other.value < self.value  # type: ignore[operator]


# -- the corpus -------------------------------------------------------------------------------

def cut_into_entries(triples: list[ox.Triple], start: datetime | None = None) -> list[Entry]:
    """Entries as EntryScape would keep the records of a harvested dump (see module doc)."""
    by_subject: dict[ox.NamedNode | ox.BlankNode, list[ox.Triple]] = {}
    for triple in triples:
        by_subject.setdefault(triple.subject, []).append(triple)
    types = {s: {t.object.value for t in ts if t.predicate.value == RDF_TYPE}
             for s, ts in by_subject.items()}
    contexts = _contexts(by_subject, types)
    created = start or datetime(2024, 1, 1, tzinfo=UTC)
    entries = []
    for number, subject in enumerate(s for s in by_subject if isinstance(s, ox.NamedNode)):
        if DCAT + "Catalog" in types[subject]:
            continue  # the portal's own catalogue record is not searched for
        metadata: RDFJSON = {}
        predicates: dict[str, set[str]] = {}
        for triple in _closure(subject, by_subject):
            key = _rdf_json_subject(triple.subject)
            metadata.setdefault(key, {}).setdefault(triple.predicate.value, []).append(
                rdf_json_object(triple.object))
            if isinstance(triple.object, ox.NamedNode):
                digest = hashlib.md5(triple.predicate.value.encode()).hexdigest()[:8]
                predicates.setdefault(digest, set()).add(triple.object.value)
        entries.append(Entry(contexts.get(subject, ORGANISATIONS_CONTEXT), str(1000 + number),
                             subject.value, metadata, created + timedelta(seconds=number),
                             types[subject], predicates))
    return entries


def _contexts(by_subject: dict, types: dict) -> dict[ox.NamedNode, str]:
    """Publishers' records in the publisher's context; what they name, in the same one."""
    publisher_contexts: dict[str, str] = {}
    contexts: dict[ox.NamedNode, str] = {}
    for subject, triples in by_subject.items():
        if not types[subject] & {DCAT + "Dataset", DCAT + "DatasetSeries", DCAT + "DataService"}:
            continue
        publisher = next((t.object.value for t in triples
                          if t.predicate.value == DCT + "publisher"), "none")
        context = publisher_contexts.setdefault(publisher, str(10 + len(publisher_contexts)))
        contexts[subject] = context
        for triple in triples:
            if isinstance(triple.object, ox.NamedNode) and triple.predicate.value in (
                    DCAT + "distribution", DCAT + "contactPoint"):
                contexts.setdefault(triple.object, context)
    for subject, triples in by_subject.items():  # access services named by distributions
        for triple in triples:
            if triple.predicate.value == DCAT + "accessService" and subject in contexts:
                contexts.setdefault(triple.object, contexts[subject])
    return contexts


def _closure(subject: ox.NamedNode, by_subject: dict) -> Iterator[ox.Triple]:
    """The subject's triples and those of every blank node they reach."""
    todo, seen = [subject], {subject}
    while todo:
        for triple in by_subject.get(todo.pop(), ()):
            yield triple
            if isinstance(triple.object, ox.BlankNode) and triple.object not in seen:
                seen.add(triple.object)
                todo.append(triple.object)


def _rdf_json_subject(term: ox.NamedNode | ox.BlankNode) -> str:
    return term.value if isinstance(term, ox.NamedNode) else f"_:{term.value}"


def rdf_json_object(term: ox.NamedNode | ox.BlankNode | ox.Literal) -> dict[str, str]:
    """An object in RDF/JSON form."""
    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": f"_:{term.value}"}
    literal: dict[str, str] = {"type": "literal", "value": term.value}
    if term.language:
        literal["lang"] = term.language
    elif term.datatype.value != XSD + "string":
        literal["datatype"] = term.datatype.value
    return literal


# -- queries ----------------------------------------------------------------------------------

Matcher = Callable[[Entry], bool]
Fields = Callable[[Entry, str], set[str]]
FIELDS = {"rdfType", "public", "context", "resource", "uri"}
_TOKEN = re.compile(r"\s+|(\()|(\))|((?:\\.|[^\s()\\])+)")


def parse_query(query: str, fields: Fields) -> Matcher:
    """A matcher for the Solr query subset in the module docstring; ``fields`` gives an
    entry's values of an index field."""
    tokens = _tokens(query)
    position = 0

    def peek() -> str | None:
        return tokens[position] if position < len(tokens) else None

    def take() -> str:
        nonlocal position
        if position >= len(tokens):
            raise BadRequest("unexpected end of query")
        position += 1
        return tokens[position - 1]

    def either() -> Matcher:
        options = [both()]
        while peek() == "OR":
            take()
            options.append(both())
        return lambda e: any(m(e) for m in options)

    def both() -> Matcher:
        parts = [single()]
        while peek() == "AND":
            take()
            parts.append(single())
        return lambda e: all(m(e) for m in parts)

    def single() -> Matcher:
        token = take()
        if token == "NOT":
            inner = single()
            return lambda e: not inner(e)
        if token == "(":
            inner = either()
            if take() != ")":
                raise BadRequest("unbalanced parentheses")
            return inner
        return _term(token, fields)

    matcher = either()
    if position != len(tokens):
        raise BadRequest(f"cannot parse the query at {tokens[position]!r}")
    return matcher


def _tokens(query: str) -> list[str]:
    tokens = []
    for match in _TOKEN.finditer(query):
        token = match.group(1) or match.group(2) or match.group(3)
        if token:
            tokens.append(token)
    return tokens


def _term(token: str, fields: Fields) -> Matcher:
    split = re.match(r"^((?:\\.|[^:\\])+):(.+)$", token)
    if not split:
        raise BadRequest(f"not a field query: {token!r}")
    name, raw = split.group(1), split.group(2)
    if name not in FIELDS and not FIELD_HASHED.match(name):
        raise BadRequest(f"unknown search field {name!r}")
    if re.search(r"(?<!\\)[*?]", raw):
        raise BadRequest("wildcards are not emulated")
    value = re.sub(r"\\(.)", r"\1", raw)

    return lambda entry: value in fields(entry, name)


# -- a synthetic dump-shaped catalogue ----------------------------------------------------------

def synthetic_dump(datasets: int, agencies: int = 3) -> str:
    """N-Triples of a dump-shaped catalogue: ``datasets`` datasets spread over ``agencies``
    dataportal.se organisations, every third served by an API (EntryScape's classes)."""
    out = []
    add = out.append
    for a in range(agencies):
        agency = f"<http://dataportal.se/organisation/SE202100{a:04d}>"
        add(f'{agency} <{RDF_TYPE}> <{FOAF}Agent> .')
        add(f'{agency} <{FOAF}name> "Myndighet {a}"@sv .')
        add(f'{agency} <{FOAF}name> "Agency {a}"@en .')
    for i in range(datasets):
        agency = f"<http://dataportal.se/organisation/SE202100{i % agencies:04d}>"
        ds, dist = f"<https://data.example.se/dataset/{i}>", f"<https://data.example.se/dist/{i}>"
        add(f"{ds} <{RDF_TYPE}> <{DCAT}Dataset> .")
        add(f'{ds} <{DCT}title> "Datamängd {i}"@sv .')
        add(f"{ds} <{DCT}publisher> {agency} .")
        add(f"{ds} <{DCAT}distribution> {dist} .")
        add(f"{ds} <{DCAT}contactPoint> _:c{i} .")
        add(f'_:c{i} <http://www.w3.org/2006/vcard/ns#fn> "Kontakt {i}" .')
        add(f"{dist} <{RDF_TYPE}> <{DCAT}Distribution> .")
        add(f"{dist} <{DCAT}accessURL> <https://data.example.se/files/{i}.csv> .")
        if i % 3 == 0:
            add(f"{ds} <{RDF_TYPE}> <{ESTERMS}ServedByDataService> .")
            add(f"{dist} <{RDF_TYPE}> <{ESTERMS}ServiceDistribution> .")
    return "\n".join(out) + "\n"
