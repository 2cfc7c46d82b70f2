"""Reading dataportal.se through its EntryStore search API (``type = "dataportal"``,
``mode = "search"``).

dataportal.se keeps every harvested record as an EntryStore *entry*: a dataset, each of its
distributions, each data service and each publishing organisation is an entry of its own,
and an entry's ``metadata`` graph holds that record's triples (and the blank nodes it owns).
The reader therefore works in two steps, both through ``{base}search?type=solr``:

1. **Records of the organisations.** For each configured organisation (or, with none, for
   every public record) it pages through datasets, dataset series and data services
   published by ``http://dataportal.se/organisation/SE<orgnr>`` (the publisher predicate
   field ``metadata.predicate.uri.9259d4c1``), ``limit=100`` per page, sorted on the entry's
   creation time, a key a nightly re-harvest does not change. Paging follows the response's
   total (``results``) and advances by the entries actually returned; it stops at the total,
   at an empty page or after ``max_pages`` pages of one query.
2. **Linked records.** The distributions, contact points and access services those records
   name, and their publishers, are looked up by their IRIs with ``resource:`` queries, 20
   IRIs per query, restricted to the context (catalogue) of the entry that names them
   (publishers: any context) -- exactly how EntryScape's own client loads linked entries
   (``EntryStoreUtil.loadEntriesByResourceURIs``). Requests stay bounded: about one lookup
   per 20 linked records, never one request per dataset (``metadata/{id}?recursive=dcat``
   would cost a request per dataset, 40 000 for the whole portal).

Each entry's RDF/JSON graph is converted to N-Triples lines (terms written by pyoxigraph,
so they are byte-identical to what the parser child writes in dump mode), blank nodes are
relabelled per entry, and a subject already given by an earlier entry is not repeated. The
lines go through the same grouping and mapping as every other source
(:func:`~dcatwatch.dcat.parse.group_lines`, :class:`~dcatwatch.dcat.mapper.Mapper`), so a
dataset has the same IRI and the same description hash as in the dump.

A page that fails, a total that changes while paging, an early empty page or the page cap
make the run partial (``page.failed`` / ``page.cap``): a partial run removes nothing.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pyoxigraph as ox

from dcatwatch.dcat import namespaces as ns
from dcatwatch.dcat.agency import organisation_number
from dcatwatch.dcat.mapper import Mapper
from dcatwatch.dcat.model import Problem
from dcatwatch.dcat.parse import Graph, group_lines
from dcatwatch.dcat.terms import iri
from dcatwatch.errors import DcatwatchError
from dcatwatch.harvester.documents import Collected, Page
from dcatwatch.http.client import CacheValidators, HttpClient

ORGANISATION_PREFIX = "http://dataportal.se/organisation/SE"
SEARCH_LIMIT = 100  # the server's maximum
LOOKUP_CHUNK = 20  # resource IRIs per lookup query, as EntryScape's client sends them
LOOKUP_ROUNDS = 3  # records -> distributions -> access services -> their publishers
SORT = "created+asc"
RECORD_TYPES = (ns.DATASET, ns.DATASET_SERIES, ns.DATA_SERVICE)
ACCEPT = "application/json"

PUBLISHER = iri(ns.DCT, "publisher")
LINKS = frozenset({iri(ns.DCAT, "distribution"), iri(ns.DCAT, "accessService"), PUBLISHER,
                   iri(ns.DCAT, "contactPoint"), iri(ns.ADMS, "contactPoint")})
XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
_SOLR_SPECIAL = re.compile(r'([\\+\-!():^\[\]"{}~*?|&;\s])')

Progress = Callable[[str], None]


def predicate_field(predicate: str) -> str:
    """EntryStore's Solr field for IRI objects of ``predicate``: md5, first 8 hex digits."""
    return "metadata.predicate.uri." + hashlib.md5(predicate.encode()).hexdigest()[:8]


PUBLISHER_FIELD = predicate_field(ns.DCT + "publisher")  # metadata.predicate.uri.9259d4c1


def organisation_iri(text: str) -> str:
    """The dataportal.se publisher IRI of an organisation number (an IRI is kept as it is).

    Raises ValueError for anything else.
    """
    text = text.strip()
    if text.startswith(("http://", "https://")):
        return text
    number = organisation_number(text)
    if number is None:
        raise ValueError(f"{text!r} is neither an organisation number (2021005448, "
                         "202100-5448, SE2021005448) nor a publisher IRI")
    return ORGANISATION_PREFIX + number


def solr_value(value: str) -> str:
    """``value`` escaped for a Solr field query and URL-encoded (``:`` → ``%5C%3A``)."""
    return quote(_SOLR_SPECIAL.sub(r"\\\1", value), safe="")


