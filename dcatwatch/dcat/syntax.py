"""Choosing the RDF syntax of a document: Content-Type, then file extension, then sniffing."""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from urllib.parse import urlsplit

MEDIA_TYPES: dict[str, str] = {
    "application/rdf+xml": "rdfxml",
    "application/xml": "rdfxml",
    "text/xml": "rdfxml",
    "text/turtle": "turtle",
    "application/x-turtle": "turtle",
    "text/n3": "turtle",
    "application/n-triples": "ntriples",
    "application/n-quads": "nquads",
    "application/trig": "trig",
    "application/ld+json": "jsonld",
    "application/json": "jsonld",
}

EXTENSIONS: dict[str, str] = {
    ".rdf": "rdfxml",
    ".xml": "rdfxml",
    ".owl": "rdfxml",
    ".ttl": "turtle",
    ".n3": "turtle",
    ".nt": "ntriples",
    ".nq": "nquads",
    ".trig": "trig",
    ".jsonld": "jsonld",
    ".json": "jsonld",
}

UNMISTAKABLE = frozenset({"html", "rdfxml", "jsonld"})
HTML_MEDIA_TYPES = frozenset({"text/html", "application/xhtml+xml"})

_TURTLE_START = re.compile(rb"^\s*(@prefix|@base|prefix\s|base\s|<[^>\s]*>\s*(a\s|<|\w*:))", re.I)
_XML_ROOT = re.compile(rb"^<[A-Za-z_][\w.-]*(:[A-Za-z_][\w.-]*)?[\s/>]")
_TRIG_GRAPH = re.compile(rb"^\s*(GRAPH\s+)?(<[^>\s]*>|[\w-]*:[\w-]*|_:\w+)\s*\{", re.M | re.I)
_NT_LINE = re.compile(rb"^\s*(<[^>\s]+>|_:\S+)\s+<[^>\s]+>\s+(<[^>\s]*>|_:\S+|\"[^\n]*?\")"
                      rb"(\^\^<[^>]+>|@[\w-]+)?\s*(<[^>\s]+>|_:\S+)?\s*\.\s*$")


def media_type(content_type: str | None) -> str | None:
    """The bare, lower-cased media type of a Content-Type header value."""
    if not content_type:
        return None
    return content_type.split(";", 1)[0].strip().lower() or None


def from_media_type(content_type: str | None) -> str | None:
    """Syntax named by a Content-Type, or None when it is absent, generic or unknown."""
    return MEDIA_TYPES.get(media_type(content_type) or "")


def from_extension(url: str | None) -> str | None:
    """Syntax named by the URL's (or file name's) extension, if any."""
    if not url:
        return None
    path = PurePosixPath(urlsplit(url).path)
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in {".gz"}:
        suffixes.pop()
    return EXTENSIONS.get(suffixes[-1]) if suffixes else None


def _strip_prolog(head: bytes) -> bytes:
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    return head.lstrip()


def sniff(head: bytes) -> str | None:
    """Guess the syntax from the first kilobytes of a document; ``"html"`` for web pages."""
    text = _strip_prolog(head)
    lowered = text[:2048].lower()
    if lowered.startswith((b"<!doctype html", b"<html")) or b"<html" in lowered[:512]:
        return "html"
    if text.startswith(b"<?xml") or text.startswith(b"<rdf:") or text.startswith(b"<!--"):
        return "rdfxml"
    if _XML_ROOT.match(text) and b"http://www.w3.org/1999/02/22-rdf-syntax-ns#" in text[:4096]:
        return "rdfxml"
    if text.startswith((b"{", b"[")):
        return "jsonld"
    lines = [line for line in text.splitlines()[:20] if line.strip() and not line.lstrip().startswith(b"#")]
    if lines and all(_NT_LINE.match(line) for line in lines[:-1] or lines):
        terms_in_first = _NT_LINE.match(lines[0])
        if terms_in_first and terms_in_first.group(4):
            return "nquads"
        return "ntriples"
    if lines and _TURTLE_START.match(lines[0]):
        return "trig" if _TRIG_GRAPH.search(text[:8192]) else "turtle"
    return None


def choose(content_type: str | None, url: str | None, head: bytes) -> str | None:
    """The syntax to parse with: a specific Content-Type, else the extension, else sniffing.

    Content that cannot be mistaken (an XML or JSON document, a web page) overrides what the
    header or the extension claims: servers get both wrong often. Returns ``"html"`` for a
    web page and None when nothing fits.
    """
    sniffed = sniff(head)
    if sniffed in UNMISTAKABLE:
        return sniffed
    declared = media_type(content_type)
    if declared in HTML_MEDIA_TYPES:
        return sniffed or "html"
    return from_media_type(content_type) or from_extension(url) or sniffed
