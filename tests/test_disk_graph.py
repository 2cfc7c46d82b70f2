"""Documents past ``[harvest] memory_triples`` are grouped on disk: the same records, the
same problems and the same stored rows as when they are grouped in memory."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from dcatwatch.dcat.diskgraph import DiskGraph
from dcatwatch.dcat.mapper import map_graph
from dcatwatch.dcat.model import DatasetEntry
from dcatwatch.dcat.parse import Graph, parse_file
from dcatwatch.errors import ParseError
from tests.helpers import harvest_json, sql, write_config
from tests.servers import LoopbackServer

BLANK = re.compile(r"_:[A-Za-z0-9]+")
DIGEST = re.compile(r"DatasetEntry\(iri='([^']*)', digest='([0-9a-f]+)'")
# the cases the mapper treats apart: blank datasets and distributions, a dataset only
# linked (untyped), publishers inherited from the catalogue or given as text, relative IRIs,
# a data service, an empty value, a next page, and a dataset listed by two catalogues
DOCUMENT = """@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix dct: <http://purl.org/dc/terms/> .
@prefix foaf: <http://xmlns.com/foaf/0.1/> .
@prefix vcard: <http://www.w3.org/2006/vcard/ns#> .
@prefix hydra: <http://www.w3.org/ns/hydra/core#> .
<https://x.se/catalog> a dcat:Catalog ; dct:title "Katalog"@sv ;
    dct:publisher <https://x.se/org/1> ; dct:hasPart <https://x.se/sub> ;
    dcat:dataset <https://x.se/d/1>, <https://x.se/d/2>, <https://x.se/d/untyped>, [
        a dcat:Dataset ; dct:identifier "blank-1" ; dct:title "Tom nod"@sv ] ;
    dcat:service <https://x.se/api> .
<https://x.se/other> a dcat:Catalog ; dct:publisher [ foaf:name "Annan"@sv ] ;
    dcat:dataset <https://x.se/d/2> .
<https://x.se/org/1> a foaf:Agent ; foaf:name "Myndigheten"@sv, "The Agency"@en .
<https://x.se/d/1> a dcat:Dataset ; dct:title "Ett"@sv, "One"@en ;
    dct:publisher <https://x.se/org/1> ; dcat:keyword "a", "b" ; dct:description "" ;
    dcat:contactPoint [ a vcard:Organization ; vcard:fn "Kontakt" ;
                        vcard:hasEmail <mailto:a@x.se> ] ;
    dcat:distribution [ a dcat:Distribution ; dcat:accessURL <https://x.se/files/1.csv> ;
                        dct:format [ a dct:MediaTypeOrExtent ; dct:identifier "CSV" ] ],
                      <relative/dist> .
<relative/dist> a dcat:Distribution ; dcat:downloadURL <../files/2.json> .
<https://x.se/d/2> a dcat:Dataset ; dct:title "Två"@sv ; dct:publisher "En text" .
<https://x.se/d/untyped> dct:title "Otypad"@sv .
<https://x.se/api> a dcat:DataService ; dct:title "API"@sv ;
    dcat:endpointURL <https://x.se/api/v1> ; dct:publisher <https://x.se/org/1> .
<https://x.se/view> a hydra:PartialCollectionView ; hydra:next <https://x.se/page/2> .
"""


def comparable(entry: DatasetEntry) -> str:
    """An entry as text, with its description's lines sorted and without the blank-node
    labels the parser made up (they, and the lenient parser's order, differ from one parse
    to the next; the digest is canonical and compared as it is)."""
    lines = sorted(BLANK.sub("_:b", entry.description).splitlines())
    return repr(replace(entry, packed=b"")) + "\n".join(lines)


def digests(result: tuple[object, ...]) -> tuple[object, ...]:
    """Of :func:`mapped`'s result, the entries' IRIs and digests and the problems' codes."""
    kind, entries, catalogs, services, problems, *rest = result
    return (kind, sorted(DIGEST.findall("".join(entries))), len(catalogs), len(services),
            sorted(p.split("'")[1] for p in problems), *rest)


