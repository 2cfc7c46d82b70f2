"""The daemon's link engine in a process of its own.

The :class:`~dcatwatch.validators.linkengine.LinkEngine` is an asyncio loop: it keeps its
pacing only when it gets the interpreter at once. In ``serve`` it shared the GIL with the
harvests, the metadata and SHACL checks and the scoring runs, which added 15–25 ms to every
request and held a host's lane well past its ``min_delay``. :class:`LinkProcess` runs the
engine in a child process (``multiprocessing``, spawned, named ``dcatwatch-links`` in
``ps``/``top``) with its own store connection and host leases, behind the same calls:

* :meth:`~LinkProcess.feed` and :meth:`~LinkProcess.check` send the URLs; the child reads
  which are due, checks and stores them; ``check`` returns when they are stored (or raises
  what lost them: a store error stays a store error);
* :meth:`~LinkProcess.in_lane` asks the child for the host's turn, runs the download here
  (frictionless stays in the validation's process), then gives the turn back, so a data
  check keeps the host's pacing;
* the child's figures (checks queued, in flight, recorded; HTTP responses; round duration)
  reach this process's instruments, so ``/metrics`` shows them as before.

The child ignores SIGINT and SIGTERM (this process stops it) and ends when its pipe closes,
so it never outlives the daemon. If it dies, the callers waiting get a RuntimeError and the
next call starts a new one.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import multiprocessing
import os
import pickle
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any, TypeVar

from dcatwatch.store.core import StoreError, describe
from dcatwatch.validators.linkengine import EngineSettings, LinkEngine, Progress

if TYPE_CHECKING:
    from dcatwatch.config import Settings
    from dcatwatch.metrics.instruments import Instruments

log = logging.getLogger(__name__)
T = TypeVar("T")
NAME = "dcatwatch-links"  # the child's name in ps and top
REPORT_EVERY = 0.5  # seconds between the child's reports of its figures and of progress
CALLS = 64  # calls the child serves at once (checks waiting, data downloads in their turn)
START_TIMEOUT = 60.0  # seconds the child may take to start


@dataclass(slots=True)
class _Call:
    """A call waiting for the child: its answer or error, and progress on the way."""

    progress: Progress | None = None
    answered: threading.Event = field(default_factory=threading.Event)
    value: Any = None
    error: BaseException | None = None


class LinkProcess:
    """The link engine of ``settings``' deployment in a child process (see the module doc).
    Thread-safe; :meth:`start` is idempotent and also restarts a child that died."""

    def __init__(self, settings: Settings, instruments: Instruments | None = None,
                 worker: str | None = None) -> None:
        self.app_settings = settings
        self.settings = EngineSettings.of(settings.http, settings.validation)
        self.instruments = instruments
        self.worker = worker
        self._lock = threading.Lock()  # guards starting, stopping and the calls table
        self._send_lock = threading.Lock()
        self._process: multiprocessing.process.BaseProcess | None = None
        self._conn: Connection | None = None
        self._reader: threading.Thread | None = None
        self._calls: dict[int, _Call] = {}
        self._ids = itertools.count(1)
        self._stopped = False

    def start(self) -> LinkProcess:
        """Start the child unless it runs; RuntimeError once stopped."""
        with self._lock:
            if self._stopped:
                raise RuntimeError("the link checks were stopped (shutting down)")
            if self._process is None or not self._process.is_alive():
                self._spawn()
        return self

    def __enter__(self) -> LinkProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def feed(self, urls: Iterable[str]) -> None:
        """Have the child queue the due URLs among ``urls`` without waiting for them."""
        wanted = list(urls)
        if wanted:
            self._send(("feed", 0, wanted))

    def check(self, urls: Iterable[str], progress: Progress | None = None) -> int:
        """Check the due URLs among ``urls`` and wait until their results are stored; how
        many were due. Raises what lost the results."""
        wanted = list(urls)
        if not wanted:
            return 0
        count: int = self._ask("check", wanted, progress)
        return count

    def in_lane(self, url: str, work: Callable[[], T]) -> T:
        """Run ``work`` (a blocking download of ``url``) here when ``url``'s host lane, in
        the child, gives it the turn; its result."""
        call_id = self._open()
        self._send(("turn", call_id, url))
        self._wait(call_id)
        try:
            return work()
        finally:
            with contextlib.suppress(RuntimeError):  # the child is gone: nothing to give back
                self._send(("end", call_id, None))

    def stop(self) -> None:
        """Stop the child (its engine releases its leases); waiting callers get an error."""
        with self._lock:
            self._stopped = True
            process, conn = self._process, self._conn
        if process is None or conn is None:
            return
        with contextlib.suppress(OSError, RuntimeError):
            self._send(("stop", 0, None))
        process.join(40)
        if process.is_alive():
            log.warning("the link checker process did not stop in time; killing it")
            process.kill()
            process.join(5)
        conn.close()
        if self._reader is not None:
            self._reader.join(5)

    # -- this process's side ---------------------------------------------------------------

    def _spawn(self) -> None:
        context = multiprocessing.get_context("spawn")
        mine, theirs = context.Pipe()
        root = logging.getLogger()
        json_lines = any(type(h.formatter).__name__ == "JsonFormatter" for h in root.handlers)
        process = context.Process(
            target=_child, name=NAME, daemon=True,
            args=(self.app_settings, self.worker, theirs, root.getEffectiveLevel(), json_lines))
        process.start()
        theirs.close()
        if not mine.poll(START_TIMEOUT):
            process.kill()
            raise RuntimeError(f"the link checker process did not start within "
                               f"{START_TIMEOUT:.0f} s")
        try:
            kind, _, detail = mine.recv()
        except EOFError:
            process.join(5)
            raise RuntimeError(f"the link checker process ended while starting (exit code "
                               f"{process.exitcode}); see the log above") from None
        if kind != "ready":
            process.join(5)
            raise RuntimeError(f"the link checker process could not start: {detail}")
        self._process, self._conn = process, mine
        self._reader = threading.Thread(target=self._read, args=(mine, process),
                                        name="link-process-reader", daemon=True)
        self._reader.start()
        log.info("link checker process started (pid %d)", process.pid)

    def _open(self, progress: Progress | None = None) -> int:
        self.start()
        with self._lock:
            call_id = next(self._ids)
            self._calls[call_id] = _Call(progress)
        return call_id

    def _ask(self, kind: str, payload: object, progress: Progress | None = None) -> Any:
        call_id = self._open(progress)
        try:
            self._send((kind, call_id, payload))
        except BaseException:
            with self._lock:
                self._calls.pop(call_id, None)
            raise
        return self._wait(call_id)

    def _wait(self, call_id: int) -> Any:
        with self._lock:
            call = self._calls[call_id]
        try:
            call.answered.wait()
        finally:
            with self._lock:
                self._calls.pop(call_id, None)
        if call.error is not None:
            raise call.error
        return call.value

    def _send(self, message: tuple[str, int, object]) -> None:
        if message[0] != "stop":
            self.start()
        conn = self._conn
        if conn is None:
            raise RuntimeError("the link checker process is not running")
        with self._send_lock:
            try:
                conn.send(message)
            except (OSError, ValueError) as exc:
                raise RuntimeError(f"the link checker process is gone ({exc})") from exc

    def _read(self, conn: Connection, process: multiprocessing.process.BaseProcess) -> None:
        """(A thread.) Hand the child's answers to their callers; its figures to the
        instruments. When the pipe closes, every caller still waiting gets an error."""
        try:
            while True:
                kind, call_id, payload = conn.recv()
                if kind == "figures":
                    self._apply(payload)
                    continue
                with self._lock:
                    call = self._calls.get(call_id)
                if call is None:
                    continue
                if kind == "progress":
                    if call.progress is not None:
                        call.progress(*payload)
                    continue
                if kind == "failed":
                    call.error = _error(payload)
                else:  # "done" (a check) or "go" (a turn)
                    call.value = payload
                call.answered.set()
        except (EOFError, OSError):
            pass
        process.join(5)
        stopped = self._stopped
        if not stopped:
            log.error("the link checker process ended (exit code %s); it is started again for "
                      "the next check", process.exitcode, extra={"code": "run.internal"})
        gone = RuntimeError("the link checks were stopped (shutting down)" if stopped else
                            f"the link checker process ended (exit code {process.exitcode})")
        with self._lock:
            if self._process is process:
                self._process, self._conn = None, None
            calls = list(self._calls.values())
        for call in calls:
            if not call.answered.is_set():
                call.error = gone
                call.answered.set()

    def _apply(self, figures: dict[str, Any]) -> None:
        instruments = self.instruments
        if instruments is None:
            return
        instruments.link_checks_state(*figures["state"])
        if figures["verdicts"]:
            instruments.link_checks_recorded(list(Counter(figures["verdicts"]).elements()))
        if figures["round"] is not None:
            instruments.link_round_finished(figures["round"])
        if figures["responses"] or figures["bytes"]:
            instruments.on_responses(figures["responses"], figures["bytes"])


def _error(payload: tuple[str, str, bytes | None]) -> BaseException:
    """The exception the child sent: itself when it could be pickled, else its kind."""
    kind, message, pickled = payload
    if pickled is not None:
        with contextlib.suppress(Exception):
            error = pickle.loads(pickled)
            if isinstance(error, BaseException):
                return error
    return StoreError(message) if kind == "store" else RuntimeError(message)


# -- the child ------------------------------------------------------------------------------


class _Figures:
    """The child's :class:`~dcatwatch.validators.links.LinkMetrics` and response hook: kept
    here and sent to the parent every :data:`REPORT_EVERY` seconds."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.state = (0, 0)
        self.verdicts: Counter[str] = Counter()
        self.round: float | None = None
        self.responses: Counter[int] = Counter()
        self.bytes = 0
        self.changed = False

    def link_checks_state(self, queued: int, in_flight: int) -> None:
        self.state, self.changed = (queued, in_flight), True

    def link_checks_recorded(self, verdicts: Sequence[str]) -> None:
        with self.lock:
            self.verdicts.update(verdicts)
            self.changed = True

    def link_round_finished(self, seconds: float) -> None:
        self.round, self.changed = seconds, True

    def on_response(self, status: int, nbytes: int) -> None:
        with self.lock:
            self.responses[status] += 1
            self.bytes += nbytes
            self.changed = True

    def take(self) -> dict[str, Any] | None:
        """What changed since the last call, or None."""
        with self.lock:
            if not self.changed:
                return None
            taken = {"state": self.state, "verdicts": dict(self.verdicts), "round": self.round,
                     "responses": dict(self.responses), "bytes": self.bytes}
            self.verdicts, self.responses, self.bytes = Counter(), Counter(), 0
            self.round, self.changed = None, False
        return taken


