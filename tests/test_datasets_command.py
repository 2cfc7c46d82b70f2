"""``dcatwatch datasets``: the current datasets, filtered, as JSON and as a table."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import FIXTURES
from tests.helpers import harvest_json, run, write_config
from tests.servers import LoopbackServer

CATALOG = (FIXTURES / "agency-catalog.ttl").read_bytes()
ORPHAN = b"""@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix dct: <http://purl.org/dc/terms/> .
<https://orphan.example.se/catalog> a dcat:Catalog ; dct:title "Katalog"@sv ;
    dcat:dataset <https://orphan.example.se/dataset/1> .
<https://orphan.example.se/dataset/1> a dcat:Dataset ; dct:title "Herrel\xc3\xb6s"@sv .
"""


def listing(config: Path, *extra: str) -> list[dict]:
    status, out, err = run("--config", str(config), "datasets", "--json", *extra)
    assert status == 0, err
    return json.loads(out)


def test_datasets_lists_filters_and_shows_levels(server: LoopbackServer, tmp_path: Path,
                                                 database_url: str) -> None:
    sources = [{"name": "exempel", "type": "dcat",
                "url": server.route("/catalog.ttl", CATALOG, content_type="text/turtle")},
               {"name": "orphan", "type": "dcat",
                "url": server.route("/orphan.ttl", ORPHAN, content_type="text/turtle")}]
    config = write_config(tmp_path, sources, database=database_url)
    harvest_json(config)
    every = listing(config)
    assert len(every) == 4
    assert {"iri", "title", "agency", "level", "level_name", "source"} <= set(every[0])
    by_iri = {d["iri"]: d for d in every}
    tax = by_iri["https://data.example.se/dataset/skattesatser"]
    assert (tax["agency"], tax["source"], tax["level"], tax["level_name"]) == \
        ("2021005448", "exempel", 2, "machine_readable")
    orphan = by_iri["https://orphan.example.se/dataset/1"]
    assert (orphan["agency"], orphan["title"], orphan["level"]) == (None, "Herrelös", 0)

    assert [d["iri"] for d in listing(config, "--agency", "-")] == [orphan["iri"]]
    assert {d["iri"] for d in listing(config, "--agency", "2021005448")} == {
        "https://data.example.se/dataset/skattesatser",
        "https://data.example.se/dataset/arsredovisning"}
    assert [d["iri"] for d in listing(config, "--source", "orphan")] == [orphan["iri"]]
    assert [d["level"] for d in listing(config, "--level", "api")] == [3]
    assert listing(config, "--level", "3") == listing(config, "--level", "api")
    assert listing(config, "--level", "none") == []  # the command scores first

    status, out, _ = run("--config", str(config), "datasets", "--agency", "-")
    assert status == 0
    assert "(unattributed)" in out and "Herrelös" in out and "1 datasets" in out
    status, out, _ = run("--config", str(config), "explain", orphan["iri"])
    assert status == 0 and "agency (unattributed)" in out
    assert "of 405" in out and "not counted" not in out
    assert "unknown   0.0/30  DCAT-AP compliance (dcat_ap_compliance, DCAT-AP 3.0.1 (SHACL))" in out  # unvalidated
    status, _, err = run("--config", str(config), "datasets", "--level", "7")
    assert status == 2 and "--level 7" in err
    status, _, err = run("--config", str(config), "datasets", "--source", "okand")
    assert status == 2
