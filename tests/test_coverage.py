"""Portal coverage: an agency's own catalogue against what dataportal.se shows of it."""

from __future__ import annotations

import json
from pathlib import Path

from dcatwatch.dcat.twins import DatasetRef, compare, identifiers
from dcatwatch.registry.coverage import agency_coverage, portal_coverage
from dcatwatch.store.core import Store
from dcatwatch.store.db import open_store
from tests.conftest import FIXTURES
from tests.helpers import harvest_json, run, write_config
from tests.servers import LoopbackServer


def harvest_both(server: LoopbackServer, tmp_path: Path) -> str:
    own = server.route_file("/own.ttl", FIXTURES / "dataportal" / "own-catalogues.ttl",
                            "text/turtle")
    dump = server.route_file("/all.rdf", FIXTURES / "dataportal" / "dump.rdf",
                             "application/rdf+xml")
    config = write_config(tmp_path, [
        {"name": "egna", "type": "dcat", "url": own},
        {"name": "dataportal", "type": "dataportal", "url": dump}])
    status, results = harvest_json(config)
    assert status == 0 and [r["status"] for r in results] == ["ok", "ok"]
    return f"sqlite:///{tmp_path}/dcatwatch.db"


def iris(refs: list[DatasetRef]) -> list[str]:
    return [ref.iri for ref in refs]


def test_coverage_of_agencies_harvested_directly_and_from_the_portal(
        server: LoopbackServer, tmp_path: Path) -> None:
    engine = open_store(harvest_both(server, tmp_path))

    found = {c.agency: c for c in portal_coverage(Store(engine))}

    assert set(found) == {"2021005448", "2120001215-1"}  # Trafikverket: portal only
    skv = found["2021005448"]
    assert (skv.direct_sources, skv.portal_sources) == (["egna"], ["dataportal"])
    assert [(m.direct.iri, m.by) for m in skv.matched] == [
        ("https://skatteverket.example/dataset/arsredovisning", "iri")]
    assert iris(skv.missing_on_portal) == ["https://skatteverket.example/dataset/deklarationer"]
    assert iris(skv.only_on_portal) == ["https://skatteverket.example/dataset/skattesatser"]
    assert skv.portal_share == 0.5
    gbg = found["2120001215-1"]
    assert sorted((m.direct.iri, m.portal.iri, m.by) for m in gbg.matched) == [
        ("https://goteborg.example/data/parker-v2", "https://goteborg.example/dataset/parker",
         "identifier"),
        ("https://goteborg.example/dataset/badplatser",
         "https://goteborg.example/dataset/badplatser", "iri")]
    assert (gbg.missing_on_portal, gbg.only_on_portal, gbg.portal_share) == ([], [], 1.0)
    data = json.loads(json.dumps(skv.to_dict()))
    assert data["portal_share"] == 0.5
    assert data["missing_on_portal"][0]["title"] == "Deklarationsstatistik"
    assert agency_coverage(Store(engine), "2021006297") is None
    assert agency_coverage(Store(engine), "2021005448") == skv


def test_identifier_matches_are_one_to_one_and_may_name_the_other_iri() -> None:
    direct = [DatasetRef("https://a.se/1", "own", identifiers=["X"]),
              DatasetRef("https://a.se/2", "own", identifiers=["X"]),
              DatasetRef("https://a.se/3", "own", identifiers=["https://portal.se/3"])]
    portal = [DatasetRef("https://portal.se/1", "dp", identifiers=["X"]),
              DatasetRef("https://portal.se/3", "dp")]

    coverage = compare("a", direct, portal)

    assert [(m.direct.iri, m.portal.iri) for m in coverage.matched] == [
        ("https://a.se/1", "https://portal.se/1"), ("https://a.se/3", "https://portal.se/3")]
    assert iris(coverage.missing_on_portal) == ["https://a.se/2"]
    assert coverage.only_on_portal == []


def test_identifiers_are_read_from_the_dataset_itself() -> None:
    description = ('<https://a.se/d> <http://purl.org/dc/terms/identifier> "abc \\"1\\"" .\n'
                   "<https://a.se/d> <http://purl.org/dc/terms/identifier> <urn:uuid:1> .\n"
                   '<https://a.se/d/x> <http://purl.org/dc/terms/identifier> "not mine" .\n')
    assert identifiers(description) == ['abc "1"', "urn:uuid:1"]


def test_coverage_command(server: LoopbackServer, tmp_path: Path) -> None:
    harvest_both(server, tmp_path)
    config = str(tmp_path / "dcatwatch.toml")
    status, out, _ = run("--config", config, "coverage")
    assert status == 0
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines()[2:4]}
    assert rows["2021005448"] == ["1", "1", "1", "50", "%"]
    assert "https://skatteverket.example/dataset/deklarationer  Deklarationsstatistik" in out
    status, out, _ = run("--config", config, "coverage", "--agency", "2021005448", "--json")
    [data] = json.loads(out)
    assert data["agency"] == "2021005448" and data["portal_share"] == 0.5
