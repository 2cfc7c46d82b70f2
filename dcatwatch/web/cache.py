"""Rendered pages kept per store generation, so a page costs a dictionary look-up.

An agency page is the report's content: trying every fix on every dataset of the agency
takes longer than a page may. Pages are therefore kept with the *generation* they were
rendered in (:meth:`dcatwatch.store.scores.Scores.generation`: it changes with every score
snapshot, finished harvest or validation, service change and sent report).

* The first page asked for starts the warm-up: one background thread renders every page the
  ``keys`` callable names (the national page in every order, every agency page in both
  languages), once per process.
* A page kept from an earlier generation is served at once (stale while it revalidates: its
  footer dates its figures) and queued for the same thread to render again, so the work
  after a store change follows what people read, not the number of agencies.
* A page not kept yet is made while the request waits.

Nothing is rendered while nobody asks for a page.
"""

from __future__ import annotations

import logging
import queue
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
_WARM_UP = object()  # the queued job that renders every page ahead


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
    """Responses by key, each with its generation. ``make(key)`` renders a page; ``keys()``
    names the pages worth rendering ahead."""

    def __init__(self, generation: Callable[[], Any], make: Make,
                 keys: Callable[[], Iterable[Key]]) -> None:
        self._generation = generation
        self._make = make
        self._keys = keys
        self._entries: dict[Key, _Entry] = {}
        self._current: Any = None
        self._checked = float("-inf")
        self._jobs: queue.Queue[Any] = queue.Queue()
        self._queued: set[Any] = set()
        self._lock = threading.Lock()
        self._worker: threading.Thread | None = None
        self._warm_up_asked = False

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
        generation, queued to be rendered again; else made now. Only 200 answers are
        kept."""
        generation = self.generation()
        entry = self._entries.get(key)
        if entry is not None:
            if entry.generation != generation:
                self._queue(key)
            return entry.expand()
        response = self._render(key, generation)
        if not self._warm_up_asked:
            self._warm_up_asked = True
            self._queue(_WARM_UP)
        return response

    def warm(self) -> int:
        """Render every page ``keys()`` names that is not kept for the generation now;
        stops early when the generation moves on (its pages are then rendered again as
        they are asked for). How many it made."""
        generation = self._generation()
        made = 0
        for key in self._keys():
            entry = self._entries.get(key)
            if entry is not None and entry.generation == generation:
                continue
            if self._generation() != generation:
                break
            self._render(key, generation)
            made += 1
        return made

    def kept(self) -> tuple[int, int]:
        """How many pages are kept, and their compressed bytes."""
        entries = list(self._entries.values())
        return len(entries), sum(len(entry.response.body) for entry in entries)

    @property
    def busy(self) -> bool:
        """Whether the background thread has work queued or under way."""
        return self._jobs.unfinished_tasks > 0

    def wait(self) -> None:
        """Wait until the background thread has nothing left to do (tests, the benchmark)."""
        self._jobs.join()

    def _render(self, key: Key, generation: Any) -> Response:
        response = self._make(key)
        if response.status == 200:
            self._entries[key] = _Entry.of(generation, response)
        else:
            self._entries.pop(key, None)
        return response

    def _queue(self, job: Any) -> None:
        with self._lock:
            if job in self._queued:
                return
            self._queued.add(job)
            self._jobs.put(job)
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._work, name="web-pages",
                                                daemon=True)
                self._worker.start()

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            with self._lock:
                self._queued.discard(job)
            try:
                self._do(job)
            except Exception:  # noqa: BLE001 - the page is made on request instead
                log.exception("rendering the web view's pages ahead failed")
            finally:
                self._jobs.task_done()

    def _do(self, job: Any) -> None:
        if job is _WARM_UP:
            started = time.perf_counter()
            made = self.warm()
            log.info("web view: %d pages rendered ahead in %.1f s", made,
                     time.perf_counter() - started)
            return
        generation = self.generation()
        entry = self._entries.get(job)
        if entry is None or entry.generation != generation:
            self._render(job, generation)
