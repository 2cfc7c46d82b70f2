"""The metrics room in-process: instruments, the store collector and the HTTP endpoints."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.openmetrics import exposition as openmetrics
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, update

from dcatwatch.config import SourceSettings, load
from dcatwatch.harvester.run import sync_configuration
from dcatwatch.metrics import Instruments, MetricsServer, StoreCollector, new_registry
from dcatwatch.metrics.exposition import CachedExposition
from dcatwatch.metrics.instruments import code_class
from dcatwatch.store.core import Store
from dcatwatch.store.db import open_store
from dcatwatch.store.models import Dataset, Source
from dcatwatch.store.runs import RunCounts, RunResult
from tests.conftest import FIXTURES
from tests.helpers import harvest_json, run, write_config
from tests.servers import LoopbackServer

CATALOG = (FIXTURES / "agency-catalog.ttl").read_bytes()
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def samples(registry: CollectorRegistry) -> Samples:
    text = generate_latest(registry).decode()
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def named(found: Samples, name: str) -> dict[frozenset[tuple[str, str]], float]:
    return {labels: v for (n, labels), v in found.items() if n == name}


def test_label_values_are_initialised_and_counted() -> None:
    registry = new_registry()
    instruments = Instruments(registry)
    found = samples(registry)
    assert named(found, "dcatwatch_http_requests_total") == {
        frozenset({("code_class", c)}): 0.0 for c in ("1xx", "2xx", "3xx", "4xx", "5xx", "error")}
    assert len(named(found, "dcatwatch_datasets_processed_total")) == 5
    assert not any(name.endswith("_created") for name, _ in found)
    instruments.on_response(200, 1000)
    instruments.on_response(503, 0)
    instruments.on_response(0, 0)
    instruments.record_run(RunResult("a", status="ok", counts=RunCounts(added=3, unchanged=2),
                                     duration_s=2.5))
    instruments.record_run(RunResult("b", status="failed", duration_s=0.2))
    instruments.record_unfinished(1)
    found = samples(registry)
    assert found[("dcatwatch_http_requests_total", frozenset({("code_class", "2xx")}))] == 1
    assert found[("dcatwatch_http_requests_total", frozenset({("code_class", "5xx")}))] == 1
    assert found[("dcatwatch_http_requests_total", frozenset({("code_class", "error")}))] == 1
    assert found[("dcatwatch_http_response_bytes_total", frozenset())] == 1000
    assert found[("dcatwatch_harvest_runs_total", frozenset())] == 3
    assert found[("dcatwatch_harvest_failures_total", frozenset())] == 2
    assert found[("dcatwatch_harvest_duration_seconds_count", frozenset())] == 2
    assert found[("dcatwatch_datasets_processed_total", frozenset({("action", "added")}))] == 3
    assert [code_class(s) for s in (101, 204, 304, 404, 599, 0)] == \
        ["1xx", "2xx", "3xx", "4xx", "5xx", "error"]


@pytest.fixture
def harvested(server: LoopbackServer, tmp_path: Path, database_url: str) -> tuple[Path, Engine]:
    """A store with the fixture catalogue harvested and scored (with a snapshot)."""
    server.route("/catalog.ttl", CATALOG, content_type="text/turtle")
    config = write_config(
        tmp_path, [{"name": "exempel", "type": "dcat", "url": server.url("/catalog.ttl")},
                   {"name": "avstangd", "type": "dcat", "url": server.url("/x.ttl"),
                    "enabled": False}],
        agencies=[{"id": "2021000001", "name": "Tomma verket"}], database=database_url)
    assert harvest_json(config)[0] == 0
    assert run("--config", str(config), "scores", "--snapshot")[0] == 0
    return config, open_store(database_url)


def test_the_collector_reads_sources_and_the_latest_scores(
        harvested: tuple[Path, Engine]) -> None:
    config, engine = harvested
    registry = CollectorRegistry()
    registry.register(StoreCollector(Store(engine)))
    found = samples(registry)
    exempel = frozenset({("source", "exempel")})
    assert named(found, "dcatwatch_source_up") == {exempel: 1.0}  # disabled sources left out
    assert found[("dcatwatch_source_datasets", exempel)] == 3
    assert found[("dcatwatch_source_held_removals", exempel)] == 0
    assert found[("dcatwatch_store_up", frozenset())] == 1
    _, out, _ = run("--config", str(config), "scores", "--json")
    scores = json.loads(out)
    assert {dict(labels)["agency"]: dict(labels)["name"]
            for labels in named(found, "dcatwatch_agency_info")} == \
        {a["id"]: a["name"] for a in scores["agencies"]}
    for agency in scores["agencies"]:
        for level in ("api", "machine_readable", "document_only", "unknown"):
            key = frozenset({("agency", agency["id"]), ("level", level)})
            assert found[("dcatwatch_agency_datasets", key)] == agency[level]
        index = found.get(("dcatwatch_agency_api_document_index",
                           frozenset({("agency", agency["id"])})))
        assert index == agency["api_document_index"]  # None: no sample (no datasets)
    assert found[("dcatwatch_agencies_with_api_ratio", frozenset())] == \
        scores["national"]["agencies_with_api_share"]

    # held removals, a new snapshot, and a source removed from the configuration
    with engine.begin() as conn:
        conn.execute(update(Dataset.__table__).where(
            Dataset.__table__.c.iri == "https://data.example.se/dataset/arsredovisning")
            .values(removal_held_at=Dataset.__table__.c.last_seen_at))
    assert run("--config", str(config), "scores", "--snapshot")[0] == 0
    found = samples(registry)
    assert found[("dcatwatch_source_held_removals", exempel)] == 1
    settings = load(config)
    with Store.open(settings.database.url) as store:
        sync_configuration(store, settings.model_copy(update={
            "sources": [SourceSettings(name="annan", type="dcat", url="http://x/")]}))
    found = samples(registry)
    assert named(found, "dcatwatch_source_up") == {frozenset({("source", "annan")}): 0.0}
    assert found[("dcatwatch_source_last_success_timestamp_seconds",
                  frozenset({("source", "annan")}))] == 0


def test_a_failed_source_is_down_and_keeps_its_last_success(
        harvested: tuple[Path, Engine]) -> None:
    _, engine = harvested
    with engine.begin() as conn:
        conn.execute(update(Source.__table__).values(last_status="failed"))
    registry = CollectorRegistry()
    registry.register(StoreCollector(Store(engine)))
    found = samples(registry)
    exempel = frozenset({("source", "exempel")})
    assert found[("dcatwatch_source_up", exempel)] == 0
    assert found[("dcatwatch_source_last_success_timestamp_seconds", exempel)] > 0


def test_an_unreadable_store_is_reported_not_raised(tmp_path: Path) -> None:
    engine = open_store(f"sqlite:///{tmp_path}/s.db")
    engine.dispose()
    for file in tmp_path.glob("s.db*"):
        file.unlink()
    (tmp_path / "s.db").mkdir()  # the database is gone and cannot be created again
    registry = CollectorRegistry()
    registry.register(StoreCollector(Store(engine)))
    found = samples(registry)
    assert found[("dcatwatch_store_up", frozenset())] == 0
    assert not named(found, "dcatwatch_source_up")


def _stable(body: bytes) -> list[str]:
    """The lines of an exposition that do not change between two renderings."""
    return [line for line in body.decode().splitlines()
            if not line.startswith(("process_", "dcatwatch_store_read_duration_seconds"))]


def test_the_cached_exposition_is_what_prometheus_client_renders(
        harvested: tuple[Path, Engine]) -> None:
    config, engine = harvested
    registry = new_registry()
    Instruments(registry)
    registry.register(StoreCollector(Store(engine)))
    exposition = CachedExposition(registry)
    for _ in range(2):  # the second time, the agency families come from the cache
        for accept, generate in (("", generate_latest),
                                 ("application/openmetrics-text", openmetrics.generate_latest)):
            body, content_type = exposition.render(accept)
            assert _stable(body) == _stable(generate(registry)), content_type
        assert run("--config", str(config), "scores", "--snapshot")[0] == 0
    assert body.endswith(b"# EOF\n") and body.count(b"# EOF") == 1


def _get(url: str, accept: str = "") -> tuple[int, str, str]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    try:
        with opener.open(request, timeout=5) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read().decode()


def test_endpoints_negotiate_and_report_readiness() -> None:
    registry = new_registry()
    Instruments(registry)
    problem: list[str | None] = ["store unreachable (OperationalError)"]
    server = MetricsServer("127.0.0.1", 0, registry, lambda: problem[0])
    server.start()
    base = f"http://127.0.0.1:{server.address[1]}"
    try:
        status, content_type, body = _get(base + "/metrics")
        assert (status, content_type.split(";")[0]) == (200, "text/plain")
        assert "# TYPE dcatwatch_harvest_runs_total counter" in body
        status, content_type, body = _get(base + "/metrics",
                                          "application/openmetrics-text; version=1.0.0")
        assert content_type.startswith("application/openmetrics-text")
        assert "# TYPE dcatwatch_harvest_runs counter" in body and body.endswith("# EOF\n")
        assert _get(base + "/healthz")[0] == 200
        unready = "not ready: store unreachable (OperationalError)\n"
        assert _get(base + "/readyz")[::2] == (503, unready)
        problem[0] = None
        assert _get(base + "/readyz")[::2] == (200, "ready\n")
        assert _get(base + "/nothing")[0] == 404
    finally:
        server.close()
