"""The HTTP client every fetch goes through: bounded, polite, guarded, streaming to disk.

A fetch is a loop of redirect hops; each hop is a loop of attempts; each attempt is one
HTTP exchange made while holding the host's turn (politeness.py: one request at a time per
host, ``min_delay`` between requests). Around that:

* Timeouts: ``connect_timeout`` and ``read_timeout`` per socket operation, and
  ``total_timeout`` for the whole fetch: hops, retries and pauses included, time spent
  waiting while another request to the same host is in flight excluded. At the deadline a
  watchdog shuts down the socket of the exchange under way, whatever it is doing
  (connecting, a TLS handshake, headers or a body arriving a byte at a time, which never
  trips the read timeout), so no exchange holds its host's turn past its fetch's deadline.
* Retries: connection errors (also a transfer breaking off), 429 and 5xx but 501/505 are
  retried ``retries`` times after a jittered exponential backoff, or after ``Retry-After``.
  tenacity drives the attempts; the wait is handed to the host's gate, not slept, so it
  holds back every request to that host. A Retry-After above ``retry_after_max`` fails at
  once, as does a wait that would pass ``total_timeout``. Timeouts and TLS failures are not
  retried: a server that went silent would only be loaded further, and a certificate does
  not fix itself.
* Redirects are followed here, hop by hop, so that every hop passes the scheme check and the
  address guard (addresses.py: DNS answers are checked and pinned). Basic auth, the
  caller's headers and the conditional-GET validators go to the first origin only; a hop
  to another origin gets only User-Agent, Accept and Accept-Encoding.
* Bodies are decoded and capped in bodies.py (``max_bytes``, ``max_wire_bytes``, expansion
  ratio); a Content-Length above the cap fails before the download. ``fetch(prefix=n)``
  keeps the first n decoded bytes of a body of any size instead (data checks sample huge
  files): ``max_bytes`` and ``max_wire_bytes`` give way to the prefix's own cap on bytes
  received (bodies.py); the expansion ratio still holds.
* No cookies are kept, no environment proxies are used, TLS is always verified.

``on_response(status, nbytes)`` is called once per attempt that reached the network: with
the status and decoded size of the final response; with ``(status, 0)`` for a 429/5xx that
was retried or failed the fetch, another error status, or a cap exceeded; with ``(0, 0)``
when the attempt failed otherwise (connection error, timeout, broken transfer, bad
encoding). Redirect hops and URLs refused before sending are not counted.

A client may be shared between threads.
"""

from __future__ import annotations

import errno
import math
import re
import socket
import ssl
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, NoReturn, cast
from urllib.parse import urljoin, urlsplit

import requests
from requests.structures import CaseInsensitiveDict
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt
from tenacity.wait import wait_base
from urllib3.connectionpool import HTTPConnectionPool

from dcatwatch import __version__
from dcatwatch.config import HttpSettings
from dcatwatch.errors import FetchError
from dcatwatch.http.addresses import (
    AddressPolicy,
    GuardedAdapter,
    RefusedAddressError,
    check_url,
    same_origin,
)
from dcatwatch.http.bodies import BodyLimits, BodyReader
from dcatwatch.http.politeness import (
    DEFAULT_GATE,
    Deadline,
    HostGate,
    backoff,
    parse_retry_after,
    retriable,
)

USER_AGENT = f"dcatwatch/{__version__} (+https://github.com/dcatwatch/dcatwatch)"
REDIRECTS = frozenset({301, 302, 303, 307, 308})
_NOT_SENT = frozenset({"fetch.refused_address", "fetch.refused_scheme", "fetch.invalid_url"})
_EVERY_HOP = ("User-Agent", "Accept", "Accept-Encoding")  # the headers sent to other origins


EXPANSION_CHECK_BYTES = 10 << 20  # bytes read before the expansion ratio is judged


