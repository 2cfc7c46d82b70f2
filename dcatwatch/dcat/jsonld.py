"""Remote JSON-LD contexts, on the operator's terms (``[jsonld]`` in the configuration).

pyoxigraph 0.5 loads no remote ``@context``: its Python API takes no document loader, and
such a document fails with "No LoadDocumentCallback has been set". So a document that
failed that way is parsed again after every ``@context`` URL in it is replaced by the
context it names (:func:`inline_file`). This module does no I/O beyond the document it is
given: a :class:`Contexts` takes a *loader* (context URL, document URL → the parsed JSON
document the URL names). The harvester's loader (:mod:`dcatwatch.harvester.contexts`)
reads ``[jsonld] local_contexts`` (URL → local file) or fetches a URL in ``[jsonld]
allowed_contexts`` through the guarded HTTP client, cached in the store. Without a loader,
or for any other URL, the context is refused with ``parse.remote_context`` naming it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from dcatwatch.errors import ParseError

MAX_CONTEXT_BYTES = 2 << 20  # a context is a small JSON object; DCAT-AP's is 20 kB
MAX_DEPTH = 4  # contexts naming further remote contexts
ACCEPT = "application/ld+json, application/json;q=0.9, */*;q=0.1"

Loader = Callable[[str, str], Any]  # (context URL, document URL) -> parsed JSON document


class Contexts:
    """Where remote ``@context`` URLs come from: ``loader``, each URL loaded once."""

    def __init__(self, loader: Loader | None = None) -> None:
        self.loader = loader
        self._cache: dict[str, Any] = {}

    def context(self, url: str, document_url: str) -> Any:
        """The context ``url`` names (the value of its ``@context``), or a ParseError."""
        if url not in self._cache:
            self._cache[url] = _context_of(self.load(url, document_url), url, document_url)
        return self._cache[url]

    def load(self, url: str, document_url: str) -> Any:
        """The parsed JSON document at ``url``; without a loader, refused."""
        if self.loader is None:
            raise refused(url, document_url)
        return self.loader(url, document_url)


def context_error(url: str, message: str, document_url: str) -> ParseError:
    """A ``parse.remote_context`` error about the context at ``url``."""
    return ParseError("parse.remote_context", f"the JSON-LD @context <{url}> {message}",
                      document_url, "JSON-LD")


def refused(url: str, document_url: str) -> ParseError:
    """The error for a remote context neither mapped nor allowed: names it and both keys."""
    return context_error(url, "is remote and was not fetched: map it to a local file in "
                         "[jsonld] local_contexts or allow fetching it in [jsonld] "
                         "allowed_contexts", document_url)


def parse_context(body: bytes | str, url: str, document_url: str) -> Any:
    """The JSON of a context document's ``body`` (capped at :data:`MAX_CONTEXT_BYTES`)."""
    if len(body) > MAX_CONTEXT_BYTES:
        raise context_error(url, f"is {len(body)} bytes, more than a context needs "
                            f"({MAX_CONTEXT_BYTES})", document_url)
    try:
        return json.loads(body)
    except ValueError as exc:
        raise context_error(url, f"is not JSON: {exc}", document_url) from exc


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
