"""Parser child process: reads one RDF document, writes N-Triples to stdout.

Run as ``python -m dcatwatch.dcat._worker SYNTAX BASE_IRI PATH [MEMORY_MB]`` (MEMORY_MB: its
address-space cap, ``[harvest] parser_memory_mb``). It imports nothing but pyoxigraph so it
starts fast. Parsing in a child keeps the daemon alive when a hostile
document makes the Rust parser abort the process, and lets the parent group triples while
the child parses (two cores). A syntax error is written to stderr as one JSON line and the
exit status is 3.

BASE_IRI is the sentinel base the parent chose (the document URL under a reserved
authority, :func:`dcatwatch.dcat.parse.rebase`); both parsers resolve relative IRIs against
it, so the parent can flag them and put the real authority back.

When pyoxigraph (strict) refuses a small RDF/XML or Turtle document, rdflib
(lenient) gets a second try, as dataportal.se's own harvester is liberal: the child writes
the line ``#restart`` so the parent drops what it had, then rdflib's triples, and reports
the strict parser's error as a ``{"warning": …}`` line on stderr.
"""

from __future__ import annotations

import json
import os
import resource
import sys
from typing import IO

import pyoxigraph as ox

FORMATS = {
    "rdfxml": ox.RdfFormat.RDF_XML,
    "turtle": ox.RdfFormat.TURTLE,
    "ntriples": ox.RdfFormat.N_TRIPLES,
    "nquads": ox.RdfFormat.N_QUADS,
    "trig": ox.RdfFormat.TRIG,
    "jsonld": ox.RdfFormat.JSON_LD,
}
MEMORY_MB = 512  # address space ([harvest] parser_memory_mb): a runaway parse fails instead
# of eating the machine
LENIENT = {"rdfxml": "xml", "turtle": "turtle"}  # never JSON-LD: rdflib fetches remote contexts
LENIENT_MAX_BYTES = 50 << 20


def lenient(syntax: str, base_iri: str, path: str, out: IO[bytes]) -> bool:
    """Parse again with rdflib; True when it succeeded and its triples were written."""
    if syntax not in LENIENT or os.path.getsize(path) > LENIENT_MAX_BYTES:
        return False
    import logging
    import warnings

    import rdflib

    logging.disable(logging.CRITICAL)
    warnings.simplefilter("ignore")
    graph = rdflib.Graph()
    try:
        graph.parse(path, format=LENIENT[syntax], publicID=base_iri or None)
        triples = graph.serialize(format="nt", encoding="utf-8")
    except Exception:  # noqa: BLE001 - rdflib raises many kinds; the strict error is reported
        return False
    out.write(b"#restart\n")
    out.write(triples)
    return True


def main(argv: list[str]) -> int:
    syntax, base_iri, path = argv[:3]
    limit = (int(argv[3]) if len(argv) > 3 else MEMORY_MB) << 20
    try:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ValueError, OSError):
        pass
    out = sys.stdout.buffer
    quads = ox.parse(path=path, format=FORMATS[syntax], base_iri=base_iri or None)
    triples = (ox.Triple(q.subject, q.predicate, q.object) for q in quads) \
        if FORMATS[syntax].supports_datasets else quads
    try:
        ox.serialize(triples, out, ox.RdfFormat.N_TRIPLES)
        out.flush()
    except SyntaxError as exc:
        error = {"message": exc.msg, "line": exc.lineno, "column": exc.offset}  # str(exc) adds the temp file
        if lenient(syntax, base_iri, path, out):
            out.flush()
            sys.stderr.write(json.dumps({"warning": error}) + "\n")
            return 0
        out.flush()
        sys.stderr.write(json.dumps(error) + "\n")
        return 3
    except BrokenPipeError:
        return 0
    except MemoryError as exc:
        sys.stderr.write(f"out of memory ({exc or 'allocation failed'}; the cap is "
                         f"{limit >> 20} MiB, [harvest] parser_memory_mb)\n")
        return 4
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