@dataclass(slots=True)
class CacheValidators:
    """What a previous fetch of a URL left for a conditional GET."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(slots=True)
class FetchResult:
    """One fetched URL: the body is in ``path`` (None on 304 and for probes) and is the
    caller's to delete; ``size`` counts decoded bytes, ``wire_size`` bytes received."""

    url: str
    final_url: str
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    path: Path | None = None
    size: int = 0
    sha256: str | None = None
    elapsed: float = 0.0
    wire_size: int = 0

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def content_type(self) -> str | None:
        return self.headers.get("content-type")

    @property
    def validators(self) -> CacheValidators:
        return CacheValidators(self.headers.get("etag"), self.headers.get("last-modified"))


ResponseHook = Callable[[int, int], None]


class _RetryableError(Exception):
    """An attempt failed in a way worth retrying."""

    def __init__(self, error: FetchError, retry_after: float | None = None) -> None:
        super().__init__(error.message)
        self.error = error
        self.retry_after = retry_after


def _retried(state: RetryCallState) -> _RetryableError:
    """The failure of the attempt tenacity is deciding about (it retries no other kind)."""
    assert state.outcome is not None
    return cast(_RetryableError, state.outcome.exception())


class _WaitRetryAfter(wait_base):
    """The server's ``Retry-After`` when it sent one, else ``backoff``."""

    def __init__(self, backoff: wait_base) -> None:
        self.backoff = backoff

    def __call__(self, state: RetryCallState) -> float:
        retry_after = _retried(state).retry_after
        return self.backoff(state) if retry_after is None else retry_after


def _fail(state: RetryCallState, problem: str) -> NoReturn:
    """Raise the last attempt's error, saying why there is no further attempt."""
    retry = _retried(state)
    error = retry.error
    raise FetchError(error.code, f"{error.message}; {problem}", error.url,
                     status=error.status, cause=error.cause) from retry


def _give_up(state: RetryCallState) -> NoReturn:
    """Every attempt ([http] retries + 1) failed."""
    attempts = state.attempt_number
    _fail(state, f"gave up after {attempts} attempt{'s' if attempts > 1 else ''}")


def _refuse_wait(settings: HttpSettings, call: _Call, state: RetryCallState) -> None:
    """Fail instead of waiting longer than the server may ask for or the fetch may take."""
    retry_after = _retried(state).retry_after
    if retry_after is not None and retry_after > settings.retry_after_max:
        _fail(state, f"the server asks to retry after {retry_after:g} s, more than "
                     f"[http] retry_after_max = {settings.retry_after_max:g} s")
    assert state.next_action is not None
    wait = state.next_action.sleep
    if wait >= call.deadline.remaining():
        _fail(state, f"a retry in {wait:.3g} s would pass [http] total_timeout = "
                     f"{call.deadline.seconds:g} s")


@dataclass(slots=True)
class _Call:
    """The options of one fetch, resolved against the settings."""

    headers: CaseInsensitiveDict[str]  # for every hop
    private: CaseInsensitiveDict[str]  # the caller's other headers: for the first origin only
    auth: tuple[str, str] | None
    read_timeout: float
    min_delay: float
    deadline: Deadline
    prefix: int | None = None  # keep the first this many decoded bytes of the body


