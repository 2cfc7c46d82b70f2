"""MQA points per agency before and after the DCAT-AP compliance indicator is counted.

    python benchmarks/mqa_compliance.py [--corpus ../shared/corpus]

On the demo's catalogues (the site ``dcatwatch serve --demo`` serves) and, when given, on every
catalogue of the corpus (each file its own source, served from loopback): harvest, score
(*before*: no SHACL verdict, as dcatwatch scored before, compliance unknown and not counted),
then the SHACL stage of a validation run (links are not asked, so link points stay unknown in
both) and score again (*after*). Corpus catalogues that page to hosts elsewhere
(``*collection*``) are left out: nothing leaves loopback. Prints per agency the datasets, the
mean MQA points before and after, the difference, and how many datasets comply. Without the
indicator's 30 points nothing else moves, so the difference is 30 × the share that complies.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import re
import sys
import tempfile
from collections import Counter
from pathlib import Path

from sqlalchemy import select, text

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_harvest import serve_and_configure  # noqa: E402

from dcatwatch.cli import main as cli  # noqa: E402
from dcatwatch.config import Settings, load  # noqa: E402
from dcatwatch.demo.server import DemoSite, demo_settings, write_config  # noqa: E402
from dcatwatch.scoring.service import score  # noqa: E402
from dcatwatch.store.core import Store  # noqa: E402
from dcatwatch.store.tables import SHACL_CHECKS  # noqa: E402
from dcatwatch.validators import shacl_run  # noqa: E402
from dcatwatch.dcat.records import load_service  # noqa: E402

SKIP = re.compile(r"shapes/|SHACL|collection|\.md$")


def agencies(config: Path) -> dict[str, tuple[str, int, float | None]]:
    """Each agency's name, datasets and mean MQA points after a full scoring run."""
    with Store.open(load(config).database.url) as store:
        scored = score(store, full=True).scores
    return {a.id: (a.name, a.datasets, a.mqa_points) for a in scored.agencies if a.datasets}


def check_shacl(config: Path) -> None:
    """The SHACL stage of a validation run, every source (the rest of the run leaves the
    compliance points alone)."""
    with Store.open(load(config).database.url) as store:
        with store.read() as unit:
            services: dict[str, list[str]] = {}
            for row in unit.services.current_records():
                services.setdefault(row.source, []).append(load_service(row.record).iri)
        shacl_run.run(store, None, services, lambda rows: None)


def compare(label: str, config: Path) -> None:
    """Harvest, score, validate the metadata, score again; print the table."""
    with contextlib.redirect_stdout(io.StringIO()):  # the harvest tables: not the point here
        cli(["--config", str(config), "harvest"])
    before = agencies(config)
    check_shacl(config)
    after = agencies(config)
    with Store.open(load(config).database.url) as store, store.read() as unit:
        comply = dict(unit.connection.execute(text(
            "SELECT s.agency_id, count(DISTINCT d.iri) FROM dataset_score s JOIN dataset d "
            "ON d.id = s.dataset_id WHERE s.compliance GROUP BY s.agency_id")).all())
        violations = Counter(
            (code, prop) for findings in unit.connection.execute(select(
                SHACL_CHECKS.c.findings).where(SHACL_CHECKS.c.conforms.is_(False))).scalars()
            for code, severity, _, _, prop, _ in json.loads(findings) if severity == "error")
        checked = unit.connection.execute(text("SELECT count(*), sum(CASE WHEN conforms "
                                               "THEN 1 ELSE 0 END) FROM shacl_check")).one()
    print(f"\n{label}: mean MQA points per agency (of 405)")
    print(f"{'agency':42s} {'datasets':>8s} {'before':>7s} {'after':>7s} {'diff':>6s} "
          f"{'comply':>6s}")
    for key, (name, datasets, points) in sorted(before.items(), key=lambda i: i[1][0]):
        new = after[key][2]
        print(f"{name[:42]:42s} {datasets:8d} {points or 0:7.1f} {new or 0:7.1f} "
              f"{(new or 0) - (points or 0):+6.1f} {comply.get(key) or 0:6d}")
    print(f"{checked[1]} of {checked[0]} descriptions comply; the violations of the others "
          "(code, property: findings):")
    for (code, prop), count in violations.most_common(12):
        print(f"  {code:18s} {prop:24s} {count}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, DemoSite() as site:
        directory = Path(tmp) / "demo"
        directory.mkdir()
        compare("demo", write_config(demo_settings(Settings(), site.base_url, directory),
                                     directory))
    if args.corpus:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            files = sorted(p for p in args.corpus.rglob("*") if p.is_file()
                           and not SKIP.search(str(p.relative_to(args.corpus))))
            sources = []
            for number, path in enumerate(files):
                (root / f"{number}{path.suffix}").write_bytes(path.read_bytes())
                sources.append(f'name = "c{number}"\ntype = "dcat"\n'
                               f'url = "{{base}}/{number}{path.suffix}"\n')
            server, config = serve_and_configure(root, "[[sources]]\n".join(sources))
            try:
                compare("corpus", config)
            finally:
                server.shutdown()


if __name__ == "__main__":
    main()
