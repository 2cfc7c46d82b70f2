"""Scoring runs and validations, beside the harvests, each in its own threads.

* :class:`Scoring`: one thread; a request merges into a queued run, so a burst of harvests
  gives one run (and one more after it for requests made while it ran).
* :class:`Checks`: validations of a source (None: every source: the link recheck) in a pool
  of ``[daemon] max_concurrent_checks``, which never holds a harvest slot; asked again while
  queued or running, a validation runs once more after. Their link checks go to the
  process's one link engine. One that completes asks for a scoring run.

A store failure interrupts either: counted, logged and kept pending until the store is back.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from dcatwatch.config import Settings
from dcatwatch.http.client import HttpClient
from dcatwatch.logs import log_context
from dcatwatch.metrics import Instruments
from dcatwatch.schedules import jobs
from dcatwatch.schedules.active import ActiveWork
from dcatwatch.schedules.pending import Pending
from dcatwatch.schedules.store_watch import StoreWatch
from dcatwatch.store.core import Store, StoreError

if TYPE_CHECKING:
    from dcatwatch.validators.linkengine import LinkChecker

log = logging.getLogger(__name__)


class Scoring:
    """Scoring runs (with a snapshot for ``/metrics``) in one thread, on request."""

    def __init__(self, store: Store, work: ActiveWork, watch: StoreWatch, pending: Pending,
                 stopping: threading.Event) -> None:
        self.store = store
        self.work = work
        self.watch = watch
        self.pending = pending
        self.stopping = stopping
        self.scored: Callable[[], None] = lambda: None  # called after each scoring run
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="scoring")
        self._queued = threading.Event()

    def request(self) -> None:
        """Have a scoring run soon (requests merge while one is queued)."""
        if self._queued.is_set() or self.stopping.is_set():
            return
        self._queued.set()
        try:
            self.pool.submit(self._score)
        except RuntimeError:  # shut down
            self._queued.clear()

    def _score(self) -> None:
        self._queued.clear()
        every_source = log_context(job="scoring", source=None, run_id=None)
        with self.work.track("scoring"), every_source:
            try:
                jobs.score(self.store)
                self.scored()
            except StoreError as exc:
                self.watch.interrupted("scoring", "scoring run", exc)
                self.pending.rescore()
            except Exception:  # noqa: BLE001 - the next request tries again
                log.exception("scoring failed", extra={"code": "run.internal"})


class Checks:
    """Validations (metadata, links, data) in their own pool, at most one queued or running
    per source."""

    def __init__(self, settings: Settings, store: Store, instruments: Instruments,
                 client: HttpClient, links: LinkChecker, work: ActiveWork, watch: StoreWatch,
                 pending: Pending, validated: Callable[[], None]) -> None:
        self.settings = settings
        self.store = store
        self.instruments = instruments
        self.client = client
        self.links = links
        self.work = work
        self.watch = watch
        self.pending = pending
        self.validated = validated  # the link and data results count now
        self.pool = ThreadPoolExecutor(settings.daemon.max_concurrent_checks,
                                       thread_name_prefix="checks")
        self._lock = threading.Lock()  # guards the two sets below
        self._active: set[str | None] = set()  # queued or running validations
        self._again: set[str | None] = set()  # asked for again while active

    def request(self, source: str | None) -> None:
        """Validate ``source`` (None: every source) in the pool; asked again while queued or
        running, it runs once more after."""
        with self._lock:
            if source in self._active:
                self._again.add(source)
                return
            self._active.add(source)
        try:
            self.pool.submit(self._validate, source)
        except RuntimeError:  # shut down: an interrupted validation is redone at start
            with self._lock:
                self._active.discard(source)

    def active(self) -> set[str | None]:
        """The validations queued or running now."""
        with self._lock:
            return set(self._active)

    def feed_links(self, source: str) -> None:
        """Have the link engine start on ``source``'s harvested links now (see
        :func:`.jobs.feed_links`): its validation may wait for a checks slot."""
        jobs.feed_links(self.store, self.links, source)

    def _validate(self, source: str | None) -> None:
        name = f"validation {source or '(every source)'}"
        again = False
        try:
            with self.work.track(name), log_context(job="validation", source=source):
                jobs.validate_source(self.settings, self.store, source, self.client,
                                     self.instruments, self.links.start())
                self.validated()
        except StoreError as exc:
            self.watch.interrupted("validation", "validation", exc, source=source)
            self.pending.lose_validation(source)
        except Exception:  # noqa: BLE001 - scores must not wait for a broken check
            log.exception("validation failed", extra={"source": source})
        finally:
            with self._lock:
                self._active.discard(source)
                if source in self._again:
                    self._again.discard(source)
                    again = True
        if again:
            self.request(source)
