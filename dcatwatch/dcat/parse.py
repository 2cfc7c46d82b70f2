"""Streaming, safe RDF parsing into triples grouped by subject.

The document is parsed by pyoxigraph in a child process (:mod:`dcatwatch.dcat._worker`)
that writes N-Triples; this process groups the lines by subject while the child parses.
Terms are kept in their N-Triples form (``<iri>``, ``_:b0``, ``"text"@sv``) and decoded
only where the mapper reads them. Relative IRIs resolve against the document URL and are
flagged: the child resolves them against a sentinel base (the URL with its authority
replaced by :data:`SENTINEL_HOST`), and the grouping puts the real authority back and counts
them (:class:`Rebase`). Before any parsing, web pages are recognised, the syntax is chosen
(:mod:`dcatwatch.dcat.syntax`) and the document is transcoded to UTF-8 when a byte-order mark,
NUL bytes (UTF-16/32 without a mark) or a declared charset say it is in another encoding. Then
RDF/XML with a DTD (the door to entity-expansion bombs, which abort the Rust parser, and to
external entities) is refused: the whole prolog is scanned up to the first element, however
long its comments, processing instructions and whitespace are, in the very file the parser
gets.
"""

from __future__ import annotations

import codecs
import io
import json
import re
import subprocess
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from sys import intern

from dcatwatch.dcat import syntax as syntaxes
from dcatwatch.dcat.diskgraph import ROWS, DiskGraph
from dcatwatch.dcat.jsonld import Contexts, inline_file
from dcatwatch.errors import ParseError

