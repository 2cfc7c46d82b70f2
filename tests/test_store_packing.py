"""Migration 0021: score details and metadata findings packed, nothing lost either way."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text

from dcatwatch.store import db
from dcatwatch.store.core import Store
from dcatwatch.store.packing import DETAILS_DICT, DICTIONARY_PATH, pack_json, unpack_json

ROOT = Path(__file__).resolve().parent.parent

D = "https://data.example.se/d/"
FINDINGS = [  # (source, dataset_iri, code, subject), in the order written
    ("s", D + "1", "meta.dataset.missing_issued", D + "1"),
    ("s", None, "meta.catalog.missing_description", "https://data.example.se/catalog"),
    ("s", D + "1", "shacl.node_kind", "https://data.example.se/dist/1"),
    ("s", D + "2", "meta.dataset.missing_spatial", D + "2"),
    ("t", D + "1", "meta.dataset.missing_issued", D + "1"),
]


def _config(connection: object) -> Config:
    config = Config()
    config.set_main_option("script_location", str(db.MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def test_0020_packs_details_and_findings_and_back(database_url: str) -> None:
    engine = db.make_engine(database_url)
    with engine.begin() as connection:
        command.upgrade(_config(connection), "0017")
        connection.execute(text(
            "INSERT INTO metadata_finding (source, dataset_iri, subject, record, code, severity,"
            " property, value, found_at) VALUES (:source, :dataset, :subject, 'dataset', :code,"
            " 'warning', 'dct:issued', 'å', CURRENT_TIMESTAMP)"),
            [{"source": s, "dataset": d, "code": c, "subject": subject}
             for s, d, c, subject in FINDINGS])
    with engine.begin() as connection:
        command.upgrade(_config(connection), "0021")
    with Store(engine).read() as unit:
        stored = [(row.source, row.dataset_iri, [f[0] for f in json.loads(row.findings)])
                  for row in unit.findings.stored()]
        raw = unit.connection.execute(text("SELECT findings FROM metadata_finding")).scalars()
        assert all(bytes(value)[0] == DETAILS_DICT for value in raw)
    assert sorted(stored, key=lambda r: (r[0], r[1] or "")) == [
        ("s", None, ["meta.catalog.missing_description"]),
        ("s", D + "1", ["meta.dataset.missing_issued", "shacl.node_kind"]),
        ("s", D + "2", ["meta.dataset.missing_spatial"]),
        ("t", D + "1", ["meta.dataset.missing_issued"])]
    with engine.begin() as connection:
        command.downgrade(_config(connection), "0017")
    with engine.connect() as connection:
        back = connection.execute(text(
            "SELECT source, dataset_iri, code, subject, value FROM metadata_finding")).all()
    engine.dispose()
    assert sorted(back, key=lambda r: (r[0], r[1] or "", r[2])) == sorted(
        [(s, d, c, subject, "å") for s, d, c, subject in FINDINGS],
        key=lambda r: (r[0], r[1] or "", r[2]))


def test_packed_json_reads_back_and_old_rows_read_as_they_are() -> None:
    document = json.dumps({"mqa": {"points": 405, "indicators": ["å"] * 40}})
    packed = pack_json(document)
    assert packed[0] == DETAILS_DICT and len(packed) < len(document)
    assert unpack_json(packed) == document
    assert unpack_json(document.encode()) == document  # stored before packing


def test_the_shipped_dictionary_is_what_its_script_trains(tmp_path: Path) -> None:
    """``details.zdict`` is reproducible: ``scripts/train_details_dict.py`` trains the same
    bytes from the generated catalogue it scores."""
    out = tmp_path / "details.zdict"
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "train_details_dict.py"),
                           "--out", str(out)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert out.read_bytes() == DICTIONARY_PATH.read_bytes()
