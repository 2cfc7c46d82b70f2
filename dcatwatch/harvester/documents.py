"""Reading every document of a source: the catalogue, its pages and its sub-catalogues.

Paging follows Hydra (``hydra:next`` of a PartialCollectionView, legacy ``hydra:nextPage``)
and ``Link: <…>; rel="next"`` headers, ends on a page already visited (by URL or by content
hash) and stops at ``max_pages``. A ``dct:hasPart`` child catalogue described by nothing but
its type is fetched from its own IRI, one level deep (dataportal.se's convention), with its
own pages; its documents count against ``max_pages`` too. A single-document source is
fetched with a conditional GET; when the server says 304 or the body hash equals the last
good one, nothing is parsed and the source is unchanged. A 304 to a request that was not
conditional is an error. The source's headers and credentials go only to the origin of its
URL, never to pages or sub-catalogues elsewhere.
"""

from __future__ import annotations

import pickle
import re
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Generic, TypeVar
from urllib.parse import urljoin

from dcatwatch.config import HarvestSettings, JsonLdSettings
from dcatwatch.dcat.model import DataService, DatasetEntry, ParsedCatalog
from dcatwatch.dcat.terms import iri, value
from dcatwatch.errors import DcatwatchError, FetchError
from dcatwatch.harvester.contexts import Contexts
from dcatwatch.http.addresses import same_origin
from dcatwatch.http.client import CacheValidators, FetchResult, HttpClient

if TYPE_CHECKING:
    from dcatwatch.dcat.diskgraph import DiskGraph
    from dcatwatch.dcat.parse import Graph
    from dcatwatch.store.core import Store

HYDRA = "http://www.w3.org/ns/hydra/core#"
NEXT_PAGE = (iri(HYDRA, "next"), iri(HYDRA, "nextPage"))
ACCEPT = ("application/rdf+xml, text/turtle;q=0.9, application/ld+json;q=0.8, "
          "application/n-triples;q=0.7, application/trig;q=0.6, */*;q=0.1")
_LINK_NEXT = re.compile(r'<([^>]+)>\s*;[^,]*rel="?next"?', re.I)


SPOOL_BATCH = 2000  # records held in memory before the spool writes them to disk
Record = TypeVar("Record", DatasetEntry, DataService)


class RecordSpool(Generic[Record]):
    """A run's dataset entries (or its data services), staged on disk: the harvest's
    staging area.

    Records are appended as documents are mapped and kept in memory :data:`SPOOL_BATCH` at
    a time; full batches are pickled into a private SQLite file (in ``[harvest] workdir``,
    :func:`~dcatwatch.dcat.diskgraph.scratch_database`) beside the IRIs written so far. An
    entry whose IRI was appended before (on another page, or twice on one: two blank nodes
    with one identifier) is kept once, the first: within a batch at once, across batches
    when the batch is written, so memory does not grow with the source. Iterating reads the
    batches back in order, so applying a run holds one batch however many records the
    source has. Nothing reaches the store until the run is applied in its one unit of work:
    a run that fails leaves nothing, as closing (or the process ending) deletes the file.
    """

    def __init__(self, directory: Path | None = None, batch: int | None = None) -> None:
        self.directory = directory
        self.batch = batch or SPOOL_BATCH
        self._buffer: dict[str, Record] = {}
        self._db: sqlite3.Connection | None = None
        self._spilled = 0
        self._chunks = 0

    def append(self, record: Record) -> None:
        self._buffer.setdefault(record.iri, record)
        if len(self._buffer) >= self.batch:
            self._spill()

    def _spill(self) -> None:
        from dcatwatch.dcat.diskgraph import scratch_database

        if self._db is None:
            self._db = scratch_database(self.directory, "dcatwatch-spool-")
            self._db.execute("CREATE TABLE listed (iri TEXT PRIMARY KEY) WITHOUT ROWID")
            self._db.execute("CREATE TABLE batches (n INTEGER PRIMARY KEY, entries BLOB)")
        iris = list(self._buffer)
        for part in range(0, len(iris), 500):
            chunk = iris[part:part + 500]
            for (known,) in self._db.execute(
                    f"SELECT iri FROM listed WHERE iri IN ({', '.join('?' * len(chunk))})",
                    chunk):
                del self._buffer[known]  # read before: the first one stays
        entries = list(self._buffer.values())
        self._db.execute("BEGIN")
        self._db.executemany("INSERT INTO listed VALUES (?)", ((e.iri,) for e in entries))
        self._db.execute("INSERT INTO batches VALUES (?, ?)",
                         (self._chunks, pickle.dumps(entries, pickle.HIGHEST_PROTOCOL)))
        self._db.execute("COMMIT")
        self._spilled += len(entries)
        self._chunks += 1
        self._buffer = {}

    def batches(self) -> Iterator[list[Record]]:
        """The records in the order appended, a batch at a time."""
        if self._buffer and self._db is not None:
            self._spill()  # drops the last batch's entries read in earlier batches
        for n in range(self._chunks):
            assert self._db is not None
            (data,) = self._db.execute("SELECT entries FROM batches WHERE n = ?",
                                       (n,)).fetchone()
            yield pickle.loads(data)
        if self._buffer:
            yield list(self._buffer.values())

    def __iter__(self) -> Iterator[Record]:
        for batch in self.batches():
            yield from batch

    def __len__(self) -> int:
        """Records appended, less repeated IRIs (those of the current batch against earlier
        batches are found when it is written)."""
        return self._spilled + len(self._buffer)

    def __bool__(self) -> bool:
        return len(self) > 0

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


