"""What the daemon is running now, so that a shutdown can wait for it."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager


class ActiveWork:
    """What is running now, so that a shutdown can wait for it."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._active: Counter[str] = Counter()

    @contextmanager
    def track(self, name: str) -> Iterator[None]:
        with self._changed:
            self._active[name] += 1
        try:
            yield
        finally:
            with self._changed:
                self._active[name] -= 1
                if not self._active[name]:
                    del self._active[name]
                self._changed.notify_all()

    def wait_idle(self, timeout: float) -> list[str]:
        """Wait up to ``timeout`` seconds for all work to end; what is still running."""
        with self._changed:
            self._changed.wait_for(lambda: not self._active, timeout)
            return sorted(self._active)
