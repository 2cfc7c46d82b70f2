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
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING
from urllib.parse import urljoin

from dcatwatch.config import HarvestSettings, JsonLdSettings
from dcatwatch.dcat.model import DatasetEntry, ParsedCatalog
from dcatwatch.dcat.terms import iri, value
from dcatwatch.errors import DcatwatchError, FetchError
from dcatwatch.harvester.contexts import Contexts
from dcatwatch.http.addresses import same_origin
from dcatwatch.http.client import CacheValidators, FetchResult, HttpClient

if TYPE_CHECKING:
    from dcatwatch.dcat.parse import Graph
    from dcatwatch.store.core import Store

HYDRA = "http://www.w3.org/ns/hydra/core#"
NEXT_PAGE = (iri(HYDRA, "next"), iri(HYDRA, "nextPage"))
ACCEPT = ("application/rdf+xml, text/turtle;q=0.9, application/ld+json;q=0.8, "
          "application/n-triples;q=0.7, application/trig;q=0.6, */*;q=0.1")
_LINK_NEXT = re.compile(r'<([^>]+)>\s*;[^,]*rel="?next"?', re.I)


SPOOL_BATCH = 2000  # dataset entries held in memory before the spool writes them to disk


class EntrySpool:
    """A run's dataset entries, staged on disk: the harvest's staging area.

    Entries are appended as pages are mapped and kept in memory :data:`SPOOL_BATCH` at a
    time; full batches are pickled to an anonymous temporary file (in ``[harvest] workdir``).
    Iterating reads them back in order, one batch at a time, so applying a run holds one
    batch however many datasets the source has. Nothing reaches the store until the run is
    applied in its one unit of work: a run that fails leaves only this file, which closing
    (or the process ending) deletes.
    """

    def __init__(self, directory: Path | None = None, batch: int | None = None) -> None:
        self.directory = directory
        self.batch = batch or SPOOL_BATCH
        self._buffer: list[DatasetEntry] = []
        self._file: IO[bytes] | None = None
        self._spilled = 0
        self._chunks = 0

    def append(self, entry: DatasetEntry) -> None:
        self._buffer.append(entry)
        if len(self._buffer) >= self.batch:
            self._spill()

    def _spill(self) -> None:
        if self._file is None:
            self._file = tempfile.TemporaryFile(dir=self.directory, prefix="dcatwatch-spool-")
        self._file.seek(0, 2)
        pickle.dump(self._buffer, self._file, protocol=pickle.HIGHEST_PROTOCOL)
        self._spilled += len(self._buffer)
        self._chunks += 1
        self._buffer = []

    def batches(self) -> Iterator[list[DatasetEntry]]:
        """The entries in the order appended, a batch at a time."""
        if self._file is not None:
            self._file.seek(0)
            for _ in range(self._chunks):
                yield pickle.load(self._file)
        if self._buffer:
            yield list(self._buffer)

    def __iter__(self) -> Iterator[DatasetEntry]:
        for batch in self.batches():
            yield from batch

    def __len__(self) -> int:
        return self._spilled + len(self._buffer)

    def __bool__(self) -> bool:
        return len(self) > 0

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


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
    listed: set[str] = field(default_factory=set)  # IRIs of the datasets read so far

    def add_entries(self, entries: list[DatasetEntry]) -> None:
        """Add a page's dataset entries; one whose IRI was read already (on another page,
        or twice on this one: two blank nodes with one identifier) is kept once."""
        for entry in entries:
            if entry.iri not in self.listed:
                self.listed.add(entry.iri)
                self.parsed.entries.append(entry)


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
        The datasets read are staged in an :class:`EntrySpool` (``parsed.entries``)."""
        collected = Collected()
        collected.parsed.entries = EntrySpool(self.workdir)  # type: ignore[assignment]
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
            graph, mapped = self._parse(result)
        except DcatwatchError as exc:
            collected.errors.append(exc)
            collected.complete = False
            return None
        _merge(collected, mapped)
        self._check_size(collected, result.url)
        collected.pages.append(Page(result.url, result.validators, result.sha256))
        if is_first:
            self._read_sub_catalogues(mapped, collected)
        return _next_links(graph, result)

    def _check_size(self, collected: Collected, url: str) -> None:
        """Fail the run (raise) once the source lists more datasets than it may."""
        cap = self.limits.max_datasets
        if len(collected.listed) > cap:
            raise DcatwatchError(
                "run.too_many_datasets", f"source {self.source!r} lists more than {cap} "
                f"datasets ([harvest] max_datasets = {cap}); the run failed and changed "
                "nothing", url)

    def _parse(self, result: FetchResult) -> tuple[Graph, ParsedCatalog]:
        """Parse and map a fetched document. The parsing stack is imported only here, when a
        document has to be read: an unchanged source (304) starts faster without it."""
        from dcatwatch.dcat.mapper import map_graph
        from dcatwatch.dcat.parse import parse_file

        assert result.path is not None
        self.progress(f"parsing {result.final_url} ({result.size / 1e6:.1f} MB)")
        try:
            graph = parse_file(result.path, result.final_url, result.content_type, self.syntax,
                               self.contexts, memory_mb=self.limits.parser_memory_mb,
                               jsonld_max_depth=self.limits.jsonld_max_depth)
        finally:
            _discard(result)
        return graph, map_graph(graph, result.final_url, self.source, full=False)

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


def _next_links(graph: Graph, result: FetchResult) -> list[str]:
    links = [urljoin(result.final_url, value(obj)) for props in graph.subjects.values()
             for predicate, obj in props if predicate in NEXT_PAGE]
    header = result.headers.get("link", "")
    links.extend(urljoin(result.final_url, m.group(1)) for m in _LINK_NEXT.finditer(header))
    return list(dict.fromkeys(links))


def _merge(collected: Collected, page: ParsedCatalog) -> None:
    """Add ``page``'s records to ``collected``; a record whose IRI is already there (on
    another page, or twice on this one: two blank nodes with one identifier) is kept once."""
    collected.add_entries(page.entries)
    page.entries = []
    into = collected.parsed
    known_services = {s.iri for s in into.services}
    for service in page.services:
        if service.iri not in known_services:
            known_services.add(service.iri)
            into.services.append(service)
    for catalog in page.catalogs:  # their dataset lists: the spool has the datasets
        catalog.datasets, catalog.services = [], []
    into.catalogs.extend(page.catalogs)
    into.problems.extend(page.problems)
    into.triples += page.triples


def _discard(result: FetchResult) -> None:
    if result.path is not None:
        result.path.unlink(missing_ok=True)
        result.path = None
