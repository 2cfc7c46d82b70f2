"""Bounded downloads for data checks: the beginning of a file, never more than a limit.

The harvester's client fails a body above its cap, as a catalogue must be complete; a data
check wants the opposite: the first bytes of a possibly huge file. :class:`SampleClient` is
that client (same settings, per-host politeness gate, address guard, redirects, retries and
response hook) with a body reader that stops after ``limit`` decoded bytes and keeps what it
read. Content-Length is not held against the limit; received bytes are capped at twice the
limit (a stream of empty gzip members grows the wire size only), and the decompression-bomb
ratio of ``[http]`` still applies.

The reader keeps one byte beyond the limit, so "there is more" is known without a second
request; :meth:`SampleClient.sample` then cuts the file to the limit.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import requests
import urllib3

from dcatwatch.harvester.bodies import CHUNK, BodyLimits, BodyReader, Decoder
from dcatwatch.harvester.http import CacheValidators, FetchResult, HttpClient
from dcatwatch.harvester.politeness import Deadline

_UNBOUNDED = sys.maxsize


class _PrefixReader(BodyReader):
    """A body reader that ends the body after ``keep`` decoded bytes instead of failing."""

    def __init__(self, limits: BodyLimits, url: str, status: int, deadline: Deadline,
                 read_timeout: float, keep: int) -> None:
        super().__init__(limits, url, status, deadline, read_timeout)
        self.keep = keep
        self.wire_cap = 2 * keep + CHUNK

    def _pieces(self, raw: urllib3.HTTPResponse, decoder: Decoder,
                expired: threading.Event) -> Iterator[bytes]:
        room = self.keep
        for piece in super()._pieces(raw, decoder, expired):
            if self.wire_size > self.wire_cap:
                raise self._error("fetch.too_large", f"more than {self.wire_cap} bytes received"
                                  f" for a {self.keep - 1}-byte sample")
            if len(piece) >= room:
                yield piece[:room]
                return
            room -= len(piece)
            yield piece


@dataclass(slots=True)
class Sample:
    """A fetched sample: ``result.path`` holds at most the limit (None on 304);
    ``truncated`` when the file goes on beyond it."""

    result: FetchResult
    truncated: bool

    @property
    def path(self) -> Path | None:
        return self.result.path


class SampleClient(HttpClient):
    """``client``'s twin whose GETs keep the first ``limit`` bytes of a body (module doc)."""

    def __init__(self, client: HttpClient, limit: int) -> None:
        super().__init__(client.settings, client.on_response, gate=client.gate)
        self.limit = limit

    def sample(self, url: str, *, cached: CacheValidators | None = None,
               timeout: float | None = None, directory: Path | None = None) -> Sample:
        """GET the first ``limit`` bytes of ``url`` (conditional when ``cached``)."""
        result = self.fetch(url, cached=cached, timeout=timeout, directory=directory)
        truncated = result.path is not None and result.size > self.limit
        if truncated:
            assert result.path is not None
            os.truncate(result.path, self.limit)
            result.size = self.limit
        return Sample(result, truncated)

    def _download(self, response: requests.Response, result: FetchResult, call: object,
                  directory: Path | None) -> None:
        settings = self.settings
        limits = BodyLimits(_UNBOUNDED, _UNBOUNDED, settings.max_expansion_ratio,
                            settings.expansion_check_bytes)
        deadline, read_timeout = call.deadline, call.read_timeout  # type: ignore[attr-defined]
        reader = _PrefixReader(limits, result.url, result.status, deadline, read_timeout,
                               self.limit + 1)
        body = reader.read(response.raw, result.headers, directory)
        result.path, result.size, result.wire_size, result.sha256 = \
            body.path, body.size, body.wire_size, body.sha256

