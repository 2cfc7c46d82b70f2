"""Choosing the RDF syntax: Content-Type first, then the extension, then the content."""

from __future__ import annotations

import pytest

from dcatwatch.dcat.syntax import choose

XML = b'<?xml version="1.0"?>\n<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>'
TTL = b"@prefix dcat: <http://www.w3.org/ns/dcat#> .\n<a> a dcat:Dataset ."
NT = b"<http://a> <http://b> <http://c> .\n<http://a> <http://b> \"x\"@sv .\n"
NQ = b"<http://a> <http://b> <http://c> <http://g> .\n"
TRIG = b"@prefix ex: <http://ex/> .\nex:g1 { ex:a ex:b ex:c . }\n"
JSON = b'{"@context": {"dcat": "http://www.w3.org/ns/dcat#"}, "@id": "http://a"}'
HTML = b"<!DOCTYPE html>\n<html><head><title>Not found</title></head></html>"


@pytest.mark.parametrize(("content_type", "url", "head", "expected"), [
    ("application/rdf+xml", "https://x.se/c", TTL, "rdfxml"),  # a specific type wins
    ("text/turtle; charset=utf-8", "https://x.se/c.rdf", TTL, "turtle"),
    ("text/turtle", "https://x.se/c.ttl", XML, "rdfxml"),  # unmistakable content wins
    ("application/ld+json", "https://x.se/c.rdf", XML, "rdfxml"),
    ("application/n-triples", "https://x.se/c.nt", JSON, "jsonld"),
    ("application/ld+json", "https://x.se/c", JSON, "jsonld"),
    ("application/n-triples", "https://x.se/c", NT, "ntriples"),
    ("application/trig", "https://x.se/c", TRIG, "trig"),
    ("text/plain", "https://x.se/catalog.ttl", TTL, "turtle"),  # generic: the extension
    ("application/octet-stream", "https://x.se/dump.rdf", XML, "rdfxml"),
    (None, "https://x.se/c.nt", NT, "ntriples"),
    (None, "https://x.se/c.jsonld", JSON, "jsonld"),
    ("text/plain", "https://x.se/c", NT, "ntriples"),  # neither: sniff
    ("text/plain", "https://x.se/c", NQ, "nquads"),
    ("application/octet-stream", "https://x.se/c", TTL, "turtle"),
    ("application/octet-stream", "https://x.se/c", TRIG, "trig"),
    ("text/plain", "https://x.se/datasets/dcat", XML, "rdfxml"),
    (None, "https://x.se/c", b"\xef\xbb\xbf" + XML, "rdfxml"),  # BOM
    ("application/json", "https://x.se/c", JSON, "jsonld"),
    ("text/html", "https://x.se/c", HTML, "html"),  # a web page
    ("application/rdf+xml", "https://x.se/c", HTML, "html"),  # says RDF, is a page
    ("text/html", "https://x.se/c", XML, "rdfxml"),  # says HTML, is RDF/XML
    (None, "https://x.se/c", b"hello, world", None),
    # N-Triples that mention the RDF namespace are still N-Triples
    ("text/plain", "https://x.se/c", b"<https://a> <http://www.w3.org/1999/02/22-rdf-syntax-ns#"
     b"type> <https://b> .\n", "ntriples"),
    (None, "https://x.se/c", b'<dcat:Catalog xmlns:dcat="http://www.w3.org/ns/dcat#" '
     b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>', "rdfxml"),
])
def test_choose(content_type: str | None, url: str, head: bytes, expected: str | None) -> None:
    assert choose(content_type, url, head) == expected
