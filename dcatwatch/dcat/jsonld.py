"""Remote JSON-LD contexts, on the operator's terms (``[jsonld]`` in the configuration).

pyoxigraph 0.5 loads no remote ``@context``: its Python API takes no document loader, and
such a document fails with "No LoadDocumentCallback has been set". So a document that
failed that way is parsed again after every ``@context`` URL in it is replaced by the
context it names (:func:`inline_file`): read from ``[jsonld] local_contexts`` (URL → local
file; air-gapped installs, tests), or fetched through the guarded
:class:`~dcatwatch.http.client.HttpClient` (size cap, address rules) when the URL is in
``[jsonld] allowed_contexts``. A fetched context is cached by its :class:`Contexts`, which
lives as long as one run of a source (one :class:`~dcatwatch.harvester.documents.
DocumentReader`). Any other URL is refused with ``parse.remote_context`` naming it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from dcatwatch.errors import DcatwatchError, ParseError

if TYPE_CHECKING:
    from dcatwatch.http.client import HttpClient

MAX_CONTEXT_BYTES = 2 << 20  # a context is a small JSON object; DCAT-AP's is 20 kB
MAX_DEPTH = 4  # contexts naming further remote contexts
ACCEPT = "application/ld+json, application/json;q=0.9, */*;q=0.1"


class Contexts:
    """Where remote ``@context`` URLs come from (see the module doc)."""

    def __init__(self, local: Mapping[str, str | Path] | None = None,
                 allowed: Iterable[str] = (), client: HttpClient | None = None) -> None:
        self.local = {url: Path(path) for url, path in (local or {}).items()}
        self.allowed = frozenset(allowed)
        self.client = client
        self._cache: dict[str, Any] = {}

    def context(self, url: str, document_url: str) -> Any:
        """The context ``url`` names (the value of its ``@context``), or a ParseError."""
        if url not in self._cache:
            self._cache[url] = _context_of(self._load(url, document_url), url, document_url)
        return self._cache[url]

    def _load(self, url: str, document_url: str) -> Any:
        if url in self.local:
            try:
                return json.loads(self.local[url].read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise ParseError("parse.remote_context", f"the JSON-LD @context <{url}> is mapped "
                                 f"to {self.local[url]} in [jsonld] local_contexts, which cannot "
                                 f"be read: {exc}", document_url, "JSON-LD") from exc
        if url in self.allowed and self.client is not None:
            return self._fetch(url, document_url)
        raise ParseError("parse.remote_context", f"the JSON-LD @context <{url}> is remote and was "
                         "not fetched: map it to a local file in [jsonld] local_contexts or allow "
                         "fetching it in [jsonld] allowed_contexts", document_url, "JSON-LD")

    def _fetch(self, url: str, document_url: str) -> Any:
        assert self.client is not None
        try:
            result = self.client.fetch(url, accept=ACCEPT)
        except DcatwatchError as exc:
            raise ParseError("parse.remote_context", f"the JSON-LD @context <{url}> (in [jsonld] "
                             f"allowed_contexts) could not be fetched: {exc.code}: {exc.message}",
                             document_url, "JSON-LD") from exc
        assert result.path is not None
        try:
            if result.size > MAX_CONTEXT_BYTES:
                raise ParseError("parse.remote_context", f"the JSON-LD @context <{url}> is "
                                 f"{result.size} bytes, more than a context needs "
                                 f"({MAX_CONTEXT_BYTES})", document_url, "JSON-LD")
            return json.loads(result.path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise ParseError("parse.remote_context", f"the JSON-LD @context <{url}> is not "
                             f"JSON: {exc}", document_url, "JSON-LD") from exc
        finally:
            result.path.unlink(missing_ok=True)


def _context_of(document: Any, url: str, document_url: str) -> Any:
    if not isinstance(document, dict) or "@context" not in document:
        raise ParseError("parse.remote_context", f"the JSON-LD @context <{url}> holds no "
                         "@context object", document_url, "JSON-LD")
    return document["@context"]


def inline(node: Any, contexts: Contexts, base: str, document_url: str, depth: int = 0) -> Any:
    """``node`` with every ``@context`` URL (alone or in a list) replaced by its context."""
    if isinstance(node, list):
        return [inline(item, contexts, base, document_url, depth) for item in node]
    if not isinstance(node, dict):
        return node
    result = {}
    for key, item in node.items():
        if key == "@context":
            item = _resolved(item, contexts, base, document_url, depth)
        else:
            item = inline(item, contexts, base, document_url, depth)
        result[key] = item
    return result


def _resolved(context: Any, contexts: Contexts, base: str, document_url: str,
              depth: int) -> Any:
    if isinstance(context, list):
        return [_resolved(c, contexts, base, document_url, depth) for c in context]
    if not isinstance(context, str):
        return context
    if depth >= MAX_DEPTH:
        raise ParseError("parse.remote_context", f"the JSON-LD @context <{context}> is nested "
                         f"more than {MAX_DEPTH} remote contexts deep", document_url, "JSON-LD")
    url = urljoin(base, context)
    loaded = contexts.context(url, document_url)
    return _resolved(loaded, contexts, url, document_url, depth + 1)


def inline_file(path: Path, url: str, contexts: Contexts) -> Path:
    """A copy of the JSON-LD document at ``path`` with its remote contexts inlined."""
    try:
        document = json.loads(path.read_text(encoding="utf-8-sig"))
    except ValueError as exc:
        raise ParseError("parse.syntax", f"JSON-LD syntax error: {exc}", url, "JSON-LD") from exc
    target = path.with_name(path.name + ".inlined")
    target.write_text(json.dumps(inline(document, contexts, url, url), ensure_ascii=False),
                      encoding="utf-8")
    return target