def any_of(field_name: str, values: Iterable[str]) -> str:
    """``field:v`` or ``(field:v1+OR+field:v2 …)``, as EntryScape's client writes it."""
    terms = [f"{field_name}:{solr_value(v)}" for v in values]
    return terms[0] if len(terms) == 1 else "(" + "+OR+".join(terms) + ")"


def all_of(*terms: str) -> str:
    return "+AND+".join(terms)


def search_url(base: str, query: str, offset: int) -> str:
    """The search request for one page of ``query`` (``base`` ends with ``/``)."""
    return (f"{base}search?type=solr&query={query}&limit={SEARCH_LIMIT}&offset={offset}"
            f"&sort={SORT}")


# -- RDF/JSON ---------------------------------------------------------------------------------

def rdf_json_triples(graph: dict[str, dict[str, list[dict[str, str]]]],
                     blank: Callable[[str], str]) -> Iterator[tuple[str, str, str]]:
    """N-Triples terms ``(subject, predicate, object)`` of an RDF/JSON graph
    (``{subject: {predicate: [{type, value, lang, datatype}]}}``).

    ``blank`` turns a blank-node label (``_:x``) into the label to write. Raises ValueError
    (or KeyError/TypeError) for a malformed graph or an invalid IRI or language tag.
    """
    for subject, predicates in graph.items():
        s = blank(subject) if subject.startswith("_:") else str(ox.NamedNode(subject))
        for predicate, objects in predicates.items():
            p = str(ox.NamedNode(predicate))
            for obj in objects:
                yield s, p, _object(obj, blank)


def _object(obj: dict[str, str], blank: Callable[[str], str]) -> str:
    kind, text = obj["type"], obj["value"]
    if kind == "uri":
        return str(ox.NamedNode(text))
    if kind == "bnode":
        return blank(text)
    if kind == "literal":
        if obj.get("lang"):
            return str(ox.Literal(text, language=obj["lang"]))
        datatype = obj.get("datatype")
        if datatype and datatype != XSD_STRING:
            return str(ox.Literal(text, datatype=ox.NamedNode(datatype)))
        return str(ox.Literal(text))
    raise ValueError(f"unknown RDF/JSON term type {kind!r}")


# -- the reader -------------------------------------------------------------------------------

class _BadResponse(Exception):
    """A search response that is not what EntryStore sends."""


@dataclass(slots=True)
class _State:
    """What one read has gathered so far."""

    base: str
    collected: Collected = field(default_factory=Collected)
    lines: list[str] = field(default_factory=list)
    owner: dict[str, str] = field(default_factory=dict)  # subject -> entry that gave it
    pending: list[tuple[str, str | None]] = field(default_factory=list)  # (IRI term, context)
    attempted: set[str] = field(default_factory=set)
    blanks: int = 0

    def fail(self, code: str, message: str, url: str) -> None:
        self.collected.errors.append(DcatwatchError(code, message, url))
        self.collected.complete = False