HEAD_BYTES = 64 * 1024
SCAN_BYTES = 64 * 1024  # the DTD check reads the prolog in chunks of this size
SYNTAX_NAMES = {
    "rdfxml": "RDF/XML", "turtle": "Turtle", "ntriples": "N-Triples", "nquads": "N-Quads",
    "trig": "TriG", "jsonld": "JSON-LD",
}
RDF_TYPE = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"
LARGE_BYTES = 8 << 20  # from here on, repeated IRIs are shared (interned) to save memory
SENTINEL_HOST = "relative.dcatwatch.invalid"  # .invalid is reserved (RFC 6761): in no real IRI
_URL_PARTS = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://([^/?#]*)(.*)\Z", re.DOTALL)
_XML_ENCODING = re.compile(rb"""^<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),  # before UTF-16's
         (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))
_JSON_TOKENS = re.compile(rb'["\\{}\[\]]')  # what the JSON-LD depth check looks at
MEMORY_MB = 512  # the parser child's address-space cap ([harvest] parser_memory_mb)
MEMORY_TRIPLES = 300_000  # grouped in memory, past it on disk ([harvest] memory_triples)
SUBJECT_TRIPLES = 100_000  # most triples of one record ([harvest] max_subject_triples)
MEMBERSHIP = frozenset(f"<http://www.w3.org/ns/dcat#{name}>" for name in (
    "dataset", "service", "catalog", "record"))  # a catalogue's lists: not counted in the cap
JSONLD_MAX_DEPTH = 100  # [harvest] jsonld_max_depth
_NOT_CHARSETS = frozenset({"idna", "punycode", "unicode-escape", "raw-unicode-escape", "undefined"})


class TooManyTriples(Exception):
    """One subject has more triples than the cap (see :func:`group_lines`)."""

    def __init__(self, subject: str, triples: int, limit: int) -> None:
        super().__init__(f"{subject} has {triples} triples, over {limit}")
        self.subject, self.triples, self.limit = subject, triples, limit


@dataclass(slots=True)
class Graph:
    """Triples grouped by subject, terms in N-Triples form."""

    subjects: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    types: dict[str, list[str]] = field(default_factory=dict)
    triples: int = 0
    syntax: str = ""
    recovered: str | None = None  # the strict parser's error when the lenient one was used
    large: bool = False  # from a large document: share repeated IRIs (see LARGE_BYTES)
    relative_iris: int = 0  # distinct IRIs resolved against the document URL
    relative_example: str | None = None  # the first of them
    _linking: dict[str, dict[str, list[str]]] = field(default_factory=dict, repr=False)

    def record_nodes(self, types: Iterable[str], links: Iterable[str],
                     keep_undescribed: bool = False) -> Iterator[str]:
        """Subjects typed with one of ``types`` (in the order first typed), then the other
        non-literal objects of ``links`` (described ones only, unless ``keep_undescribed``)."""
        kinds = set(types)
        seen: set[str] = set()
        for subject, subject_types in self.types.items():
            if not kinds.isdisjoint(subject_types):
                seen.add(subject)
                yield subject
        predicates = frozenset(links)
        subjects = self.subjects
        for props in subjects.values():
            for predicate, obj in props:
                if predicate in predicates and obj not in seen and obj[0] != '"' \
                        and (keep_undescribed or obj in subjects):
                    seen.add(obj)
                    yield obj

    def subjects_linking(self, predicate: str, node: str) -> list[str]:
        """The subjects that have ``node`` as an object of ``predicate``."""
        index = self._linking.get(predicate)
        if index is None:
            index = self._linking[predicate] = {}
            for subject, props in self.subjects.items():
                for p, obj in props:
                    if p == predicate:
                        index.setdefault(obj, []).append(subject)
        return index.get(node, [])

    def objects_of(self, predicates: Iterable[str]) -> list[str]:
        """The objects of ``predicates`` anywhere in the document."""
        wanted = frozenset(predicates)
        return [obj for props in self.subjects.values() for p, obj in props if p in wanted]

    def close(self) -> None:
        """Nothing to release (a :class:`~dcatwatch.dcat.diskgraph.DiskGraph` has a file)."""


@dataclass(frozen=True, slots=True)
class Rebase:
    """A document URL split for telling relative IRIs apart (see :func:`rebase`).

    ``sentinel`` and ``real`` are IRI-term prefixes (``<scheme://authority``).
    """

    base: str  # the base IRI the parser gets: the URL with the sentinel authority
    sentinel: str
    real: str


def detect_syntax(path: Path, url: str, content_type: str | None = None) -> str:
    """The syntax of the document at ``path`` or a :class:`ParseError` naming why not."""
    with path.open("rb") as handle:
        head = handle.read(HEAD_BYTES)
    encoding = _byte_encoding(head)
    if encoding:
        head = head.decode(encoding, "ignore").encode("utf-8")
    if not head.strip():
        raise ParseError("parse.not_rdf", "the document is empty", url)
    chosen = syntaxes.choose(content_type, url, head)
    if chosen == "html":
        raise ParseError("parse.not_rdf",
                         f"got a web page (Content-Type {content_type or 'unknown'}), not RDF", url)
    if chosen is None:
        raise ParseError("parse.not_rdf",
                         f"cannot tell the RDF syntax (Content-Type {content_type or 'unknown'}; "
                         f"the content looks like neither RDF/XML, Turtle, N-Triples nor JSON-LD)",
                         url)
    return chosen


def refuse_dtd(path: Path, url: str) -> None:
    """Refuse XML declaring a DTD before its first element (RDF/XML never needs entities).

    The prolog is read in chunks up to the first ``<`` that starts an element, wherever it
    is: the XML declaration, processing instructions and comments are skipped whatever their
    length, and any other ``<!`` (``<!DOCTYPE``, ``<!ENTITY``) is refused. ``path`` is the
    file the parser gets, already UTF-8: one starting with a NUL byte is in an encoding this
    check cannot read (and expat would take for UTF-16), so it is refused too.
    """
    with path.open("rb") as handle:
        buffer = handle.read(SCAN_BYTES)
        if b"\0" in buffer[:4]:
            raise ParseError("parse.not_rdf", "the XML starts with NUL bytes even after "
                             "transcoding: its encoding cannot be read", url, syntax="RDF/XML")
        position = 0
        closing = b""  # the end of the comment or processing instruction being skipped
        while True:
            if closing:
                end = buffer.find(closing, position)
                if end >= 0:
                    position, closing = end + len(closing), b""
                    continue
                position = max(position, len(buffer) - len(closing) + 1)
            else:
                start = buffer.find(b"<", position)
                if start < 0:
                    position = len(buffer)
                elif start + 4 > len(buffer):
                    position = start  # too few bytes to tell what it starts: read on
                elif buffer[start + 1:start + 2] == b"?":
                    position, closing = start + 2, b"?>"
                    continue
                elif buffer[start + 1:start + 4] == b"!--":
                    position, closing = start + 4, b"-->"
                    continue
                elif buffer[start + 1:start + 2] == b"!":
                    raise ParseError("parse.unsafe_xml",
                                     "the XML declares a DTD (<!DOCTYPE/<!ENTITY); refused to "
                                     "prevent entity-expansion attacks", url, syntax="RDF/XML")
                else:
                    return  # the root element: declarations can no longer follow
            chunk = handle.read(SCAN_BYTES)
            if not chunk:
                return
            buffer = buffer[position:] + chunk
            position = 0


def refuse_deep_json(path: Path, url: str, limit: int) -> None:
    """Refuse a JSON(-LD) document nested deeper than ``limit`` arrays and objects.

    pyoxigraph's JSON-LD parser keeps every open level: a small document nested tens of
    thousands deep drove the parser child to gigabytes. The file is scanned in 1 MiB chunks
    for brackets outside strings (escapes skipped), in constant memory.
    """
    depth = 0
    in_string = False
    skip = -1  # absolute offset of a byte escaped by a backslash
    offset = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            for match in _JSON_TOKENS.finditer(chunk):
                position = offset + match.start()
                if position == skip:
                    continue
                token = match.group()
                if in_string:
                    if token == b"\\":
                        skip = position + 1
                    elif token == b'"':
                        in_string = False
                elif token == b'"':
                    in_string = True
                elif token in b"[{":
                    depth += 1
                    if depth > limit:
                        raise ParseError(
                            "parse.too_deep", f"the JSON-LD document is nested more than "
                            f"{limit} levels deep ([harvest] jsonld_max_depth); refused before "
                            f"parsing", url, "JSON-LD")
                else:
                    depth -= 1
            offset += len(chunk)


def _byte_encoding(head: bytes) -> str | None:
    """The encoding the first bytes show: a byte-order mark, or NUL bytes next to the first
    character, which is ASCII in every RDF syntax (UTF-16/32 without a mark, told apart as
    XML's appendix F and expat do)."""
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            return encoding
    if head[:3] == b"\0\0\0":
        return "utf-32-be"
    if head[1:4] == b"\0\0\0":
        return "utf-32-le"
    if head[:1] == b"\0":
        return "utf-16-be"
    if head[1:2] == b"\0":
        return "utf-16-le"
    return None


def _charset(name: str) -> str | None:
    """The codec for a declared charset, or None to ignore the declaration.

    Ignored: unknown names; codecs that are not text encodings (``rot13``, ``base64``,
    ``zlib`` …); Python's own text codecs that are no charsets and fail or rewrite text
    (``idna``, ``punycode``, ``unicode_escape`` …); and UTF-16/32, which the bytes would have
    shown (:func:`_byte_encoding`): declared for a document without NUL bytes, they are wrong.
    """
    try:
        codec = codecs.lookup(name)
    except LookupError:
        return None
    if not codec._is_text_encoding or codec.name in _NOT_CHARSETS:
        return None
    return None if b"\0" in codec.encode("<")[0] else codec.name


def _encoding(head: bytes, content_type: str | None, syntax: str) -> str | None:
    """The encoding to transcode from; None to parse the file as it is (as UTF-8).

    A byte-order mark or NUL bytes decide, else the XML declaration, else the Content-Type
    charset; a declared charset to ignore (:func:`_charset`) counts as none. XML declaring
    anything but UTF-8 is transcoded even from UTF-8: the strict parser reads nothing else,
    and transcoding rewrites the declaration.
    """
    encoding = _byte_encoding(head)
    if encoding:
        return encoding
    match = _XML_ENCODING.match(head) if syntax == "rdfxml" else None
    if match:
        encoding = _charset(match.group(1).decode("ascii"))
    if encoding is None and content_type and "charset=" in content_type.lower():
        encoding = _charset(content_type.lower().split("charset=", 1)[1].split(";")[0]
                            .strip(" \"'"))
    if encoding in (None, "utf-8", "ascii"):
        return "utf-8" if match and match.group(1).lower() not in (b"utf-8", b"utf8") else None
    return encoding


def to_utf8(path: Path, url: str, content_type: str | None, syntax: str) -> Path:
    """Transcode the document to UTF-8 when it is in another encoding; the path to parse."""
    with path.open("rb") as handle:
        head = handle.read(256)
    encoding = _encoding(head, content_type, syntax)
    if encoding is None:
        return path
    target = path.with_name(path.name + ".utf8")
    with path.open("r", encoding=encoding, errors="replace", newline="") as source, \
            target.open("w", encoding="utf-8", newline="") as sink:
        first = True
        while chunk := source.read(1 << 20):
            if first and syntax == "rdfxml":
                chunk = re.sub(r"""^(<\?xml[^>]*encoding\s*=\s*["'])[^"']+""", r"\1utf-8", chunk)
            first = False
            sink.write(chunk)
    return target


def parse_file(path: Path, url: str, content_type: str | None = None,
               syntax: str | None = None, contexts: Contexts | None = None, *,
               memory_mb: int = MEMORY_MB, jsonld_max_depth: int = JSONLD_MAX_DEPTH,
               memory_triples: int = MEMORY_TRIPLES,
               subject_triples: int = SUBJECT_TRIPLES,
               workdir: Path | None = None) -> Graph | DiskGraph:
    """Parse the document at ``path`` (fetched from ``url``) into a :class:`Graph`.

    A JSON-LD document with a remote ``@context`` is parsed again with its contexts from
    ``contexts`` (:mod:`dcatwatch.dcat.jsonld`; None: none is local or may be fetched).
    Raises :class:`ParseError` naming the URL, the syntax and, for syntax errors, the
    line and column. The parser child may use ``memory_mb`` MiB of address space; a JSON-LD
    document nested deeper than ``jsonld_max_depth`` is refused (``parse.too_deep``). A
    document of more than ``memory_triples`` triples is grouped on disk, in ``workdir``
    (:mod:`dcatwatch.dcat.diskgraph`); the caller closes what it gets. A subject of more
    than ``subject_triples`` triples (a catalogue's dataset list aside) fails the document
    (``record.too_large``) as soon as it is seen, so one huge record cannot exhaust memory.
    """
    limits = (memory_mb, memory_triples, subject_triples, workdir)
    chosen = syntax or detect_syntax(path, url, content_type)
    source = to_utf8(path, url, content_type, chosen)
    try:
        if chosen == "rdfxml":
            refuse_dtd(source, url)  # after transcoding: UTF-16 must not hide a DTD
        elif chosen == "jsonld":
            refuse_deep_json(source, url, jsonld_max_depth)
        try:
            return _parse_in_child(source, url, chosen, *limits)
        except ParseError as error:
            if error.code != "parse.remote_context":
                raise
        inlined = inline_file(source, url, contexts or Contexts())
        try:
            return _parse_in_child(inlined, url, chosen, *limits)
        finally:
            inlined.unlink(missing_ok=True)
    finally:
        if source != path:
            source.unlink(missing_ok=True)


def rebase(url: str) -> Rebase | None:
    """How to flag IRIs resolved against ``url``; None when it has no authority to replace.

    ``https://example.se:8443/dir/cat.ttl`` is parsed against
    ``https://relative.dcatwatch.invalid/dir/cat.ttl``: relative references resolve exactly
    as against the URL (less any ``user:password@``), while absolute IRIs, network-path
    references (``//host/x``) and IRIs resolved against a base the document declares
    (``@base``, ``xml:base``) never carry the sentinel authority.
    """
    match = _URL_PARTS.match(url)
    if match is None:
        return None
    scheme, authority, rest = match.groups()
    host = authority.rpartition("@")[2]  # credentials in the URL never go into stored IRIs
    return Rebase(f"{scheme}://{SENTINEL_HOST}{rest}", f"<{scheme}://{SENTINEL_HOST}",
                  f"<{scheme}://{host}")


def _parse_in_child(path: Path, url: str, syntax: str, memory_mb: int,
                    memory_triples: int, subject_triples: int,
                    workdir: Path | None) -> Graph | DiskGraph:
    large = path.stat().st_size >= LARGE_BYTES
    rebased = rebase(url)
    base = rebased.base if rebased else url
    command = [sys.executable, "-m", "dcatwatch.dcat._worker", syntax, base, str(path),
               str(memory_mb)]
    # its own session: a Ctrl-C or SIGTERM to the daemon's process group must not kill a
    # parse the daemon wants to finish within its shutdown grace
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             stdin=subprocess.DEVNULL, bufsize=1 << 20, start_new_session=True)
    assert child.stdout is not None and child.stderr is not None
    graph: Graph | DiskGraph = Graph(syntax=syntax, large=large)
    try:
        graph = group_lines(io.TextIOWrapper(child.stdout, encoding="utf-8",
                                             errors="surrogateescape"),
                            graph, rebased, memory_triples=memory_triples,
                            subject_triples=subject_triples, workdir=workdir)
    except TooManyTriples as exc:
        child.kill()  # it would wait forever to write the rest
        graph.close()
        raise ParseError("record.too_large", f"{exc.subject} has more than {exc.limit} "
                         f"triples ([harvest] max_subject_triples = {exc.limit}; a catalogue's "
                         "dataset list is not counted): nothing from the document was used",
                         url, SYNTAX_NAMES[syntax]) from None
    except BaseException:
        child.kill()
        raise
    finally:
        stderr = child.stderr.read().decode("utf-8", "replace")
        child.stderr.close()
        status = child.wait()
    if status != 0:
        graph.close()
        raise _child_error(status, stderr, url, syntax)
    for line in stderr.splitlines():
        if line.startswith('{"warning"'):
            graph.recovered = _describe(json.loads(line)["warning"], syntax)
    return graph


def _describe(detail: dict[str, object], syntax: str) -> str:
    line, column = detail.get("line"), detail.get("column")
    where = f" at line {line}, column {column}" if line else ""
    return f"{SYNTAX_NAMES[syntax]} syntax error{where}: {detail['message']}"


def group_lines(lines: Iterable[str], graph: Graph, rebased: Rebase | None = None, *,
                memory_triples: int | None = None, subject_triples: int | None = None,
                workdir: Path | None = None) -> Graph | DiskGraph:
    """Group N-Triples lines (each ending in `` .\\n``) by subject into ``graph``; returns it,
    or, past ``memory_triples`` triples, a :class:`~dcatwatch.dcat.diskgraph.DiskGraph` (in
    ``workdir``) holding them all.

    A line starting with ``#`` clears what was grouped (the worker's restart marker). With
    ``rebased``, IRIs under its sentinel authority get the real one back and are counted in
    ``graph.relative_iris``; an object that is the sentinel base itself came from an empty
    reference (``rdf:resource=""``, Turtle's ``<>``) and becomes an empty literal, which the
    mapper reports (``record.empty_value``) instead of reading the document's URL.

    With ``subject_triples``, a subject with more triples than that (not counting
    :data:`MEMBERSHIP` links) raises :class:`TooManyTriples`: while grouping in memory as
    soon as it has them, on disk once the rows are indexed.
    """
    relative: dict[str, None] = {}  # restored IRI terms, first seen first
    empty = f"<{rebased.base.split('#', 1)[0]}>" if rebased is not None else None
    remaining = iter(lines)
    count = _in_memory(remaining, graph, rebased, empty, relative, memory_triples,
                       subject_triples)
    grouped: Graph | DiskGraph = graph
    if memory_triples is not None and count >= memory_triples:
        grouped = DiskGraph(workdir, syntax=graph.syntax, large=graph.large)
        try:
            grouped.add((s, p, o) for s, props in graph.subjects.items() for p, o in props)
            graph.subjects.clear()
            graph.types.clear()
            count = _on_disk(remaining, grouped, rebased, empty, relative, count)
            largest = None if subject_triples is None else \
                grouped.largest_record(subject_triples, MEMBERSHIP)
        except BaseException:
            grouped.close()
            raise
        if largest is not None:
            grouped.close()
            raise TooManyTriples(*largest, subject_triples)  # type: ignore[misc]
    grouped.triples = count
    grouped.relative_iris = len(relative)
    grouped.relative_example = next(iter(relative))[1:-1] if relative else None
    return grouped


def _terms(line: str, rebased: Rebase | None, empty: str | None,
           relative: dict[str, None]) -> tuple[str, str, str]:
    """The subject, predicate and object of an N-Triples line, relative IRIs restored."""
    subject, predicate, rest = line.split(" ", 2)
    obj = rest[:-3]
    if rebased is not None and SENTINEL_HOST in line:
        if obj == empty:  # rdf:resource="" or <>: no value, never the document's URL
            obj = '""'
        subject, predicate, obj = _restore(subject, predicate, obj, rebased, relative)
    return subject, predicate, obj


def _in_memory(lines: Iterator[str], graph: Graph, rebased: Rebase | None, empty: str | None,
               relative: dict[str, None], limit: int | None,
               subject_limit: int | None = None) -> int:
    """Group lines into ``graph`` until they end or ``limit`` triples are grouped; the count.
    Raises :class:`TooManyTriples` when a subject gets more than ``subject_limit``."""
    subjects = graph.subjects
    types = graph.types
    share = graph.large
    count = 0
    large: dict[str, int] = {}  # subjects past the cap with their links: their own triples
    cap = subject_limit or 0
    for line in lines:
        if line[0] == "#":
            subjects.clear()
            types.clear()
            relative.clear()
            large.clear()
            count = 0
            continue
        subject, predicate, obj = _terms(line, rebased, empty, relative)
        predicate = intern(predicate)  # a few dozen distinct predicates: share them
        if share and obj[0] == "<":
            obj = intern(obj)  # publishers, themes, licences … repeat across datasets
        group = subjects.get(subject)
        if group is None:
            group = subjects[subject] = []
        group.append((predicate, obj))
        if predicate == RDF_TYPE:
            types.setdefault(subject, []).append(obj)
        if cap and len(group) > cap:  # rare: count its own triples, once, then go on
            own = large.get(subject)
            if own is None:
                own = sum(p not in MEMBERSHIP for p, _o in group)
            elif predicate not in MEMBERSHIP:
                own += 1
            if own > cap:
                raise TooManyTriples(subject, own, cap)
            large[subject] = own
        count += 1
        if count == limit:
            break
    return count


def _on_disk(lines: Iterator[str], graph: DiskGraph, rebased: Rebase | None,
             empty: str | None, relative: dict[str, None], count: int) -> int:
    """Write the remaining lines into ``graph`` and index it; the document's triple count."""
    rows: list[tuple[str, str, str]] = []
    for line in lines:
        if line[0] == "#":
            graph.restart()
            rows.clear()
            relative.clear()
            count = 0
            continue
        rows.append(_terms(line, rebased, empty, relative))
        count += 1
        if len(rows) >= ROWS:
            graph.add(rows)
            rows = []
    graph.add(rows)
    graph.index()
    return count


def _restore(subject: str, predicate: str, obj: str, rebased: Rebase,
             relative: dict[str, None]) -> tuple[str, str, str]:
    """The terms with the real authority in their relative IRIs, which join ``relative``."""
    sentinel, real = rebased.sentinel, rebased.real
    size = len(sentinel)
    restored = []
    for term in (subject, predicate, obj):
        # of a literal, only what follows the closing quote (``^^<datatype>``) is an IRI:
        # its text is never rewritten
        cut = term.rfind('"') + 3 if term[0] == '"' else 0
        if term.startswith(sentinel, cut) and term[cut + size] in "/?#>":  # not a longer host
            iri = real + term[cut + size:]
            relative[iri] = None
            term = term[:cut] + iri
        restored.append(term)
    return restored[0], restored[1], restored[2]


def graph_from_ntriples(text: str) -> Graph:
    """Group an N-Triples text that dcatwatch wrote itself (a stored description)."""
    graph = Graph(syntax="ntriples")
    group_lines(text.splitlines(keepends=True), graph)
    return graph


def _child_error(status: int, stderr: str, url: str, syntax: str) -> ParseError:
    name = SYNTAX_NAMES[syntax]
    if status == 3:
        detail = json.loads(stderr.strip().splitlines()[-1])
        if "remote context" in str(detail["message"]).lower():
            return ParseError("parse.remote_context",
                              "the JSON-LD @context is remote and is never fetched", url, name)
        return ParseError("parse.syntax", _describe(detail, syntax), url, name,
                          detail.get("line"), detail.get("column"))
    if status < 0:
        return ParseError("parse.crashed",
                          f"the {name} parser was killed by signal {-status} (hostile or "
                          f"oversized document, or past [harvest] parser_memory_mb); nothing "
                          f"from it was used", url, name)
    tail = stderr.strip().splitlines()[-1:] or ["no message"]
    return ParseError("parse.crashed", f"the {name} parser failed (exit {status}): {tail[0]}",
                      url, name)
