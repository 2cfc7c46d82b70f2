"""Every real catalogue in ../shared/corpus, served from loopback and harvested in one run.

Counts are checked against an independent oracle: rdflib reads the same file and SPARQL
counts records by the same definition dcatwatch uses (a subject typed with the class, or a
described subject linked by the class's property).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest
import rdflib

from dcatwatch.store.packing import unpack_json
from tests.helpers import harvest_json, run, sql, write_config
from tests.servers import LoopbackServer

BROKEN_ON_PURPOSE = {  # (file, what the error must mention)
    "ckanext-dcat/dataset.ttl": "line 149",
    "semic-dcat-ap/3.0.1/example-bee-population-dataset-series-api.ttl": "line 20",
    "semic-dcat-ap/3.0.1/example-bee-population-dataset-series-combined.ttl": "line 32",
    "udata-harvest-fixtures/geonetwork.xml": "Invalid IRI",
}
RECOVERED = {"openumea-opennorth/dcat.rdf"}  # invalid RDF/XML that the lenient parser reads

DCAT = rdflib.Namespace("http://www.w3.org/ns/dcat#")
DCTERMS = rdflib.Namespace("http://purl.org/dc/terms/")
COUNTED = ("datasets", "distributions", "data_services")


def corpus_files(corpus: Path) -> list[Path]:
    return sorted(p for p in corpus.rglob("*") if p.is_file() and p.suffix != ".md")


def rdflib_graph(path: Path) -> rdflib.Graph:
    if path.suffix in (".trig", ".nq"):
        dataset = rdflib.Dataset()
        dataset.parse(path, format="trig" if path.suffix == ".trig" else "nquads")
        union = rdflib.Graph()
        for subject, predicate, obj, _graph in dataset.quads((None, None, None, None)):
            union.add((subject, predicate, obj))
        return union
    formats = {".ttl": "turtle", ".nt": "nt", ".jsonld": "json-ld"}
    return rdflib.Graph().parse(path, format=formats.get(path.suffix, "xml"),
                                publicID=f"http://loopback.invalid/{path.name}")


def expected_counts(path: Path) -> dict[str, int]:
    """The oracle, with rdflib's graph API (independent of dcatwatch's mapper)."""
    graph = rdflib_graph(path)
    described = set(graph.subjects())

    def typed(*classes: rdflib.URIRef) -> set:
        return {s for c in classes for s in graph.subjects(rdflib.RDF.type, c)}

    def linked(*predicates: rdflib.URIRef) -> set:
        return {o for p in predicates for o in graph.objects(None, p)
                if not isinstance(o, rdflib.Literal) and o in described}

    datasets = typed(DCAT.Dataset, DCAT.DatasetSeries) | linked(DCAT.dataset)
    # dct:distribution is a slip dcatwatch reads as dcat:distribution (record.tolerated)
    distributions = {(d, x) for d in datasets for p in (DCAT.distribution, DCTERMS.distribution)
                     for x in graph.objects(d, p) if x in described}
    services = typed(DCAT.DataService) | linked(DCAT.accessService, DCAT.service)
    return {"datasets": len(datasets), "distributions": len(distributions),
            "data_services": len(services)}


def source_name(relative: str) -> str:
    return re.sub(r"[^a-z0-9_-]+", "-", relative.lower())[-64:].strip("-")


@pytest.fixture(scope="module")
def corpus_run(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """Harvest every corpus file as its own source, all in one run: (config, results)."""
    directory = tmp_path_factory.mktemp("corpus")
    with LoopbackServer() as server:
        sources = []
        for path in corpus_files(corpus):
            relative = path.relative_to(corpus).as_posix()
            # generic content types on purpose: the syntax must come from the URL or content
            kind = "text/plain" if path.suffix in (".ttl", ".nt") else "application/octet-stream"
            sources.append({"name": source_name(relative), "type": "dcat",
                            "url": server.route_file("/" + relative, path, kind)})
        config = write_config(directory, sources, harvest={"removal_threshold": 1.0})
        _, results = harvest_json(config)
    return config, {r["source"]: r for r in results}


@pytest.fixture(scope="module")
def harvested(corpus_run: tuple[Path, dict]) -> dict[str, dict]:
    return corpus_run[1]


def test_counts_match_rdflib_for_every_parsable_file(corpus: Path,
                                                      harvested: dict[str, dict]) -> None:
    checked = 0
    for path in corpus_files(corpus):
        relative = path.relative_to(corpus).as_posix()
        if relative in BROKEN_ON_PURPOSE:
            continue
        result = harvested[source_name(relative)]
        assert result["status"] in ("ok", "partial"), (relative, result["errors"][:2])
        got = {key: result[key] for key in COUNTED}
        assert got == expected_counts(path), relative
        checked += 1
    assert checked >= 60


def test_known_real_catalogues(harvested: dict[str, dict]) -> None:
    rostock = harvested[source_name("govdata-de/rostock-catalog-original-input.rdf")]
    assert (rostock["datasets"], rostock["distributions"]) == (100, 773)
    digg = harvested[source_name("digg-dcat-ap-se/rekommenderat.rdf")]
    assert (digg["datasets"], digg["distributions"], digg["data_services"]) == (1, 2, 1)
    sgu = harvested[source_name("openumea-opennorth/sgu.rdf")]
    assert (sgu["datasets"], sgu["distributions"]) == (9, 16)


def test_broken_files_fail_with_a_clear_error(corpus: Path, harvested: dict[str, dict]) -> None:
    for relative, mention in BROKEN_ON_PURPOSE.items():
        result = harvested[source_name(relative)]
        assert result["status"] == "failed", relative
        [error] = result["errors"]
        assert error["code"] == "parse.syntax"
        assert error["url"].endswith(relative)
        assert mention in error["message"], error["message"]


def test_invalid_but_readable_file_is_recovered_and_flagged(harvested: dict[str, dict]) -> None:
    for relative in RECOVERED:
        result = harvested[source_name(relative)]
        assert result["status"] == "ok"
        assert result["datasets"] == 1
        codes = [e["code"] for e in result["errors"]]
        assert "parse.recovered" in codes


def test_every_real_dataset_and_distribution_gets_a_class(corpus_run: tuple[Path, dict]) -> None:
    config, results = corpus_run
    status, out, err = run("--config", str(config), "scores", "--json")
    assert status == 0, err
    national = json.loads(out)["national"]
    rows = sql(config, "SELECT s.details FROM dataset_score s JOIN dataset d "
                       "ON d.id = s.dataset_id WHERE d.removed_at IS NULL")
    datasets = sql(config, "SELECT count(*) FROM dataset WHERE removed_at IS NULL")[0][0]
    assert len(rows) == datasets == sum(r["datasets"] for r in results.values()) > 500
    classes: Counter[str] = Counter()
    levels: Counter[str] = Counter()
    for (details,) in rows:
        level = json.loads(unpack_json(details))["classification"]
        levels[level["level_name"]] += 1
        for distribution in level["distributions"]:
            assert distribution["class"] in {"api", "machine_readable", "document", "unknown"}
            assert distribution["evidence"], distribution  # every decision says why
            classes[distribution["class"]] += 1
    assert sum(classes.values()) == sum(r["distributions"] for r in results.values())
    # counts by level over the real corpus (reported in the closing note)
    print(f"corpus levels: {dict(levels)}; distributions: {dict(classes)}; "
          f"national api_share {national['api_share']:.3f}")
    assert all(levels[name] > 0 for name in ("api", "machine_readable", "document_only"))
