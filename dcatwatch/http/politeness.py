"""Politeness and pacing: one request at a time per host, a pause between requests, retry
waits (backoff, Retry-After) and deadlines.

Every HTTP exchange (each attempt and each redirect hop) is made while holding its host's
turn from a :class:`HostGate`: a lock per host name, so at most one request per host is in
flight, and a time before which the host's next request may not start (``min_delay`` after
the previous exchange ended, or later when a server asked to be left alone with
``Retry-After``). Hosts are keyed by lower-case host name, whatever the port.

:data:`DEFAULT_GATE` is process-wide, so politeness holds even when each source or thread
builds its own client. Hosts whose pause has run out are swept from the gate as it grows, so
its size follows the hosts in use rather than every host ever seen.

The waits themselves come from libraries: :func:`backoff` is a tenacity wait strategy, and
:func:`parse_retry_after` is urllib3's header parser.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from tenacity import RetryCallState, Retrying
from tenacity.wait import wait_base, wait_exponential, wait_random_exponential
from urllib3.exceptions import InvalidHeader
from urllib3.util.retry import Retry


@dataclass(slots=True)
class _Host:
    lock: threading.Lock = field(default_factory=threading.Lock)
    not_before: float = 0.0  # monotonic time before which no request may start
    users: int = 0  # threads holding or waiting for the turn


class HostGate:
    """Per-host turns shared by every client given the gate; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._hosts: dict[str, _Host] = {}
        self._sweep_at = 256

    @contextmanager
    def turn(self, host: str, min_delay: float) -> Iterator[float]:
        """Hold ``host``'s turn for one exchange, pausing first as the host's pacing requires.

        Yields the seconds spent waiting for other requests to the host to finish (the pause
        itself is not included), so that callers can leave that wait out of their deadlines.
        """
        state = self._enter(host)
        try:
            started = time.monotonic()
            with state.lock:
                waited = time.monotonic() - started
                with self._lock:
                    pause = state.not_before - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                try:
                    yield waited
                finally:
                    self._push(state, min_delay)
        finally:
            self._leave(state)

    def rest(self, host: str) -> None:
        """Sleep until ``host``'s pause is over, holding nothing: a caller that then takes
        the turn usually goes straight on."""
        with self._lock:
            state = self._hosts.get(host)
            pause = state.not_before - time.monotonic() if state else 0.0
        if pause > 0:
            time.sleep(pause)

    def defer(self, host: str, seconds: float) -> None:
        """Start no request to ``host`` for ``seconds`` from now (a server's Retry-After)."""
        state = self._enter(host)
        self._push(state, seconds)
        self._leave(state)

    def _enter(self, host: str) -> _Host:
        with self._lock:
            state = self._hosts.get(host)
            if state is None:
                state = self._hosts[host] = _Host()
            state.users += 1
            return state

    def _push(self, state: _Host, seconds: float) -> None:
        with self._lock:
            state.not_before = max(state.not_before, time.monotonic() + seconds)

    def _leave(self, state: _Host) -> None:
        with self._lock:
            state.users -= 1
            if len(self._hosts) < self._sweep_at:
                return
            now = time.monotonic()
            self._hosts = {host: s for host, s in self._hosts.items()
                           if s.users or s.not_before > now}
            self._sweep_at = max(256, 2 * len(self._hosts))


DEFAULT_GATE = HostGate()


class Deadline:
    """A wall-clock budget of ``seconds`` that may be extended."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.started = time.monotonic()
        self._end = self.started + seconds

    def remaining(self) -> float:
        return self._end - time.monotonic()

    def extend(self, seconds: float) -> None:
        self._end += seconds

    def elapsed(self) -> float:
        return time.monotonic() - self.started


def retriable(status: int) -> bool:
    """Whether an attempt answered with ``status`` is worth retrying: 429 and 5xx, but not
    501 (Not Implemented) and 505 (HTTP Version Not Supported), which will not change."""
    return status == 429 or (500 <= status < 600 and status not in (501, 505))


def backoff(base: float, cap: float) -> wait_base:
    """Tenacity's wait before the next attempt: ``base`` after the first failure, doubling
    per failure up to ``cap``, of which the upper half is random (equal jitter: clients that
    failed together come back apart, yet none comes back at once)."""
    return (wait_exponential(multiplier=base / 2, max=cap / 2)
            + wait_random_exponential(multiplier=base / 2, max=cap / 2))


def backoff_after(failures: int, base: float, cap: float) -> float:
    """:func:`backoff`'s wait after ``failures`` failed attempts, for a retry loop that
    tenacity does not drive (the link engine's host lanes)."""
    state = RetryCallState(Retrying(), None, (), {})
    state.attempt_number = failures
    return backoff(base, cap)(state)


# urllib3 parses the header only; the wait is judged against [http] retry_after_max elsewhere,
# so its own cap (6 h by default) is lifted to keep the server's figure in error messages
_RETRY_AFTER = Retry(retry_after_max=sys.maxsize)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds a ``Retry-After`` header asks for (delta-seconds, or an HTTP-date: 0 once it
    has passed), None if there is none or it is unusable."""
    if value is None:
        return None
    try:
        return float(_RETRY_AFTER.parse_retry_after(value))
    except InvalidHeader:
        return None
