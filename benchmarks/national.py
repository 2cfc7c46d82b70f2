"""National simulation: ``dcatwatch serve`` against a simulated Sweden on loopback.

    python benchmarks/national.py [--agencies 200] [--datasets 40000] [--links 100000]
        [--min-delay 0.02] [--database URL] [--timeout 1800] [--smoke]

Builds the world of ``simulation.py`` (agency catalogues, paged with ``hydra:next`` or single
documents, RDF/XML and Turtle; a dataportal.se-shaped RDF/XML dump repeating part of them
under ``http://dataportal.se/organisation/SE<orgnr>``; links mostly fine, some 404, slow,
dead or rate-limited), serves each host on its own 127.0.0.0/8 address, writes a
configuration and starts ``dcatwatch serve`` on an empty SQLite store (or ``--database``, an
empty database). It waits until every source is harvested and validated, then prints, one
``name: value`` a line:

- time to first scores: start of ``serve`` to the first ``dcatwatch_agency_datasets`` in
  /metrics, and to the whole run being done;
- link checks per minute (distinct link URLs the hosts were asked for, over the window from
  the first to the last such request) beside the politeness bound: the fastest rate
  ``[http] min_delay`` allows, links ÷ (max over hosts of links on that host × min_delay);
- peak RSS of the serve process and its children;
- how many agency scores (per-level counts), broken links (``validate --json``) and
  unattributed datasets differ from the simulation's truth (target 0). What dcatwatch does
  not report is counted as differing and said so.

Everything it starts (the hosts, the daemon) stops on exit, Ctrl-C included.
``--smoke``: 10 agencies, 400 datasets, 1000 links.
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import simulation  # noqa: E402

SMOKE = {"agencies": 10, "datasets": 400, "links": 1000, "min_delay": 0.02, "timeout": 300}
AGENCY_LINE = re.compile(r'^dcatwatch_agency_datasets\{', re.M)
SUCCESS_LINE = re.compile(r'^dcatwatch_source_last_success_timestamp_seconds\{source="([^"]+)"\}'
                          r' ([0-9.e+]+)', re.M)
RUNNING_LINE = re.compile(r"^dcatwatch_harvests_running [1-9]", re.M)
QUIET = 5.0  # seconds without a log line or a link request: the daemon is done
UNATTRIBUTED_LINE = re.compile(
    r'^dcatwatch_source_unattributed_datasets\{source="[^"]+"\} ([0-9.e+]+)', re.M)


def write_config(world: simulation.World, root: Path, database: str | None,
                 min_delay: float) -> tuple[Path, int]:
    """The daemon's configuration; returns it and the /metrics port."""
    port = simulation.free_port()
    lines = [f'[database]\nurl = "{database or f"sqlite:///{root}/national.db"}"',
             f'[server]\nhost = "127.0.0.1"\nport = {port}',
             f"[http]\nallow_private_networks = true\nmin_delay = {min_delay}\n"
             "connect_timeout = 1\nread_timeout = 5\nretries = 1\nbackoff_base = 0.2\n"
             "retry_after_max = 5",
             "[daemon]\nmax_concurrent_harvests = 2\nshutdown_grace = 5",
             "[validation]\ndata = false\nlink_timeout = 3\nworkers = 8",
             f'[[sources]]\nname = "dataportal"\ntype = "dataportal"\nmode = "dump"\n'
             f'url = "{simulation.resolve(world, "{" + simulation.DUMP_HOST + "}/all.rdf")}"\n'
             'schedule = "*/30 * * * *"']
    for sim in world.agencies:
        lines.append(f'[[sources]]\nname = "myndighet-{sim.index}"\ntype = "dcat"\n'
                     f'url = "{simulation.catalogue_url(world, sim)}"\n'
                     'schedule = "*/30 * * * *"')
    config = root / "national.toml"
    config.write_text("\n\n".join(lines) + "\n", encoding="utf-8")
    return config, port


