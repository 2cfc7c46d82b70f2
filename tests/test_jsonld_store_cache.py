"""A remote JSON-LD @context allowed in [jsonld] allowed_contexts is fetched once, kept in the
store, revalidated with a conditional GET on the next harvest and used from the store when
its server is down; anything neither mapped nor allowed stays refused."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import harvest_json, sql, write_config
from tests.servers import LoopbackServer, Request, Response

CONTEXT = {"@context": {"dcat": "http://www.w3.org/ns/dcat#", "dct": "http://purl.org/dc/terms/",
                        "Catalog": "dcat:Catalog", "Dataset": "dcat:Dataset",
                        "title": {"@id": "dct:title", "@language": "sv"},
                        "dataset": {"@id": "dcat:dataset", "@type": "@id"}}}
ETAG = '"ctx-v1"'


def catalogue(context_url: str, count: int) -> bytes:
    return json.dumps({"@context": context_url, "@id": "https://hub.example.org/catalog",
                       "@type": "Catalog",
                       "dataset": [{"@id": f"https://hub.example.org/d/{i}", "@type": "Dataset",
                                    "title": f"Datamängd {i}"} for i in range(count)]}).encode()


class ContextServer:
    """Answers the context with an ETag, 304 to a matching If-None-Match, 503 when down."""

    def __init__(self) -> None:
        self.down = False
        self.conditional: list[str | None] = []
        self.not_modified = 0

    def __call__(self, request: Request) -> Response:
        headers = {k.lower(): v for k, v in request.headers.items()}
        self.conditional.append(headers.get("if-none-match"))
        if self.down:
            return Response(503, b"down")
        if headers.get("if-none-match") == ETAG:
            self.not_modified += 1
            return Response(304, b"", {"ETag": ETAG})
        return Response(200, json.dumps(CONTEXT).encode(),
                        {"Content-Type": "application/ld+json", "ETag": ETAG})


def test_an_allowed_context_is_stored_revalidated_and_outlives_its_server(
        server: LoopbackServer, tmp_path: Path) -> None:
    context = ContextServer()
    context_url = server.handle("/ctx.jsonld", context)
    harvests = iter(range(5, 100))  # each harvest a changed feed: it is parsed every time
    counts: list[int] = []

    def feed(_request: Request) -> Response:
        counts.append(next(harvests))
        return Response(200, catalogue(context_url, counts[-1]),
                        {"Content-Type": "application/ld+json"})

    config = write_config(tmp_path, [{"name": "hub", "type": "dcat",
                                      "url": server.handle("/feed.jsonld", feed)}],
                          jsonld={"allowed_contexts": [context_url]})

    status, runs = harvest_json(config)
    assert status == 0 and runs[0]["status"] == "ok", runs
    assert sql(config, "SELECT COUNT(*) FROM dataset WHERE removed_at IS NULL") == [(counts[0],)]
    assert context.conditional == [None] and server.hits("/ctx.jsonld") == 1
    [(stored, etag)] = sql(config, "SELECT body, etag FROM jsonld_context")
    assert json.loads(stored) == CONTEXT and etag == ETAG

    status, runs = harvest_json(config)  # a new process's harvest: revalidated, 304
    assert status == 0 and runs[0]["status"] == "ok", runs
    assert context.conditional == [None, ETAG] and context.not_modified == 1
    assert sql(config, "SELECT COUNT(*) FROM dataset WHERE removed_at IS NULL") == [(counts[1],)]

    context.down = True
    status, runs = harvest_json(config)  # the context's server fails: the stored copy is used
    assert status == 0 and runs[0]["status"] == "ok", runs
    assert server.hits("/ctx.jsonld") == 3
    assert sql(config, "SELECT COUNT(*) FROM dataset WHERE removed_at IS NULL") == [(counts[2],)]
    warnings = [e for e in runs[0]["errors"] if e["code"] == "parse.stale_context"]
    assert len(warnings) == 1 and context_url in warnings[0]["message"], runs[0]["errors"]


def test_a_failing_allowed_context_without_a_stored_copy_names_its_url(
        server: LoopbackServer, tmp_path: Path) -> None:
    context_url = server.route("/ctx.jsonld", b"down", status=503)
    feed = server.route("/feed.jsonld", catalogue(context_url, 3),
                        content_type="application/ld+json")
    config = write_config(tmp_path, [{"name": "hub", "type": "dcat", "url": feed}],
                          jsonld={"allowed_contexts": [context_url]})
    _, runs = harvest_json(config)
    assert runs[0]["status"] == "failed"
    [error] = [e for e in runs[0]["errors"] if e["code"] == "parse.remote_context"]
    assert context_url in error["message"] and "could not be fetched" in error["message"]
    assert sql(config, "SELECT COUNT(*) FROM jsonld_context") == [(0,)]


def test_a_context_neither_mapped_nor_allowed_is_refused_and_not_fetched(
        server: LoopbackServer, tmp_path: Path) -> None:
    context_url = server.route("/ctx.jsonld", json.dumps(CONTEXT).encode())
    feed = server.route("/feed.jsonld", catalogue(context_url, 3),
                        content_type="application/ld+json")
    config = write_config(tmp_path, [{"name": "hub", "type": "dcat", "url": feed}])
    _, runs = harvest_json(config)
    [error] = [e for e in runs[0]["errors"] if e["code"] == "parse.remote_context"]
    assert context_url in error["message"]
    assert "[jsonld] local_contexts" in error["message"]
    assert "[jsonld] allowed_contexts" in error["message"]
    assert server.hits("/ctx.jsonld") == 0
