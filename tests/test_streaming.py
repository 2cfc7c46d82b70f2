"""Bounded runs: per-source caps with clear errors, and runs that fail half-way leave the
store exactly as it was."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from dcatwatch.dcat.parse import parse_file, refuse_deep_json
from dcatwatch.errors import ParseError
from tests.helpers import harvest_json, sql, stored_findings, write_config
from tests.servers import LoopbackServer, Request, Response

PREFIXES = """@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix dct: <http://purl.org/dc/terms/> .
@prefix hydra: <http://www.w3.org/ns/hydra/core#> .
"""
SNAPSHOT = ("SELECT iri, content_hash, removed_at, removal_held_at, last_seen_at, changed_at, "
            "description FROM dataset ORDER BY iri")


def page(numbers: range, next_link: str | None = None, title: str = "Datamängd") -> bytes:
    lines = [PREFIXES, '<https://x.se/catalog> a dcat:Catalog ; dct:title "Sidad"@sv .']
    for n in numbers:
        lines.append(f"<https://x.se/catalog> dcat:dataset <https://x.se/d/{n}> .")
        lines.append(f'<https://x.se/d/{n}> a dcat:Dataset ; dct:title "{title} {n}"@sv ; '
                     "dct:publisher <http://dataportal.se/organisation/SE2021005448> .")
    if next_link:
        lines.append(f"<https://x.se/view> a hydra:PartialCollectionView ; "
                     f"hydra:next <{next_link}> .")
    return "\n".join(lines).encode()


def codes(result: dict) -> list[str]:
    return [e["code"] for e in result["errors"]]


def serve_pages(server: LoopbackServer, title: str = "Datamängd") -> None:
    server.route("/p1", page(range(0, 10), server.url("/p2"), title), content_type="text/turtle")
    server.route("/p2", page(range(10, 20), server.url("/p3"), title), content_type="text/turtle")
    server.route("/p3", page(range(20, 30), None, title), content_type="text/turtle")


def test_connection_dropped_on_page_three_keeps_that_page_as_it_was(
        server: LoopbackServer, tmp_path: Path, database_url: str) -> None:
    serve_pages(server)
    config = write_config(tmp_path, [{"name": "src", "type": "dcat", "url": server.url("/p1")}],
                          database=database_url)
    status, [first] = harvest_json(config)
    assert status == 0 and first["datasets"] == 30
    before = sql(config, SNAPSHOT)

    def dropped(_request: Request) -> Iterator[bytes]:
        body = page(range(20, 30))
        yield body[:len(body) // 2]
        raise ConnectionResetError("the server went away")

    # pages 1 and 2 unchanged, page 3 cut off: the run is partial (what it read is applied,
    # nothing is removed), and the datasets of page 3 stay exactly as they were
    server.handle("/p3", lambda request: Response(
        200, dropped(request), {"Content-Type": "text/turtle", "Content-Length": "100000"}))
    status, [second] = harvest_json(config)
    assert second["status"] == "partial", second
    assert "page.failed" in codes(second)
    assert (second["added"], second["updated"], second["removed"],
            second["held_removals"]) == (0, 0, 0, 0)
    after = sql(config, SNAPSHOT)
    page3 = {f"https://x.se/d/{n}" for n in range(20, 30)}
    assert [row for row in after if row[0] in page3] == [row for row in before if row[0] in page3]
    assert [row[:4] + row[5:] for row in after] == [row[:4] + row[5:] for row in before]


def test_parse_error_late_in_a_large_document_changes_nothing(server: LoopbackServer,
                                                             tmp_path: Path,
                                                             database_url: str) -> None:
    good = page(range(0, 3000))
    server.route("/big.ttl", good, content_type="text/turtle")
    config = write_config(tmp_path, [{"name": "src", "type": "dcat",
                                      "url": server.url("/big.ttl")}], database=database_url)
    harvest_json(config)
    before = sql(config, SNAPSHOT)
    broken = page(range(0, 2990), title="Ändrad") + b"\n<https://x.se/d/late> dct:title \"open"
    server.route("/big.ttl", broken, content_type="text/turtle")
    status, [result] = harvest_json(config)
    assert status == 1 and result["status"] == "failed"
    assert "parse.syntax" in codes(result)
    assert sql(config, SNAPSHOT) == before


def test_more_datasets_than_max_datasets_is_a_failed_run_that_removes_nothing(
        server: LoopbackServer, tmp_path: Path) -> None:
    serve_pages(server)
    source = {"name": "src", "type": "dcat", "url": server.url("/p1")}
    config = write_config(tmp_path, [source])
    harvest_json(config)
    before = sql(config, SNAPSHOT)
    server.route("/p3", page(range(20, 31)), content_type="text/turtle")  # one more
    config = write_config(tmp_path, [source], harvest={"max_datasets": 30})
    status, [result] = harvest_json(config)
    assert status == 1 and result["status"] == "failed"
    [error] = [e for e in result["errors"] if e["code"] == "run.too_many_datasets"]
    assert "'src'" in error["message"] and "max_datasets" in error["message"]
    assert (result["added"], result["removed"], result["held_removals"]) == (0, 0, 0)
    assert sql(config, SNAPSHOT) == before
    assert sql(config, "SELECT status FROM harvest_run ORDER BY id") == [("ok",), ("failed",)]


def nested(depth: int) -> bytes:
    """A JSON-LD document whose objects nest ``depth`` deep (pyoxigraph needed 14 GB for
    50 000 levels when nothing capped it)."""
    return ('{"@context": {"dct": "http://purl.org/dc/terms/"}, "@id": "https://x.se/d", '
            + '"dct:hasPart": {' * depth + '"dct:title": "x"' + "}" * depth + "}").encode()


def test_deeply_nested_jsonld_is_refused_before_parsing(server: LoopbackServer,
                                                        tmp_path: Path) -> None:
    server.route("/deep.jsonld", nested(50_000), content_type="application/ld+json")
    config = write_config(tmp_path, [{"name": "deep", "type": "dcat",
                                      "url": server.url("/deep.jsonld")}])
    status, [result] = harvest_json(config)
    assert status == 1 and result["status"] == "failed"
    [error] = [e for e in result["errors"] if e["code"] == "parse.too_deep"]
    assert "100 levels" in error["message"] and "jsonld_max_depth" in error["message"]


def test_depth_check_reads_strings_and_escapes(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonld"
    # brackets inside strings, escaped quotes and backslashes do not count
    path.write_text(json.dumps({"a": "[[[[[[[[[[\\\"{{{{{{{{", "b": [[["x"]]]}))
    refuse_deep_json(path, "https://x.se/d", 4)
    with pytest.raises(ParseError, match="more than 3 levels"):
        refuse_deep_json(path, "https://x.se/d", 3)
    path.write_bytes(b'{"a": "\\\\", "b": [[[[1]]]]}')  # an escaped backslash ends no string
    with pytest.raises(ParseError):
        refuse_deep_json(path, "https://x.se/d", 4)


def test_parser_memory_cap_comes_from_the_setting(tmp_path: Path) -> None:
    path = tmp_path / "deep.jsonld"  # past the depth check, this drove the child to 4 GB
    path.write_bytes(nested(50_000))
    with pytest.raises(ParseError) as failed:
        parse_file(path, "https://x.se/deep.jsonld", memory_mb=256, jsonld_max_depth=10**6)
    assert failed.value.code == "parse.crashed"
    path.write_bytes(nested(3))
    graph = parse_file(path, "https://x.se/deep.jsonld", memory_mb=256)
    assert graph.triples == 4


def test_spool_stages_entries_on_disk_and_reads_them_back_in_order(tmp_path: Path) -> None:
    from dcatwatch.dcat.model import Agent, DatasetEntry, pack_description
    from dcatwatch.harvester.documents import RecordSpool

    spool = RecordSpool(tmp_path, batch=4)
    entries = [DatasetEntry(f"https://x.se/d/{n}", f"h{n}",
                            pack_description(f"<x:{n}> <x:p> <x:o> .\n"),
                            f"T {n}", Agent("https://x.se/a", name={"sv": "A"}))
               for n in range(11)]
    for entry in entries:
        spool.append(entry)
    assert len(spool) == 11 and [len(b) for b in spool.batches()] == [4, 4, 3]
    assert list(spool) == entries  # twice: reading does not consume
    assert list(spool) == entries
    again = [DatasetEntry(e.iri, "other", e.packed, "again") for e in (entries[0], entries[9])]
    for entry in again:  # one repeats an IRI of a written batch, one of the batch in memory
        spool.append(entry)
    assert list(spool) == entries and len(spool) == 11  # the first of each is kept
    spool.close()


def test_small_batches_give_the_same_run(server: LoopbackServer, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Every page split over spool chunks and apply batches: counts and rows as in one go."""
    from dcatwatch.harvester import apply, documents

    monkeypatch.setattr(documents, "SPOOL_BATCH", 3)
    monkeypatch.setattr(apply, "BATCH", 4)
    serve_pages(server)
    config = write_config(tmp_path, [{"name": "src", "type": "dcat", "url": server.url("/p1"),
                                      "removal_threshold": 0.5}])
    status, [first] = harvest_json(config)
    assert (status, first["added"], first["datasets"]) == (0, 30, 30)
    server.route("/p2", page(range(10, 15), server.url("/p3"), "Ändrad"),
                 content_type="text/turtle")  # 5 updated, 5 gone
    server.route("/p3", page(range(20, 33)), content_type="text/turtle")  # 3 new
    status, [second] = harvest_json(config)
    assert second["status"] == "ok"
    assert (second["added"], second["updated"], second["unchanged"], second["removed"],
            second["held_removals"]) == (3, 5, 20, 5, 0)
    assert sql(config, "SELECT count(*) FROM dataset WHERE removed_at IS NULL") == [(28,)]


