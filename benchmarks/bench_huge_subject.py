"""One subject with a million triples: the harvest's peak memory, capped or refused.

    python benchmarks/bench_huge_subject.py [--triples 1000000] [--cap N] [--smoke]

Generates a Turtle catalogue whose one dataset has ``--triples`` keywords (1 000 000: about
55 MB, as in issue 25), serves it on loopback and runs ``dcatwatch harvest --json`` as a
separate process under GNU time, three times:

1. as configured by default (grouped in memory up to ``[harvest] memory_triples``): the
   record passes ``[harvest] max_subject_triples`` (``--cap``) and the run is refused with
   ``record.too_large`` as soon as it does;
2. with ``memory_triples = 50000``, so the document is grouped on disk and the cap is
   checked once the rows are indexed;
3. with the one subject just under the cap: harvested, the largest record accepted.

Prints each run's wall time, peak RSS (the largest process of its tree, as ``/usr/bin/time``
reports it), its status and error code, against the issue's 200 MB target. ``--cap
2000000`` shows what the harvest took without the cap (683 MB for the 1 000 000 triples
before it existed).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_harvest import serve_and_configure  # noqa: E402

from dcatwatch.config import HarvestSettings  # noqa: E402

TARGET_MB = 200  # issue 25: the one-subject harvest within 200 MB, or refused
SMOKE = {"triples": 150_000}  # --smoke: CI runs every benchmark at this size


def one_subject(path: Path, triples: int) -> None:
    """A catalogue listing one dataset that has ``triples`` keywords (~55 bytes each)."""
    with path.open("w", encoding="utf-8") as out:
        out.write("@prefix dcat: <http://www.w3.org/ns/dcat#> .\n"
                  "@prefix dct: <http://purl.org/dc/terms/> .\n"
                  "<https://data.example.se/catalog> a dcat:Catalog ; dct:title \"K\"@sv ;\n"
                  "  dcat:dataset <https://data.example.se/d/1> .\n"
                  "<https://data.example.se/d/1> a dcat:Dataset ; dct:title \"En\"@sv ;\n"
                  "  dct:publisher <https://data.example.se/agency> ;\n")
        for start in range(0, triples, 10_000):
            out.write("".join(f'  dcat:keyword "nyckelord nummer {i:012d}"@sv ;\n'
                              for i in range(start, min(start + 10_000, triples))))
        out.write("  dct:description \"Slut\"@sv .\n")


def harvest(config: Path) -> tuple[float, float, str]:
    """Wall time, peak RSS (MB) and ``status code`` of one ``dcatwatch harvest --json``."""
    command = [sys.executable, "-m", "dcatwatch", "--config", str(config), "harvest", "--json"]
    wrapper = ["/usr/bin/time", "-f", "__PEAK_KB=%M"] if Path("/usr/bin/time").exists() else []
    started = time.perf_counter()
    done = subprocess.run(wrapper + command, capture_output=True, text=True)
    wall = time.perf_counter() - started
    peak = next((int(line.split("=")[1]) / 1024 for line in done.stderr.splitlines()
                 if line.startswith("__PEAK_KB=")), float("nan"))
    try:
        [result] = json.loads(done.stdout)
    except ValueError:
        raise SystemExit(f"harvest printed no result (exit {done.returncode}):\n"
                         f"{done.stderr[-2000:]}") from None
    codes = ",".join(e["code"] for e in result["errors"]) or "-"
    return wall, peak, f"{result['status']} {codes}"


def main() -> None:
    parser = argparse.ArgumentParser(description="Harvest memory for one huge subject.")
    parser.add_argument("--triples", type=int, default=1_000_000)
    parser.add_argument("--cap", type=int, default=HarvestSettings().max_subject_triples,
                        help="[harvest] max_subject_triples (default: the setting's)")
    parser.add_argument("--smoke", action="store_true", help=f"small sizes: {SMOKE}")
    args = parser.parse_args()
    if args.smoke:
        vars(args).update(SMOKE)
    with tempfile.TemporaryDirectory(prefix="dcatwatch-bench-") as tmp:
        root = Path(tmp)
        huge, under = root / "huge.ttl", root / "under.ttl"
        one_subject(huge, args.triples)
        one_subject(under, args.cap - 10)  # with type, title, publisher, description: cap - 6
        print(f"one subject: {args.triples} triples, {huge.stat().st_size / 1e6:.1f} MB "
              f"Turtle; [harvest] max_subject_triples = {args.cap}; target {TARGET_MB} MB")
        runs = [("default (grouped in memory)", huge, ""),
                ("grouped on disk (memory_triples = 50000)", huge, "memory_triples = 50000\n"),
                (f"just under the cap ({args.cap - 6} triples)", under, "")]
        for label, document, extra in runs:
            (root / "bench.db").unlink(missing_ok=True)
            server, config = serve_and_configure(
                root, f'name = "huge"\ntype = "dcat"\nurl = "{{base}}/{document.name}"\n')
            with config.open("a", encoding="utf-8") as out:
                out.write(f"[harvest]\nmax_subject_triples = {args.cap}\n{extra}")
            try:
                subprocess.run([sys.executable, "-m", "dcatwatch", "--config", str(config),
                                "db", "upgrade"], check=True, capture_output=True)
                wall, peak, outcome = harvest(config)
            finally:
                server.shutdown()
                server.server_close()
            verdict = "within" if peak <= TARGET_MB else "OVER"
            print(f"{label:<44} {wall:6.1f} s  peak {peak:6.0f} MB ({verdict} {TARGET_MB} MB)"
                  f"  {outcome}")


if __name__ == "__main__":
    main()
