"""Runs left ``running`` are marked failed (interrupted) and their work is redone: at start,
those a killed process left; once the store can be written again, those whose end a store
failure kept from being written. Counted in ``dcatwatch_runs_interrupted_total{kind}``."""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import UTC, datetime

from dcatwatch.metrics import Instruments
from dcatwatch.schedules import state
from dcatwatch.schedules.pending import Pending, Undone
from dcatwatch.schedules.store_watch import StoreWatch
from dcatwatch.store.core import Store

log = logging.getLogger(__name__)


class Recovery:
    """Marks, counts and logs interrupted runs; their work to redo is kept in ``pending``."""

    def __init__(self, store: Store, instruments: Instruments, pending: Pending,
                 watch: StoreWatch) -> None:
        self.store = store
        self.instruments = instruments
        self.pending = pending
        self.watch = watch

    def at_start(self, harvests: list[str], validations: list[str | None]) -> None:
        """The runs a previous process left running, as marked failed by
        :func:`state.recover_interrupted` and ``checks.recover_interrupted``: counted and
        logged; the validations are run again."""
        if harvests:
            self.instruments.record_unfinished(len(harvests))
            self.instruments.runs_interrupted.labels("harvest").inc(len(harvests))
            log.warning("%d runs left running by a previous process are marked failed: %s",
                        len(harvests), ", ".join(harvests), extra={"code": "run.internal"})
        if validations:
            self.instruments.runs_interrupted.labels("validation").inc(len(validations))
            log.warning("%d validation runs left running by a previous process are marked "
                        "failed and run again: %s", len(validations),
                        ", ".join(s or "(every source)" for s in validations),
                        extra={"code": "run.internal"})
            self.pending.add_validations(validations)

    def take_lost(self, harvesting: Collection[str],
                  checking: Collection[str | None]) -> Undone:
        """Take the work store failures left undone: mark its runs left ``running`` failed
        (not those of ``harvesting`` and ``checking``, which run again now) and write the
        retries that could not be written; the rest is for the caller to redo. Raises
        StoreError when the store still fails (the work stays pending)."""
        taken = self.pending.take()
        try:
            with self.store.write() as unit:
                harvests = state.recover_lost(
                    unit, datetime.now(UTC), sorted(taken.harvests - set(harvesting)),
                    [s for s in taken.validations if s not in checking],  # counted when lost
                    taken.retries)
        except BaseException:
            self.pending.put_back(taken)
            raise
        self.watch.ok()
        if harvests:
            self.instruments.runs_interrupted.labels("harvest").inc(len(harvests))
            log.warning("harvest runs interrupted by the store failure are marked failed: %s",
                        ", ".join(harvests), extra={"code": "run.internal"})
        return taken
