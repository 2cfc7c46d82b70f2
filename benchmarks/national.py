"""National simulation: ``dcatwatch serve`` against a simulated Sweden on loopback.

    python benchmarks/national.py [--agencies 200] [--datasets 40000] [--links 100000]
        [--min-delay 0.02] [--database URL | --postgres URL [--workers N]]
        [--timeout 1800] [--smoke]

Builds the world of ``simulation.py`` (agency catalogues, paged with ``hydra:next`` or single
documents, RDF/XML and Turtle; a dataportal.se-shaped RDF/XML dump repeating part of them
under ``http://dataportal.se/organisation/SE<orgnr>``; links mostly fine, some 404, slow,
dead or rate-limited), serves each host on its own 127.0.0.0/8 address, writes a
configuration and starts ``dcatwatch serve`` on an empty SQLite store (or ``--database``, an
empty database; or ``--postgres``, an admin URL of a PostgreSQL server on which a database is
made and dropped: ``--workers`` ``serve`` processes share it with ``[queue] backend =
"postgres"``). It waits until every source is harvested and validated, then prints, one
``name: value`` a line:

- time to first scores: start of ``serve`` to the first ``dcatwatch_agency_datasets`` in
  /metrics, and to the whole run being done;
- the link round: from the first to the last link request the hosts saw, beside its real
  lower bound, the larger of: per host, its links × (``[http] min_delay`` + that host's
  response time: 0.3 s slow, the Retry-After of a rate-limiting one; a silent host costs one
  connect timeout), and every link's response time spread over the in-flight cap
  (``[validation] in_flight``, else ``workers``; per process). Also actual/bound, when the
  host that sets the bound saw its first and last link request, and when every source was
  harvested (seconds into the round: links are known only once their source is harvested);
- CPU seconds of the dcatwatch processes (and their children) per link check, over the link
  round (harvests and scoring running meanwhile included) and over the whole run; and of the
  link checker processes alone (``dcatwatch-links``: the engine, its stores of results and
  its leases), over the whole run;
- politeness as the simulated servers saw the link requests (over every worker): the most
  requests at once on one host, and the gaps (end of a response to the arrival of the next
  request to that host) under ``min_delay``;
- peak RSS of the serve processes and their children;
- how many agency scores (per-level counts), broken links (``validate --json``) and
  unattributed datasets differ from the simulation's truth (target 0). What dcatwatch does
  not report is counted as differing and said so.

Everything it starts (the hosts, the daemons, the database) stops on exit, Ctrl-C included.
``--smoke``: 10 agencies, 400 datasets, 1000 links.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import simulation  # noqa: E402
from scratch import postgres_database  # noqa: E402

SMOKE = {"agencies": 10, "datasets": 400, "links": 1000, "min_delay": 0.02, "timeout": 300}
AGENCY_LINE = re.compile(r'^dcatwatch_agency_datasets\{', re.M)
SUCCESS_LINE = re.compile(r'^dcatwatch_source_last_success_timestamp_seconds\{source="([^"]+)"\}'
                          r' ([0-9.e+]+)', re.M)
RUNNING_LINE = re.compile(r"^dcatwatch_harvests_running [1-9]", re.M)
QUIET = 5.0  # seconds without a log line or a link request: the daemon is done
QUIET_VALIDATING = 120.0  # ... unless a source's validation has not ended: wait this long
UNATTRIBUTED_LINE = re.compile(
    r'^dcatwatch_source_unattributed_datasets\{source="[^"]+"\} ([0-9.e+]+)', re.M)


CONNECT_TIMEOUT = 1.0  # [http] connect_timeout: what a silent host costs at least


def write_configs(world: simulation.World, root: Path, database: str | None,
                  min_delay: float, workers: int, queue: bool) -> list[tuple[Path, int]]:
    """One configuration per ``serve`` process, each with its own /metrics port (``queue``:
    ``[queue] backend = "postgres"``); returns each and its port."""
    lines = [f'[database]\nurl = "{database or f"sqlite:///{root}/national.db"}"',
             f"[http]\nallow_private_networks = true\nmin_delay = {min_delay}\n"
             f"connect_timeout = {CONNECT_TIMEOUT}\nread_timeout = 5\nretries = 1\n"
             "backoff_base = 0.2\nretry_after_max = 5",
             "[daemon]\nmax_concurrent_harvests = 2\nshutdown_grace = 5",
             "[validation]\ndata = false\nlink_timeout = 3\nworkers = 8",
             f'[[sources]]\nname = "dataportal"\ntype = "dataportal"\nmode = "dump"\n'
             f'url = "{simulation.resolve(world, "{" + simulation.DUMP_HOST + "}/all.rdf")}"\n'
             'schedule = "*/30 * * * *"']
    if queue:
        lines.append('[queue]\nbackend = "postgres"')
    for sim in world.agencies:
        lines.append(f'[[sources]]\nname = "myndighet-{sim.index}"\ntype = "dcat"\n'
                     f'url = "{simulation.catalogue_url(world, sim)}"\n'
                     'schedule = "*/30 * * * *"')
    configs = []
    for n in range(workers):
        port = simulation.free_port()
        config = root / f"national-{n + 1}.toml"
        config.write_text("\n\n".join([lines[0], f'[server]\nhost = "127.0.0.1"\nport = {port}',
                                        *lines[1:]]) + "\n", encoding="utf-8")
        configs.append((config, port))
    return configs


def in_flight_cap(config: Path) -> int:
    """Link checks one ``serve`` process has in flight at most: ``[validation] in_flight``
    of an engine that has it, else its ``workers`` (one request each)."""
    from dcatwatch.config import load

    validation = load(config).validation
    return int(getattr(validation, "in_flight", None) or validation.workers)


def link_bound(world: simulation.World, min_delay: float, in_flight: int) -> dict[str, Any]:
    """The link round's real lower bound (see the module's docstring), its parts, and the
    host that sets it."""
    response = {"ok": 0.0, "slow": simulation.SLOW_SECONDS, "ratelimit": simulation.RETRY_AFTER,
                "silent": CONNECT_TIMEOUT, "refused": 0.0}
    per_host = Counter(link.host for link in world.links().values())
    hosts: dict[str, float] = {}
    for host, links in per_host.items():
        behaviour = world.hosts[host]
        hosts[host] = CONNECT_TIMEOUT if behaviour == "silent" else \
            links * (min_delay + response[behaviour])
    slowest = max(hosts, key=hosts.__getitem__)
    busy = sum(response[world.hosts[host]] * links for host, links in per_host.items()
               if world.hosts[host] != "silent") + CONNECT_TIMEOUT * sum(
        1 for host in per_host if world.hosts[host] == "silent")
    return {"per_host_s": hosts[slowest], "slowest_host": slowest,
            "slowest_host_links": per_host[slowest], "in_flight_s": busy / in_flight,
            "bound_s": max(hosts[slowest], busy / in_flight)}


def descendants(pid: int) -> list[int]:
    """``pid`` and every process under it (from /proc)."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def tree_rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and its descendants, in MB (from /proc)."""
    total = 0
    for current in descendants(pid):
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += int(re.search(r"VmRSS:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
        except (OSError, AttributeError):
            continue
    return total / 1024


TICK = os.sysconf("SC_CLK_TCK")


def cpu_s(pids: list[int], children: bool = False) -> float:
    """CPU seconds (user + system) of ``pids`` (with ``children``: and of the children they
    have waited for), from /proc."""
    total = 0
    for current in pids:
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(f) for f in fields[11:15 if children else 13])  # utime stime (cu cs)
    return total / TICK


def tree_cpu_s(pid: int) -> float:
    """CPU seconds of ``pid``, its live descendants and the children they have waited for."""
    return cpu_s(descendants(pid), children=True)


LINKS_PROCESS = "dcatwatch-links"  # the link checker's name in /proc/PID/comm


def link_processes(pid: int) -> list[int]:
    """The link checker processes under ``pid``."""
    found = []
    for current in descendants(pid):
        try:
            if Path(f"/proc/{current}/comm").read_text().strip() == LINKS_PROCESS:
                found.append(current)
        except OSError:
            continue
    return found


def scrape(port: int) -> str:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
            return response.read().decode()
    except OSError:
        return ""


def cli_json(config: Path, *command: str) -> object:
    """``dcatwatch --config config COMMAND --json``, parsed."""
    result = subprocess.run([sys.executable, "-m", "dcatwatch", "--config", str(config),
                             *command, "--json"], capture_output=True, text=True, timeout=900)
    if result.returncode not in (0, 1):
        raise SystemExit(f"dcatwatch {' '.join(command)} failed:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout)


def run_daemons(configs: list[tuple[Path, int]], source_names: set[str], logs: list[Path],
                timeout: float, servers: simulation.Servers) -> dict[str, Any]:
    """Start one ``dcatwatch serve`` per configuration, wait until every source is harvested
    and validated and they are quiet (no log line and no link request for QUIET seconds;
    QUIET_VALIDATING when a validation has not ended), stop them;
    returns the timings, peak RSS, CPU seconds (whole run, and at the first and last link
    request) and the sources whose validation the logs report."""
    figures: dict[str, Any] = {"peak_rss_mb": 0.0}
    sources = len(source_names)
    cpu: list[tuple[float, float]] = []  # (monotonic time, CPU seconds of every daemon)
    daemons: list[subprocess.Popen[bytes]] = []
    started = time.monotonic()
    try:
        for (config, _), log in zip(configs, logs, strict=True):
            with log.open("w") as stderr:
                daemons.append(subprocess.Popen(
                    [sys.executable, "-m", "dcatwatch", "--config", str(config), "--log-level",
                     "info", "serve"], stderr=stderr, stdout=subprocess.DEVNULL))
        activity, last_activity = (0, 0), started
        while time.monotonic() - started < timeout:
            for daemon, log in zip(daemons, logs, strict=True):
                if daemon.poll() is not None:
                    raise SystemExit(f"dcatwatch serve exited {daemon.returncode}:\n"
                                     f"{log.read_text()[-3000:]}")
            figures["peak_rss_mb"] = max(figures["peak_rss_mb"],
                                         sum(tree_rss_mb(d.pid) for d in daemons))
            cpu.append((time.monotonic(), sum(tree_cpu_s(d.pid) for d in daemons)))
            figures["link_process_cpu_s"] = max(figures.get("link_process_cpu_s", 0.0), sum(
                cpu_s(link_processes(d.pid)) for d in daemons))
            figures["link_process_rss_mb"] = max(figures.get("link_process_rss_mb", 0.0), sum(
                tree_rss_mb(p) for d in daemons for p in link_processes(d.pid)))
            metrics = "\n".join(scrape(port) for _, port in configs)
            now = time.monotonic()
            if "first_scores_s" not in figures and AGENCY_LINE.search(metrics):
                figures["first_scores_s"] = now - started
            harvested = len({source for source, v in SUCCESS_LINE.findall(metrics)
                             if float(v) > 0})
            if RUNNING_LINE.search(metrics):  # a source is being harvested (again)
                harvested = min(harvested, sources - 1)
            if harvested == sources and "harvested_s" not in figures:
                figures["harvested_s"] = now - started
                figures["harvested_at"] = now
            current = (sum(log.stat().st_size for log in logs), len(servers.link_urls))
            if current != activity:
                activity, last_activity = current, now
            elif harvested == sources and now - last_activity > QUIET:
                validated = set().union(*(validated_sources(log) for log in logs))
                if len(validated) < sources and now - last_activity < QUIET_VALIDATING:
                    time.sleep(0.5)  # a validation still running quietly (SHACL, scoring)
                    continue
                figures["done_s"] = now - started if len(validated) == sources else \
                    last_activity - started
                figures["validated_sources"] = len(validated)
                figures["not_validated"] = ", ".join(sorted(source_names - validated)) or "none"
                one = scrape(configs[0][1])  # a store-wide gauge: every worker's is the same
                figures["unattributed_metric"] = sum(
                    float(v) for v in UNATTRIBUTED_LINE.findall(one)) \
                    if UNATTRIBUTED_LINE.search(one) else -1
                break
            time.sleep(0.5)
        else:
            raise SystemExit(f"not done within {timeout:.0f} s: {harvested} of {sources} "
                             f"sources harvested; log:\n{logs[0].read_text()[-3000:]}")
    finally:
        for daemon in daemons:
            daemon.send_signal(signal.SIGTERM)
        for daemon in daemons:
            try:
                daemon.wait(30)
            except subprocess.TimeoutExpired:
                daemon.kill()
                daemon.wait()
    first, last = servers.link_window
    figures["cpu_s"] = cpu[-1][1]
    figures["link_round_cpu_s"] = cpu_at(cpu, last) - cpu_at(cpu, first)
    return figures


def cpu_at(samples: list[tuple[float, float]], moment: float) -> float:
    """CPU seconds at ``moment``, interpolated between the samples around it."""
    before = max((s for s in samples if s[0] <= moment), default=samples[0])
    after = min((s for s in samples if s[0] >= moment), default=samples[-1])
    if after[0] == before[0]:
        return before[1]
    return before[1] + (after[1] - before[1]) * (moment - before[0]) / (after[0] - before[0])


def daemon_errors(logs: list[Path]) -> str:
    """The daemons' error log lines, counted by message and cause (e.g. ``validation failed
    (sqlite3.OperationalError: database is locked): 2``)."""
    errors: Counter[str] = Counter()
    for line in (line for log in logs for line in log.open(encoding="utf-8")):
        if '"level": "error"' in line:
            record = json.loads(line)
            causes = [c for c in record.get("exception", "").splitlines() if "Error" in c[:60]]
            cause = f" ({causes[-1].split(') ', 1)[-1][:80]})" if causes else ""
            errors[record["message"] + cause] += 1
    return ", ".join(f"{message}: {n}" for message, n in sorted(errors.items())) or "none"


def validated_sources(log: Path) -> set[str]:
    """The sources the daemon's log says it validated."""
    found = set()
    for line in log.open(encoding="utf-8"):
        if '"message": "validated"' in line:
            found.add(json.loads(line).get("source", "?"))
    return found


def compare(world: simulation.World, config: Path) -> dict[str, object]:
    """Differences between what dcatwatch reports (CLI) and the simulation's truth."""
    scores = cli_json(config, "scores")
    assert isinstance(scores, dict)
    truth = world.scores()
    reported = {a["id"]: Counter({level: a[level] for level in simulation.LEVELS})
                for a in scores["agencies"] if a["datasets"]}
    wrong_scores = sum(1 for agency in truth.keys() | reported.keys()
                       if +truth.get(agency, Counter()) != +reported.get(agency, Counter()))
    validation = cli_json(config, "validate")
    assert isinstance(validation, dict)
    broken = {d["uri"] for d in validation["distributions"] if not d["reachable"]}
    checked = {d["uri"] for d in validation["distributions"]}
    truth_broken = world.broken()
    behaviour = {d: ("missing" if "/missing/" in link.url else world.hosts[link.host])
                 for r in world.records() for d, _, link in r.dists}
    differing = Counter(behaviour[d] for d in broken ^ truth_broken)
    national = scores["national"]
    return {
        "agencies_truth": len(truth),
        "agencies_reported": len(reported),
        "agency_scores_differing": wrong_scores,
        "datasets_truth": len(world.records()),
        "datasets_reported": sum(sum(c.values()) for c in reported.values()),
        "broken_links_truth": len(truth_broken),
        "broken_links_reported": len(broken),
        "broken_links_differing": len(broken ^ truth_broken),
        "broken_links_differing_by_host": dict(differing) or "none",
        "distributions_unchecked": len({d for r in world.records() for d, _, _ in r.dists}
                                       - checked),
        "unattributed_truth": world.unattributed(),
        "unattributed_reported": national.get("unattributed", "not reported by dcatwatch"),
        "unattributed_differing": abs(national["unattributed"] - world.unattributed())
        if "unattributed" in national else world.unattributed(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--agencies", type=int, default=200)
    parser.add_argument("--datasets", type=int, default=40_000)
    parser.add_argument("--links", type=int, default=100_000)
    parser.add_argument("--min-delay", type=float, default=0.02,
                        help="[http] min_delay: seconds between two requests to one host")
    parser.add_argument("--database", help="an empty database URL (default: temporary SQLite)")
    parser.add_argument("--postgres", help="PostgreSQL admin URL: the store is a database made "
                        "there, the serve processes share it with [queue] backend = postgres")
    parser.add_argument("--workers", type=int, default=1,
                        help="serve processes (more than one needs --postgres)")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds to wait at most")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--smoke", action="store_true", help=f"small sizes: {SMOKE}")
    args = parser.parse_args()
    if args.smoke:
        vars(args).update(SMOKE)
    if args.workers > 1 and not args.postgres:
        parser.error("--workers above 1 needs --postgres (the queue backend shares the work)")
    if args.postgres and args.database:
        parser.error("--postgres makes its own database: give --database or --postgres")
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # stop cleanly on SIGTERM too
    # the simulated servers stamp each request and response end in their thread: while this
    # main thread reads /proc and /metrics, a stamp waits at most this long for the GIL
    # (Python's default, 5 ms, made gaps look up to 5 ms shorter than they were)
    sys.setswitchinterval(0.0005)

    started = time.monotonic()
    world = simulation.build(args.agencies, args.datasets, args.links, args.seed)
    servers = simulation.Servers(world)
    try:
        docs = simulation.documents(world)
        servers.start(docs)
        links = world.links()
        per_host = Counter(link.host for link in links.values())
        print(f"world: {len(world.agencies)} agencies, {len(world.records())} datasets, "
              f"{len(links)} links on {len(per_host)} hosts, "
              f"{sum(len(b) for b, _ in docs.values()) / 1e6:.1f} MB of catalogues "
              f"(built in {time.monotonic() - started:.1f} s)", flush=True)
        with tempfile.TemporaryDirectory(prefix="dcatwatch-national-") as tmp, \
                (postgres_database(args.postgres, "dcatwatch_national") if args.postgres
                 else _given(args.database)) as database:
            configs = write_configs(world, Path(tmp), database, args.min_delay, args.workers,
                                    queue=bool(args.postgres))
            config = configs[0][0]
            if args.postgres:  # the schema and the job queue's, before the workers race
                subprocess.run([sys.executable, "-m", "dcatwatch", "--config", str(config),
                                "db", "upgrade"], check=True, capture_output=True)
            cap = in_flight_cap(config) * args.workers
            bound = link_bound(world, args.min_delay, cap)
            logs = [Path(tmp) / f"serve-{n + 1}.log" for n in range(args.workers)]
            names = {"dataportal"} | {f"myndighet-{sim.index}" for sim in world.agencies}
            figures = run_daemons(configs, names, logs, args.timeout,
                                  servers)
            first, last = servers.link_window
            errors = daemon_errors(logs)
            comparison = compare(world, config)
    finally:
        servers.close()

    window = max(last - first, 1e-3)
    checks = max(len(servers.link_urls), 1)
    results: dict[str, object] = {
        "agencies": len(world.agencies),
        "datasets": len(world.records()),
        "links": len(links),
        "hosts": len(per_host),
        "min_delay_s": args.min_delay,
        "store": ("postgresql" if args.postgres or (args.database or "").startswith("postgres")
                  else "sqlite") + f", {args.workers} serve process(es), queue backend "
                 f"{'postgres' if args.postgres else 'local'}",
        "time_to_first_scores_s": round(figures.get("first_scores_s", float("nan")), 1),
        "time_to_all_harvested_s": round(figures.get("harvested_s", float("nan")), 1),
        "time_to_done_s": round(figures["done_s"], 1),
        "sources_validated": f"{figures['validated_sources']:.0f} of {len(world.agencies) + 1} "
                             f"(not: {figures['not_validated']})",
        "link_urls_requested": len(servers.link_urls),
        "link_round_s": round(window, 1),
        "link_checks_per_minute": round(60 * len(servers.link_urls) / window),
        "bound_per_host_s": f"{bound['per_host_s']:.1f} (host {bound['slowest_host']}, "
                            f"{world.hosts[bound['slowest_host']]}, "
                            f"{bound['slowest_host_links']} links)",
        "bound_in_flight_s": f"{bound['in_flight_s']:.1f} (cap {cap} in flight)",
        "bound_s": round(bound["bound_s"], 1),
        "bound_host_seen": _seen(servers.politeness, bound["slowest_host"], first),
        "last_hosts_seen": "; ".join(
            f"{host} ({world.hosts[host]}) {_seen(servers.politeness, host, first)}"
            for host in sorted(servers.politeness.window,
                               key=lambda h: servers.politeness.window[h][1])[-3:]),
        "all_harvested_at_round_s": round(figures.get("harvested_at", float("nan")) - first, 1),
        "actual_over_bound": round(window / bound["bound_s"], 2),
        "cpu_ms_per_link_check_in_round": round(1000 * figures["link_round_cpu_s"] / checks, 2),
        "cpu_ms_per_link_check_whole_run": round(1000 * figures["cpu_s"] / checks, 2),
        "cpu_ms_per_link_check_link_process": round(
            1000 * figures.get("link_process_cpu_s", 0.0) / checks, 2),
        "cpu_s_whole_run": round(figures["cpu_s"], 1),
        **{f"politeness_{k}": v for k, v in servers.politeness.violations(args.min_delay).items()},
        "peak_rss_mb": round(figures["peak_rss_mb"]),
        "peak_rss_mb_link_processes": round(figures.get("link_process_rss_mb", 0.0)),
        "daemon_errors": errors,
        **comparison,
        "unattributed_metric": figures["unattributed_metric"]
        if figures["unattributed_metric"] >= 0 else "not reported by dcatwatch",
        "wall_s": round(time.monotonic() - started, 1),
    }
    for name, value in results.items():
        print(f"{name}: {value}")


def _seen(politeness: simulation.Politeness, host: str, start: float) -> str:
    """When, in the link round, ``host`` saw its first and last link request, and how many."""
    if host not in politeness.window:
        return "no link request"
    first, last = politeness.window[host]
    return (f"{politeness.arrivals[host]} requests, from {first - start:.1f} s to "
            f"{last - start:.1f} s")


@contextmanager
def _given(database: str | None) -> Iterator[str | None]:
    yield database


if __name__ == "__main__":
    main()
