"""Hardened harvesting, end to end against real loopback servers (issue 3)."""

from __future__ import annotations

import gzip
import time
from pathlib import Path

from tests.conftest import FIXTURES
from tests.helpers import harvest_json, run, sql, write_config
from tests.servers import LoopbackServer, Request, Response

CATALOG = (FIXTURES / "agency-catalog.ttl").read_text(encoding="utf-8")
PREFIXES = """@prefix dcat: <http://www.w3.org/ns/dcat#> . @prefix dct: <http://purl.org/dc/terms/> .
@prefix hydra: <http://www.w3.org/ns/hydra/core#> .
"""


def page(numbers: range, next_link: str | None = None, as_literal: bool = False) -> bytes:
    """One Hydra page of a paged catalogue holding datasets ``numbers``."""
    lines = [PREFIXES, "<https://x.se/catalog> a dcat:Catalog ; dct:title \"Sidad\"@sv ."]
    for n in numbers:
        lines.append(f"<https://x.se/catalog> dcat:dataset <https://x.se/d/{n}> .")
        lines.append(f"<https://x.se/d/{n}> a dcat:Dataset ; dct:title \"Datamängd {n}\"@sv ; "
                     "dct:publisher <http://dataportal.se/organisation/SE2021005448> .")
    if next_link:
        target = f'"{next_link}"' if as_literal else f"<{next_link}>"
        lines.append(f"<https://x.se/view> a hydra:PartialCollectionView ; hydra:next {target} .")
    return "\n".join(lines).encode()


def source(server: LoopbackServer, path: str, name: str = "src", **extra: object) -> dict:
    return {"name": name, "type": "dcat", "url": server.url(path), **extra}


def current_datasets(config: Path) -> int:
    return sql(config, "SELECT count(*) FROM dataset WHERE removed_at IS NULL")[0][0]


def codes(result: dict) -> list[str]:
    return [e["code"] for e in result["errors"]]


def test_hydra_paging_with_relative_and_literal_next_links(server: LoopbackServer,
                                                          tmp_path: Path) -> None:
    server.route("/c.ttl", page(range(0, 2), "c.ttl?page=2"), content_type="text/turtle")
    server.route("/c.ttl?page=2", page(range(2, 4), server.url("/c.ttl?page=3"), as_literal=True),
                 content_type="text/turtle")
    server.route("/c.ttl?page=3", page(range(4, 5)), content_type="text/turtle")
    status, [result] = harvest_json(write_config(tmp_path, [source(server, "/c.ttl")]))
    assert status == 0
    assert (result["status"], result["pages"], result["datasets"]) == ("ok", 3, 5)


def test_link_header_paging(server: LoopbackServer, tmp_path: Path) -> None:
    server.route("/c.ttl", page(range(0, 2)), content_type="text/turtle",
                 headers={"Link": '</c.ttl?p=2>; rel="next"'})
    server.route("/c.ttl?p=2", page(range(2, 3)), content_type="text/turtle")
    status, [result] = harvest_json(write_config(tmp_path, [source(server, "/c.ttl")]))
    assert (result["pages"], result["datasets"]) == (2, 3)


def test_hydra_loop_ends_and_is_reported(server: LoopbackServer, tmp_path: Path) -> None:
    server.route("/c.ttl", page(range(0, 2), "/c.ttl?page=2"), content_type="text/turtle")
    server.route("/c.ttl?page=2", page(range(2, 4), "/c.ttl"), content_type="text/turtle")
    status, [result] = harvest_json(write_config(tmp_path, [source(server, "/c.ttl")]))
    assert (result["status"], result["pages"], result["datasets"]) == ("ok", 2, 4)
    # the next links are relative on purpose: each page also flags them (a warning)
    assert sorted(codes(result)) == ["page.loop", "record.relative_iri", "record.relative_iri"]
    assert server.hits("/c.ttl") == 2  # page 1 and page 2, never page 1 again


def test_page_cap_makes_the_run_partial(server: LoopbackServer, tmp_path: Path) -> None:
    for n in range(1, 6):
        server.route(f"/p{n}", page(range(n, n + 1), f"/p{n + 1}"), content_type="text/turtle")
    config = write_config(tmp_path, [source(server, "/p1", max_pages=3)])
    status, [result] = harvest_json(config)
    assert (result["status"], result["pages"], result["datasets"]) == ("partial", 3, 3)
    assert "page.cap" in codes(result)


