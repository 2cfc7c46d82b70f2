"""Reading a source's documents: credentials stay with its origin, unasked-for 304s,
duplicate records, sub-catalogues' own pages and the page cap (real loopback servers)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import harvest_json, write_config
from tests.servers import LoopbackServer
from tests.test_hardening import PREFIXES, codes, page, source


def test_headers_and_credentials_go_only_to_the_sources_origin(
        server: LoopbackServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DCW_TEST_PASSWORD", "s3cret")
    with LoopbackServer() as elsewhere:
        child = elsewhere.url("/child.ttl")
        first = PREFIXES + (f"<https://x.se/main> a dcat:Catalog ; dct:hasPart <{child}> .\n"
                            f"<{child}> a dcat:Catalog .\n")
        server.route("/c.ttl", first.encode() + page(range(0, 1), elsewhere.url("/p2.ttl")),
                     content_type="text/turtle")
        elsewhere.route("/p2.ttl", page(range(1, 2)), content_type="text/turtle")
        elsewhere.route("/child.ttl", page(range(2, 3)), content_type="text/turtle")
        config = write_config(tmp_path, [source(
            server, "/c.ttl", headers={"X-Api-Key": "key-123"},
            auth={"username": "harvester", "password_env": "DCW_TEST_PASSWORD"})])
        status, [result] = harvest_json(config)
        away = [r.headers for r in elsewhere.requests]
    assert (status, result["status"], result["datasets"]) == (0, "ok", 3)
    [home] = [r.headers for r in server.requests]
    assert home["x-api-key"] == "key-123" and home["authorization"].startswith("Basic ")
    assert len(away) == 2
    assert all("x-api-key" not in h and "authorization" not in h for h in away)


def test_a_304_nobody_asked_for_is_an_error_naming_the_url(server: LoopbackServer,
                                                          tmp_path: Path) -> None:
    server.route("/c.ttl", page(range(0, 2), "/c.ttl?page=2"), content_type="text/turtle")
    server.route("/c.ttl?page=2", b"", status=304)
    server.route("/always.ttl", b"", status=304)
    config = write_config(tmp_path, [source(server, "/c.ttl"),
                                     source(server, "/always.ttl", name="always")])
    status, [paged, always] = harvest_json(config)
    assert status == 1
    assert (paged["status"], paged["datasets"]) == ("partial", 2)
    assert "304" in next(e["message"] for e in paged["errors"] if e["code"] == "page.failed")
    assert (always["status"], codes(always)) == ("failed", ["fetch.http_status"])
    assert always["errors"][0]["url"] == server.url("/always.ttl")


def test_two_blank_records_with_one_identifier_are_kept_once_not_a_failed_run(
        server: LoopbackServer, tmp_path: Path) -> None:
    twice = PREFIXES + "\n".join(
        f'[] a dcat:Dataset ; dct:identifier "abc" ; dct:title "Kopia {n}"@sv ; '
        "dct:publisher <http://dataportal.se/organisation/SE2021005448> ."
        for n in (1, 2)) + "\n" + "\n".join(
        f'[] a dcat:DataService ; dct:identifier "api" ; dct:title "API {n}"@sv .'
        for n in (1, 2))
    server.route("/c.ttl", twice.encode(), content_type="text/turtle")
    status, [result] = harvest_json(write_config(tmp_path, [source(server, "/c.ttl")]))
    assert (status, result["status"]) == (0, "ok")
    assert (result["datasets"], result["data_services"]) == (1, 1)


def test_a_sub_catalogue_is_read_with_its_own_pages(server: LoopbackServer,
                                                    tmp_path: Path) -> None:
    child = server.url("/child.ttl")
    parent = (PREFIXES + f"<https://x.se/main> a dcat:Catalog ; dct:hasPart <{child}> .\n"
              f"<{child}> a dcat:Catalog .\n").encode()
    server.route("/main.ttl", parent, content_type="text/turtle")
    server.route("/child.ttl", page(range(0, 2), "/child.ttl?page=2"),
                 content_type="text/turtle")
    server.route("/child.ttl?page=2", page(range(2, 4)), content_type="text/turtle")
    status, [result] = harvest_json(write_config(tmp_path, [source(server, "/main.ttl")]))
    assert (result["status"], result["pages"], result["datasets"]) == ("ok", 3, 4)


def test_sub_catalogues_count_against_the_page_cap(server: LoopbackServer,
                                                   tmp_path: Path) -> None:
    children = [server.url(f"/child{n}.ttl") for n in range(5)]
    parent = PREFIXES + "<https://x.se/main> a dcat:Catalog .\n" + "\n".join(
        f"<https://x.se/main> dct:hasPart <{c}> .\n<{c}> a dcat:Catalog ." for c in children)
    server.route("/main.ttl", parent.encode(), content_type="text/turtle")
    for n in range(5):
        server.route(f"/child{n}.ttl", page(range(n, n + 1)), content_type="text/turtle")
    config = write_config(tmp_path, [source(server, "/main.ttl", max_pages=3)])
    status, [result] = harvest_json(config)
    assert (result["status"], result["pages"], result["datasets"]) == ("partial", 3, 2)
    assert "page.cap" in codes(result)
    assert sum(server.hits(f"/child{n}.ttl") for n in range(5)) == 2


def test_two_sources_on_one_url_each_see_its_changes(server: LoopbackServer,
                                                     tmp_path: Path) -> None:
    server.route("/c.ttl", page(range(0, 1)), content_type="text/turtle")
    config = write_config(tmp_path, [source(server, "/c.ttl", name="a"),
                                     source(server, "/c.ttl", name="b")])
    harvest_json(config)
    server.route("/c.ttl", page(range(0, 2)), content_type="text/turtle")
    harvest_json(config, "a")  # a's run must not make b's cached copy look current
    status, [b] = harvest_json(config, "b")
    assert (status, b["added"], b["unchanged"], b["datasets"]) == (0, 1, 1, 2)
