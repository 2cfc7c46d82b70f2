"""Every dataset is attributed or visibly unattributed: the catalogue's publisher, else the
source's configured agency, else counted nationally as unattributed (scores, harvest,
/metrics)."""

from __future__ import annotations

import json
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from dcatwatch.config import load
from dcatwatch.metrics import StoreCollector
from dcatwatch.store.core import Store
from tests.helpers import harvest_json, run, sql, write_config
from tests.servers import LoopbackServer

PREFIXES = """@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix dct: <http://purl.org/dc/terms/> .
@prefix foaf: <http://xmlns.com/foaf/0.1/> .
"""


def catalogue(name: str, publisher: str | None) -> bytes:
    """A catalogue of one dataset without a publisher (and the catalogue's, if given)."""
    owner = f"dct:publisher <{publisher}> ;" if publisher else ""
    agent = f'<{publisher}> a foaf:Agent ; foaf:name "Myndigheten" .' if publisher else ""
    return (PREFIXES + f"""
<https://{name}.example.se/catalog> a dcat:Catalog ; {owner}
    dct:title "Katalog"@sv ; dcat:dataset <https://{name}.example.se/dataset/1> .
<https://{name}.example.se/dataset/1> a dcat:Dataset ; dct:title "Data {name}"@sv ;
    dcat:distribution <https://{name}.example.se/dist/1> .
<https://{name}.example.se/dist/1> a dcat:Distribution ;
    dcat:downloadURL <https://{name}.example.se/data.csv> ; dcat:mediaType "text/csv" .
{agent}
""").encode()


def gauge(config: Path, name: str) -> dict[str, float]:
    registry = CollectorRegistry()
    with Store.open(load(config).database.url) as store:
        registry.register(StoreCollector(store))
        text = generate_latest(registry).decode()
    return {s.labels["source"]: s.value for family in text_string_to_metric_families(text)
            for s in family.samples if s.name == name}


def test_inherited_source_agency_and_unattributed(server: LoopbackServer, tmp_path: Path,
                                                  database_url: str) -> None:
    sources = [
        {"name": "inherits", "type": "dcat", "url": server.route(
            "/a.ttl", catalogue("a", "http://dataportal.se/organisation/SE2021005448"),
            content_type="text/turtle")},
        {"name": "configured", "type": "dcat", "agency": "2120001111", "url": server.route(
            "/b.ttl", catalogue("b", None), content_type="text/turtle")},
        {"name": "nobody", "type": "dcat", "url": server.route(
            "/c.ttl", catalogue("c", None), content_type="text/turtle")},
    ]
    config = write_config(tmp_path, sources, database=database_url,
                          agencies=[{"id": "2120001111", "name": "Konfigurerade verket"}])
    status, results = harvest_json(config)
    assert status == 0
    by_source = {r["source"]: r for r in results}
    assert {name: (r["datasets"], r["agencies"], r["unattributed"])
            for name, r in by_source.items()} == {
        "inherits": (1, 1, 0), "configured": (1, 1, 0), "nobody": (1, 0, 1)}
    assert sorted(sql(config, "SELECT source, agency_id FROM dataset")) == [
        ("configured", "2120001111"), ("inherits", "2021005448"), ("nobody", None)]

    status, out, err = run("--config", str(config), "scores", "--json", "--snapshot")
    assert status == 0, err
    scores = json.loads(out)
    agencies = {a["id"]: a["datasets"] for a in scores["agencies"]}
    assert agencies == {"2120001111": 1, "2021005448": 1}
    national = scores["national"]
    assert (national["datasets"], national["unattributed"]) == (3, 1)
    assert national["document_only_share"] == 0.0  # the unattributed CSV counts in the shares
    assert sql(config, "SELECT datasets, unattributed FROM national_score") == [(3, 1)]

    status, out, _ = run("--config", str(config), "scores")
    assert "1 of the datasets name no publisher" in out

    assert gauge(config, "dcatwatch_source_unattributed_datasets") == {
        "inherits": 0.0, "configured": 0.0, "nobody": 1.0}

    status, out, _ = run("--config", str(config), "harvest", "nobody")
    header, _rule, row, *_ = out.splitlines()
    assert "no agency" in header
    cells = row.split()
    assert cells[:2] == ["nobody", "ok"] and cells[header.split().index("no")] == "1"


def test_an_attributed_copy_wins_over_an_unattributed_one(server: LoopbackServer,
                                                          tmp_path: Path) -> None:
    same = catalogue("d", None)
    owned = same.replace(b"a dcat:Dataset ;",
                         b"a dcat:Dataset ; dct:publisher <http://dataportal.se/organisation/"
                         b"SE2021005448> ;")
    sources = [{"name": "anonymous", "type": "dcat", "url": server.route(
                   "/anon.ttl", same, content_type="text/turtle")},
               {"name": "owned", "type": "dcat", "url": server.route(
                   "/owned.ttl", owned, content_type="text/turtle")}]
    config = write_config(tmp_path, sources)
    harvest_json(config)
    status, out, err = run("--config", str(config), "scores", "--json")
    assert status == 0, err
    national = json.loads(out)["national"]
    assert (national["datasets"], national["unattributed"]) == (1, 0)
    assert {a["id"]: a["datasets"] for a in json.loads(out)["agencies"]} == {"2021005448": 1}


