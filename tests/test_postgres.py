"""PostgreSQL as the production store: same results as SQLite, concurrent harvests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, POSTGRES_ADMIN_URL, postgres_database
from tests.helpers import harvest_json, sql, write_config
from tests.servers import LoopbackServer

pytestmark = pytest.mark.skipif(
    not POSTGRES_ADMIN_URL,
    reason="no PostgreSQL: export DCATWATCH_TEST_POSTGRES_URL=$(scripts/test-postgres.sh)")

REAL_FILES = ["govdata-de/rostock-catalog-original-input.rdf", "openumea-opennorth/sgu.rdf",
              "digg-dcat-ap-se/rekommenderat.ttl", "udata-harvest-fixtures/bnodes.xml",
              "ckanext-dcat/dataset_multilingual.ttl"]
COUNTS = ("status", "datasets", "distributions", "data_services", "agencies", "added")


def test_harvest_into_postgresql_gives_the_same_counts_as_sqlite(corpus: Path, tmp_path: Path,
                                                                 server: LoopbackServer) -> None:
    sources = [{"name": f"f{i}", "type": "dcat",
                "url": server.route_file(f"/{name}", corpus / name)}
               for i, name in enumerate(REAL_FILES)]
    (tmp_path / "sqlite").mkdir()
    (tmp_path / "pg").mkdir()
    _, on_sqlite = harvest_json(write_config(tmp_path / "sqlite", sources))
    with postgres_database() as url:
        _, on_postgres = harvest_json(write_config(tmp_path / "pg", sources, database=url))
    assert [{k: r[k] for k in COUNTS} for r in on_postgres] == \
        [{k: r[k] for k in COUNTS} for r in on_sqlite]
    assert on_sqlite[0]["datasets"] == 100


def test_two_processes_harvesting_different_sources_do_not_collide(
        tmp_path: Path, server: LoopbackServer) -> None:
    catalog = (FIXTURES / "agency-catalog.ttl").read_text(encoding="utf-8")
    for name in ("a", "b"):  # same publishers in both: both runs insert the same new agencies
        other = catalog.replace("https://data.example.se/", f"https://{name}.example.se/")
        server.route(f"/{name}.ttl", other.encode(), content_type="text/turtle", delay=0.5)
    with postgres_database() as url:
        config = write_config(tmp_path, [
            {"name": "a", "type": "dcat", "url": server.url("/a.ttl")},
            {"name": "b", "type": "dcat", "url": server.url("/b.ttl")}], database=url)
        command = [sys.executable, "-m", "dcatwatch", "--config", str(config), "harvest"]
        processes = [subprocess.Popen([*command, name], stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE) for name in ("a", "b")]
        outcomes = [(p.wait(timeout=60), p.stderr.read().decode()) for p in processes]
        for process in processes:
            process.stdout.close()
            process.stderr.close()
        assert [status for status, _ in outcomes] == [0, 0], outcomes
        assert sql(config, "SELECT count(*) FROM agency") == [(2,)]
        assert sql(config, "SELECT source, count(*) FROM dataset GROUP BY source ORDER BY source") \
            == [("a", 3), ("b", 3)]
        assert sql(config, "SELECT count(*) FROM harvest_run WHERE status = 'ok'") == [(2,)]
