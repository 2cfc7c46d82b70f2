"""Which async HTTP client the link engine uses: CPU per request and the address guard.

Not part of ``.ci/run`` (it needs both candidates: ``pip install aiohttp httpx``). A loopback
server in a child process answers HEAD requests on keep-alive connections; the client asks
``--requests`` URLs over ``--hosts`` loopback addresses, one request at a time per host
(as the link engine does), and the client process's CPU time is divided by the requests.
The synchronous harvest client (requests through ``HttpClient.fetch``, threads; GET instead
of HEAD, the body empty) is measured the same way for reference.

The guard: each client is built so that its connections resolve, check (AddressPolicy)
and connect only to the checked address; the script then asks for a loopback URL by name
and by IP literal with ``allow_private_networks`` off and counts connections the server
accepted (must be 0).

    python benchmarks/compare_clients.py [--requests 3000] [--hosts 10]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import socket
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from dcatwatch.http.addresses import AddressPolicy, RefusedAddressError

RESPONSE = (b"HTTP/1.1 200 OK\r\nContent-Type: text/csv\r\nContent-Length: 0\r\n"
            b"Connection: keep-alive\r\n\r\n")


def _serve(port: int, hosts: int, accepted: Any, ready: Any) -> None:
    """A minimal keep-alive HTTP/1.1 server answering every request head with 200."""
    async def main() -> None:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            with accepted.get_lock():
                accepted.value += 1
            try:
                while await reader.readuntil(b"\r\n\r\n"):
                    writer.write(RESPONSE)
            except (asyncio.IncompleteReadError, ConnectionError):
                pass
            writer.close()
        for n in range(hosts):
            await asyncio.start_server(handle, f"127.0.0.{n + 1}", port)
        ready.set()
        await asyncio.Event().wait()
    asyncio.run(main())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _urls(port: int, hosts: int, count: int) -> dict[str, list[str]]:
    return {f"127.0.0.{h + 1}": [f"http://127.0.0.{h + 1}:{port}/f/{i}.csv"
                                 for i in range(h, count, hosts)] for h in range(hosts)}


# -- aiohttp ---------------------------------------------------------------------------

def _aiohttp_resolver(policy: AddressPolicy) -> Any:
    from aiohttp.abc import AbstractResolver

    class GuardedResolver(AbstractResolver):
        async def resolve(self, host: str, port: int = 0,
                          family: int = socket.AF_UNSPEC) -> list[dict[str, Any]]:
            loop = asyncio.get_running_loop()
            infos = await loop.getaddrinfo(host, port, family=family, type=socket.SOCK_STREAM)
            out = []
            for fam, _, proto, _, address in infos:
                from ipaddress import ip_address
                if policy.refusal(ip_address(address[0])) is not None:
                    raise RefusedAddressError(f"{host} resolves to {address[0]}")
                out.append({"hostname": host, "host": address[0], "port": port,
                            "family": fam, "proto": proto, "flags": socket.AI_NUMERICHOST})
            return out

        async def close(self) -> None:
            pass

    return GuardedResolver()


async def _aiohttp_run(lanes: dict[str, list[str]], policy: AddressPolicy) -> int:
    import aiohttp

    connector = aiohttp.TCPConnector(resolver=_aiohttp_resolver(policy), use_dns_cache=False,
                                     limit=0)
    refused = 0
    async with aiohttp.ClientSession(connector=connector) as session:
        async def lane(urls: list[str]) -> None:
            nonlocal refused
            for url in urls:
                host = url.split("/")[2].split(":")[0]
                from ipaddress import ip_address
                literal = host.replace(".", "").isdigit()
                if literal and policy.refusal(ip_address(host)) is not None:
                    # aiohttp skips the resolver for an IP literal: checked here
                    refused += 1
                    continue
                try:
                    async with session.head(url, allow_redirects=False) as response:
                        response.status  # noqa: B018
                except RefusedAddressError:
                    refused += 1
        await asyncio.gather(*(lane(urls) for urls in lanes.values()))
    return refused


# -- httpx ---------------------------------------------------------------------------

def _httpx_client(policy: AddressPolicy) -> Any:
    import httpcore
    import httpx

    class GuardedBackend(httpcore.AsyncNetworkBackend):
        def __init__(self) -> None:
            self.inner = httpcore.AnyIOBackend()

        async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                              local_address: str | None = None,
                              socket_options: Any = None) -> Any:
            loop = asyncio.get_running_loop()
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            from ipaddress import ip_address
            addresses = [info[4][0] for info in infos]
            for address in addresses:
                if policy.refusal(ip_address(address)) is not None:
                    raise RefusedAddressError(f"{host} resolves to {address}")
            return await self.inner.connect_tcp(addresses[0], port, timeout, local_address,
                                                socket_options)

        async def sleep(self, seconds: float) -> None:
            await self.inner.sleep(seconds)

    transport = httpx.AsyncHTTPTransport()
    transport._pool._network_backend = GuardedBackend()  # no public hook in httpx
    return httpx.AsyncClient(transport=transport, limits=httpx.Limits(max_connections=None))


async def _httpx_run(lanes: dict[str, list[str]], policy: AddressPolicy) -> int:
    refused = 0
    async with _httpx_client(policy) as client:
        async def lane(urls: list[str]) -> None:
            nonlocal refused
            for url in urls:
                try:
                    await client.head(url)
                except RefusedAddressError:
                    refused += 1
        await asyncio.gather(*(lane(urls) for urls in lanes.values()))
    return refused


# -- requests (the harvest client, HttpClient.fetch), threads --------------------------

def _requests_run(lanes: dict[str, list[str]], policy: AddressPolicy) -> int:
    from dcatwatch.config import HttpSettings
    from dcatwatch.errors import FetchError
    from dcatwatch.http.client import HttpClient
    from dcatwatch.http.politeness import HostGate

    settings = HttpSettings(allow_private_networks=policy.allow_private_networks, min_delay=0)
    refused = 0
    with HttpClient(settings, gate=HostGate()) as client:
        def lane(urls: list[str]) -> None:
            nonlocal refused
            for url in urls:
                try:
                    result = client.fetch(url)
                except FetchError:
                    refused += 1
                else:
                    if result.path is not None:
                        result.path.unlink()
        with ThreadPoolExecutor(len(lanes)) as pool:
            list(pool.map(lane, lanes.values()))
    return refused


def _measure(name: str, lanes: dict[str, list[str]], allow: bool) -> tuple[float, int]:
    policy = AddressPolicy(allow_private_networks=allow)
    cpu = time.process_time()
    if name == "aiohttp":
        refused = asyncio.run(_aiohttp_run(lanes, policy))
    elif name == "httpx":
        refused = asyncio.run(_httpx_run(lanes, policy))
    else:
        refused = _requests_run(lanes, policy)
    return time.process_time() - cpu, refused


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--hosts", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    port = _free_port()
    accepted = multiprocessing.Value("i", 0)
    ready = multiprocessing.Event()
    server = multiprocessing.Process(target=_serve, args=(port, args.hosts, accepted, ready),
                                     daemon=True)
    server.start()
    ready.wait(10)
    try:
        lanes = _urls(port, args.hosts, args.requests)
        for name in ("aiohttp", "httpx", "requests"):
            _measure(name, _urls(port, args.hosts, 50), True)  # warm up: imports, first connects
            runs = [_measure(name, lanes, True)[0] for _ in range(args.repeat)]
            per = statistics.median(runs) / args.requests * 1000
            before = accepted.value
            by_name = {"localhost": [f"http://localhost:{port}/x"]}
            refused_name = _measure(name, by_name, False)[1]
            refused_literal = _measure(name, {"literal": [f"http://127.0.0.1:{port}/x"]},
                                       False)[1]
            leaked = accepted.value - before
            print(f"{name:9s} CPU per request {per:.3f} ms (median of {args.repeat} x "
                  f"{args.requests}); guard: refused by name {refused_name}/1, by IP literal "
                  f"{refused_literal}/1, connections to refused addresses {leaked}")
    finally:
        server.terminate()


if __name__ == "__main__":
    main()