def test_every_corpus_catalogue_counts_every_dataset_nationally(corpus: Path,
                                                                tmp_path: Path) -> None:
    """Each real catalogue on its own: the harvest counts what rdflib counts, and national
    ``datasets`` is every harvested dataset (attributed or not)."""
    from tests.test_corpus import (
        BROKEN_ON_PURPOSE,
        COUNTED,
        corpus_files,
        expected_counts,
        source_name,
    )

    checked = unattributed = 0
    with LoopbackServer() as server:
        for number, path in enumerate(corpus_files(corpus)):
            relative = path.relative_to(corpus).as_posix()
            directory = tmp_path / str(number)
            directory.mkdir()
            source = {"name": source_name(relative), "type": "dcat",
                      "url": server.route_file("/" + relative, path)}
            config = write_config(directory, [source])
            _, [result] = harvest_json(config)
            status, out, err = run("--config", str(config), "scores", "--json")
            assert status == 0, (relative, err)
            national = json.loads(out)["national"]
            assert national["datasets"] == result["datasets"], relative
            assert national["unattributed"] == result["unattributed"], relative
            if relative not in BROKEN_ON_PURPOSE:
                assert {key: result[key] for key in COUNTED} == expected_counts(path), relative
                checked += 1
            unattributed += result["unattributed"]
    print(f"corpus: {checked} catalogues, {unattributed} unattributed datasets")
    assert checked >= 60


def services_catalogue(name: str, publisher: str | None) -> bytes:
    """A catalogue of two data services and no dataset (the catalogue's publisher, if given)."""
    owner = f"dct:publisher <{publisher}> ;" if publisher else ""
    return (PREFIXES + f"""
<https://{name}.example.se/catalog> a dcat:Catalog ; {owner}
    dct:title "Tjänster"@sv ;
    dcat:service <https://{name}.example.se/api/1>, <https://{name}.example.se/api/2> .
<https://{name}.example.se/api/1> a dcat:DataService ; dct:title "API ett"@sv ;
    dcat:endpointURL <https://{name}.example.se/api/1/v1> .
<https://{name}.example.se/api/2> a dcat:DataService ; dct:title "API två"@sv ;
    dcat:endpointURL <https://{name}.example.se/api/2/v1> .
""").encode()


def test_data_services_are_attributed_like_datasets(server: LoopbackServer, tmp_path: Path,
                                                   database_url: str) -> None:
    """The catalogue's publisher, else the source's agency, else counted as unattributed
    services (harvest --json, scores --json national, /metrics)."""
    sources = [
        {"name": "owned", "type": "dcat", "url": server.route(
            "/s1.ttl", services_catalogue("s1", "https://www.bfs.admin.ch/bfs/de/home.html"),
            content_type="text/turtle")},
        {"name": "configured", "type": "dcat", "agency": "2120001111", "url": server.route(
            "/s2.ttl", services_catalogue("s2", None), content_type="text/turtle")},
        {"name": "nobody", "type": "dcat", "url": server.route(
            "/s3.ttl", services_catalogue("s3", None), content_type="text/turtle")},
    ]
    config = write_config(tmp_path, sources, database=database_url,
                          agencies=[{"id": "2120001111", "name": "Konfigurerade verket"}])
    status, results = harvest_json(config)
    assert status == 0
    by_source = {r["source"]: r for r in results}
    assert {name: (r["data_services"], r["agencies"], r["unattributed"],
                   r["unattributed_services"]) for name, r in by_source.items()} == {
        "owned": (2, 1, 0, 0), "configured": (2, 1, 0, 0), "nobody": (2, 0, 0, 2)}
    owner = sql(config, "SELECT DISTINCT agency_id FROM data_service WHERE source = 'owned'")
    assert len(owner) == 1 and owner[0][0].startswith("bfs-admin-ch-")
    assert sorted(sql(config, "SELECT source, agency_id FROM data_service "
                              "WHERE source <> 'owned'")) == [
        ("configured", "2120001111"), ("configured", "2120001111"),
        ("nobody", None), ("nobody", None)]
    [(name, derived)] = sql(config, f"SELECT name, name_derived FROM agency "
                                    f"WHERE id = '{owner[0][0]}'")
    assert (name, bool(derived)) == ("bfs.admin.ch – bfs de home", True)

    status, out, err = run("--config", str(config), "scores", "--json", "--snapshot")
    assert status == 0, err
    national = json.loads(out)["national"]
    assert (national["unattributed"], national["unattributed_services"]) == (0, 2)
    assert sql(config, "SELECT unattributed_services FROM national_score") == [(2,)]
    assert gauge(config, "dcatwatch_source_unattributed_services") == {
        "owned": 0.0, "configured": 0.0, "nobody": 2.0}
    status, out, _ = run("--config", str(config), "scores")
    assert "2 data services name no publisher" in out


def test_a_nameless_publisher_takes_the_registry_name_of_its_orgnr(
        server: LoopbackServer, tmp_path: Path) -> None:
    """An organisation number in the IRI names the agency as the registry does; the name is
    flagged as dcatwatch's in scores --json and in the table."""
    publisher = "https://data.example.se/organisation/202100-5448"
    sources = [{"name": "orgnr", "type": "dcat", "url": server.route(
        "/o.ttl", catalogue("o", publisher).replace(b'foaf:name "Myndigheten" ', b""),
        content_type="text/turtle")}]
    config = write_config(tmp_path, sources,
                          agencies=[{"id": "2021005448", "name": "Skatteverket"}])
    harvest_json(config)
    status, out, err = run("--config", str(config), "scores", "--json")
    assert status == 0, err
    unregistered = [a for a in json.loads(out)["agencies"] if not a["registered"]]
    assert [(a["name"], a["name_derived"], a["datasets"]) for a in unregistered] == [
        ("Skatteverket", True, 1)]
    status, out, _ = run("--config", str(config), "scores")
    assert "Skatteverket (name derived by dcatwatch)" in out
