"""SHACL engines behind one call: N-Triples data and Turtle shapes in, plain results out.

:data:`ENGINE` is the one dcatwatch validates with; the others are kept to compare it with
(``benchmarks/bench_shacl.py``, ``tests/test_shacl.py``; the ``shacl-engines`` extra):
pyshacl, the reference, and the Rust engines on the package index that load the DCAT-AP
shapes. Each result is a :class:`Result` whose terms are in N-Triples form, so results of
different engines compare equal when they say the same thing. An engine that is not installed raises
:class:`ImportError` when asked for.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, NamedTuple

SH = "http://www.w3.org/ns/shacl#"
XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


class Result(NamedTuple):
    """One ``sh:ValidationResult``: focus node, path, constraint component (local name,
    ``ClassConstraintComponent``), severity (``Violation`` …) and value, as N-Triples terms
    (path and value "" when absent)."""

    focus: str
    path: str
    component: str
    severity: str
    value: str


Engine = Callable[[str, str], list[Result]]
"""(data as N-Triples, shapes as Turtle) → results."""


def _local(term: str) -> str:
    return term.strip("<>").rsplit("#", 1)[-1]


def _rdflib_results(report: Any) -> list[Result]:
    import rdflib

    sh = rdflib.Namespace(SH)
    found = []
    for node in report.subjects(rdflib.RDF.type, sh.ValidationResult):
        path, value = report.value(node, sh.resultPath), report.value(node, sh.value)
        found.append(Result(
            report.value(node, sh.focusNode).n3(),
            path.n3() if isinstance(path, rdflib.URIRef) else "",
            _local(str(report.value(node, sh.sourceConstraintComponent))),
            _local(str(report.value(node, sh.resultSeverity))),
            value.n3() if value is not None else ""))
    return found


def _rdflib_graph(data: str) -> Any:
    """N-Triples as an rdflib graph, blank node labels kept (rdflib's own parser renames
    them, and a blank focus node must be found again in the batch)."""
    import pyoxigraph
    import rdflib

    def term(node: Any) -> Any:
        if isinstance(node, pyoxigraph.NamedNode):
            return rdflib.URIRef(node.value)
        if isinstance(node, pyoxigraph.BlankNode):
            return rdflib.BNode(node.value)
        datatype = node.datatype.value
        return rdflib.Literal(node.value, lang=node.language,
                              datatype=None if node.language or datatype == XSD_STRING
                              else datatype)

    graph = rdflib.Graph()
    for triple in pyoxigraph.parse(data, format=pyoxigraph.RdfFormat.N_TRIPLES):
        graph.add((term(triple.subject), term(triple.predicate), term(triple.object)))
    return graph


def _pyshacl(data: str, shapes: str) -> list[Result]:
    import pyshacl

    graph = _rdflib_graph(data)
    _, report, _ = pyshacl.validate(graph, shacl_graph=_rdflib_shapes(shapes), inference="none",
                                    advanced=False, meta_shacl=False, allow_warnings=True)
    return _rdflib_results(report)


def _pyshacl_turbo(data: str, shapes: str) -> list[Result]:
    import pyoxigraph
    import pyshacl_turbo

    graph = pyoxigraph.Store()
    graph.bulk_load(data.encode(), format=pyoxigraph.RdfFormat.N_TRIPLES)
    _, report, _ = pyshacl_turbo.validate(graph, shacl_graph=_rdflib_shapes(shapes),
                                          inference="none", advanced=False, meta_shacl=False,
                                          allow_warnings=True)
    return _rdflib_results(report)


_SHAPES: dict[str, Any] = {}


def _rdflib_shapes(shapes: str) -> Any:
    """The parsed shapes graph, parsed once per shapes text (engines cache their compilation
    by graph)."""
    if shapes not in _SHAPES:
        import rdflib

        _SHAPES.clear()
        _SHAPES[shapes] = rdflib.Graph().parse(data=shapes, format="turtle")
    return _SHAPES[shapes]


def _shacl_rust(data: str, shapes: str) -> list[Result]:
    import shacl_rust

    report = shacl_rust.validate(data, shapes, data_format="nt")
    return [Result(r["focusNode"], r.get("resultPath") or "",
                   _local(r["sourceConstraintComponent"]), _local(r["severity"]),
                   r.get("value") or "")
            for r in report["results"]]


_RUDOF = threading.local()  # per thread: a session with the shapes read, (shapes, session)


def _pyrudof(data: str, shapes: str) -> list[Result]:
    import pyrudof

    held = getattr(_RUDOF, "session", None)
    if held is None or held[0] != shapes:
        rudof = pyrudof.Rudof(pyrudof.RudofConfig())
        rudof.read_shacl(shapes, reader_mode=pyrudof.ReaderMode.Strict)
        held = _RUDOF.session = (shapes, rudof)
    rudof = held[1]
    rudof.read_data(data, format=pyrudof.RDFFormat.NTriples,
                    reader_mode=pyrudof.ReaderMode.Strict, merge=False)
    report = rudof.validate_shacl()
    return [Result(_nt(str(r.focus_node)), _iri_path(str(r.path or "")),
                   _local(str(r.constraint_component)), _local(str(r.severity)),
                   _nt(str(r.value or ""))) for r in report]


def _iri_path(path: str) -> str:
    """A path that is one IRI, in N-Triples form; "" for a complex one (as pyshacl's)."""
    return "" if not path or path[0] in "^(" or " " in path else _nt(path)


def _nt(term: str) -> str:
    """A term in N-Triples form (pyrudof writes IRIs bare)."""
    return term if not term or term[0] in '<"_' else f"<{term}>"


ENGINES: dict[str, Engine] = {"pyshacl": _pyshacl, "pyshacl-turbo": _pyshacl_turbo,
                              "shacl-rust": _shacl_rust, "pyrudof": _pyrudof}
ENGINE = "pyrudof"
"""The engine dcatwatch validates with: pyrudof gives pyshacl's verdict and findings on every
corpus catalogue and generated dataset (``tests/test_shacl.py``, ``benchmarks/
bench_shacl.py``) at about a third of its CPU; pyshacl-turbo misses violations (5 verdicts
differ on the corpus) and shacl-rust reports valid xsd:date values as violations."""
