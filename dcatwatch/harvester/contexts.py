"""Where the harvester gets a remote JSON-LD ``@context`` (the loader of
:class:`dcatwatch.dcat.jsonld.Contexts`).

A URL in ``[jsonld] local_contexts`` is read from its file. A URL in ``[jsonld]
allowed_contexts`` is fetched through the guarded :class:`~dcatwatch.http.client.
HttpClient` (size cap, address rules) and its body kept in the store (``unit.contexts``):
the next harvest asks with a conditional GET (``If-None-Match`` / ``If-Modified-Since``) and a
304 uses the stored body; when the fetch fails and a copy is stored, that copy is used and a
``parse.stale_context`` warning says so. Any other URL is refused naming it and both keys.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dcatwatch.dcat import jsonld
from dcatwatch.dcat.model import Problem
from dcatwatch.errors import DcatwatchError
from dcatwatch.http.client import CacheValidators

if TYPE_CHECKING:
    from dcatwatch.http.client import HttpClient
    from dcatwatch.store.core import Store


class Contexts(jsonld.Contexts):
    """Local files, then allowed URLs fetched and cached in ``store`` (when given)."""

    def __init__(self, local: Mapping[str, str | Path] | None = None,
                 allowed: Iterable[str] = (), client: HttpClient | None = None,
                 store: Store | None = None, workdir: Path | None = None) -> None:
        super().__init__()
        self.local = {url: Path(path) for url, path in (local or {}).items()}
        self.allowed = frozenset(allowed)
        self.client = client
        self.store = store
        self.workdir = workdir
        self.problems: list[Problem] = []  # warnings: stored copies used after a failure

    def load(self, url: str, document_url: str) -> Any:
        if url in self.local:
            try:
                return json.loads(self.local[url].read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise jsonld.context_error(
                    url, f"is mapped to {self.local[url]} in [jsonld] local_contexts, which "
                    f"cannot be read: {exc}", document_url) from exc
        if url in self.allowed and self.client is not None:
            return self._fetch(url, document_url)
        raise jsonld.refused(url, document_url)

    def _stored(self, url: str) -> Any:
        if self.store is None:
            return None
        with self.store.read() as unit:
            return unit.contexts.get(url)

    def _fetch(self, url: str, document_url: str) -> Any:
        assert self.client is not None
        stored = self._stored(url)
        validators = CacheValidators(stored.etag, stored.last_modified) \
            if stored is not None and (stored.etag or stored.last_modified) else None
        try:
            result = self.client.fetch(url, accept=jsonld.ACCEPT, cached=validators,
                                       directory=self.workdir)
        except DcatwatchError as exc:
            if stored is None:
                raise jsonld.context_error(url, f"(in [jsonld] allowed_contexts) could not be "
                                           f"fetched: {exc.code}: {exc.message}",
                                           document_url) from exc
            self.problems.append(Problem(
                "parse.stale_context", f"the JSON-LD @context <{url}> could not be fetched "
                f"({exc.code}: {exc.message}); the copy stored at {stored.fetched_at} was used",
                url=document_url, subject=url))
            return jsonld.parse_context(stored.body, url, document_url)
        if result.not_modified:
            assert stored is not None
            return jsonld.parse_context(stored.body, url, document_url)
        assert result.path is not None
        try:
            if result.size > jsonld.MAX_CONTEXT_BYTES:
                raise jsonld.context_error(url, f"is {result.size} bytes, more than a context "
                                           f"needs ({jsonld.MAX_CONTEXT_BYTES})", document_url)
            body = result.path.read_bytes()
        finally:
            result.path.unlink(missing_ok=True)
        parsed = jsonld.parse_context(body, url, document_url)
        if self.store is not None:
            with self.store.write() as unit:
                unit.contexts.save(url, body.decode("utf-8", "replace"),
                                   result.validators.etag, result.validators.last_modified,
                                   datetime.now(UTC))
        return parsed