def test_500_on_page_2_after_a_good_run_removes_nothing(server: LoopbackServer, tmp_path: Path,
                                                        database_url: str) -> None:
    server.route("/c.ttl", page(range(0, 2), "/c.ttl?page=2"), content_type="text/turtle")
    server.route("/c.ttl?page=2", page(range(2, 4)), content_type="text/turtle")
    config = write_config(tmp_path, [source(server, "/c.ttl")], database=database_url)
    assert harvest_json(config)[1][0]["datasets"] == 4
    server.route("/c.ttl?page=2", b"Internal Server Error", status=500)
    status, [result] = harvest_json(config)
    assert result["status"] == "partial"
    assert (result["removed"], result["held_removals"], result["datasets"]) == (0, 0, 4)
    [failure] = [e for e in result["errors"] if e["code"] == "page.failed"]
    assert failure["url"] == server.url("/c.ttl?page=2") and "HTTP 500" in failure["message"]
    assert current_datasets(config) == 4


def test_sub_catalogue_without_triples_is_fetched_from_its_iri(server: LoopbackServer,
                                                              tmp_path: Path) -> None:
    child = server.url("/child.ttl")
    parent = (PREFIXES + f"<https://x.se/main> a dcat:Catalog ; dct:hasPart <{child}> .\n"
              f"<{child}> a dcat:Catalog .\n").encode()
    server.route("/main.ttl", parent, content_type="text/turtle")
    server.route("/child.ttl", page(range(0, 3)), content_type="text/turtle")
    status, [result] = harvest_json(write_config(tmp_path, [source(server, "/main.ttl")]))
    assert (result["status"], result["pages"], result["datasets"]) == ("ok", 2, 3)


def test_billion_laughs_fails_alone(server: LoopbackServer, tmp_path: Path) -> None:
    entities = "".join(f'<!ENTITY l{i} "{"&l%d;" % (i - 1) * 10}">' for i in range(1, 10))
    bomb = (f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY l0 "ha">{entities}]>'
            '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
            '<rdf:Description rdf:about="http://x/a"><rdf:value>&l9;</rdf:value>'
            "</rdf:Description></rdf:RDF>").encode()
    server.route("/bomb.rdf", bomb, content_type="application/rdf+xml")
    server.route("/good.ttl", CATALOG.encode(), content_type="text/turtle")
    config = write_config(tmp_path, [source(server, "/bomb.rdf", "bomb"),
                                     source(server, "/good.ttl", "good")])
    status, results = harvest_json(config)
    assert status == 1
    assert [(r["source"], r["status"]) for r in results] == [("bomb", "failed"), ("good", "ok")]
    assert codes(results[0]) == ["parse.unsafe_xml"]
    assert results[1]["datasets"] == 3


def test_gzip_bomb_is_refused(server: LoopbackServer, tmp_path: Path) -> None:
    bomb = gzip.compress(b"\0" * (50 << 20), compresslevel=9)
    server.route("/bomb.ttl", bomb, content_type="text/turtle",
                 headers={"Content-Encoding": "gzip"})
    config = write_config(tmp_path, [source(server, "/bomb.ttl")], http={"max_bytes": 1 << 20})
    status, [result] = harvest_json(config)
    assert result["status"] == "failed"
    assert codes(result)[0] in ("fetch.decompression_bomb", "fetch.too_large")


def test_remote_jsonld_context_is_never_requested(server: LoopbackServer, tmp_path: Path) -> None:
    context = server.route("/context.jsonld", b'{"@context": {}}',
                           content_type="application/ld+json")
    document = ('{"@context": "%s", "@id": "https://x.se/d", "@type": '
                '"http://www.w3.org/ns/dcat#Dataset"}' % context).encode()
    server.route("/c.jsonld", document, content_type="application/ld+json")
    status, [result] = harvest_json(write_config(tmp_path, [source(server, "/c.jsonld")]))
    assert codes(result) == ["parse.remote_context"]
    assert server.hits("/context.jsonld") == 0


def test_304_reharvest_skips_download_and_parsing(server: LoopbackServer, tmp_path: Path) -> None:
    def conditional(request: Request) -> Response:
        if request.headers.get("if-none-match") == '"v1"':
            return Response(304, b"", {"ETag": '"v1"'})
        return Response(200, CATALOG.encode(), {"ETag": '"v1"', "Content-Type": "text/turtle"})

    server.handle("/c.ttl", conditional)
    config = write_config(tmp_path, [source(server, "/c.ttl")])
    harvest_json(config)
    status, [result] = harvest_json(config)
    assert (result["status"], result["unchanged"], result["added"], result["datasets"]) == (
        "ok", 3, 0, 3)
    assert server.requests[-1].headers["if-none-match"] == '"v1"'


