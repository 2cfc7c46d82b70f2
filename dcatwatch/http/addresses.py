"""SSRF guard: which URLs and network addresses dcatwatch may connect to.

Harvested catalogues are untrusted input: a source URL, a redirect or a link can point
anywhere, including the harvester's own network and the cloud metadata service
(169.254.169.254). Two checks stand between a URL and a socket:

* :func:`check_url`, before every request (the first URL and every redirect hop): only
  http and https URLs with a host.
* :class:`GuardedAdapter`, a requests transport adapter whose connections resolve the host
  name themselves (getaddrinfo, every address), refuse the host if any of its addresses is
  refused, and then connect to exactly the addresses they checked. The host name is kept
  for the Host header, TLS SNI and certificate verification; only the socket's destination
  is pinned. Checking and connecting use one and the same resolution, so DNS rebinding (a
  public answer for the check, a private one for the connection) cannot slip through, and
  a refused address never sees a packet. The pinning overrides urllib3's private
  ``HTTPConnection._new_conn`` (same shape in urllib3 1.26 to 2.8): re-check it when
  upgrading urllib3.

Policy (:class:`AddressPolicy`): loopback, private (RFC 1918, fc00::/7) and shared
(100.64.0.0/10) addresses are refused unless ``allow_private_networks`` is true or the
address lies in one of ``allowed_networks`` (tests and demos on loopback; a mirror on an
intranet). Link-local addresses (169.254.0.0/16 with the metadata service, fe80::/10), the
cloud metadata addresses in other ranges, unspecified, multicast, documentation and other
reserved ranges are refused always: no catalogue lives there, and they are what an SSRF
attack aims at. IPv6 addresses that embed an IPv4 address (mapped ::ffff:0:0/96, NAT64
64:ff9b::/96, 6to4 2002::/16) are judged by the embedded address.

Limits: proxies are not supported (a proxy would make the pinned address the proxy's), and
the DNS lookup is bounded by the resolver's own timeouts, not by the connect timeout.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from typing import Any, ClassVar
from urllib.parse import urlsplit

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

from dcatwatch.errors import ConfigError, FetchError

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network


class Kind(StrEnum):
    """Kinds of non-public address, worded for messages."""

    LOOPBACK = "a loopback address"
    PRIVATE = "a private address"
    SHARED = "a shared (carrier-grade NAT) address"
    LINK_LOCAL = "a link-local address"
    METADATA = "a cloud metadata service address"
    UNSPECIFIED = "an unspecified address"
    MULTICAST = "a multicast address"
    RESERVED = "a reserved or special-purpose address"


OPENABLE = frozenset({Kind.LOOPBACK, Kind.PRIVATE, Kind.SHARED})

_METADATA = frozenset(ip_address(a) for a in (
    "169.254.169.254",  # AWS, Azure, GCP, OpenStack, Oracle …
    "fd00:ec2::254",  # AWS over IPv6 (inside fc00::/7, so it needs its own entry)
    "100.100.100.200",  # Alibaba Cloud (inside 100.64.0.0/10)
    "168.63.129.16",  # Azure WireServer (a public address)
))

_NETWORKS: dict[int, list[tuple[IPNetwork, Kind]]] = {4: [], 6: []}
for _cidr, _kind in [
    ("0.0.0.0/8", Kind.UNSPECIFIED), ("127.0.0.0/8", Kind.LOOPBACK),
    ("10.0.0.0/8", Kind.PRIVATE), ("172.16.0.0/12", Kind.PRIVATE),
    ("192.168.0.0/16", Kind.PRIVATE), ("100.64.0.0/10", Kind.SHARED),
    ("169.254.0.0/16", Kind.LINK_LOCAL), ("224.0.0.0/4", Kind.MULTICAST),
    ("192.0.0.0/24", Kind.RESERVED), ("192.0.2.0/24", Kind.RESERVED),
    ("192.88.99.0/24", Kind.RESERVED), ("198.18.0.0/15", Kind.RESERVED),
    ("198.51.100.0/24", Kind.RESERVED), ("203.0.113.0/24", Kind.RESERVED),
    ("240.0.0.0/4", Kind.RESERVED),
    ("::/128", Kind.UNSPECIFIED), ("::1/128", Kind.LOOPBACK), ("::/8", Kind.RESERVED),
    ("64:ff9b:1::/48", Kind.RESERVED), ("100::/64", Kind.RESERVED),
    ("2001::/23", Kind.RESERVED), ("2001:db8::/32", Kind.RESERVED),
    ("fc00::/7", Kind.PRIVATE), ("fe80::/10", Kind.LINK_LOCAL), ("fec0::/10", Kind.RESERVED),
    ("ff00::/8", Kind.MULTICAST),
]:
    _network = ip_network(_cidr)
    _NETWORKS[_network.version].append((_network, _kind))

_NAT64 = ip_network("64:ff9b::/96")


def unwrap(address: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 address embeds (mapped, NAT64, 6to4), else the address."""
    if isinstance(address, IPv4Address):
        return address
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour if address.sixtofour is not None else address


