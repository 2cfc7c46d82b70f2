"""The asyncio HTTP client of the link engine: probes under the same guard and rules as
:class:`~dcatwatch.http.client.HttpClient`'s fetches.

:meth:`AsyncFetcher.probe` runs on aiohttp (chosen over
``httpx.AsyncClient`` by ``benchmarks/compare_clients.py``: about 8× less CPU per request,
the guard holding in both): HEAD, repeated as GET (body unread) when the HEAD is answered
405/501 or broken off; any status is returned; connection failures are not retried (the
next round is a link's retry). What holds exactly as for the harvest client:

* **Guard.** Every hop passes :func:`~dcatwatch.http.addresses.check_url` (http/https with a
  host). Host names are resolved by :class:`GuardedResolver` (every address checked against
  the :class:`AddressPolicy`; one refused address refuses the host) and the connection goes
  to exactly the checked addresses (aiohttp connects to what the resolver returns, with no
  DNS cache), so DNS rebinding cannot slip through. aiohttp does not resolve IP literals, so
  they are checked here before the request. A refused address never sees a packet.
* **Redirects** are followed here, hop by hop (aiohttp's own following is off), at most
  ``[http] max_redirects``.
* **Timeouts:** ``connect_timeout`` per connection, the probe's ``timeout`` (else
  ``read_timeout``) for the response head, and the whole probe (hops and the GET fallback
  included) within ``max(total_timeout, timeout)`` via :func:`asyncio.timeout`.
* **Errors** are the same :class:`FetchError` codes and socket ``cause`` (so the same blame).
* Bodies are never read (a GET probe closes its connection instead), no cookies are kept,
  no environment proxies are used, TLS is always verified.

Pacing: the caller (the link engine's host lanes) decides when a probe may start; within a
probe, every request after the first (the GET fallback, each redirect hop) waits ``[http]
min_delay`` after the previous response, as the lane would. A redirect to another host is
asked within the first host's turn.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from ipaddress import ip_address
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from dcatwatch.config import HttpSettings
from dcatwatch.errors import FetchError
from dcatwatch.http.addresses import AddressPolicy, RefusedAddressError, check_url, explain
from dcatwatch.http.client import (
    REDIRECTS,
    USER_AGENT,
    FetchResult,
    ResponseHook,
    redact,
    socket_cause,
)

FALLBACK_TO_GET = frozenset({405, 501})  # a HEAD answered so is asked again as a GET


class GuardedResolver(AbstractResolver):
    """Resolves with the event loop's getaddrinfo and refuses a host any of whose addresses
    the policy refuses (:class:`RefusedAddressError`); aiohttp connects to the addresses
    returned, so checking and connecting use one resolution."""

    def __init__(self, policy: AddressPolicy) -> None:
        self.policy = policy

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, port, family=family, type=socket.SOCK_STREAM)
        results: list[ResolveResult] = []
        seen: set[str] = set()
        for fam, _, proto, _, address in infos:
            text = str(address[0])
            kind = self.policy.refusal(ip_address(text))
            if kind is not None:
                raise RefusedAddressError(explain(host, text, kind))
            if text not in seen:
                seen.add(text)
                results.append({"hostname": host, "host": text, "port": int(address[1]),
                                "family": fam, "proto": proto,
                                "flags": socket.AI_NUMERICHOST | socket.AI_NUMERICSERV})
        return results

    async def close(self) -> None:
        return None


class AsyncFetcher:
    """Probes URLs with aiohttp under ``[http]`` (see the module doc); use it in one event
    loop, and :meth:`close` it there."""

    def __init__(self, settings: HttpSettings | None = None,
                 on_response: ResponseHook | None = None) -> None:
        self.settings = settings or HttpSettings()
        self.on_response = on_response
        self.policy = AddressPolicy.from_settings(self.settings.allow_private_networks,
                                                  self.settings.allowed_networks)
        self._session: aiohttp.ClientSession | None = None
        self._headers = {"User-Agent": self.settings.user_agent or USER_AGENT, "Accept": "*/*",
                         "Accept-Encoding": "gzip, deflate"}

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(resolver=GuardedResolver(self.policy),
                                             use_dns_cache=False, limit=0,
                                             ssl=ssl.create_default_context())
            self._session = aiohttp.ClientSession(
                connector=connector, cookie_jar=aiohttp.DummyCookieJar(), trust_env=False,
                auto_decompress=False, headers=self._headers)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def probe(self, url: str, *, timeout: float | None = None) -> FetchResult:
        """Status, final URL, headers and elapsed time of ``url``, body unread; FetchError on
        any failure (see the module doc)."""
        read = self.settings.read_timeout if timeout is None else timeout
        total = max(self.settings.total_timeout, read)
        started = time.monotonic()
        try:
            async with asyncio.timeout(total):
                try:
                    result = await self._follow("HEAD", url, read)
                except FetchError as error:
                    if error.code != "fetch.connection" or error.cause not in (None, "reset"):
                        raise  # no address, refused, no route, bad TLS: a GET fares no better
                else:
                    if result.status not in FALLBACK_TO_GET:
                        return self._done(result, started)
                await self._pause()
                return self._done(await self._follow("GET", url, read), started)
        except TimeoutError:
            self._count(0)
            raise FetchError("fetch.timeout", "no complete response when [http] total_timeout "
                             f"= {total:g} s ran out", redact(url), cause="timeout") from None

    def _done(self, result: FetchResult, started: float) -> FetchResult:
        result.elapsed = time.monotonic() - started
        self._count(result.status)
        return result

    async def _follow(self, method: str, url: str, read: float) -> FetchResult:
        """Follow redirects from ``url``, checking every hop; the final hop's result."""
        current, hops = url, 0
        while True:
            try:
                status, headers, final = await self._exchange(method, current, read)
            except FetchError as error:
                if current == url:
                    raise
                raise FetchError(error.code, f"{error.message} (redirected to {current})",
                                 redact(url), status=error.status, cause=error.cause) from error
            location = headers.get("location")
            if status not in REDIRECTS or location is None:
                return FetchResult(url=url, final_url=final, status=status, headers=headers)
            current, hops = urljoin(current, location), hops + 1
            if hops > self.settings.max_redirects:
                raise FetchError("fetch.too_many_redirects",
                                 f"more than [http] max_redirects = {self.settings.max_redirects}"
                                 f" redirects; the last one pointed to {redact(current)}",
                                 redact(url))
            await self._pause()

    async def _pause(self) -> None:
        """``[http] min_delay`` between two requests of one probe."""
        if self.settings.min_delay > 0:
            await asyncio.sleep(self.settings.min_delay)

    async def _exchange(self, method: str, url: str,
                        read: float) -> tuple[int, dict[str, str], str]:
        """One request to ``url`` (guarded); its status, lower-cased headers and URL."""
        host = check_url(url)
        self._check_literal(host, url)
        connect = self.settings.connect_timeout
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=connect, sock_read=read)
        try:
            async with self._open().request(method, url, allow_redirects=False,
                                            timeout=timeout) as response:
                headers = {k.lower(): v for k, v in response.headers.items()}
                if method == "GET":
                    response.close()  # the body is not read: drop the connection
                return response.status, headers, str(response.url)
        except RefusedAddressError as exc:
            self._count(None)
            raise FetchError("fetch.refused_address", str(exc), redact(url)) from None
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            error = failure(exc, redact(url), connect, read)
            self._count(0)
            raise error from exc

    def _check_literal(self, host: str, url: str) -> None:
        try:
            address = ip_address(host.strip("[]"))
        except ValueError:
            return  # a name: the resolver checks it
        kind = self.policy.refusal(address)
        if kind is not None:
            raise FetchError("fetch.refused_address", explain(host, str(address), kind),
                             redact(url))

    def _count(self, status: int | None) -> None:
        if self.on_response is not None and status is not None:
            self.on_response(status, 0)


