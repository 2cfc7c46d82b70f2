"""Rendered pages kept per store generation, so a page costs a dictionary look-up.

An agency page is the report's content: trying every fix on every dataset of the agency
takes longer than a page may. Pages are therefore rendered once per *generation*
(:meth:`dcatwatch.store.scores.Scores.generation`: it changes with every score snapshot,
finished harvest or validation, service change and sent report) and kept. When the
generation moves on, a request still gets the page it had (stale while it revalidates: the
page's footer dates its figures) and one background thread renders every page the
``keys`` callable names for the new generation; a page not rendered yet is made while the
request waits. Nothing is rendered while nobody asks for a page.
"""

from __future__ import annotations

import logging
import threading
import time
import zlib
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, replace
from typing import Any

from dcatwatch.metrics.server import Response

log = logging.getLogger(__name__)
Key = Hashable
Make = Callable[[Key], Response]
CHECK_SECONDS = 1.0  # the generation is read at most this often


@dataclass(frozen=True, slots=True)
class _Entry:
    """A response kept with its body compressed (pages are repetitive HTML: a tenth)."""

    generation: Any
    response: Response  # its body compressed

    @classmethod
    def of(cls, generation: Any, response: Response) -> _Entry:
        return cls(generation, replace(response, body=zlib.compress(response.body, 6)))

    def expand(self) -> Response:
        return replace(self.response, body=zlib.decompress(self.response.body))


class PageCache:
    """Responses by key for the current generation. ``make(key)`` renders a page; ``keys()``
    names the pages worth rendering ahead (every agency, every national sort order)."""

    def __init__(self, generation: Callable[[], Any], make: Make,
                 keys: Callable[[], Iterable[Key]]) -> None:
        self._generation = generation
        self._make = make
        self._keys = keys
        self._entries: dict[Key, _Entry] = {}
        self._lock = threading.Lock()
        self._current: Any = None
        self._checked = float("-inf")
        self._warming: threading.Thread | None = None
        self._warmed: Any = object()  # the generation the last finished warm-up rendered

    def generation(self) -> Any:
        """The store's generation (read again after :data:`CHECK_SECONDS`). While the store
        cannot be read, the last one read: kept pages are still served."""
        now = time.monotonic()
        if now - self._checked >= CHECK_SECONDS:
            try:
                self._current = self._generation()
            except Exception as error:  # noqa: BLE001 - the outage is reported by /readyz
                if self._checked == float("-inf"):
                    raise
                log.debug("web view: store unreadable, kept pages served: %s", error)
            self._checked = now
        return self._current

    def get(self, key: Key) -> Response:
        """The page at ``key``: kept for this generation; else the one kept from an earlier
        generation while the warm-up renders the new one; else made now. Only 200 answers
        are kept."""
        generation = self.generation()
        entry = self._entries.get(key)
        if entry is not None and entry.generation == generation:
            return entry.expand()
        if entry is not None and self._warmed != generation:
            self._start_warming(generation)
            return entry.expand()
        response = self._make(key)
        if response.status == 200:
            self._entries[key] = _Entry.of(generation, response)
        if self._warmed != generation:
            self._start_warming(generation)
        return response

    def warm(self, generation: Any | None = None) -> int:
        """Render every page :attr:`keys` names for ``generation`` (default: now) that is not
        rendered for it yet; stops early when the generation moves on. How many it made."""
        generation = self.generation() if generation is None else generation
        made = 0
        for key in self._keys():
            entry = self._entries.get(key)
            if entry is not None and entry.generation == generation:
                continue
            if self._generation() != generation:
                return made
            response = self._make(key)
            if response.status == 200:
                self._entries[key] = _Entry.of(generation, response)
            else:
                self._entries.pop(key, None)
            made += 1
        self._warmed = generation
        return made

    def kept(self) -> tuple[int, int]:
        """How many pages are kept, and their compressed bytes."""
        entries = list(self._entries.values())
        return len(entries), sum(len(entry.response.body) for entry in entries)

    @property
    def warming(self) -> bool:
        """Whether a warm-up is under way."""
        thread = self._warming
        return thread is not None and thread.is_alive()

    def wait(self, timeout: float | None = None) -> None:
        """Wait for a warm-up under way (tests, the benchmark)."""
        thread = self._warming
        if thread is not None:
            thread.join(timeout)

    def _start_warming(self, generation: Any) -> None:
        with self._lock:
            if self._warming is not None and self._warming.is_alive():
                return
            self._warming = threading.Thread(target=self._warm_quietly, args=(generation,),
                                             name="web-warm", daemon=True)
            self._warming.start()

    def _warm_quietly(self, generation: Any) -> None:
        started = time.perf_counter()
        try:
            made = self.warm(generation)
        except Exception:  # noqa: BLE001 - a failed warm-up leaves pages to be made on request
            log.exception("rendering the web view's pages ahead failed")
            self._warmed = generation  # not again for this generation
            return
        log.info("web view: %d pages rendered ahead in %.1f s", made,
                 time.perf_counter() - started)