def classify(address: IPAddress) -> Kind | None:
    """What kind of non-public address ``address`` is; None for a public one."""
    unwrapped = unwrap(address)
    if address in _METADATA or unwrapped in _METADATA:
        return Kind.METADATA
    return next((kind for network, kind in _NETWORKS[unwrapped.version]
                 if unwrapped in network),
                None)


class RefusedAddressError(Exception):
    """A host resolves to an address the policy refuses (deliberately not an OSError, so
    that urllib3 and requests pass it through unwrapped)."""


@dataclass(frozen=True, slots=True)
class AddressPolicy:
    """Which non-public addresses may be connected to (see the module docstring)."""

    allow_private_networks: bool = False
    allowed_networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def from_settings(cls, allow_private_networks: bool,
                      allowed_networks: Iterable[str]) -> AddressPolicy:
        """Build from ``[http]`` settings; ConfigError for a network that does not parse."""
        networks = []
        for text in allowed_networks:
            try:
                networks.append(ip_network(text, strict=False))
            except ValueError as exc:
                raise ConfigError("[http] allowed_networks", str(exc)) from exc
        return cls(allow_private_networks, tuple(networks))

    def refusal(self, address: IPAddress) -> Kind | None:
        """Why ``address`` may not be connected to, or None when it may."""
        kind = classify(address)
        if kind in OPENABLE and (self.allow_private_networks
                                 or any(unwrap(address) in n for n in self.allowed_networks)):
            return None
        return kind

    def resolve(self, host: str, port: int) -> list[str]:
        """Every address of ``host``, all checked; RefusedAddressError if any is refused."""
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        for text in addresses:
            kind = self.refusal(ip_address(text))
            if kind is not None:
                raise RefusedAddressError(explain(host, text, kind))
        return addresses


def explain(host: str, address: str, kind: Kind) -> str:
    subject = (f"{address} is {kind}" if host.strip("[]") == address
               else f"{host} resolves to {address}, {kind}")
    if kind in OPENABLE:
        return (f"{subject}; set [http] allow_private_networks = true (or list its network in "
                f"[http] allowed_networks) to allow it")
    return f"{subject}; such addresses are never fetched"


def check_url(url: str) -> str:
    """The host of ``url``; FetchError unless it is an http(s) URL with a host."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        raise FetchError("fetch.invalid_url", f"not a valid URL: {exc}", url) from exc
    scheme = parts.scheme.lower()
    if not scheme:
        raise FetchError("fetch.invalid_url", "the URL has no scheme (http:// or https://)", url)
    if scheme not in ("http", "https"):
        raise FetchError("fetch.refused_scheme",
                         f"{scheme}: URLs are refused; only http and https are fetched", url)
    if not parts.hostname:
        raise FetchError("fetch.invalid_url", "the URL has no host", url)
    return parts.hostname


def same_origin(first: str, second: str) -> bool:
    """Whether credentials meant for ``first`` may go to ``second``: the same origin, or an
    upgrade from http to https on the default ports."""
    a, b = urlsplit(first), urlsplit(second)
    if (a.scheme, a.hostname, a.port) == (b.scheme, b.hostname, b.port):
        return True
    return (a.hostname == b.hostname and (a.scheme, b.scheme) == ("http", "https")
            and a.port in (None, 80) and b.port in (None, 443))


class _Pinned:
    """Mixin for urllib3 connections: resolve, check, then connect to the checked addresses."""

    policy: ClassVar[AddressPolicy]
    _dns_host: str
    port: int

    def _new_conn(self) -> socket.socket:
        host = self._dns_host
        try:
            addresses = self.policy.resolve(host, self.port)
        except socket.gaierror as exc:
            raise NameResolutionError(host, self, exc) from exc  # type: ignore[arg-type]
        failure: Exception | None = None
        for address in addresses:
            self._dns_host = address
            try:
                return super()._new_conn()  # type: ignore[misc,no-any-return]
            except (NewConnectionError, ConnectTimeoutError) as exc:
                failure = exc
            finally:
                self._dns_host = host
        assert failure is not None  # getaddrinfo returns at least one address or raises
        raise failure


def _pinned_pool(pool: type[HTTPConnectionPool], connection: type[HTTPConnection],
                 policy: AddressPolicy) -> type[HTTPConnectionPool]:
    pinned = type(f"Pinned{connection.__name__}", (_Pinned, connection), {"policy": policy})
    return type(f"Pinned{pool.__name__}", (pool,), {"ConnectionCls": pinned})


class GuardedAdapter(HTTPAdapter):
    """A requests adapter whose connections go only to addresses ``policy`` allows."""

    def __init__(self, policy: AddressPolicy) -> None:
        self.policy = policy
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _pinned_pool(HTTPConnectionPool, HTTPConnection, self.policy),
            "https": _pinned_pool(HTTPSConnectionPool, HTTPSConnection, self.policy),
        }