def tree_rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and its descendants, in MB (from /proc)."""
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += int(re.search(r"VmRSS:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, AttributeError):
            continue
    return total / 1024


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


def run_daemon(config: Path, port: int, sources: int, log: Path, timeout: float,
               servers: simulation.Servers) -> dict[str, float]:
    """Start ``dcatwatch serve``, wait until every source is harvested and the daemon is
    quiet (no log line and no link request for QUIET seconds), stop it; returns the timings,
    peak RSS and the sources whose validation the log reports."""
    figures: dict[str, float] = {"peak_rss_mb": 0.0}
    with log.open("w") as stderr:
        started = time.monotonic()
        daemon = subprocess.Popen([sys.executable, "-m", "dcatwatch", "--config", str(config),
                                   "--log-level", "info", "serve"], stderr=stderr,
                                  stdout=subprocess.DEVNULL)
        activity, last_activity = (0, 0.0), started
        try:
            while time.monotonic() - started < timeout:
                if daemon.poll() is not None:
                    raise SystemExit(f"dcatwatch serve exited {daemon.returncode}:\n"
                                     f"{log.read_text()[-3000:]}")
                figures["peak_rss_mb"] = max(figures["peak_rss_mb"], tree_rss_mb(daemon.pid))
                metrics = scrape(port)
                now = time.monotonic()
                if "first_scores_s" not in figures and AGENCY_LINE.search(metrics):
                    figures["first_scores_s"] = now - started
                harvested = sum(float(v) > 0 for _, v in SUCCESS_LINE.findall(metrics))
                if RUNNING_LINE.search(metrics):  # a source is being harvested (again)
                    harvested = min(harvested, sources - 1)
                if harvested == sources and "harvested_s" not in figures:
                    figures["harvested_s"] = now - started
                current = (log.stat().st_size, len(servers.link_urls))
                if current != activity:
                    activity, last_activity = current, now
                elif harvested == sources and now - last_activity > QUIET:
                    figures["done_s"] = last_activity - started
                    figures["validated_sources"] = len(validated_sources(log))
                    figures["unattributed_metric"] = sum(
                        float(v) for v in UNATTRIBUTED_LINE.findall(metrics)) \
                        if UNATTRIBUTED_LINE.search(metrics) else -1
                    break
                time.sleep(0.5)
            else:
                raise SystemExit(f"not done within {timeout:.0f} s: {harvested} of {sources} "
                                 f"sources harvested; log:\n{log.read_text()[-3000:]}")
        finally:
            daemon.send_signal(signal.SIGTERM)
            try:
                daemon.wait(30)
            except subprocess.TimeoutExpired:
                daemon.kill()
                daemon.wait()
    return figures


def daemon_errors(log: Path) -> str:
    """The daemon's error log lines, counted by message and cause (e.g. ``validation failed
    (sqlite3.OperationalError: database is locked): 2``)."""
    errors: Counter[str] = Counter()
    for line in log.open(encoding="utf-8"):
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
    parser.add_argument("--timeout", type=float, default=1800, help="seconds to wait at most")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--smoke", action="store_true", help=f"small sizes: {SMOKE}")
    args = parser.parse_args()
    if args.smoke:
        vars(args).update(SMOKE)
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # stop cleanly on SIGTERM too

    started = time.monotonic()
    world = simulation.build(args.agencies, args.datasets, args.links, args.seed)
    servers = simulation.Servers(world)
    try:
        docs = simulation.documents(world)
        servers.start(docs)
        links = world.links()
        per_host = Counter(link.host for link in links.values())
        bound_s = max(per_host.values()) * args.min_delay
        print(f"world: {len(world.agencies)} agencies, {len(world.records())} datasets, "
              f"{len(links)} links on {len(per_host)} hosts, "
              f"{sum(len(b) for b, _ in docs.values()) / 1e6:.1f} MB of catalogues "
              f"(built in {time.monotonic() - started:.1f} s)", flush=True)
        with tempfile.TemporaryDirectory(prefix="dcatwatch-national-") as tmp:
            config, port = write_config(world, Path(tmp), args.database, args.min_delay)
            log = Path(tmp) / "serve.log"
            figures = run_daemon(config, port, len(world.agencies) + 1, log, args.timeout,
                                 servers)
            first, last = servers.link_window
            errors = daemon_errors(log)
            comparison = compare(world, config)
    finally:
        servers.close()

    window = max(last - first, 1e-3)
    results: dict[str, object] = {
        "agencies": len(world.agencies),
        "datasets": len(world.records()),
        "links": len(links),
        "hosts": len(per_host),
        "min_delay_s": args.min_delay,
        "time_to_first_scores_s": round(figures.get("first_scores_s", float("nan")), 1),
        "time_to_all_harvested_s": round(figures.get("harvested_s", float("nan")), 1),
        "time_to_done_s": round(figures["done_s"], 1),
        "sources_validated": f"{figures['validated_sources']:.0f} of {len(world.agencies) + 1}",
        "link_urls_requested": len(servers.link_urls),
        "link_checks_per_minute": round(60 * len(servers.link_urls) / window),
        "politeness_bound_s": round(bound_s, 1),
        "politeness_bound_per_minute": round(60 * len(links) / max(bound_s, 1e-3)),
        "peak_rss_mb": round(figures["peak_rss_mb"]),
        "daemon_errors": errors,
        **comparison,
        "unattributed_metric": figures["unattributed_metric"]
        if figures["unattributed_metric"] >= 0 else "not reported by dcatwatch",
        "wall_s": round(time.monotonic() - started, 1),
    }
    for name, value in results.items():
        print(f"{name}: {value}")


if __name__ == "__main__":
    main()