@dataclass(slots=True)
class Page:
    """One fetched document: its URL, what the cache should remember, and its records."""

    url: str
    validators: CacheValidators
    sha256: str | None


@dataclass(slots=True)
class Collected:
    """All documents of one run of a source, merged."""

    parsed: ParsedCatalog = field(default_factory=ParsedCatalog)
    pages: list[Page] = field(default_factory=list)
    errors: list[DcatwatchError] = field(default_factory=list)
    not_modified: bool = False  # the single document is unchanged since the last good run
    complete: bool = True  # False when any page or sub-catalogue failed

    def add(self, record: DatasetEntry | DataService) -> None:
        """Add a dataset entry or a data service (to its :class:`RecordSpool`, which keeps
        one per IRI)."""
        if isinstance(record, DatasetEntry):
            self.parsed.entries.append(record)
        else:
            self.parsed.services.append(record)


@dataclass(slots=True)
class Cached:
    """What the store remembers of a URL."""

    validators: CacheValidators
    sha256: str | None


Progress = Callable[[str], None]


class DocumentReader:
    """Fetches, parses and merges the documents of one source."""

    def __init__(self, client: HttpClient, source: str, *, max_pages: int = 1000,
                 syntax: str | None = None, headers: dict[str, str] | None = None,
                 workdir: Path | None = None, progress: Progress | None = None,
                 fetch_options: dict[str, object] | None = None,
                 jsonld: JsonLdSettings | None = None,
                 limits: HarvestSettings | None = None, store: Store | None = None) -> None:
        self.client = client
        self.limits = limits or HarvestSettings()
        settings = jsonld or JsonLdSettings()
        # remote @context: local file, or fetched when allowed and cached in ``store``
        self.contexts = Contexts(settings.local_contexts, settings.allowed_contexts, client,
                                 store, workdir)
        self.source = source
        self.max_pages = max_pages
        self.syntax = syntax
        self.headers = headers or {}
        self.workdir = workdir
        self.progress = progress or (lambda _message: None)
        self.fetch_options = fetch_options or {}
        self.url = ""  # the source's URL: its headers and credentials go to its origin only

    def read(self, url: str, cached: Cached | None = None) -> Collected:
        """Read the source starting at ``url``; ``cached`` enables the conditional GET.
        The datasets read are staged in an :class:`RecordSpool` (``parsed.entries``)."""
        collected = Collected()
        collected.parsed.entries = RecordSpool(self.workdir)  # type: ignore[assignment]
        collected.parsed.services = RecordSpool(self.workdir)  # type: ignore[assignment]
        self.url = url
        try:
            first = self._fetch(url, cached.validators if cached else None)
        except DcatwatchError as exc:
            collected.errors.append(exc)
            collected.complete = False
            return collected
        if first.not_modified or (cached and first.sha256 and first.sha256 == cached.sha256):
            _discard(first)
            collected.not_modified = True
            remembered = cached.validators if first.not_modified and cached else first.validators
            collected.pages.append(Page(url, remembered,
                                        first.sha256 or (cached.sha256 if cached else None)))
            return collected
        self._read_pages(first, collected)
        collected.parsed.problems.extend(self.contexts.problems)  # stored contexts used
        if collected.not_modified is False and len(collected.pages) > 1:
            collected.pages[0].validators = CacheValidators()  # paged: no conditional GET
        return collected

    def _fetch(self, url: str, validators: CacheValidators | None = None) -> FetchResult:
        self.progress(f"fetching {url}")
        own = same_origin(self.url, url)
        options = self.fetch_options if own else \
            {k: v for k, v in self.fetch_options.items() if k != "auth"}
        return self.client.fetch(url, cached=validators, headers=self.headers if own else {},
                                 directory=self.workdir, accept=ACCEPT, **options)

    def _read_pages(self, first: FetchResult, collected: Collected) -> None:
        visited_urls = {first.url, first.final_url}
        seen_bodies: set[str] = set()
        result: FetchResult | None = first
        while result is not None:
            page_links = self._read_one(result, collected, seen_bodies,
                                        is_first=not collected.pages)
            if page_links is None:
                return
            next_url = self._next(page_links, result, visited_urls, collected)
            result = self._fetch_page(next_url, collected) if next_url else None
            if result is not None:
                visited_urls |= {result.url, result.final_url}

    def _read_one(self, result: FetchResult, collected: Collected, seen_bodies: set[str],
                  is_first: bool) -> list[str] | None:
        """Parse one fetched page into ``collected``; returns its next-page links."""
        if result.sha256 in seen_bodies:
            _discard(result)
            collected.errors.append(DcatwatchError(
                "page.loop", "this page has the same content as a page already read", result.url))
            return None
        if result.sha256:
            seen_bodies.add(result.sha256)
        try:
            mapped, links = self._parse(result, collected)
        except DcatwatchError as exc:
            if exc.code == "run.too_many_datasets":
                raise
            collected.errors.append(exc)
            collected.complete = False
            return None
        _merge(collected, mapped)
        collected.pages.append(Page(result.url, result.validators, result.sha256))
        if is_first:
            self._read_sub_catalogues(mapped, collected)
        return links

    def _parse(self, result: FetchResult,
               collected: Collected) -> tuple[ParsedCatalog, list[str]]:
        """Parse and map a fetched document, its dataset entries and data services straight
        into ``collected``; returns the rest and the document's next-page links. The parsing
        stack is imported only here, when a document has to be read: an unchanged source
        (304) starts faster without it."""
        from dcatwatch.dcat.mapper import map_graph
        from dcatwatch.dcat.parse import parse_file

        assert result.path is not None
        self.progress(f"parsing {result.final_url} ({result.size / 1e6:.1f} MB)")
        limits = self.limits
        try:
            graph = parse_file(result.path, result.final_url, result.content_type, self.syntax,
                               self.contexts, memory_mb=limits.parser_memory_mb,
                               jsonld_max_depth=limits.jsonld_max_depth,
                               memory_triples=limits.memory_triples,
                               subject_triples=limits.max_subject_triples,
                               workdir=self.workdir)
        finally:
            _discard(result)
        cap = limits.max_datasets

        def add(record: DatasetEntry | DataService) -> None:
            collected.add(record)
            if len(collected.parsed.entries) > cap:
                raise DcatwatchError(
                    "run.too_many_datasets", f"source {self.source!r} lists more than {cap} "
                    f"datasets ([harvest] max_datasets = {cap}); the run failed and changed "
                    "nothing", result.url)

        try:
            mapped = map_graph(graph, result.final_url, self.source, full=False, sink=add)
            links = _next_links(graph, result)
        finally:
            graph.close()
        return mapped, links

    def _next(self, links: list[str], result: FetchResult, visited: set[str],
              collected: Collected) -> str | None:
        for link in links:
            if link in visited:
                collected.errors.append(DcatwatchError(
                    "page.loop", f"next page {link} was already read; paging stopped", result.url))
                return None
            if len(collected.pages) >= self.max_pages:
                collected.errors.append(DcatwatchError(
                    "page.cap", f"stopped after {self.max_pages} pages", result.url))
                collected.complete = False  # unread pages: removing their datasets would be wrong
                return None
            return link
        return None

    def _fetch_page(self, url: str, collected: Collected) -> FetchResult | None:
        try:
            return self._fetch(url)
        except DcatwatchError as exc:
            if isinstance(exc, FetchError) and exc.blame == "monitor":
                collected.errors.append(exc)  # keeps cause and blame: never the agency's
            else:
                collected.errors.append(DcatwatchError(
                    "page.failed", f"{exc.code}: {exc.message}", url))
            collected.complete = False
            return None

    def _read_sub_catalogues(self, parsed: ParsedCatalog, collected: Collected) -> None:
        described = {c.iri for c in parsed.catalogs if c.described}
        children = [part for c in parsed.catalogs for part in c.has_part
                    if part not in described and part.startswith(("http://", "https://"))]
        for child in dict.fromkeys(children):
            if len(collected.pages) >= self.max_pages:
                collected.errors.append(DcatwatchError(
                    "page.cap", f"stopped after {self.max_pages} pages, before sub-catalogue "
                    f"{child}", child))
                collected.complete = False  # unread children: removing would be wrong
                return
            result = self._fetch_page(child, collected)
            if result is not None:
                self._read_pages(result, collected)  # the child's own pages, if any


def _next_links(graph: Graph | DiskGraph, result: FetchResult) -> list[str]:
    links = [urljoin(result.final_url, value(obj)) for obj in graph.objects_of(NEXT_PAGE)]
    header = result.headers.get("link", "")
    links.extend(urljoin(result.final_url, m.group(1)) for m in _LINK_NEXT.finditer(header))
    return list(dict.fromkeys(links))


def _merge(collected: Collected, page: ParsedCatalog) -> None:
    """Add ``page``'s records to ``collected``; a record whose IRI is already there (on
    another page, or twice on this one: two blank nodes with one identifier) is kept once."""
    for record in (*page.entries, *page.services):
        collected.add(record)
    page.entries, page.services = [], []
    into = collected.parsed
    for catalog in page.catalogs:  # their dataset lists: the spool has the datasets
        catalog.datasets, catalog.services = [], []
    into.catalogs.extend(page.catalogs)
    into.problems.extend(page.problems)
    into.triples += page.triples


def _discard(result: FetchResult) -> None:
    if result.path is not None:
        result.path.unlink(missing_ok=True)
        result.path = None
