"""A simulated Sweden for ``national.py``: agencies, their catalogues, the dataportal.se dump,
the hosts their links point to, and the truth dcatwatch should find.

Every host is its own loopback address (127.0.0.0/8 only): agency ``i`` serves its catalogue
and most of its files on 127.0.1.x/127.0.2.x; a few shared hosts on 127.0.3.x are slow,
rate-limiting (429 + Retry-After on the first request of each path), silent (bound, listening,
never accepting) or not listening at all. The dataportal source is 127.0.0.2.
"""

from __future__ import annotations

import asyncio
import random
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import pyoxigraph as ox

DCAT = "http://www.w3.org/ns/dcat#"
DCT = "http://purl.org/dc/terms/"
FOAF = "http://xmlns.com/foaf/0.1/"
HYDRA = "http://www.w3.org/ns/hydra/core#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
LEVELS = ("api", "machine_readable", "document_only", "unknown")
KIND_LEVEL = {"api": "api", "file": "machine_readable", "doc": "document_only", "none": "unknown"}
KIND_FORMAT = {"api": "application/json", "file": "text/csv", "doc": "application/pdf", "none": ""}
PAGE_SIZE = 100
DUMP_HOST = "127.0.0.2"
SLOW_SECONDS = 0.3
RETRY_AFTER = 1  # seconds a rate-limiting host asks for (Retry-After) on a path's first request


@dataclass
class Link:
    url: str
    host: str
    broken: bool


@dataclass
class Record:
    iri: str
    agency: str | None  # the orgnr it should count for; None: truly unattributed
    explicit_publisher: bool
    level: str
    dists: list[tuple[str, str, Link]]  # (distribution IRI, kind, link)


@dataclass
class AgencySim:
    index: int
    orgnr: str
    host: str
    paged: bool
    syntax: str  # "rdfxml" | "turtle"
    catalogue_publisher: bool
    records: list[Record] = field(default_factory=list)

    @property
    def publisher(self) -> str:
        return f"https://myndighet{self.index}.example.se/org"


@dataclass
class World:
    agencies: list[AgencySim]
    dump_records: list[Record]  # repeated agency records and the dump's own
    hosts: dict[str, str]  # address -> behaviour: ok | slow | ratelimit | silent | refused
    ports: dict[str, int] = field(default_factory=dict)

    def links(self) -> dict[str, Link]:
        """Every distinct link URL."""
        return {link.url: link for r in self.records() for _, _, link in r.dists}

    def records(self) -> list[Record]:
        """Every distinct dataset (a repeated one once)."""
        seen = {r.iri: r for a in self.agencies for r in a.records}
        seen.update((r.iri, r) for r in self.dump_records if r.iri not in seen)
        return list(seen.values())

    def scores(self) -> dict[str, Counter[str]]:
        """Per agency orgnr: datasets per level."""
        truth: dict[str, Counter[str]] = {}
        for r in self.records():
            if r.agency:
                truth.setdefault(r.agency, Counter())[r.level] += 1
        return truth

    def unattributed(self) -> int:
        return sum(1 for r in self.records() if r.agency is None)

    def broken(self) -> set[str]:
        """Distribution IRIs whose link is broken."""
        return {d for r in self.records() for d, _, link in r.dists if link.broken}


