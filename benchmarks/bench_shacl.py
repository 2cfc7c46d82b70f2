"""SHACL engines side by side on the national simulation's datasets: CPU, memory, verdicts.

    python benchmarks/bench_shacl.py [--datasets 20000] [--agencies 200]
        [--engines pyshacl,pyshacl-turbo,shacl-rust,pyrudof] [--corpus DIR] [--smoke]

Builds the world of ``simulation.py`` (the one ``national.py`` serves), maps each agency's
catalogue to stored descriptions as a harvest does, and validates them as a validation run
does (:mod:`dcatwatch.validators.shacl`: batches of ``shacl_run.BATCH`` descriptions of one
source in one graph, with the background knowledge) once per engine, each engine in a
child process of its own. Prints per engine: CPU seconds (user + system of the child),
CPU ms per dataset, peak RSS, the number of complying datasets and of per-dataset verdicts
and findings that differ from pyshacl's, and the CPU a national run of 100 000 datasets
would take at that rate. ``--corpus DIR``: the catalogues of the shared corpus instead, each
a source. ``--smoke``: 10 agencies, 400 datasets.
"""

from __future__ import annotations

import argparse
import json
import pickle
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import simulation  # noqa: E402

from dcatwatch.dcat.mapper import Mapper  # noqa: E402
from dcatwatch.dcat.parse import graph_from_ntriples, parse_file  # noqa: E402
from dcatwatch.errors import ParseError  # noqa: E402
from dcatwatch.validators import shacl, shacl_run  # noqa: E402
from dcatwatch.validators.shacl_engines import ENGINE, ENGINES  # noqa: E402

SMOKE = {"agencies": 10, "datasets": 400}
NATIONAL = 100_000


Source = tuple[list[shacl.Description], list[str]]  # descriptions, data service IRIs


def descriptions(agencies: int, datasets: int) -> list[Source]:
    """Each agency's descriptions and data services, as a harvest stores them."""
    world = simulation.build(agencies, datasets, datasets * 2)
    world.ports = {host: 8000 for host in world.hosts}
    found = []
    for sim in world.agencies:
        lines = [f"<{sim.publisher}> <{simulation.RDF_TYPE}> <{simulation.FOAF}Organization> .",
                 f"<{sim.publisher}> <{simulation.FOAF}name> \"Myndighet {sim.index}\"@sv ."]
        lines += [line for r in sim.records for line in simulation._record_triples(
            world, r, sim.publisher if r.explicit_publisher else None)]
        parsed = Mapper(graph_from_ntriples("\n".join(lines) + "\n"), url="").map(full=False)
        found.append(([shacl.Description(f"{sim.index}/{n}", e.iri, e.description)
                       for n, e in enumerate(parsed.entries)],
                      [service.iri for service in parsed.services]))
    return found


def corpus_descriptions(root: Path) -> list[Source]:
    """Each catalogue of the corpus at ``root`` (shape files and broken ones left out), as a
    harvest stores it."""
    found = []
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.suffix != ".md"
                       and "shapes" not in p.relative_to(root).parts and "SHACL" not in p.name):
        url = f"https://example.com/{path.name}"
        try:
            parsed = Mapper(parse_file(path, url), url=url).map(full=False)
        except ParseError:
            continue
        found.append(([shacl.Description(f"{path.relative_to(root)}/{n}", e.iri, e.description)
                       for n, e in enumerate(parsed.entries)],
                      [service.iri for service in parsed.services]))
    return [source for source in found if source[0]]


def child(engine: str, path: Path) -> None:
    """Validate the pickled sources with ``engine``; print what it found and cost."""
    sources: list[Source] = pickle.loads(path.read_bytes())
    shacl.shapes_text()
    shacl.background()
    started, wall = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
    verdicts: dict[str, list[object]] = {}
    for descs, services in sources:
        for start in range(0, len(descs), shacl_run.BATCH):
            batch = descs[start:start + shacl_run.BATCH]
            for key, verdict in shacl.check(batch, services, engine=engine).items():
                verdicts[str(key)] = [verdict.conforms, sorted(
                    (f.code, f.subject, f.property, f.value or "") for f in verdict.findings)]
    done = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"cpu_s": done.ru_utime + done.ru_stime - started.ru_utime
                      - started.ru_stime, "wall_s": time.monotonic() - wall,
                      "rss_mb": done.ru_maxrss / 1024, "verdicts": verdicts}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", type=int, default=20000)
    parser.add_argument("--agencies", type=int, default=200)
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--corpus", type=Path, help="the corpus's catalogues instead")
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--child", nargs=2, metavar=("ENGINE", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]))
        return
    if args.smoke:
        args.agencies, args.datasets = SMOKE["agencies"], SMOKE["datasets"]
    engines = ["pyshacl"] + [e for e in args.engines.split(",") if e and e != "pyshacl"]
    sources = corpus_descriptions(args.corpus) if args.corpus else \
        descriptions(args.agencies, args.datasets)
    total = sum(len(descs) for descs, _ in sources)
    print(f"datasets: {total} of {len(sources)} sources; batches of {shacl_run.BATCH}; "
          f"dcatwatch validates with {ENGINE}")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "descriptions.pickle"
        path.write_bytes(pickle.dumps(sources))
        results = {}
        for engine in engines:
            done = subprocess.run([sys.executable, __file__, "--child", engine, str(path)],
                                  capture_output=True, text=True, check=False)
            if done.returncode:
                print(f"{engine}: failed: {done.stderr.strip().splitlines()[-1:]}")
                continue
            results[engine] = json.loads(done.stdout.splitlines()[-1])
    reference = results["pyshacl"]["verdicts"]
    print(f"{'engine':14s} {'CPU s':>8s} {'ms/dataset':>10s} {'RSS MB':>7s} {'comply':>7s} "
          f"{'verdicts≠':>9s} {'findings≠':>9s} {'100k CPU s':>10s}")
    for engine, found in results.items():
        verdicts = found["verdicts"]
        verdict_diff = sum(verdicts[k][0] != reference[k][0] for k in reference)
        finding_diff = sum(verdicts[k][1] != reference[k][1] for k in reference)
        per = found["cpu_s"] / total
        print(f"{engine:14s} {found['cpu_s']:8.1f} {per * 1000:10.2f} {found['rss_mb']:7.0f} "
              f"{sum(v[0] for v in verdicts.values()):7d} {verdict_diff:9d} {finding_diff:9d} "
              f"{per * NATIONAL:10.0f}")


if __name__ == "__main__":
    main()
