"""Relative IRIs resolve against the document URL and are flagged (``record.relative_iri``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dcatwatch.dcat.mapper import map_graph
from dcatwatch.dcat.model import unpack_description
from dcatwatch.dcat.parse import SENTINEL_HOST, Graph, graph_from_ntriples, group_lines, rebase
from dcatwatch.errors import CATALOGUE
from tests.helpers import harvest_json, sql, write_config
from tests.servers import LoopbackServer

PREFIXES = ("@prefix dcat: <http://www.w3.org/ns/dcat#> .\n"
            "@prefix dct: <http://purl.org/dc/terms/> .\n")
PUBLISHER = "dct:publisher <http://dataportal.se/organisation/SE2021005448>"
RELATIVE_TURTLE = PREFIXES + f"""
<> a dcat:Catalog ; dct:title "Katalog"@sv ; dcat:dataset <ds/1>, <../ds/2>, </abs/ds/3> .
<ds/1> a dcat:Dataset ; dct:title "Ett"@sv ; {PUBLISHER} ; dcat:distribution <ds/1/csv> .
<ds/1/csv> a dcat:Distribution ; dcat:accessURL <files/a.csv> .
<../ds/2> a dcat:Dataset ; dct:title "Två"@sv ; {PUBLISHER} ;
    dct:description "se https://{SENTINEL_HOST}/x"@sv ;
    dcat:distribution [ a dcat:Distribution ; dcat:downloadURL <//files.example.se/b.csv> ] .
</abs/ds/3> a dcat:Dataset ; dct:title "Tre"@sv ; {PUBLISHER} .
"""


def _harvest(server: LoopbackServer, tmp_path: Path, path: str, body: str,
             content_type: str) -> tuple[Path, dict[str, Any]]:
    server.route(path, body.encode(), content_type=content_type)
    source = {"name": "exempel", "type": "dcat", "url": server.url(path)}
    config = write_config(tmp_path, [source])
    status, [result] = harvest_json(config)
    assert status == 0 and result["status"] == "ok", result
    return config, result


def _flags(result: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in result["errors"] if e["code"] == "record.relative_iri"]


def test_relative_turtle_iris_are_resolved_stored_absolute_and_flagged_once(
        server: LoopbackServer, tmp_path: Path) -> None:
    url = server.url("/dir/sub/catalog.ttl")  # http://127.0.0.1:PORT/…: a port in the URL
    root = server.url("")
    config, result = _harvest(server, tmp_path, "/dir/sub/catalog.ttl", RELATIVE_TURTLE,
                              "text/turtle")
    assert (result["datasets"], result["distributions"]) == (3, 2)
    datasets = {iri for (iri,) in sql(config, "SELECT iri FROM dataset")}
    assert datasets == {f"{root}/dir/sub/ds/1", f"{root}/dir/ds/2", f"{root}/abs/ds/3"}
    links = set(sql(config, "SELECT iri, access_url, download_url FROM distribution"))
    assert (f"{root}/dir/sub/ds/1/csv", f"{root}/dir/sub/files/a.csv", None) in links
    assert any(download == "http://files.example.se/b.csv" for _, _, download in links)
    descriptions = "".join(unpack_description(bytes(packed))
                           for (packed,) in sql(config, "SELECT description FROM dataset"))
    assert f"<{root}/dir/sub/ds/1/csv>" in descriptions
    assert f"<http://{SENTINEL_HOST}" not in descriptions
    # a literal that mentions the sentinel host is kept as written
    assert f"se https://{SENTINEL_HOST}/x" in descriptions
    [flag] = _flags(result)
    # <>, ds/1, ../ds/2, /abs/ds/3, ds/1/csv, files/a.csv; not the network-path reference
    assert flag["message"].startswith("6 relative IRIs were resolved against the document URL")
    assert f"e.g. <{url}>" in flag["message"]
    assert flag["url"] == url


def test_relative_rdfxml_about_is_resolved_and_flagged(server: LoopbackServer,
                                                      tmp_path: Path) -> None:
    body = """<?xml version="1.0" encoding="utf-8"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
         xmlns:dcat="http://www.w3.org/ns/dcat#" xmlns:dct="http://purl.org/dc/terms/">
  <dcat:Dataset rdf:about="ds/1">
    <dct:title xml:lang="sv">Ett</dct:title>
    <dct:publisher rdf:resource="http://dataportal.se/organisation/SE2021005448"/>
    <dcat:distribution>
      <dcat:Distribution rdf:about="https://data.example.se/dist/1">
        <dcat:accessURL rdf:resource="../files/a.csv"/>
      </dcat:Distribution>
    </dcat:distribution>
  </dcat:Dataset>
</rdf:RDF>
"""
    config, result = _harvest(server, tmp_path, "/dir/catalog.rdf", body, "application/rdf+xml")
    root = server.url("")
    assert sql(config, "SELECT iri FROM dataset") == [(f"{root}/dir/ds/1",)]
    assert sql(config, "SELECT iri, access_url FROM distribution") == [
        ("https://data.example.se/dist/1", f"{root}/files/a.csv")]
    [flag] = _flags(result)
    assert flag["message"].startswith("2 relative IRIs were resolved")
    assert flag["url"] == server.url("/dir/catalog.rdf")


def test_relative_jsonld_id_is_flagged(server: LoopbackServer, tmp_path: Path) -> None:
    body = json.dumps({
        "@context": {"dcat": "http://www.w3.org/ns/dcat#", "dct": "http://purl.org/dc/terms/"},
        "@id": "ds/1", "@type": "dcat:Dataset", "dct:title": "Ett",
    })
    config, result = _harvest(server, tmp_path, "/dir/catalog.jsonld", body,
                              "application/ld+json")
    assert sql(config, "SELECT iri FROM dataset") == [(server.url("/dir/ds/1"),)]
    [flag] = _flags(result)
    assert flag["message"].startswith("1 relative IRI was resolved")


def test_lenient_parse_flags_relative_iris_too(server: LoopbackServer, tmp_path: Path) -> None:
    # text inside a node element: pyoxigraph refuses it, rdflib reads it (parse.recovered)
    body = """<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
         xmlns:dcat="http://www.w3.org/ns/dcat#" xmlns:dct="http://purl.org/dc/terms/"
         xmlns:skos="http://www.w3.org/2004/02/skos/core#">
  <dcat:Dataset rdf:about="ds/1"><dct:title>Ett</dct:title>
    <skos:inScheme><dct:title>Eurovoc</dct:title></skos:inScheme>
  </dcat:Dataset>
</rdf:RDF>
"""
    config, result = _harvest(server, tmp_path, "/dir/catalog.rdf", body, "application/rdf+xml")
    assert "parse.recovered" in [e["code"] for e in result["errors"]]
    assert sql(config, "SELECT iri FROM dataset") == [(server.url("/dir/ds/1"),)]
    [flag] = _flags(result)
    assert flag["message"].startswith("1 relative IRI was resolved")


def test_declared_base_and_absolute_iris_are_not_flagged(server: LoopbackServer,
                                                        tmp_path: Path) -> None:
    based = PREFIXES + f"""@base <https://data.example.se/> .
<dataset/1> a dcat:Dataset ; dct:title "Ett"@sv ; {PUBLISHER} ;
    dcat:distribution <dist/1> .
<dist/1> a dcat:Distribution ; dcat:accessURL <files/a.csv> .
"""
    config, result = _harvest(server, tmp_path, "/catalog.ttl", based, "text/turtle")
    assert sql(config, "SELECT iri FROM dataset") == [("https://data.example.se/dataset/1",)]
    assert sql(config, "SELECT access_url FROM distribution") == [
        ("https://data.example.se/files/a.csv",)]
    assert _flags(result) == []
    absolute = based.replace("@base <https://data.example.se/> .\n", "") \
        .replace("<dataset/1>", "<https://data.example.se/dataset/1>") \
        .replace("<dist/1>", "<https://data.example.se/dist/1>") \
        .replace("<files/a.csv>", "<https://data.example.se/files/a.csv>")
    _, result = _harvest(server, tmp_path, "/catalog.ttl", absolute, "text/turtle")
    assert result["errors"] == []


def test_the_flag_is_a_warning() -> None:
    assert CATALOGUE["record.relative_iri"].severity == "warning"  # the run stays ok


def test_rebase_swaps_only_the_authority() -> None:
    rebased = rebase("https://user:secret@example.se:8443/dir/cat.ttl?page=2#top")
    assert rebased is not None
    assert rebased.base == f"https://{SENTINEL_HOST}/dir/cat.ttl?page=2#top"
    assert rebased.sentinel == f"<https://{SENTINEL_HOST}"
    assert rebased.real == "<https://example.se:8443"  # credentials never reach stored IRIs
    assert rebase("catalog.ttl") is None


def test_group_lines_restores_relative_iri_terms_only() -> None:
    rebased = rebase("https://example.se:8443/dir/cat.ttl")
    assert rebased is not None
    s = f"https://{SENTINEL_HOST}"
    lines = [
        "#restart\n",  # the worker's restart marker drops what came before …
        f"<{s}/gone> <http://p> <http://o> .\n",
        "#restart\n",  # … and so its relative IRIs
        f"<{s}/dir/ds/1> <http://p> <{s}/x?q> .\n",
        f"<{s}/dir/ds/1> <{s}/dir/p> \"see <{s}/y>\"@en .\n",
        f"<{s}/dir/ds/1> <http://p> \"2020\"^^<{s}/dir/types#year> .\n",
        f"<{s}.example/z> <http://p> <{s}> .\n",
        f"_:b0 <http://p> <{s}/x?q> .\n",
    ]
    graph = group_lines(lines, Graph(), rebased)
    real = "https://example.se:8443"
    assert graph.subjects[f"<{real}/dir/ds/1>"] == [
        ("<http://p>", f"<{real}/x?q>"),
        (f"<{real}/dir/p>", f"\"see <{s}/y>\"@en"),  # a literal's text is never rewritten
        ("<http://p>", f"\"2020\"^^<{real}/dir/types#year>"),
    ]
    assert graph.subjects[f"<{s}.example/z>"] == [("<http://p>", f"<{real}>")]  # another host
    assert graph.triples == 5
    assert graph.relative_iris == 5  # ds/1, x?q, p, types#year, the empty reference
    assert graph.relative_example == f"{real}/dir/ds/1"
    [problem] = map_graph(graph, "https://example.se:8443/dir/cat.ttl").problems
    assert problem.code == "record.relative_iri"
    assert problem.subject == f"{real}/dir/ds/1"
    assert problem.message == (f"5 relative IRIs were resolved against the document URL, "
                               f"e.g. <{real}/dir/ds/1>; publish absolute IRIs")


def test_stored_descriptions_are_never_flagged() -> None:
    text = f"<https://{SENTINEL_HOST}/ds/1> <http://p> <https://example.se/x> .\n"
    graph = graph_from_ntriples(text)
    assert list(graph.subjects) == [f"<https://{SENTINEL_HOST}/ds/1>"]
    assert graph.relative_iris == 0 and graph.relative_example is None