def test_emptied_catalogue_is_held_then_confirmed(server: LoopbackServer, tmp_path: Path,
                                                  database_url: str) -> None:
    server.route("/c.ttl", CATALOG.encode(), content_type="text/turtle")
    config = write_config(tmp_path, [source(server, "/c.ttl")], database=database_url)
    harvest_json(config)
    empty = PREFIXES + "<https://data.example.se/catalog> a dcat:Catalog ; dct:title \"Tom\"@sv ."
    server.route("/c.ttl", empty.encode(), content_type="text/turtle")
    status, [held] = harvest_json(config)
    assert (held["removed"], held["held_removals"], held["datasets"]) == (0, 3, 3)
    assert "run.held_removals" in codes(held)
    status, out, _ = run("--config", str(config), "harvest", "--confirm-removals", "src")
    assert status == 0 and "3 held datasets removed" in out
    assert current_datasets(config) == 0


def test_held_removals_are_confirmed_by_the_third_run(server: LoopbackServer,
                                                      tmp_path: Path) -> None:
    # without a hold time, the third successful run missing the datasets removes them
    server.route("/c.ttl", CATALOG.encode(), content_type="text/turtle")
    config = write_config(tmp_path, [source(server, "/c.ttl")],
                          harvest={"removal_hold_hours": 0})
    harvest_json(config)
    only_one = CATALOG.split("<https://data.example.se/dataset/arsredovisning> a dcat:Dataset")[0]
    server.route("/c.ttl", only_one.encode(), content_type="text/turtle")
    _, [first] = harvest_json(config)  # 2 of 3 gone: 67 % > 30 %
    assert (first["removed"], first["held_removals"], first["datasets"]) == (0, 2, 3)
    _, [second] = harvest_json(config)
    assert (second["removed"], second["held_removals"], second["datasets"]) == (0, 2, 3)
    _, [third] = harvest_json(config)
    assert (third["removed"], third["held_removals"], third["datasets"]) == (2, 0, 1)


def test_loopback_source_refused_unless_private_networks_allowed(server: LoopbackServer,
                                                                tmp_path: Path) -> None:
    server.route("/c.ttl", CATALOG.encode(), content_type="text/turtle")
    config = write_config(tmp_path, [source(server, "/c.ttl")],
                          http={"allow_private_networks": False})
    status, [result] = harvest_json(config)
    assert (status, result["status"]) == (1, "failed")
    assert codes(result) == ["fetch.refused_address"]
    assert server.hits("/c.ttl") == 0


def test_429_retry_after_is_honoured(server: LoopbackServer, tmp_path: Path) -> None:
    calls: list[float] = []

    def limited(_request: Request) -> Response:
        calls.append(time.monotonic())
        if len(calls) == 1:
            return Response(429, b"slow down", {"Retry-After": "1"})
        return Response(200, CATALOG.encode(), {"Content-Type": "text/turtle"})

    server.handle("/c.ttl", limited)
    config = write_config(tmp_path, [source(server, "/c.ttl")], http={"retries": 2})
    status, [result] = harvest_json(config)
    assert (status, result["status"], result["datasets"]) == (0, "ok", 3)
    assert len(calls) == 2 and calls[1] - calls[0] >= 1.0


def test_one_bad_record_is_skipped_reported_and_never_counted_as_removed(
        server: LoopbackServer, tmp_path: Path, monkeypatch) -> None:
    from dcatwatch.dcat.mapper import Mapper

    server.route("/c.ttl", CATALOG.encode(), content_type="text/turtle")
    config = write_config(tmp_path, [source(server, "/c.ttl", removal_threshold=1.0)])
    harvest_json(config)
    bad = "<https://data.example.se/dataset/arsredovisning>"
    entry = Mapper._entry

    def failing(self, node: str):  # a mapper bug that only this record triggers
        if node == bad:
            raise ValueError("cannot map this record")
        return entry(self, node)

    monkeypatch.setattr(Mapper, "_entry", failing)
    edited = CATALOG.replace('dcat:keyword "skatt"@sv', 'dcat:keyword "skatt"@sv, "kommun"@sv')
    server.route("/c.ttl", edited.encode(), content_type="text/turtle")
    status, [result] = harvest_json(config)
    assert (status, result["status"]) == (0, "partial")
    [problem] = [e for e in result["errors"] if e["code"] == "record.invalid"]
    assert "cannot map this record" in problem["message"]
    assert (result["removed"], result["held_removals"], result["datasets"]) == (0, 0, 3)
    monkeypatch.setattr(Mapper, "_entry", entry)  # the bug fixed: same file, nothing cached
    status, [again] = harvest_json(config)
    assert (again["status"], again["updated"], again["datasets"]) == ("ok", 0, 3)
    assert again["unchanged"] == 3