def mapped(path: Path, url: str, memory_triples: int, tmp_path: Path) -> tuple[object, ...]:
    """Everything a harvest takes from the document, in a comparable form, and the graph."""
    graph = parse_file(path, url, memory_triples=memory_triples, workdir=tmp_path)
    records: list[object] = []
    try:
        parsed = map_graph(graph, url, "src", full=False, sink=records.append)
        links = graph.objects_of(["<http://www.w3.org/ns/hydra/core#next>"])
        kind = type(graph)
        triples, relative = graph.triples, (graph.relative_iris, graph.relative_example)
    finally:
        graph.close()
    entries = [r for r in records if isinstance(r, DatasetEntry)]
    services = [r for r in records if not isinstance(r, DatasetEntry)]
    assert not parsed.entries and not parsed.services, "every record went to the sink"
    return (kind, sorted(map(comparable, entries)), sorted(map(repr, parsed.catalogs)),
            sorted(map(repr, services)), sorted(map(repr, parsed.problems)), links,
            triples, relative)


def assert_same_on_disk(path: Path, url: str, tmp_path: Path) -> tuple[object, ...]:
    in_memory = mapped(path, url, 10**9, tmp_path)
    on_disk = mapped(path, url, 1, tmp_path)  # past the first triple: all of it on disk
    assert (in_memory[0], on_disk[0]) == (Graph, DiskGraph)
    if any("parse.recovered" in problem for problem in in_memory[4]):
        # rdflib's order differs from one parse to the next (and with it which of two
        # names is read first): the records and their canonical digests must not
        in_memory, on_disk = digests(in_memory), digests(on_disk)
    assert in_memory[1:] == on_disk[1:], path
    assert not list(tmp_path.glob("dcatwatch-graph-*")), "the file is gone once closed"
    return in_memory


@pytest.fixture
def work(tmp_path: Path) -> Path:
    path = tmp_path / "work"
    path.mkdir()
    return path


def test_every_kind_of_record_maps_the_same_from_disk(tmp_path: Path, work: Path) -> None:
    path = tmp_path / "catalog.ttl"
    path.write_text(DOCUMENT, encoding="utf-8")
    result = assert_same_on_disk(path, "https://x.se/dir/catalog.ttl", work)
    _, entries, catalogs, services, problems, links, triples, relative = result
    assert len(entries) == 4 and len(catalogs) == 3 and len(services) == 1
    assert any("record.publisher_literal" in p for p in problems)
    assert any("record.empty_value" in p for p in problems)
    assert links == ["<https://x.se/page/2>"] and relative[0] == 2


def test_real_catalogues_map_the_same_from_disk(corpus: Path, work: Path) -> None:
    checked = 0
    for path in sorted(p for p in corpus.rglob("*") if p.is_file() and p.suffix != ".md"):
        url = f"https://example.se/{path.relative_to(corpus)}"
        try:
            parse_file(path, url).close()
        except ParseError:
            continue  # broken on purpose, or not RDF: nothing to compare
        assert_same_on_disk(path, url, work)
        checked += 1
    assert checked >= 20


def test_a_restarted_parse_on_disk_keeps_only_the_second_reading(corpus: Path,
                                                                  work: Path) -> None:
    """The strict parser fails late and the lenient one starts over (``#restart``)."""
    path = corpus / "openumea-opennorth" / "dcat.rdf"
    if not path.exists():
        pytest.skip("the recovered catalogue is not in the corpus")
    result = assert_same_on_disk(path, "https://example.se/dcat.rdf", work)
    assert any("parse.recovered" in p for p in result[4])


SNAPSHOT = "SELECT iri, content_hash, title, agency_id FROM dataset ORDER BY iri"


def test_a_harvest_grouped_on_disk_stores_the_same_rows(server: LoopbackServer,
                                                        tmp_path: Path) -> None:
    server.route("/catalog.ttl", DOCUMENT.encode(), content_type="text/turtle")
    results, rows = [], []
    for name, memory_triples in (("memory", 1_000_000), ("disk", 5)):
        root = tmp_path / name
        root.mkdir()
        config = write_config(root, [{"name": "src", "type": "dcat",
                                      "url": server.url("/catalog.ttl")}],
                              harvest={"memory_triples": memory_triples,
                                       "workdir": str(root)})
        status, [result] = harvest_json(config)
        assert status == 0, result
        results.append({k: v for k, v in result.items() if k != "duration_s"})
        rows.append(sql(config, SNAPSHOT))
        assert not list(root.glob("dcatwatch-*")), "no scratch file is left behind"
    assert results[0] == results[1]
    assert rows[0] == rows[1] and len(rows[0]) == 4
