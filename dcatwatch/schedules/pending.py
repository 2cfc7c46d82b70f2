"""Work a store failure left undone, kept in memory until a store write succeeds (the
daemon's ``flush_pending`` then does it)."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class Undone:
    """What store failures left undone (see :class:`Pending`)."""

    retries: dict[str, datetime] = field(default_factory=dict)  # source → retry by
    harvests: set[str] = field(default_factory=set)  # sources whose run may say running
    validations: set[str | None] = field(default_factory=set)  # to mark and redo
    scoring: bool = False
    reports: bool = False


class Pending:
    """Work a store failure left undone, kept in memory until a store write succeeds."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._undone = Undone()

    def any(self) -> bool:
        with self._lock:
            undone = self._undone
            return bool(undone.retries or undone.harvests or undone.validations
                        or undone.scoring or undone.reports)

    def retry(self, source: str, moment: datetime) -> None:
        with self._lock:
            self._undone.retries[source] = min(moment, self._undone.retries.get(source, moment))

    def lose_harvest(self, source: str) -> None:
        with self._lock:
            self._undone.harvests.add(source)

    def lose_validation(self, source: str | None) -> None:
        with self._lock:
            self._undone.validations.add(source)

    def add_validations(self, sources: Iterable[str | None]) -> None:
        with self._lock:
            self._undone.validations.update(sources)

    def rescore(self) -> None:
        with self._lock:
            self._undone.scoring = True

    def resend(self) -> None:
        with self._lock:
            self._undone.reports = True

    def take(self) -> Undone:
        with self._lock:
            taken, self._undone = self._undone, Undone()
            return taken

    def put_back(self, taken: Undone) -> None:
        with self._lock:
            for source, moment in taken.retries.items():
                self._undone.retries[source] = min(
                    moment, self._undone.retries.get(source, moment))
            self._undone.harvests |= taken.harvests
            self._undone.validations |= taken.validations
            self._undone.scoring |= taken.scoring
            self._undone.reports |= taken.reports