class _Child:
    """The child's side: commands from the pipe, answers back (one lock for sending)."""

    def __init__(self, engine: LinkEngine, conn: Connection, figures: _Figures) -> None:
        self.engine = engine
        self.conn = conn
        self.figures = figures
        self.send_lock = threading.Lock()
        self.calls = ThreadPoolExecutor(CALLS, thread_name_prefix="link-call")
        self.turns: dict[int, threading.Event] = {}
        self.done = threading.Event()

    def send(self, message: tuple[str, int, object]) -> None:
        with self.send_lock, contextlib.suppress(OSError, ValueError):
            self.conn.send(message)

    def serve(self) -> None:
        """Answer commands until ``stop`` or until the parent goes away."""
        reporter = threading.Thread(target=self._report, name="link-figures", daemon=True)
        reporter.start()
        try:
            while True:
                try:
                    kind, call_id, payload = self.conn.recv()
                except (EOFError, OSError):
                    break  # the parent is gone
                if kind == "stop":
                    break
                if kind == "end":
                    self.turns.pop(call_id, threading.Event()).set()
                elif kind == "feed":
                    self.calls.submit(self._feed, payload)
                elif kind == "check":
                    self.calls.submit(self._check, call_id, payload)
                elif kind == "turn":
                    self.turns[call_id] = threading.Event()
                    self.calls.submit(self._turn, call_id, payload)
        finally:
            self.done.set()
            for event in list(self.turns.values()):
                event.set()
            self.engine.stop()
            self.calls.shutdown(wait=False, cancel_futures=True)
            reporter.join(REPORT_EVERY * 2)
            self._send_figures()

    def _feed(self, urls: list[str]) -> None:
        try:
            self.engine.feed(urls)
        except RuntimeError:
            pass  # stopping
        except StoreError as exc:
            log.warning("links not fed to the link engine: %s", describe(exc))

    def _check(self, call_id: int, urls: list[str]) -> None:
        last = 0.0

        def progress(stage: str, done: int, total: int) -> None:
            nonlocal last
            now = time.monotonic()
            if done in (0, total) or now - last >= REPORT_EVERY:
                last = now
                self.send(("progress", call_id, (stage, done, total)))

        try:
            count = self.engine.check(urls, progress)
        except BaseException as exc:  # noqa: BLE001 - the caller's, in the parent
            self._send_figures()
            self.send(("failed", call_id, _packed(exc)))
        else:
            self._send_figures()  # the caller's next look at /metrics sees its checks
            self.send(("done", call_id, count))

    def _turn(self, call_id: int, url: str) -> None:
        ended = self.turns.get(call_id) or threading.Event()  # ("end" may come at once)

        def hold() -> None:  # runs while the lane gives the host's turn
            self.send(("go", call_id, None))
            ended.wait()

        try:
            self.engine.in_lane(url, hold)
        except BaseException as exc:  # noqa: BLE001 - the caller's, in the parent
            self.send(("failed", call_id, _packed(exc)))
        finally:
            self.turns.pop(call_id, None)

    def _report(self) -> None:
        while not self.done.wait(REPORT_EVERY):
            self._send_figures()

    def _send_figures(self) -> None:
        figures = self.figures.take()
        if figures is not None:
            self.send(("figures", 0, figures))