class SearchReader:
    """Reads the records of some (or all) organisations from an EntryStore search API."""

    def __init__(self, client: HttpClient, source: str, *, max_pages: int = 1000,
                 headers: dict[str, str] | None = None, workdir: Path | None = None,
                 progress: Progress | None = None,
                 fetch_options: dict[str, object] | None = None) -> None:
        self.client = client
        self.source = source
        self.max_pages = max_pages
        self.headers = headers or {}
        self.workdir = workdir
        self.progress = progress or (lambda _message: None)
        self.fetch_options = fetch_options or {}

    def read(self, base_url: str, organisations: Sequence[str] = ()) -> Collected:
        """Read the records of ``organisations`` (organisation numbers or publisher IRIs;
        all public records when empty) from the EntryStore at ``base_url``."""
        state = _State(base=base_url if base_url.endswith("/") else base_url + "/")
        try:
            publishers = [organisation_iri(o) for o in organisations]
        except ValueError as exc:
            state.fail("config.invalid", f"sources.organisations: {exc}", base_url)
            return state.collected
        records = [any_of("rdfType", RECORD_TYPES), "public:true"]
        for publisher in publishers or [None]:
            extra = [f"{PUBLISHER_FIELD}:{solr_value(publisher)}"] if publisher else []
            self._query(state, all_of(*records, *extra))
        self._follow_links(state)
        self._map(state)
        return state.collected

    # -- requests ---------------------------------------------------------------------------

    def _query(self, state: _State, query: str) -> None:
        """Read every page of ``query`` into ``state``."""
        offset, total, pages, step = 0, None, 0, SEARCH_LIMIT
        while True:
            url = search_url(state.base, query, offset)
            if pages >= self.max_pages:
                state.fail("page.cap", f"stopped after {self.max_pages} pages of one search; "
                           "raise the source's max_pages", url)
                return
            pages += 1
            try:
                results, children = self._search(url)
            except (DcatwatchError, _BadResponse) as exc:
                message = f"{exc.code}: {exc.message}" if isinstance(exc, DcatwatchError) \
                    else str(exc)
                state.fail("page.failed", message, url)
                offset += step  # skip the page: the run is partial and removes nothing
                if total is None or offset >= total:
                    return
                continue
            state.collected.pages.append(Page(url, CacheValidators(), None))
            if total is None:
                total = results
            elif results != total:
                state.fail("page.failed", f"the result count changed while paging ({total} "
                           f"→ {results}); records may have been missed", url)
                total = results
            for child in children:
                self._ingest(state, child, url)
            offset += len(children)
            step = len(children) or step
            if offset >= total:
                return
            if not children:
                state.fail("page.failed", f"an empty page at offset {offset} of {total} "
                           "results; records may have been missed", url)
                return

    def _search(self, url: str) -> tuple[int, list[dict[str, object]]]:
        """One search request: the total and the entries of the page."""
        self.progress(f"searching {url}")
        result = self.client.fetch(url, headers=self.headers, directory=self.workdir,
                                   accept=ACCEPT, **self.fetch_options)
        assert result.path is not None
        try:
            body = json.loads(result.path.read_bytes())
        except ValueError as exc:
            raise _BadResponse(f"the search response is not JSON: {exc}") from None
        finally:
            result.path.unlink(missing_ok=True)
        try:
            results, children = body["results"], body["resource"]["children"]
        except (KeyError, TypeError):
            results = children = None
        if not isinstance(results, int) or not isinstance(children, list):
            raise _BadResponse("not an EntryStore search response (no 'results' and "
                               "'resource.children')")
        return results, children

    def _follow_links(self, state: _State) -> None:
        """Look up the records the gathered ones link to, round by round."""
        for _round in range(LOOKUP_ROUNDS):
            wanted: dict[str | None, list[str]] = {}
            for term, context in state.pending:
                if term not in state.owner and term not in state.attempted:
                    state.attempted.add(term)
                    wanted.setdefault(context, []).append(term[1:-1])
            state.pending = []
            if not wanted:
                return
            for context, iris in wanted.items():
                for start in range(0, len(iris), LOOKUP_CHUNK):
                    terms = [any_of("resource", iris[start:start + LOOKUP_CHUNK]), "public:true"]
                    if context is not None:
                        terms.append(f"context:{solr_value(context)}")
                    self._query(state, all_of(*terms))

    # -- entries ----------------------------------------------------------------------------

    def _ingest(self, state: _State, child: object, url: str) -> None:
        """Add one search hit's metadata graph; a malformed entry is reported and skipped."""
        entry = child if isinstance(child, dict) else {}
        context_id, entry_id = entry.get("contextId"), entry.get("entryId")
        name = f"{state.base}{context_id}/entry/{entry_id}"
        context = f"{state.base}{context_id}" if context_id is not None else None
        labels: dict[str, str] = {}

        def blank(label: str) -> str:
            if label not in labels:
                state.blanks += 1
                labels[label] = f"_:e{state.blanks}"
            return labels[label]

        try:
            triples = list(rdf_json_triples(entry["metadata"], blank))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            state.collected.parsed.problems.append(Problem(
                "record.invalid", f"entry {name}: unreadable metadata ({type(exc).__name__}: "
                f"{exc})", url, name))
            return
        taken = {s for s, _, _ in triples if s[0] == "<" and state.owner.get(s, name) != name}
        for subject, predicate, obj in triples:
            if subject in taken:
                continue
            if subject[0] == "<":
                state.owner.setdefault(subject, name)
            state.lines.append(f"{subject} {predicate} {obj} .\n")
            if predicate in LINKS and obj[0] == "<":
                state.pending.append((obj, None if predicate == PUBLISHER else context))

    def _map(self, state: _State) -> None:
        graph = group_lines(state.lines, Graph(syntax="rdfjson")) if state.lines else Graph()
        state.lines = []
        mapped = Mapper(graph, state.base + "search", self.source).map(full=False)
        parsed = state.collected.parsed
        parsed.entries, parsed.services = mapped.entries, mapped.services
        parsed.catalogs, parsed.triples = mapped.catalogs, mapped.triples
        parsed.problems.extend(mapped.problems)