def failure(exc: BaseException, url: str, connect: float, read: float) -> FetchError:
    """The :class:`FetchError` for an aiohttp exchange that got no response, with the same
    codes and socket causes as the synchronous client's."""
    where = urlsplit(url).netloc.rpartition("@")[2]
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return FetchError("fetch.timeout", f"could not connect within {connect:.3g} s "
                          "([http] connect_timeout)", url, cause="timeout")
    if isinstance(exc, aiohttp.ServerTimeoutError | asyncio.TimeoutError):
        return FetchError("fetch.timeout", f"no response within {read:.3g} s "
                          "([http] read_timeout)", url, cause="timeout")
    if isinstance(exc, aiohttp.ClientSSLError | ssl.SSLError):
        return FetchError("fetch.connection", f"TLS with {where} failed: {_reason(exc)}", url,
                          cause="tls")
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return FetchError("fetch.connection", f"could not resolve the host name of {where}: "
                          f"{_reason(exc)}", url, cause=socket_cause(exc.os_error))
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return FetchError("fetch.connection", f"could not connect to {where}: the server "
                          "closed the connection without a response", url, cause="reset")
    if isinstance(exc, aiohttp.ClientConnectorError):
        return FetchError("fetch.connection", f"could not connect to {where}: {_reason(exc)}",
                          url, cause=socket_cause(exc.os_error))
    if isinstance(exc, aiohttp.ClientOSError | OSError):
        return FetchError("fetch.connection", f"could not connect to {where}: {_reason(exc)}",
                          url, cause=socket_cause(exc) or "reset")
    if isinstance(exc, aiohttp.ClientConnectionError | aiohttp.ClientPayloadError):
        return FetchError("fetch.connection", f"could not connect to {where}: {_reason(exc)}",
                          url, cause="reset")
    return FetchError("fetch.invalid_url", f"not a valid URL: {_reason(exc)}", url)


def _reason(exc: BaseException) -> Any:
    os_error = getattr(exc, "os_error", None)
    return os_error or exc