def _failure(exc: requests.exceptions.RequestException, url: str, connect: float,
             read: float) -> FetchError | _RetryableError:
    """The error for a request that failed to get a response (not for want of time)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return FetchError("fetch.timeout", f"could not connect within {connect:.3g} s "
                          "([http] connect_timeout)", url, cause="timeout")
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return FetchError("fetch.timeout", f"no response within {read:.3g} s "
                          "([http] read_timeout)", url, cause="timeout")
    if isinstance(exc, requests.exceptions.SSLError):
        return FetchError("fetch.connection", _problem(url, exc), url, cause="tls")
    if isinstance(exc, requests.exceptions.ConnectionError):
        return _RetryableError(FetchError("fetch.connection", _problem(url, exc), url,
                                          cause=socket_cause(exc)))
    return FetchError("fetch.invalid_url", f"not a valid URL: {exc}", url)


_USERINFO = re.compile(r"(?<=//)[^/?#@\s]*@")


def redact(text: str) -> str:
    """``text`` with the ``user:password@`` of any URL in it left out (error messages)."""
    return _USERINFO.sub("", text)


def _problem(url: str, exc: requests.exceptions.ConnectionError) -> str:
    """What went wrong, from the innermost reason a requests ConnectionError wraps."""
    reason = exc.args[0] if exc.args else exc
    reason = getattr(reason, "reason", reason)  # urllib3's MaxRetryError wraps the real one
    cause = getattr(reason, "__cause__", None) or reason
    where = urlsplit(url).netloc.rpartition("@")[2]
    if isinstance(exc, requests.exceptions.SSLError):
        return f"TLS with {where} failed: {cause}"
    if isinstance(cause, socket.gaierror):
        return f"could not resolve the host name of {where}: {cause}"
    return f"could not connect to {where}: {cause}"


_TEMPORARY_DNS = frozenset(getattr(socket, name) for name in ("EAI_AGAIN",)
                           if hasattr(socket, name))
_NO_SUCH_HOST = frozenset(getattr(socket, name) for name in ("EAI_NONAME", "EAI_NODATA")
                          if hasattr(socket, name))
_NO_ROUTE = frozenset({errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN, errno.EADDRNOTAVAIL})
_RESET = frozenset({errno.ECONNRESET, errno.EPIPE, errno.ECONNABORTED})


def socket_cause(exc: BaseException) -> str | None:
    """What kind of socket error lies under ``exc`` (see :class:`FetchError`): the first one
    found going down the chain of wrapped exceptions (urllib3's ``reason``, causes, args)."""
    seen: set[int] = set()
    todo: list[object] = [exc]
    while todo:
        item = todo.pop(0)
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, socket.gaierror):
            if item.errno in _TEMPORARY_DNS:
                return "dns_temporary"
            return "no_such_host" if item.errno in _NO_SUCH_HOST else "dns_failed"
        if isinstance(item, ssl.SSLError):
            return "tls"
        if isinstance(item, ConnectionRefusedError):
            return "refused"
        if isinstance(item, (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)):
            return "reset"
        if isinstance(item, TimeoutError | socket.timeout):
            return "timeout"
        if isinstance(item, OSError) and item.errno in _NO_ROUTE:
            return "unreachable"
        if isinstance(item, OSError) and item.errno in _RESET:
            return "reset"
        todo += [getattr(item, "reason", None), item.__cause__, item.__context__, *item.args]
    if isinstance(exc, requests.exceptions.ConnectionError) and "RemoteDisconnected" in str(exc):
        return "reset"
    return None


class _Watchdog:
    """Shuts down every socket one exchange uses once ``seconds`` have passed.

    The sockets come from the connections of :class:`_WatchedAdapter` while the watchdog is
    the current thread's. It keeps duplicates of their descriptors: a shutdown through one
    reaches the socket under TLS too, and they stay valid however urllib3 closes or wraps
    its own. ``fired`` tells whether the time ran out.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.fired = threading.Event()
        self._lock = threading.Lock()
        self._copies: list[socket.socket] = []

    def __enter__(self) -> threading.Event:
        _TIMER.arm(self, self.seconds)
        _current.watchdog = self
        return self.fired

    def __exit__(self, *exc: object) -> None:
        _TIMER.disarm(self)
        _current.watchdog = None
        with self._lock:
            for copy in self._copies:
                copy.close()
            self._copies.clear()

    def watch(self, sock: socket.socket) -> None:
        """Shut ``sock`` down when the time runs out, or now if it has."""
        copy = socket.fromfd(sock.fileno(), sock.family, sock.type)
        with self._lock:
            self._copies.append(copy)
            if self.fired.is_set():
                _shut(copy)

    def fire(self) -> None:
        with self._lock:
            self.fired.set()
            for copy in self._copies:
                _shut(copy)


def _shut(sock: socket.socket) -> None:
    with suppress(OSError):  # not connected (any more)
        sock.shutdown(socket.SHUT_RDWR)


class _Timer:
    """One thread, started on demand, that fires armed watchdogs when their time comes
    (cheaper than a timer thread per exchange)."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._armed: dict[_Watchdog, float] = {}  # watchdog: when it fires (monotonic)
        self._next = math.inf  # when the thread wakes up next
        self._thread: threading.Thread | None = None

    def arm(self, watchdog: _Watchdog, seconds: float) -> None:
        when = time.monotonic() + seconds
        with self._changed:
            self._armed[watchdog] = when
            if self._thread is None or not self._thread.is_alive():  # or in a forked child
                self._thread = threading.Thread(target=self._run, name="dcatwatch-watchdog",
                                                daemon=True)
                self._thread.start()
            elif when < self._next:
                self._changed.notify()

    def disarm(self, watchdog: _Watchdog) -> None:
        with self._changed:
            self._armed.pop(watchdog, None)

    def _run(self) -> None:
        with self._changed:
            while True:
                now = time.monotonic()
                for watchdog in [w for w, when in self._armed.items() if when <= now]:
                    del self._armed[watchdog]
                    watchdog.fire()
                self._next = min(self._armed.values(), default=math.inf)
                self._changed.wait(None if self._next == math.inf else self._next - now)


