"""Data services across runs: removal when a complete run no longer lists them, and the
change time scoring and the daemon go by."""

from __future__ import annotations

from pathlib import Path

from dcatwatch.schedules.jobs import changed
from dcatwatch.store.runs import RunCounts, RunResult
from tests.conftest import FIXTURES
from tests.helpers import harvest_json, sql, write_config
from tests.servers import LoopbackServer

CATALOG = (FIXTURES / "agency-catalog.ttl").read_text(encoding="utf-8")
SERVICE = CATALOG[CATALOG.index("<https://data.example.se/api/trafik> a dcat:DataService"):]
SERVICE = SERVICE[:SERVICE.index(" .\n") + 3]
EMPTY = """@prefix dcat: <http://www.w3.org/ns/dcat#> . @prefix dct: <http://purl.org/dc/terms/> .
<https://data.example.se/catalog> a dcat:Catalog ; dct:title "Tom"@sv ."""


def services(config: Path) -> list[tuple[object, ...]]:
    return sql(config, "SELECT iri, removed_at IS NOT NULL, changed_at IS NOT NULL "
                       "FROM data_service")


def test_a_service_the_catalogue_drops_is_removed_and_its_change_recorded(
        server: LoopbackServer, tmp_path: Path, database_url: str) -> None:
    server.route("/c.ttl", CATALOG.encode(), content_type="text/turtle")
    config = write_config(tmp_path, [{"name": "s", "type": "dcat", "url": server.url("/c.ttl")}],
                          database=database_url)
    assert harvest_json(config)[1][0]["data_services"] == 1
    first = sql(config, "SELECT changed_at FROM data_service")
    assert services(config) == [("https://data.example.se/api/trafik", False, True)]

    server.route("/c.ttl", CATALOG.encode() + b"\n", content_type="text/turtle")
    harvest_json(config)  # read again, the service unchanged: its change time stays
    assert sql(config, "SELECT changed_at FROM data_service") == first

    server.route("/c.ttl", CATALOG.replace(SERVICE, "").encode(), content_type="text/turtle")
    status, [result] = harvest_json(config)
    assert (status, result["status"], result["data_services"]) == (0, "ok", 0)
    assert services(config) == [("https://data.example.se/api/trafik", True, True)]
    assert sql(config, "SELECT changed_at FROM data_service") != first  # the removal's time


def test_an_emptied_catalogue_keeps_its_services_as_the_guard_holds_its_datasets(
        server: LoopbackServer, tmp_path: Path) -> None:
    server.route("/c.ttl", CATALOG.encode(), content_type="text/turtle")
    config = write_config(tmp_path, [{"name": "s", "type": "dcat", "url": server.url("/c.ttl")}])
    harvest_json(config)
    server.route("/c.ttl", EMPTY.encode(), content_type="text/turtle")
    status, [result] = harvest_json(config)
    assert (result["held_removals"], result["data_services"]) == (3, 1)
    assert services(config) == [("https://data.example.se/api/trafik", False, True)]


def test_the_daemon_rescores_after_a_run_that_changed_only_a_service() -> None:
    assert not changed(RunResult(source="s", counts=RunCounts(unchanged=3)))
    assert changed(RunResult(source="s", counts=RunCounts(unchanged=3), services_changed=1))
    assert "services_changed" not in RunResult(source="s").to_dict()  # not in the JSON


def test_a_source_dropped_from_the_configuration_no_longer_counts_until_it_returns(
        server: LoopbackServer, tmp_path: Path, database_url: str) -> None:
    server.route("/c.ttl", CATALOG.encode(), content_type="text/turtle")
    source = {"name": "s", "type": "dcat", "url": server.url("/c.ttl")}
    config = write_config(tmp_path, [source], database=database_url)
    harvest_json(config)
    other = {"name": "other", "type": "dcat", "url": server.url("/c.ttl")}

    write_config(tmp_path, [other], database=database_url)
    harvest_json(config, "other")
    current = ("SELECT source, count(*) FROM dataset WHERE removed_at IS NULL "
               "GROUP BY source ORDER BY source")
    assert sql(config, current) == [("other", 3)]
    assert sql(config, "SELECT source FROM data_service WHERE removed_at IS NULL") == \
        [("other",)]
    assert sql(config, "SELECT count(*) FROM dataset WHERE source = 's'") == [(3,)]  # kept

    write_config(tmp_path, [source, other], database=database_url)
    status, [back, _] = harvest_json(config)
    assert (status, back["source"], back["added"], back["datasets"]) == (0, "s", 3, 3)
    assert sql(config, current) == [("other", 3), ("s", 3)]
