"""Bounded downloads for data checks: the beginning of a file, never more than a limit.

The harvester fails a body above its cap, as a catalogue must be complete; a data check
wants the opposite: the first bytes of a possibly huge file. :func:`fetch_sample` asks the
shared client for a prefix (``HttpClient.fetch(prefix=...)``: same settings, politeness
gate, address guard, redirects, retries and response hook; Content-Length is not held
against the limit, the decompression-bomb ratio of ``[http]`` still applies).

The prefix is one byte longer than the limit, so "there is more" is known without a second
request; the file is then cut to the limit.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from dcatwatch.http.client import CacheValidators, FetchResult, HttpClient


@dataclass(slots=True)
class Sample:
    """A fetched sample: ``result.path`` holds at most the limit (None on 304);
    ``truncated`` when the file goes on beyond it."""

    result: FetchResult
    truncated: bool

    @property
    def path(self) -> Path | None:
        return self.result.path


def fetch_sample(client: HttpClient, url: str, limit: int, *,
                 cached: CacheValidators | None = None, timeout: float | None = None,
                 directory: Path | None = None) -> Sample:
    """GET the first ``limit`` bytes of ``url`` (conditional when ``cached``)."""
    result = client.fetch(url, cached=cached, timeout=timeout, directory=directory,
                          prefix=limit + 1)
    truncated = result.path is not None and result.size > limit
    if truncated:
        assert result.path is not None
        os.truncate(result.path, limit)
        result.size = limit
    return Sample(result, truncated)
