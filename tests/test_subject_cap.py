"""One huge record cannot take the harvest's memory: a subject with more than ``[harvest]
max_subject_triples`` triples (a catalogue's dataset list not counted) fails the document
with ``record.too_large``, grouped in memory or on disk, and the run changes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dcatwatch.dcat.parse import parse_file
from dcatwatch.errors import ParseError
from tests.helpers import harvest_json, run, write_config
from tests.servers import LoopbackServer

HEAD = """@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix dct: <http://purl.org/dc/terms/> .
<https://data.example.se/catalog> a dcat:Catalog ; dct:title "Katalog"@sv ;
  dcat:dataset <https://data.example.se/d/1>, <https://data.example.se/d/2> .
<https://data.example.se/d/2> a dcat:Dataset ; dct:title "Liten"@sv ;
  dct:publisher <https://data.example.se/agency> .
"""


def one_subject(keywords: int) -> str:
    """The catalogue with a dataset of ``keywords`` keywords (one subject, many triples)."""
    body = "".join(f'  dcat:keyword "nyckelord {i:07d}"@sv ;\n' for i in range(keywords))
    return (HEAD + '<https://data.example.se/d/1> a dcat:Dataset ; dct:title "Stor"@sv ;\n'
            + body + "  dct:publisher <https://data.example.se/agency> .\n")


def long_catalogue(datasets: int) -> str:
    """A catalogue listing ``datasets`` datasets: its dcat:dataset list is not counted."""
    links = "".join(f"<https://data.example.se/catalog> dcat:dataset "
                    f"<https://data.example.se/l/{i}> .\n<https://data.example.se/l/{i}> a "
                    f'dcat:Dataset ; dct:title "L {i}"@sv .\n' for i in range(datasets))
    return HEAD + links


@pytest.mark.parametrize("memory_triples", [300_000, 500])  # grouped in memory / on disk
def test_a_subject_over_the_cap_fails_the_document(tmp_path: Path, memory_triples: int) -> None:
    path = tmp_path / "c.ttl"
    path.write_text(one_subject(1200), encoding="utf-8")
    with pytest.raises(ParseError) as raised:
        parse_file(path, "https://data.example.se/c.ttl", "text/turtle",
                   memory_triples=memory_triples, subject_triples=1000, workdir=tmp_path)
    error = raised.value
    assert error.code == "record.too_large" and error.url == "https://data.example.se/c.ttl"
    assert error.message.startswith("<https://data.example.se/d/1> has more than 1000 triples "
                                    "([harvest] max_subject_triples = 1000;")
    assert list(tmp_path.iterdir()) == [path]  # no scratch file left behind


@pytest.mark.parametrize("memory_triples", [300_000, 500])
def test_a_subject_at_the_cap_and_a_long_dataset_list_pass(tmp_path: Path,
                                                            memory_triples: int) -> None:
    path = tmp_path / "c.ttl"
    path.write_text(one_subject(997), encoding="utf-8")  # 1 000 with type, title, publisher
    graph = parse_file(path, "https://data.example.se/c.ttl", "text/turtle",
                       memory_triples=memory_triples, subject_triples=1000, workdir=tmp_path)
    assert len(graph.subjects["<https://data.example.se/d/1>"]) == 1000
    graph.close()
    path.write_text(long_catalogue(1500), encoding="utf-8")
    graph = parse_file(path, "https://data.example.se/c.ttl", "text/turtle",
                       memory_triples=memory_triples, subject_triples=1000, workdir=tmp_path)
    assert len(graph.subjects["<https://data.example.se/catalog>"]) == 1500 + 4
    graph.close()


def test_the_harvest_fails_names_the_cap_and_keeps_the_last_good_harvest(
        server: LoopbackServer, tmp_path: Path) -> None:
    url = server.route("/c.ttl", one_subject(10).encode(), content_type="text/turtle")
    config = write_config(tmp_path, [{"name": "stor", "type": "dcat", "url": url}],
                          harvest={"max_subject_triples": 1000})
    status, [first] = harvest_json(config)
    assert (status, first["datasets"]) == (0, 2)
    server.route("/c.ttl", one_subject(5000).encode(), content_type="text/turtle")
    status, [result] = harvest_json(config)
    assert (status, result["status"], result["removed"]) == (1, "failed", 0)
    [error] = result["errors"]
    assert error["code"] == "record.too_large" and error["url"] == url
    assert "max_subject_triples = 1000" in error["message"]
    datasets = json.loads(run("--config", str(config), "datasets", "--json")[1])
    assert len(datasets) == 2  # the last good harvest stands
