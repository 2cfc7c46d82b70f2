"""Validation benchmark: link, data and metadata checks of N distributions served on loopback.

    python benchmarks/bench_validate.py [--distributions 200] [--rows 2000] [--workers 8]
        [--smoke]

1. writes a synthetic catalogue of N/2 datasets with two distributions each, and their
   files: Windows-1252 CSVs with ``;`` and decimal commas, UTF-8 CSVs with a few broken rows,
   XLSX workbooks, PDFs (not tabular) and some missing files (404);
2. serves the directory from a loopback HTTP server (Python's: HEAD, GET, Last-Modified and
   304 answers to conditional GETs) with per-host politeness off (``min_delay = 0``);
3. ``dcatwatch harvest`` into a fresh SQLite store, then times ``dcatwatch validate --json``
   twice (separate processes, start to exit): cold (everything downloaded and validated) and
   warm (``recheck_hours = 0``: everything due again, conditional GETs answered 304);
4. prints wall time, time per distribution and the run's summary.

``--memory N[,M…]`` instead harvests and validates (cold) a source of N datasets with two
distributions each, every distribution a URL of its own on the loopback server (a query
string over the same 20 files, one in ten a 404), and prints the peak RSS of ``validate``
for each size (issue 16's target: a 40 000-dataset source under 300 MB, not growing with it).

``--smoke``: 20 distributions of 200 rows (CI runs every benchmark at that size; with
``--memory``, 300 and 1 200 datasets).
"""

from __future__ import annotations

import argparse
import io
import json
import random
import sys
import tempfile
from pathlib import Path

import openpyxl

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_harvest import serve_and_configure, timed  # noqa: E402

