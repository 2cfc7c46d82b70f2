"""Whether the daemon's store can be written: every failed write says so, a write probe
looks again, and ``/readyz`` and ``dcatwatch_store_writable`` tell operators (one log line
per outage). What a failure left undone waits in :mod:`~dcatwatch.schedules.pending`."""

from __future__ import annotations

import logging
import time
from typing import Any

from dcatwatch.metrics import Instruments
from dcatwatch.store.core import Store, StoreError, describe
from dcatwatch.store.db import hide_password

log = logging.getLogger(__name__)
WATCH_EVERY = 2.0  # seconds between the store watch's looks
PROBE_EVERY = 10.0  # seconds between write probes while the store seems fine


class StoreWatch:
    """The store's health as its last write (or write probe) found it."""

    def __init__(self, store: Store, instruments: Instruments) -> None:
        self.store = store
        self.instruments = instruments
        self.problem: str | None = None  # why the last store write failed
        self._last_probe = 0.0

    def failed(self, exc: BaseException | str) -> None:
        """A store write failed: /readyz fails until one succeeds; logged once per outage."""
        problem = exc if isinstance(exc, str) else describe(exc)
        first = self.problem is None
        self.problem = problem
        self.instruments.store_writable.set(0)
        if first:
            log.error("the database %s cannot be written (%s): runs wait and are retried "
                      "when it is back; make sure it is running, reachable, writable and "
                      "has free space", hide_password(self.store.url), problem,
                      extra={"code": "run.internal"})

    def ok(self) -> None:
        """A store write succeeded."""
        if self.problem is not None:
            log.info("the database can be written again; carrying on")
        self.problem = None
        self.instruments.store_writable.set(1)

    def probe(self, undone: bool) -> bool:
        """Probe the store while it fails or work is ``undone`` (and every ``PROBE_EVERY``
        s otherwise); True when a probe wrote."""
        now = time.monotonic()
        if self.problem is None and not undone and now - self._last_probe < PROBE_EVERY:
            return False
        self._last_probe = now
        problem = self.store.unwritable()
        if problem is not None:
            self.failed(problem)
            return False
        self.ok()
        return True

    def interrupted(self, kind: str, what: str, exc: StoreError, after: str = "",
                    **extra: Any) -> None:
        """A run of ``kind`` (``what`` in the log) was cut short by a store failure: counted
        in ``dcatwatch_runs_interrupted_total``; the caller keeps it pending."""
        self.failed(exc)
        self.instruments.runs_interrupted.labels(kind).inc()
        log.error("%s interrupted (%s); it runs again when the store is back%s", what,
                  describe(exc), after, extra={"code": "run.internal", **extra})
