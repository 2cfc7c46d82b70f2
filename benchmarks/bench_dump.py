"""End-to-end harvest of a synthetic dataportal.se dump (``type = "dataportal"``, dump mode).

    python benchmarks/bench_dump.py [--datasets 40000] [--keep DIR] [--smoke]
    python benchmarks/bench_dump.py --memory [--sizes 10000,100000] [--page 1000] [--smoke]

1. builds a dump-shaped RDF/XML catalogue (about 100 MB for 40 000 datasets): the synthetic
   catalogue of ``generate.py`` with publishers as dataportal.se organisations named in
   Swedish and English, EntryScape's classes (``esterms:ServedByDataService`` on API
   datasets, ``esterms:ServiceDistribution`` on their distributions, standalone
   ``esterms:IndependentDataService`` services) and the descriptive properties the portal's
   records carry, triples grouped by subject as in ``all.rdf``;
2. serves it from a loopback HTTP server;
3. runs ``dcatwatch harvest --json`` into a fresh SQLite store as a separate process and
   prints its wall time (process start to exit) and peak RSS, and the parser child's peak
   measured on its own. Targets: under 20 s and under 400 MB.

``--memory`` instead harvests catalogues of each of ``--sizes`` datasets served as Hydra
pages of ``--page`` datasets (N-Triples, ``hydra:next``) and, for comparison, as one
document, each into a fresh store, and prints the peak RSS of the harvest process and how
it grows with the catalogue (target: the largest within 1.3x of the smallest, under 200 MB).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import pyoxigraph as ox

sys.path.insert(0, str(Path(__file__).resolve().parent))
import generate  # noqa: E402
from bench_harvest import serve_and_configure, timed  # noqa: E402

ESTERMS = "http://entryscape.com/terms/"
EU = "http://publications.europa.eu/resource/authority/"
SPECIFICATIONS = "https://www.dataportal.se/specifications/"
XSD_DATE = "http://www.w3.org/2001/XMLSchema#date"
TARGET_SECONDS, TARGET_MB = 20.0, 400.0
SMOKE = {"datasets": 1000}  # --smoke: CI runs every benchmark at this size


def dump_ntriples(datasets: int, agencies: int = 300) -> str:
    """N-Triples of the dump: ``generate.ntriples`` plus what makes it dataportal-shaped."""
    base = generate.ntriples(datasets, agencies=agencies, dataportal=True,
                             catalog="https://admin.dataportal.se/catalog")
    extra: list[str] = []
    add = extra.append
    for a in range(agencies):
        add(f'<{generate.agency_iri(a, True)}> <{generate.FOAF}name> "Agency {a}"@en .')
    for i in range(datasets):
        ds = f"<{generate.BASE}/dataset/{i}>"
        add(f'{ds} <{generate.DCT}description> "Description of dataset {i}, as the publisher '
            f'wrote it in English for the European data portal."@en .')
        add(f"{ds} <{generate.DCT}accrualPeriodicity> <{EU}frequency/ANNUAL> .")
        add(f"{ds} <{generate.DCT}spatial> <{EU}country/SWE> .")
        add(f"{ds} <{generate.DCT}language> <{EU}language/SWE> .")
        add(f'{ds} <{generate.DCAT}keyword> "open data"@en .')
        add(f"{ds} <{generate.DCAT}theme> <{EU}data-theme/ECON> .")
        add(f"{ds} <{generate.DCT}conformsTo> <{SPECIFICATIONS}{i % 40}> .")
        add(f'{ds} <{generate.DCT}issued> "2019-0{1 + i % 9}-01"^^<{XSD_DATE}> .')
        if i % 10 == 0:  # generate.py gives every tenth dataset an access service
            add(f"{ds} <{generate.RDF_TYPE}> <{ESTERMS}ServedByDataService> .")
            add(f"<{generate.BASE}/dataset/{i}/distribution/1> <{generate.RDF_TYPE}> "
                f"<{ESTERMS}ServiceDistribution> .")
        if i % 50 == 25:
            service = f"<{generate.BASE}/independent-api/{i}>"
            add(f"{service} <{generate.RDF_TYPE}> <{generate.DCAT}DataService> .")
            add(f"{service} <{generate.RDF_TYPE}> <{ESTERMS}IndependentDataService> .")
            add(f'{service} <{generate.DCT}title> "Fristående API {i}"@sv .')
            add(f"{service} <{generate.DCT}publisher> "
                f"<{generate.agency_iri(i % agencies, True)}> .")
            add(f"{service} <{generate.DCAT}endpointURL> "
                f"<{generate.BASE}/independent-api/{i}/v1> .")
    grouped: dict[str, list[str]] = {}
    for line in (*base.splitlines(), *extra):
        if line:
            grouped.setdefault(line.split(" ", 1)[0], []).append(line)
    return "\n".join(line for lines in grouped.values() for line in lines) + "\n"


def write_dump(datasets: int, path: Path) -> Path:
    """Write the dump as RDF/XML to ``path``."""
    triples = ox.parse(input=dump_ntriples(datasets).encode(), format=ox.RdfFormat.N_TRIPLES)
    with path.open("wb") as handle:
        ox.serialize(triples, handle, ox.RdfFormat.RDF_XML,
                     prefixes={"dcat": generate.DCAT, "dct": generate.DCT, "foaf": generate.FOAF,
                               "vcard": generate.VCARD, "esterms": ESTERMS})
    return path


HYDRA_NEXT = "<http://www.w3.org/ns/hydra/core#next>"


def write_pages(datasets: int, page: int, root: Path, base: str) -> str:
    """Write the catalogue as N-Triples pages ``p0.nt`` … linked by ``hydra:next``;
    returns the first page's name."""
    pages = max(1, -(-datasets // page))
    for k in range(pages):
        size = min(page, datasets - k * page)
        text = generate.ntriples(size, seed=k + 1)
        text = (text.replace(f"{generate.BASE}/dataset/", f"{generate.BASE}/dataset/p{k}-")
                .replace(f"{generate.BASE}/api/", f"{generate.BASE}/api/p{k}-")
                .replace("_:c", f"_:p{k}c"))
        if k + 1 < pages:
            text += f"<{generate.BASE}/view/{k}> {HYDRA_NEXT} <{base}/p{k + 1}.nt> .\n"
        (root / f"p{k}.nt").write_text(text, encoding="utf-8")
    return "p0.nt"


def memory(sizes: list[int], page: int, single: bool) -> None:
    """Peak RSS of paged (and single-document) harvests of each size."""
    peaks: dict[str, list[float]] = {"paged": [], "single": []}
    for size in sizes:
        shapes = ["paged", "single"] if single else ["paged"]
        for shape in shapes:
            with tempfile.TemporaryDirectory(prefix="dcatwatch-mem-") as tmp:
                root = Path(tmp)
                first = "p0.nt" if shape == "paged" else "all.nt"
                server, config = serve_and_configure(
                    root, f'name = "mem"\ntype = "dcat"\nurl = "{{base}}/{first}"\n')
                base = f"http://127.0.0.1:{server.server_address[1]}"
                if shape == "paged":
                    write_pages(size, page, root, base)
                else:
                    generate.write(size, root / first, "ntriples")
                with config.open("a") as handle:
                    handle.write("[harvest]\nmax_pages = 100000\n")
                dcatwatch = [sys.executable, "-m", "dcatwatch", "--config", str(config)]
                timed(dcatwatch + ["db", "upgrade"])
                wall, peak, out = timed(dcatwatch + ["harvest", "--json"])
                server.shutdown()
            [result] = json.loads(out)
            assert result["datasets"] == size, result
            peaks[shape].append(peak)
            print(f"{shape:<6} {size:>7} datasets ({result['pages']:>4} pages): "
                  f"{wall:7.1f} s  {peak:6.0f} MB peak RSS")
    for shape, values in peaks.items():
        if len(values) > 1:
            print(f"{shape}: largest/smallest peak {values[-1] / values[0]:.2f}x "
                  f"(target <= 1.30x), largest {values[-1]:.0f} MB (target < 200 MB)")


def main() -> None:
    parser = argparse.ArgumentParser(description="End-to-end harvest of a synthetic dump.")
    parser.add_argument("--datasets", type=int, default=40_000)
    parser.add_argument("--keep", type=Path, help="also copy the generated dump here")
    parser.add_argument("--memory", action="store_true",
                        help="peak RSS of paged and single-document harvests by size")
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--page", type=int, default=1000)
    parser.add_argument("--no-single", action="store_true",
                        help="--memory: skip the single-document harvests")
    parser.add_argument("--smoke", action="store_true", help=f"small sizes: {SMOKE}")
    args = parser.parse_args()
    if args.memory:
        sizes = [300, 1200] if args.smoke else [int(n) for n in args.sizes.split(",")]
        memory(sizes, 100 if args.smoke else args.page, not args.no_single)
        return
    if args.smoke:
        vars(args).update(SMOKE)

    with tempfile.TemporaryDirectory(prefix="dcatwatch-dump-") as tmp:
        root = Path(tmp)
        dump = write_dump(args.datasets, root / "all.rdf")
        if args.keep:
            args.keep.write_bytes(dump.read_bytes())
        server, config = serve_and_configure(
            root, 'name = "dataportal"\ntype = "dataportal"\nmode = "dump"\n'
                  'url = "{base}/all.rdf"\n')
        url = f"http://127.0.0.1:{server.server_address[1]}/all.rdf"
        print(f"dump: {args.datasets} datasets, RDF/XML, {dump.stat().st_size / 1e6:.1f} MB")

        wall, peak, out = timed([sys.executable, "-m", "dcatwatch", "--config", str(config),
                                 "harvest", "--json"])
        _, child_peak, _ = timed([sys.executable, "-m", "dcatwatch.dcat._worker", "rdfxml", url,
                                  str(dump)])
        server.shutdown()

    [result] = json.loads(out)
    print(f"status {result['status']}: {result['datasets']} datasets, "
          f"{result['distributions']} distributions, {result['data_services']} data services, "
          f"{result['agencies']} agencies")
    print(f"wall time (process start to exit): {wall:6.2f} s   target < {TARGET_SECONDS:.0f} s"
          f"   {'OK' if wall < TARGET_SECONDS else 'OVER'}")
    print(f"peak RSS, harvest process:         {peak:6.0f} MB  target < {TARGET_MB:.0f} MB"
          f"  {'OK' if peak < TARGET_MB else 'OVER'}")
    print(f"peak RSS, parser child alone:      {child_peak:6.0f} MB")
    print(f"datasets: {args.datasets}\nwall_s: {wall:.2f}\npeak_rss_mb: {peak:.0f}\n"
          f"parser_child_peak_rss_mb: {child_peak:.0f}")


if __name__ == "__main__":
    main()