PREFIXES = """@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix dct: <http://purl.org/dc/terms/> .
@prefix foaf: <http://xmlns.com/foaf/0.1/> .
"""
KINDS = ("cp1252.csv", "utf8.csv", "xlsx", "pdf")
MEDIA = {"cp1252.csv": "text/csv", "utf8.csv": "text/csv", "pdf": "application/pdf",
         "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def write_files(root: Path, base: str, count: int, rows: int, files: int | None = None) -> None:
    """The catalogue and the files of ``count`` distributions under ``root``; with
    ``files``, only that many files, which the distributions share under URLs of their own
    (a query string the server ignores)."""
    rng = random.Random(7)
    lines = [PREFIXES, '<https://bench.example.se/org> a foaf:Organization ; foaf:name "Bench" ;'
             ' dct:type <http://purl.org/adms/publishertype/NationalAuthority> .']
    for d in range(count // 2):
        dists = []
        for k in range(2):
            n = 2 * d + k
            kind = KINDS[n % len(KINDS)]
            stored = n % files if files else n
            name = f"file{stored}.{kind.rsplit('.', 1)[-1]}"
            if stored % 10 != 9 and not (root / name).exists():  # one in ten: a 404
                (root / name).write_bytes(_content(kind, rows, rng))
            if files:
                name += f"?n={n}"
            dists.append(f"<https://bench.example.se/dist/{n}>")
            lines.append(f'<https://bench.example.se/dist/{n}> a dcat:Distribution ; '
                         f'dcat:accessURL <{base}/{name}> ; dcat:downloadURL <{base}/{name}> ; '
                         f'dct:format "{MEDIA[kind]}" .')
        lines.append(f'<https://bench.example.se/ds/{d}> a dcat:Dataset ; dct:title "Data {d}"@sv ;'
                     f' dct:description "Syntetisk."@sv ; dct:publisher '
                     f'<https://bench.example.se/org> ; dcat:distribution {", ".join(dists)} .')
    (root / "catalog.ttl").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _content(kind: str, rows: int, rng: random.Random) -> bytes:
    if kind == "cp1252.csv":
        body = ["län;kommun;andel;invånare"] + [
            f"Västra Götalands län;Kommun {i} åäö;{rng.randint(0, 99)},{rng.randint(0, 99):02d};"
            f"{rng.randint(1000, 900000)}" for i in range(rows)]
        return ("\r\n".join(body) + "\r\n").encode("cp1252")
    if kind == "utf8.csv":
        body = ["id,namn,värde"] + [f"{i},Namn {i},{rng.random():.4f}" for i in range(rows)]
        body[rows // 2] += ",extra"  # one broken row
        return ("\n".join(body) + "\n").encode("utf-8")
    if kind == "xlsx":
        book = openpyxl.Workbook()
        sheet = book.active
        sheet.append(["kommun", "invånare"])
        for i in range(min(rows, 500)):
            sheet.append([f"Kommun {i}", rng.randint(1000, 900000)])
        buffer = io.BytesIO()
        book.save(buffer)
        return buffer.getvalue()
    return b"%PDF-1.4\n% not data\n"


SMOKE = {"distributions": 20, "rows": 200}


def memory(sizes: list[int], workers: int, data: bool = True) -> None:
    """Peak RSS of a cold ``validate`` of sources of each of ``sizes`` datasets."""
    peaks = []
    for size in sizes:
        with tempfile.TemporaryDirectory(prefix="dcatwatch-bench-") as tmp:
            root = Path(tmp)
            server, config = serve_and_configure(
                root, 'name = "bench"\ntype = "dcat"\nurl = "{base}/catalog.ttl"\n')
            with config.open("a", encoding="utf-8") as handle:
                handle.write(f"[validation]\nworkers = {workers}\n"
                             f"data = {str(data).lower()}\n")
            write_files(root, f"http://127.0.0.1:{server.server_address[1]}", 2 * size, 50,
                        files=20)
            cli = [sys.executable, "-m", "dcatwatch", "--config", str(config)]
            timed(cli + ["db", "upgrade"])
            _, harvest_peak, out = timed(cli + ["harvest", "--json"])
            [run] = json.loads(out)
            assert run["datasets"] == size, run
            wall, peak, out = timed(cli + ["validate", "--json"])
            summary = json.loads(out)["summary"]
            server.shutdown()
            server.server_close()
        peaks.append(peak)
        print(f"{size:>7} datasets, {summary['distributions']} distributions: validate "
              f"{wall:6.1f} s, {peak:4.0f} MB peak RSS (harvest {harvest_peak:.0f} MB); "
              f"urls_checked={summary['urls_checked']} files_checked={summary['files_checked']}"
              f" unreachable={summary['unreachable']}")
    print(f"validate peak: largest {peaks[-1]:.0f} MB (target < 300 MB at 40 000 datasets), "
          f"largest/smallest {peaks[-1] / peaks[0]:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description="Validate N distributions served on loopback.")
    parser.add_argument("--distributions", type=int, default=200)
    parser.add_argument("--rows", type=int, default=2000, help="rows per CSV file")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--memory", metavar="N[,M...]",
                        help="peak RSS of validating sources of these many datasets")
    parser.add_argument("--no-data", action="store_true",
                        help="--memory: links and metadata only, no data checks")
    parser.add_argument("--smoke", action="store_true", help=f"small sizes: {SMOKE}")
    args = parser.parse_args()
    if args.memory:
        memory([300, 1200] if args.smoke else [int(n) for n in args.memory.split(",")],
               args.workers, not args.no_data)
        return
    if args.smoke:
        vars(args).update(SMOKE)
    with tempfile.TemporaryDirectory(prefix="dcatwatch-bench-") as tmp:
        root = Path(tmp)
        server, config = serve_and_configure(
            root, 'name = "bench"\ntype = "dcat"\nurl = "{base}/catalog.ttl"\n')
        with config.open("a", encoding="utf-8") as handle:
            handle.write(f"[validation]\nrecheck_hours = 0\nworkers = {args.workers}\n")
        write_files(root, f"http://127.0.0.1:{server.server_address[1]}", args.distributions,
                    args.rows)
        cli = [sys.executable, "-m", "dcatwatch", "--config", str(config)]
        timed(cli + ["db", "upgrade"])
        wall, _, out = timed(cli + ["harvest", "--json"])
        [run] = json.loads(out)
        print(f"harvest: {run['status']}, {run['datasets']} datasets, {run['distributions']} "
              f"distributions in {wall:.2f} s")
        figures = {"distributions": args.distributions}
        for label in ("cold", "warm"):
            wall, peak, out = timed(cli + ["validate", "--json"])
            summary = json.loads(out)["summary"]
            print(f"validate ({label}): {wall:.2f} s wall (process start to exit), "
                  f"{1000 * wall / max(1, summary['distributions']):.1f} ms per distribution, "
                  f"{peak:.0f} MB peak RSS")
            print("  " + ", ".join(f"{k}={summary[k]}" for k in (
                "distributions", "reachable", "unreachable", "tabular", "valid", "invalid",
                "skipped", "urls_checked", "files_checked")))
            figures[f"validate_{label}_s"] = round(wall, 2)
        server.shutdown()
        server.server_close()
    for name, value in figures.items():
        print(f"{name}: {value}")


if __name__ == "__main__":
    main()