_TIMER = _Timer()
_current = threading.local()  # .watchdog: the watchdog of the thread's exchange, if any


def _watch(sock: socket.socket | None) -> None:
    watchdog: _Watchdog | None = getattr(_current, "watchdog", None)
    if watchdog is not None and sock is not None:
        watchdog.watch(sock)


class _Watched:
    """Mixin for urllib3 connections: hand each socket used to the thread's watchdog."""

    sock: socket.socket | None

    def _new_conn(self) -> socket.socket:
        sock: socket.socket = super()._new_conn()  # type: ignore[misc]
        _watch(sock)
        return sock

    def request(self, *args: Any, **kwargs: Any) -> None:
        _watch(self.sock)  # a connection kept alive (or one just connected: watched twice)
        super().request(*args, **kwargs)  # type: ignore[misc]


def _watched(pool: type[HTTPConnectionPool]) -> type[HTTPConnectionPool]:
    connection = type(pool.ConnectionCls.__name__, (_Watched, pool.ConnectionCls), {})
    return type(pool.__name__, (pool,), {"ConnectionCls": connection})


class _WatchedAdapter(GuardedAdapter):
    """A :class:`GuardedAdapter` whose connections are watched (see :class:`_Watchdog`)."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            scheme: _watched(pool)
            for scheme, pool in self.poolmanager.pool_classes_by_scheme.items()}


class HttpClient:
    """Fetches URLs to temporary files within the configured limits (see the module doc)."""

    def __init__(self, settings: HttpSettings | None = None,
                 on_response: ResponseHook | None = None, *, gate: HostGate | None = None) -> None:
        self.settings = settings or HttpSettings()
        self.on_response = on_response
        self.gate = gate or DEFAULT_GATE
        self._wait = _WaitRetryAfter(backoff(self.settings.backoff_base,
                                             self.settings.backoff_max))
        self.adapter = _WatchedAdapter(AddressPolicy.from_settings(
            self.settings.allow_private_networks, self.settings.allowed_networks))

    def close(self) -> None:
        self.adapter.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def fetch(self, url: str, *, cached: CacheValidators | None = None,
              headers: dict[str, str] | None = None, directory: Path | None = None,
              accept: str | None = None, auth: tuple[str, str] | None = None,
              timeout: float | None = None, min_delay: float | None = None,
              prefix: int | None = None) -> FetchResult:
        """GET ``url`` into a temporary file; raise :class:`FetchError` on any failure.

        ``cached`` makes the GET conditional (a 304 gives a result without a path; a 304 to
        a GET that was not conditional is a ``fetch.http_status`` error).
        ``headers``, ``auth`` (basic: user, password), ``timeout`` (the read timeout; it also
        raises the total deadline when larger) and ``min_delay`` override the settings.
        ``prefix`` keeps only the first that many decoded bytes, however long the body is
        (``max_bytes`` and ``max_wire_bytes`` do not apply; see the module doc).
        """
        call = self._call(headers, auth, timeout, min_delay, accept=accept or "*/*")
        call.prefix = prefix
        if cached and cached.etag:
            call.private["If-None-Match"] = cached.etag
        if cached and cached.last_modified:
            call.private["If-Modified-Since"] = cached.last_modified
        result = self._run("GET", url, call, directory)
        if result.not_modified and not call.private.keys() & {"If-None-Match",
                                                              "If-Modified-Since"}:
            raise FetchError("fetch.http_status", "the server answered 304 Not Modified to a "
                             "request that was not conditional", url, status=304)
        return result

    def _call(self, headers: dict[str, str] | None, auth: tuple[str, str] | None,
              timeout: float | None, min_delay: float | None, *, accept: str = "*/*") -> _Call:
        settings = self.settings
        common: CaseInsensitiveDict[str] = CaseInsensitiveDict(
            zip(_EVERY_HOP, (settings.user_agent or USER_AGENT, accept, "gzip, deflate"), strict=True))
        private: CaseInsensitiveDict[str] = CaseInsensitiveDict()
        for name, value in (headers or {}).items():
            (common if name in common else private)[name] = value
        read, total = settings.read_timeout, settings.total_timeout
        if timeout is not None:
            read, total = timeout, max(total, timeout)
        pause = settings.min_delay if min_delay is None else min_delay
        return _Call(common, private, auth, read, pause, Deadline(total))

    def _run(self, method: str, url: str, call: _Call,
             directory: Path | None = None) -> FetchResult:
        """:meth:`_follow`, whose errors never show a URL's user name or password."""
        try:
            return self._follow(method, url, call, directory)
        except FetchError as error:
            message, where = redact(error.message), error.url and redact(error.url)
            if (message, where) == (error.message, error.url):
                raise
            raise FetchError(error.code, message, where, status=error.status) from None

    def _follow(self, method: str, url: str, call: _Call,
                directory: Path | None = None) -> FetchResult:
        """Follow redirects from ``url``, checking every hop; the final hop's result."""
        current, hops = url, 0
        while True:
            try:
                result = self._attempts(method, current, url, call, directory=directory)
            except FetchError as error:
                if current == url:
                    raise
                raise FetchError(error.code, f"{error.message} (redirected to {current})", url,
                                 status=error.status, cause=error.cause) from error
            location = result.headers.get("location")
            if result.status not in REDIRECTS or location is None:
                result.url, result.elapsed = url, call.deadline.elapsed()
                self._count(result.status, result.size)
                return result
            current, hops = urljoin(current, location), hops + 1
            if hops > self.settings.max_redirects:
                raise FetchError("fetch.too_many_redirects",
                                 f"more than [http] max_redirects = {self.settings.max_redirects}"
                                 f" redirects; the last one pointed to {current}", url)

    def _attempts(self, method: str, url: str, origin: str, call: _Call, *,
                  directory: Path | None) -> FetchResult:
        """One hop: attempts at ``url`` until one succeeds or retrying is pointless.

        tenacity drives the attempts; the wait between two is not slept here but handed to
        the host's gate, so the next attempt waits its host's turn like any request.
        """
        host = check_url(url)
        request = self._prepare(method, url, origin, call)
        retrying = Retrying(retry=retry_if_exception_type(_RetryableError),
                            stop=stop_after_attempt(self.settings.retries + 1), wait=self._wait,
                            before_sleep=partial(_refuse_wait, self.settings, call),
                            sleep=partial(self.gate.defer, host), retry_error_callback=_give_up)
        return retrying(self._attempt, host, request, call, directory)

    def _attempt(self, host: str, request: requests.PreparedRequest, call: _Call,
                 directory: Path | None) -> FetchResult:
        """One exchange, made in the host's turn; a failure is counted and raised."""
        try:
            with self.gate.turn(host, call.min_delay) as waited:
                call.deadline.extend(waited)
                with self._exchange(request, call) as (response, expired):
                    return self._judge(response, call, directory, expired)
        except _RetryableError as retry:
            self._count_failure(retry.error)
            raise
        except FetchError as error:
            self._count_failure(error)
            raise

    def _prepare(self, method: str, url: str, origin: str,
                 call: _Call) -> requests.PreparedRequest:
        headers, auth = call.headers.copy(), None
        if same_origin(origin, url):
            headers.update(call.private)
            auth = call.auth
        try:
            return requests.Request(method, url, headers=dict(headers), auth=auth).prepare()
        except (requests.exceptions.RequestException, ValueError) as exc:
            raise FetchError("fetch.invalid_url", f"not a valid URL: {exc}", url) from exc

    @contextmanager
    def _exchange(self, request: requests.PreparedRequest,
                  call: _Call) -> Iterator[tuple[requests.Response, threading.Event]]:
        """Send ``request``; yields the response and an event set if the deadline ran out.

        A watchdog shuts the exchange down at the deadline, from connecting to the end of
        the body, until the response is done with.
        """
        url = request.url or ""
        remaining = call.deadline.remaining()
        if remaining <= 0:
            raise FetchError("fetch.timeout", f"[http] total_timeout = {call.deadline.seconds:g} s"
                             " ran out before the request could be sent", url, cause="timeout")
        connect = min(self.settings.connect_timeout, remaining)
        read = min(call.read_timeout, remaining)
        late = FetchError("fetch.timeout", "no complete response when [http] total_timeout = "
                          f"{call.deadline.seconds:g} s ran out", url, cause="timeout")
        with _Watchdog(remaining) as expired:
            try:
                response = self.adapter.send(request, stream=True, timeout=(connect, read),
                                             proxies={})
            except RefusedAddressError as exc:
                raise FetchError("fetch.refused_address", str(exc), url) from exc
            except (requests.exceptions.ConnectionError, requests.exceptions.Timeout,
                    requests.exceptions.InvalidURL) as exc:
                raise (late if expired.is_set() else _failure(exc, url, connect, read)) from exc
            with response:
                if expired.is_set():  # the headers were cut off
                    raise late
                yield response, expired

    def _judge(self, response: requests.Response, call: _Call, directory: Path | None,
               expired: threading.Event) -> FetchResult:
        """The result of one response: a redirect, a 304, a downloaded body, or an error."""
        status = response.status_code
        result = FetchResult(url=response.url, final_url=response.url, status=status,
                             headers={k.lower(): v for k, v in response.headers.items()})
        if status == 304 or (status in REDIRECTS and "location" in result.headers):
            return result
        error = FetchError("fetch.http_status", f"HTTP {status} {response.reason}", response.url,
                           status=status)
        if retriable(status):
            raise _RetryableError(error, parse_retry_after(response.headers.get("retry-after")))
        if not 200 <= status < 300:
            raise error
        self._download(response, result, call, directory, expired)
        return result

    def _download(self, response: requests.Response, result: FetchResult, call: _Call,
                  directory: Path | None, expired: threading.Event) -> None:
        settings = self.settings
        if call.prefix is None:
            max_bytes = settings.max_bytes
            max_wire = max_bytes if settings.max_wire_bytes is None else settings.max_wire_bytes
        else:  # the reader caps a prefix itself
            max_bytes = max_wire = sys.maxsize
        limits = BodyLimits(max_bytes, max_wire, settings.max_expansion_ratio,
                            EXPANSION_CHECK_BYTES)
        reader = BodyReader(limits, result.url, result.status, call.deadline, call.read_timeout,
                            call.prefix)
        try:
            body = reader.read(response.raw, result.headers, directory, expired)
        except FetchError as error:
            if error.code == "fetch.connection":  # the transfer broke off
                raise _RetryableError(error) from error
            raise
        result.path, result.size, result.wire_size, result.sha256 = \
            body.path, body.size, body.wire_size, body.sha256

    def _count_failure(self, error: FetchError) -> None:
        if error.code not in _NOT_SENT:
            self._count(error.status or 0, 0)

    def _count(self, status: int, size: int) -> None:
        if self.on_response is not None:
            self.on_response(status, size)
