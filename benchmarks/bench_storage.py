"""Bytes stored per dataset after harvest, validation (metadata rules and SHACL) and scoring.

    python benchmarks/bench_storage.py [--datasets 20000] [--smoke]

1. generates a synthetic catalogue (``benchmarks/generate.py``), serves it from loopback and
   harvests it into a fresh SQLite store (``dcatwatch harvest``);
2. runs the metadata part of a validation run (the DCAT-AP-SE rules and the SHACL check;
   the links of the generated catalogue are not on loopback and are not asked);
3. scores every dataset (``dcatwatch.scoring.service.score``);
4. prints the bytes on disk (SQLite ``dbstat``: table and index pages, after ``VACUUM``) per
   dataset of what is kept per dataset: the description (``dataset``), the score
   (``dataset_score``), the metadata findings (``metadata_finding``) and the SHACL verdicts
   (``shacl_check``); then *before*: the same store as dcatwatch kept it before score details
   were packed (details as JSON text) and before SHACL verdicts were kept.

``--smoke``: 1 000 datasets.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import generate  # noqa: E402
from bench_harvest import serve_and_configure  # noqa: E402

from dcatwatch.cli import main as cli  # noqa: E402
from dcatwatch.config import load  # noqa: E402
from dcatwatch.scoring.service import score  # noqa: E402
from dcatwatch.store.core import Store  # noqa: E402
from dcatwatch.store.packing import unpack_json  # noqa: E402
from dcatwatch.validators import service  # noqa: E402

PER_DATASET = ("dataset", "dataset_score", "metadata_finding", "shacl_check")
TARGET = 2048  # bytes per dataset, all of PER_DATASET together


def validate_metadata(config: Path) -> None:
    """The metadata stage of ``dcatwatch validate`` (rules and SHACL), without the links."""
    app = load(config)
    with Store.open(app.database.url) as store:
        scope = service._read_scope(store, None, app.validation, None)
        service._shacl(store, None, scope, None)
        service._store_findings(store, None, scope)


def sizes(db: Path) -> dict[str, int]:
    """Bytes on disk of each table of ``PER_DATASET`` with its indexes."""
    with sqlite3.connect(db) as connection:
        connection.execute("VACUUM")
        indexes = dict(connection.execute(
            "SELECT name, tbl_name FROM sqlite_schema WHERE type = 'index'").fetchall())
        found = dict.fromkeys(PER_DATASET, 0)
        for name, size in connection.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name"):
            table = indexes.get(name, name)
            if table in found:
                found[table] += size
    return found


def as_before(db: Path) -> None:
    """Rewrite the store as dcatwatch kept it before: score details as JSON text, one
    metadata finding per row (as migration 0003 made the table), no SHACL verdicts or
    findings."""
    with sqlite3.connect(db) as connection:
        rows = connection.execute("SELECT dataset_id, details FROM dataset_score").fetchall()
        connection.executemany("UPDATE dataset_score SET details = ? WHERE dataset_id = ?",
                               [(unpack_json(bytes(details)), key) for key, details in rows])
        connection.execute("DELETE FROM shacl_check")
        packed = connection.execute("SELECT source, dataset_iri, findings, found_at "
                                    "FROM metadata_finding ORDER BY id").fetchall()
        connection.execute("DROP TABLE metadata_finding")
        connection.execute(
            "CREATE TABLE metadata_finding (id INTEGER NOT NULL PRIMARY KEY, source VARCHAR(64) "
            "NOT NULL, dataset_iri TEXT, subject TEXT NOT NULL, record VARCHAR(16) NOT NULL, "
            "code VARCHAR(80) NOT NULL, severity VARCHAR(8) NOT NULL, property VARCHAR(64) "
            "NOT NULL, value TEXT, found_at DATETIME NOT NULL)")
        connection.execute("CREATE INDEX ix_metadata_finding_dataset "
                           "ON metadata_finding (dataset_iri)")
        connection.execute("CREATE INDEX ix_metadata_finding_source ON metadata_finding (source)")
        connection.executemany(
            "INSERT INTO metadata_finding (source, dataset_iri, code, severity, record, subject,"
            " property, value, found_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(source, dataset, *finding, found_at)
             for source, dataset, findings, found_at in packed
             for finding in json.loads(unpack_json(bytes(findings)))
             if not finding[0].startswith("shacl.")])


def table(label: str, found: dict[str, int], datasets: int) -> None:
    per = {name: size / datasets for name, size in found.items()}
    print(f"{label:7s} " + " ".join(f"{per[name]:>16.0f}" for name in PER_DATASET)
          + f" {sum(per.values()):>8.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", type=int, default=20000)
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    count = 1000 if args.smoke else args.datasets
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        generate.write(count, root / "catalog.nt", "ntriples")
        server, config = serve_and_configure(
            root, 'name = "bench"\ntype = "dcat"\nurl = "{base}/catalog.nt"\n')
        try:
            started = time.monotonic()
            assert cli(["--config", str(config), "harvest"]) == 0, "harvest failed"
            harvested = time.monotonic()
            validate_metadata(config)
            validated = time.monotonic()
            with Store.open(load(config).database.url) as store:
                score(store)
            scored = time.monotonic()
        finally:
            server.shutdown()
        db = root / "bench.db"
        with sqlite3.connect(db) as connection:
            datasets = connection.execute("SELECT count(*) FROM dataset").fetchone()[0]
            checked = connection.execute("SELECT count(*), sum(conforms) FROM shacl_check") \
                .fetchone()
        print(f"{datasets} datasets: harvest {harvested - started:.1f} s, metadata + SHACL "
              f"{validated - harvested:.1f} s ({checked[0]} checked, {checked[1]} comply), "
              f"scoring {scored - validated:.1f} s")
        print("bytes per dataset on disk (SQLite pages, tables with their indexes)")
        print(f"{'':7s} " + " ".join(f"{name:>16s}" for name in PER_DATASET) + "    total")
        after = sizes(db)
        as_before(db)
        before = sizes(db)
        table("before", before, datasets)
        table("after", after, datasets)
        total = sum(after.values()) / datasets
        print(f"after: {total:.0f} B per dataset, target at most {TARGET}: "
              f"{'met' if total <= TARGET else 'NOT met'}")


if __name__ == "__main__":
    main()