def build(agencies: int, datasets: int, links: int, seed: int = 1) -> World:
    """The world: ``agencies`` agencies sharing ``datasets`` datasets with about ``links``
    distributions (one link each), mostly fine, some 404, slow, dead or rate-limited."""
    rng = random.Random(seed)
    hosts = {DUMP_HOST: "ok"}
    special = {"slow": [f"127.0.3.{i}" for i in (1, 2)],
               "ratelimit": [f"127.0.3.{i}" for i in (11, 12)],
               "silent": [f"127.0.3.{i}" for i in (21, 22)],
               "refused": ["127.0.3.31"]}
    for behaviour, addresses in special.items():
        hosts.update((address, behaviour) for address in addresses)
    sims = []
    for i in range(agencies):
        host = f"127.0.{1 + i // 250}.{1 + i % 250}"
        hosts[host] = "ok"
        sims.append(AgencySim(i, f"202100{i:04d}", host, paged=i % 3 == 0,
                              syntax="turtle" if i % 2 else "rdfxml",
                              catalogue_publisher=i % 10 != 3))
    weights = [rng.uniform(0.5, 2.0) for _ in sims]
    per_dataset = links / datasets
    # a bounded number of links on the slow and dead hosts keeps the run's length bounded
    budget = {"slow": max(4, links // 200), "ratelimit": max(2, min(40, links // 500)),
              "silent": max(2, min(30, links // 1000)), "refused": max(2, min(50, links // 500))}
    for n in range(datasets):
        sim = rng.choices(sims, weights)[0]
        roll = rng.random()
        kinds = ["api"] if roll < 0.2 else ["doc"] if roll < 0.4 else \
            ["none"] if roll < 0.45 else ["file"]
        while len(kinds) < 8 and rng.random() < (per_dataset - 1) / per_dataset:
            kinds.append(rng.choice(("file", "file", "doc")) if kinds[0] != "none" else "none")
        dists = []
        for k, kind in enumerate(kinds):
            path = f"/{kind}/{n}-{k}" + {"file": ".csv", "doc": ".pdf"}.get(kind, "")
            host, broken = sim.host, False
            if rng.random() < 0.05:
                path, broken = "/missing" + path, True
            else:
                behaviour = rng.choice(list(budget))
                if budget[behaviour] and rng.random() < 0.03:
                    budget[behaviour] -= 1
                    host = rng.choice(special[behaviour])
                    broken = behaviour in ("silent", "refused")
            dists.append((f"https://myndighet{sim.index}.example.se/dist/{n}-{k}", kind,
                          Link(f"{{{host}}}{path}", host, broken)))
        best = min(kinds, key=("api", "file", "doc", "none").index)
        explicit = rng.random() > 0.05
        agency = sim.orgnr if explicit or sim.catalogue_publisher else None
        sim.records.append(Record(f"https://myndighet{sim.index}.example.se/dataset/{n}",
                                  agency, explicit, KIND_LEVEL[best], dists))
    dump = [r for sim in sims for r in sim.records if r.explicit_publisher and sim.index % 3 != 1]
    for n in range(max(5, datasets // 100)):  # the portal's own records without a publisher
        link = Link(f"{{{DUMP_HOST}}}/file/p{n}.csv", DUMP_HOST, False)
        dump.append(Record(f"https://dataportal.example.se/dataset/{n}", None, False,
                           "machine_readable",
                           [(f"https://dataportal.example.se/dist/{n}", "file", link)]))
    return World(sims, dump, hosts)


def resolve(world: World, template: str) -> str:
    """A URL with ``{address}`` replaced by ``http://address:port``."""
    address, path = template[1:].split("}", 1)
    return f"http://{address}:{world.ports[address]}{path}"


def _nt_lit(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _record_triples(world: World, r: Record, publisher: str | None) -> list[str]:
    out = [f"<{r.iri}> <{RDF_TYPE}> <{DCAT}Dataset> .",
           f"<{r.iri}> <{DCT}title> {_nt_lit('Datamängd ' + r.iri.rsplit('/', 1)[-1])}@sv .",
           f"<{r.iri}> <{DCT}description> {_nt_lit('Simulerad datamängd.')}@sv ."]
    if publisher:
        out.append(f"<{r.iri}> <{DCT}publisher> <{publisher}> .")
    for dist, kind, link in r.dists:
        url = resolve(world, link.url)
        out += [f"<{r.iri}> <{DCAT}distribution> <{dist}> .",
                f"<{dist}> <{RDF_TYPE}> <{DCAT}Distribution> .",
                f"<{dist}> <{DCAT}accessURL> <{url}> ."]
        if KIND_FORMAT[kind]:
            out.append(f"<{dist}> <{DCT}format> {_nt_lit(KIND_FORMAT[kind])} .")
        if kind == "file":
            out.append(f"<{dist}> <{DCAT}downloadURL> <{url}> .")
        if kind == "api":
            service = dist + "/service"
            out += [f"<{dist}> <{DCAT}accessService> <{service}> .",
                    f"<{service}> <{RDF_TYPE}> <{DCAT}DataService> .",
                    f"<{service}> <{DCAT}endpointURL> <{url}> ."]
    return out


def _serialise(lines: list[str], syntax: str) -> bytes:
    quads = ox.parse(input="\n".join(lines).encode(), format=ox.RdfFormat.N_TRIPLES)
    fmt = ox.RdfFormat.TURTLE if syntax == "turtle" else ox.RdfFormat.RDF_XML
    return ox.serialize(quads, format=fmt, prefixes={"dcat": DCAT, "dct": DCT, "foaf": FOAF,
                                                    "hydra": HYDRA})


def documents(world: World) -> dict[tuple[str, str], tuple[bytes, str]]:
    """(address, path) -> (body, content type) of every catalogue page and the dump."""
    docs: dict[tuple[str, str], tuple[bytes, str]] = {}
    for sim in world.agencies:
        ext, ctype = (".ttl", "text/turtle") if sim.syntax == "turtle" else \
            (".rdf", "application/rdf+xml")
        chunks = [sim.records[i:i + PAGE_SIZE] for i in range(0, len(sim.records), PAGE_SIZE)] \
            if sim.paged else [sim.records]
        chunks = chunks or [[]]
        catalog = f"https://myndighet{sim.index}.example.se/catalog"
        for page, chunk in enumerate(chunks):
            path = f"/catalog{ext}" + (f"?page={page + 1}" if page else "")
            lines = [f"<{catalog}> <{RDF_TYPE}> <{DCAT}Catalog> .",
                     f"<{catalog}> <{DCT}title> {_nt_lit(f'Myndighet {sim.index}s katalog')}@sv .",
                     f"<{sim.publisher}> <{RDF_TYPE}> <{FOAF}Organization> .",
                     f"<{sim.publisher}> <{FOAF}name> {_nt_lit(f'Myndighet {sim.index}')}@sv .",
                     f"<{sim.publisher}> <{DCT}identifier> {_nt_lit(sim.orgnr)} ."]
            if sim.catalogue_publisher:
                lines.append(f"<{catalog}> <{DCT}publisher> <{sim.publisher}> .")
            if sim.paged and page + 1 < len(chunks):
                here = resolve(world, f"{{{sim.host}}}{path}")
                lines += [f"<{here}> <{RDF_TYPE}> <{HYDRA}PartialCollectionView> .",
                          f"<{here}> <{HYDRA}next> "
                          f"<{resolve(world, f'{{{sim.host}}}/catalog{ext}?page={page + 2}')}> ."]
            for r in chunk:
                lines.append(f"<{catalog}> <{DCAT}dataset> <{r.iri}> .")
                lines += _record_triples(world, r, sim.publisher if r.explicit_publisher else None)
            docs[(sim.host, path)] = (_serialise(lines, sim.syntax), ctype)
    catalog = "https://admin.dataportal.example.se/catalog"
    lines = [f"<{catalog}> <{RDF_TYPE}> <{DCAT}Catalog> ."]
    for orgnr in sorted({r.agency for r in world.dump_records if r.agency}):
        org = f"http://dataportal.se/organisation/SE{orgnr}"
        lines += [f"<{org}> <{RDF_TYPE}> <{FOAF}Organization> .",
                  f"<{org}> <{FOAF}name> {_nt_lit('Myndighet ' + orgnr)}@sv ."]
    for r in world.dump_records:
        lines.append(f"<{catalog}> <{DCAT}dataset> <{r.iri}> .")
        publisher = f"http://dataportal.se/organisation/SE{r.agency}" if r.explicit_publisher \
            else None
        lines += _record_triples(world, r, publisher)
    docs[(DUMP_HOST, "/all.rdf")] = (_serialise(lines, "rdfxml"), "application/rdf+xml")
    return docs


def catalogue_url(world: World, sim: AgencySim) -> str:
    return resolve(world, f"{{{sim.host}}}/catalog{'.ttl' if sim.syntax == 'turtle' else '.rdf'}")


class Politeness:
    """Per host, what its server saw of the requests: the most at once, and each gap from
    the end of one response to the arrival of the next request (0 when the next arrives
    while another is still being answered).

    A response's end is stamped after its bytes were handed to the kernel, so a gap is never
    overstated; but when the server's thread was descheduled between handing them over and
    stamping (the benchmark shares two cores with the daemons), the gap looks shorter than
    the client saw it. Each gap also keeps its upper bound (from when the server began to
    send), and the short gaps whose upper bound reaches ``min_delay`` are counted apart."""

    def __init__(self) -> None:
        self.at_once: Counter[str] = Counter()  # requests being answered now, per host
        self.most_at_once: Counter[str] = Counter()
        self.last_end: dict[str, float] = {}
        self.last_sending: dict[str, float] = {}  # when the last response began to be sent
        self.gaps: dict[str, list[float]] = {}
        self.upper: dict[str, list[float]] = {}  # each gap's upper bound
        self.window: dict[str, tuple[float, float]] = {}  # per host: first and last arrival
        self.arrivals: Counter[str] = Counter()
        self.last_target: dict[str, str] = {}
        self.pairs: dict[str, list[str]] = {}  # per host, per gap: "previous -> this" request

    def arrived(self, host: str, now: float, target: str = "") -> None:
        self.window[host] = (self.window.get(host, (now, now))[0], now)
        self.arrivals[host] += 1
        if self.at_once[host] or host in self.last_end:
            self.gaps.setdefault(host, []).append(
                0.0 if self.at_once[host] else now - self.last_end[host])
            self.upper.setdefault(host, []).append(
                0.0 if self.at_once[host] else now - self.last_sending[host])
            self.pairs.setdefault(host, []).append(f"{self.last_target[host]} -> {target}")
        self.last_target[host] = target
        self.at_once[host] += 1
        self.most_at_once[host] = max(self.most_at_once[host], self.at_once[host])

    def answered(self, host: str, now: float, sending: float) -> None:
        """A response ended at ``now``; its first byte was handed over at ``sending``."""
        self.at_once[host] -= 1
        self.last_end[host] = now
        self.last_sending[host] = sending

    def violations(self, min_delay: float) -> dict[str, object]:
        """The most requests at once on one host, and the gaps under ``min_delay``."""
        gaps = [gap for host_gaps in self.gaps.values() for gap in host_gaps]
        short = {host: sum(gap < min_delay for gap in host_gaps)
                 for host, host_gaps in self.gaps.items()}
        worst = max(self.most_at_once, key=self.most_at_once.__getitem__, default=None)
        short_gaps = [(gap, self.upper[host][n], host, self.pairs[host][n])
                      for host, host_gaps in self.gaps.items()
                      for n, gap in enumerate(host_gaps) if gap < min_delay]
        shortest = sorted(short_gaps)[:3]
        return {"most_requests_at_once_on_a_host": self.most_at_once[worst] if worst else 0,
                "host_with_most_at_once": worst or "none",
                "gaps": len(gaps),
                "gaps_under_min_delay": sum(short.values()),
                "gaps_under_min_delay_within_the_servers_send_time": sum(
                    1 for _, upper, _, _ in short_gaps if upper >= min_delay),
                "hosts_with_gaps_under_min_delay": sum(1 for n in short.values() if n),
                "smallest_gap_s": round(min(gaps), 4) if gaps else "none",
                "shortest_gaps": "; ".join(
                    f"{gap * 1000:.1f} ms (at most {upper * 1000:.1f}) on {host}: {pair}"
                    for gap, upper, host, pair in shortest) or "none"}


class Servers:
    """Every simulated host, served by one asyncio loop in a thread; ``close()`` stops all."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.docs: dict[tuple[str, str], tuple[bytes, str]] = {}
        self.requests: Counter[str] = Counter()
        self.link_urls: set[tuple[str, str]] = set()  # link URLs asked for, and when:
        self.link_window: tuple[float, float] = (0.0, 0.0)  # first and last link request
        self.politeness = Politeness()  # of the link requests, as each host sees them
        self._limited: set[tuple[str, str]] = set()
        self._sockets: list[socket.socket] = []
        self._loop = asyncio.new_event_loop()
        self._servers: list[asyncio.base_events.Server] = []
        for address, behaviour in world.hosts.items():
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((address, 0))
            world.ports[address] = sock.getsockname()[1]
            if behaviour == "refused":
                sock.close()  # its port is known and nothing listens there
            elif behaviour == "silent":
                sock.listen(0)  # the backlog fills, later connections hang
                self._sockets.append(sock)
            else:
                sock.listen(128)
                sock.setblocking(False)
                self._sockets.append(sock)
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self, docs: dict[tuple[str, str], tuple[bytes, str]]) -> None:
        self.docs = docs
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        for sock in self._sockets:
            address = sock.getsockname()[0]
            if self.world.hosts[address] == "silent":
                continue
            handler = (lambda a: lambda r, w: self._handle(a, r, w))(address)
            self._servers.append(self._loop.run_until_complete(
                asyncio.start_server(handler, sock=sock)))
        self._loop.run_forever()
        pending = asyncio.all_tasks(self._loop)  # connections kept alive: end them
        for task in pending:
            task.cancel()
        self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self._loop.close()

    async def _handle(self, address: str, reader: asyncio.StreamReader,
                      writer: asyncio.StreamWriter) -> None:
        try:
            for _ in range(10_000):  # keep-alive, bounded
                line = await reader.readline()
                if not line:
                    break
                method, target = line.decode("latin-1").split(" ")[:2]
                close = False
                while (header := await reader.readline()) not in (b"\r\n", b"\n", b""):
                    close |= header.lower().startswith(b"connection:") and b"close" in header.lower()
                link = (address, target) not in self.docs  # not a catalogue page
                if link:
                    self.politeness.arrived(address, time.monotonic(), f"{method} {target}")
                sending = time.monotonic()
                try:
                    status, ctype, body, extra = await self._answer(address, target)
                    head = (f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\n"
                            f"Content-Length: {len(body)}\r\n{extra}\r\n").encode()
                    sending = time.monotonic()
                    writer.write(head + (b"" if method == "HEAD" else body))
                    if writer.transport.get_write_buffer_size():  # not all sent yet
                        await writer.drain()
                finally:  # the response's end: its last byte handed to the kernel
                    if link:
                        self.politeness.answered(address, time.monotonic(), sending)
                if close:
                    break
        except (ConnectionError, ValueError):
            pass
        finally:
            writer.close()

    async def _answer(self, address: str, target: str) -> tuple[str, str, bytes, str]:
        self.requests[address] += 1
        if (address, target) in self.docs:
            body, ctype = self.docs[(address, target)]
            return "200 OK", ctype, body, ""
        stamp = time.monotonic()
        self.link_window = (self.link_window[0] or stamp, stamp)
        self.link_urls.add((address, target))
        behaviour = self.world.hosts[address]
        if target.startswith("/missing/") or target.startswith("/catalog"):
            return "404 Not Found", "text/plain", b"not found\n", ""
        if behaviour == "ratelimit" and (address, target) not in self._limited:
            self._limited.add((address, target))
            return ("429 Too Many Requests", "text/plain", b"slow down\n",
                    f"Retry-After: {RETRY_AFTER}\r\n")
        if behaviour == "slow":
            await asyncio.sleep(SLOW_SECONDS)
        ctype = {"/file": "text/csv", "/doc/": "application/pdf", "/api/": "application/json"}.get(
            target[:5], "application/octet-stream")
        return "200 OK", ctype, b"id;namn\n1;Ett\n", ""

    def close(self) -> None:
        def stop() -> None:
            for server in self._servers:
                server.close()
            self._loop.stop()
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(stop)
            self._thread.join(5)
        for sock in self._sockets:
            sock.close()


def free_port() -> int:
    """A port nothing on 127.0.0.1 listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