def test_validation_reads_and_stores_in_batches(server: LoopbackServer, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Descriptions read and findings written a few at a time: the same run as in one go."""
    from dcatwatch.validators import service
    from tests.helpers import run

    server.route("/c.ttl", page(range(0, 7)), content_type="text/turtle")
    config = write_config(tmp_path, [{"name": "src", "type": "dcat",
                                      "url": server.url("/c.ttl")}],
                          validation={"data": False})
    harvest_json(config)
    status, out, err = run("--config", str(config), "validate", "--json")
    assert status == 0, err
    whole = json.loads(out)["metadata"]
    stored = stored_findings(config)
    monkeypatch.setattr(service, "DESCRIPTIONS_BATCH", 2)
    status, out, err = run("--config", str(config), "validate", "--json")
    assert status == 0, err
    assert json.loads(out)["metadata"] == whole
    assert stored_findings(config) == stored
    assert len({iri for iri, _ in stored}) == 7  # every dataset was read, across 4 batches


def test_max_datasets_holds_for_the_dataportal_search_mode(server: LoopbackServer,
                                                           tmp_path: Path) -> None:
    from tests.conftest import FIXTURES
    from tests.entrystore import EntryStore

    store = EntryStore.from_file(server, FIXTURES / "dataportal" / "dump.rdf")
    source = {"name": "portal", "type": "dataportal", "mode": "search", "url": store.base_url,
              "organisations": ["2021006297"]}
    status, [result] = harvest_json(write_config(tmp_path, [source], harvest={"max_datasets": 1}))
    assert status == 1 and result["status"] == "failed"
    assert codes(result) == ["run.too_many_datasets"]
    assert sql(write_config(tmp_path, [source]), "SELECT count(*) FROM dataset") == [(0,)]
