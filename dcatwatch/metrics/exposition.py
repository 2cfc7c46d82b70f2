"""Rendering ``/metrics`` (Prometheus text or OpenMetrics) with a cache of rendered families.

Formatting samples is most of a scrape's cost, and most samples are the per-agency families,
which the store collector hands out as the *same objects* until the next score snapshot. A
family object seen again is therefore not formatted again: its text from the previous scrape
is reused. Fresh objects (everything else) are formatted as usual, so the output is exactly
what prometheus_client would produce.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

EOF = b"# EOF\n"  # OpenMetrics' last line (once, after every family)


class _One(Collector):
    """One family, as a collector the encoders accept."""

    def __init__(self, family: Metric) -> None:
        self.family = family

    def collect(self) -> Iterable[Metric]:
        return [self.family]


class CachedExposition:
    """Renders a registry, reusing the text of families handed out again (see module doc)."""

    def __init__(self, registry: Collector) -> None:
        self.registry = registry
        self._lock = threading.Lock()
        # per content type: id(family) -> (family, its text); holding the family keeps its
        # id from being reused by another object while the entry exists
        self._rendered: dict[str, dict[int, tuple[Metric, bytes]]] = {}

    def render(self, accept: str) -> tuple[bytes, str]:
        """The exposition negotiated from the ``Accept`` header, and its content type."""
        encoder, content_type = choose_encoder(accept)
        openmetrics = content_type.startswith("application/openmetrics-text")
        with self._lock:
            before = self._rendered.get(content_type, {})
        now: dict[int, tuple[Metric, bytes]] = {}
        parts: list[bytes] = []
        for family in self.registry.collect():
            seen = before.get(id(family))
            if seen is not None and seen[0] is family:
                text = seen[1]
            else:
                text = encoder(_One(family))
                if openmetrics:
                    text = text.removesuffix(EOF)
            now[id(family)] = (family, text)
            parts.append(text)
        with self._lock:
            self._rendered[content_type] = now
        if openmetrics:
            parts.append(EOF)
        return b"".join(parts), content_type
