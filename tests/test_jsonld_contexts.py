"""Remote JSON-LD @context: mapped to a local file, fetched when allowed, refused otherwise."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from dcatwatch.config import JsonLdSettings, Settings
from dcatwatch.dcat.mapper import map_graph
from dcatwatch.dcat.parse import parse_file
from dcatwatch.errors import ParseError
from dcatwatch.harvester.contexts import Contexts
from dcatwatch.harvester.documents import DocumentReader
from dcatwatch.http.client import HttpClient, HttpSettings

CONTEXT_URL = "https://example.org/ctx.jsonld"
URL = "https://hub.example.org/api/feed/dcat-ap/2.1.1.json"
CONTEXT = {"@context": {"dcat": "http://www.w3.org/ns/dcat#", "dct": "http://purl.org/dc/terms/",
                        "Catalog": "dcat:Catalog", "Dataset": "dcat:Dataset",
                        "title": {"@id": "dct:title", "@language": "sv"},
                        "dataset": {"@id": "dcat:dataset", "@type": "@id"}}}


def catalogue(context: object = CONTEXT_URL, count: int = 3) -> str:
    return json.dumps({"@context": context, "@id": "https://hub.example.org/catalog",
                       "@type": "Catalog",
                       "dataset": [{"@id": f"https://hub.example.org/d/{i}", "@type": "Dataset",
                                    "title": f"Datamängd {i}"} for i in range(count)]})


@pytest.fixture
def client() -> Iterator[HttpClient]:
    with HttpClient(HttpSettings(allow_private_networks=True, min_delay=0, retries=0)) as c:
        yield c


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_context_mapped_to_a_local_file_parses_every_dataset(tmp_path: Path) -> None:
    local = write(tmp_path, "ctx.jsonld", json.dumps(CONTEXT))
    document = write(tmp_path, "feed.jsonld", catalogue(count=71))
    graph = parse_file(document, URL, "application/ld+json",
                       contexts=Contexts({CONTEXT_URL: local}))
    parsed = map_graph(graph, URL)
    assert len(parsed.datasets) == 71
    assert parsed.datasets[0].title == {"sv": "Datamängd 0"}
    assert not document.with_name("feed.jsonld.inlined").exists()


def test_an_unmapped_remote_context_is_refused_naming_it_and_both_keys(tmp_path: Path) -> None:
    document = write(tmp_path, "feed.jsonld", catalogue([CONTEXT_URL, {"x": "http://x/"}]))
    with pytest.raises(ParseError) as caught:
        parse_file(document, URL, "application/ld+json")
    assert caught.value.code == "parse.remote_context"
    message = caught.value.message
    assert CONTEXT_URL in message
    assert "[jsonld] local_contexts" in message and "[jsonld] allowed_contexts" in message
    assert "ships" not in caught.value.hint and "local_contexts" in caught.value.hint


def test_an_allowed_context_is_fetched_once_through_the_guarded_client(
        tmp_path: Path, server, client: HttpClient) -> None:
    context_url = server.route("/ctx.jsonld", json.dumps(CONTEXT).encode(),
                               content_type="application/ld+json")
    contexts = Contexts(allowed=[context_url], client=client)
    for name in ("one.jsonld", "two.jsonld"):
        document = write(tmp_path, name, catalogue(context_url))
        assert len(map_graph(parse_file(document, URL, contexts=contexts), URL).datasets) == 3
    assert server.hits("/ctx.jsonld") == 1


def test_an_allowed_context_on_a_private_address_is_still_refused(tmp_path: Path,
                                                                  server) -> None:
    context_url = server.route("/ctx.jsonld", json.dumps(CONTEXT).encode())
    with HttpClient(HttpSettings(min_delay=0, retries=0)) as guarded:
        contexts = Contexts(allowed=[context_url], client=guarded)
        with pytest.raises(ParseError) as caught:
            parse_file(write(tmp_path, "feed.jsonld", catalogue(context_url)), URL,
                       contexts=contexts)
    assert "fetch.refused_address" in caught.value.message and context_url in caught.value.message
    assert server.hits("/ctx.jsonld") == 0


def test_a_harvest_reads_the_jsonld_settings(tmp_path: Path, server, client: HttpClient) -> None:
    local = write(tmp_path, "ctx.jsonld", json.dumps(CONTEXT))
    feed = server.route("/feed.jsonld", catalogue().encode(), content_type="application/ld+json")
    reader = DocumentReader(client, "hub", workdir=tmp_path,
                            jsonld=JsonLdSettings(local_contexts={CONTEXT_URL: str(local)}))
    collected = reader.read(feed)
    assert collected.errors == [] and len(collected.parsed.entries) == 3
    unmapped = DocumentReader(client, "hub", workdir=tmp_path).read(feed)
    assert [e.code for e in unmapped.errors] == ["parse.remote_context"]


def test_jsonld_settings_take_only_http_urls() -> None:
    settings = Settings.model_validate({"jsonld": {"allowed_contexts": [CONTEXT_URL],
                                                   "local_contexts": {CONTEXT_URL: "c.jsonld"}}})
    assert settings.jsonld.allowed_contexts == [CONTEXT_URL]
    with pytest.raises(ValueError, match="not an http"):
        JsonLdSettings(allowed_contexts=["file:///etc/passwd"])