def _packed(exc: BaseException) -> tuple[str, str, bytes | None]:
    """``exc`` for the pipe: its kind, its message, and itself pickled when it can be."""
    kind = "store" if isinstance(exc, StoreError) else "other"
    message = describe(exc) if kind == "store" else f"{type(exc).__name__}: {exc}"
    try:
        pickled: bytes | None = pickle.dumps(exc)
        pickle.loads(pickled)
    except Exception:  # noqa: BLE001 - sent by kind and message instead
        pickled = None
    return kind, message, pickled


def _child(settings: Settings, worker: str | None, conn: Connection, level: int,
           json_lines: bool) -> None:
    """The child process: the engine, until the parent says stop or goes away."""
    from dcatwatch.http.leases import host_leases
    from dcatwatch.logs import configure
    from dcatwatch.store.core import Store
    from dcatwatch.validators.service import now, process_name

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)  # the parent stops this process
    with contextlib.suppress(OSError):
        with open(f"/proc/{os.getpid()}/comm", "w", encoding="ascii") as comm:
            comm.write(NAME)
    configure(logging.getLevelName(level), sys.stderr, json_lines)
    try:
        store = Store.open(settings.database.url)
        figures = _Figures()
        leases = host_leases(store, settings, worker or process_name())
        engine = LinkEngine(store, EngineSettings.of(settings.http, settings.validation),
                            now=now, leases=leases, metrics=figures,
                            on_response=figures.on_response).start()
    except BaseException as exc:  # noqa: BLE001 - told to the parent, which raises it
        conn.send(("failed", 0, f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("ready", 0, None))
    try:
        _Child(engine, conn, figures).serve()
    finally:
        store.close()
