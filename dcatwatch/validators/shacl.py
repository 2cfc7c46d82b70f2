"""DCAT-AP 3.0.1 compliance of dataset descriptions, checked in batches (MQA's 30 points).

The shapes are SEMIC's ``html/shacl`` base and range shapes (``shapes/``, CC BY 4.0, see
NOTICE.md; ``sh:shape``, which is no SHACL term and which pyshacl ignores, is dropped so
that every engine reads them alike). The range shapes ask that a value be an instance of a
class (a ``dct:format`` a ``dct:MediaTypeOrExtent`` …); harvested data never types the EU
vocabulary IRIs it uses, so each batch carries background knowledge:

* ``shapes/background.nt`` (made by ``scripts/gen_shacl_background.py``): the class of each
  IRI of the vocabularies dcatwatch lists, and the subclass links of the imported ontologies;
* for the open vocabularies dcatwatch recognises by pattern (IANA media types, EU file-type,
  language, frequency and licence codes, GeoNames places) the class of each such IRI the
  batch uses, with the same tests as the metadata rules (:mod:`dcatwatch.dcat.vocabularies`),
  so a value the rules accept is never a SHACL violation;
* for ``dcat:landingPage``, ``foaf:page`` and ``dct:conformsTo``, whose range in the DCAT and
  DCMI ontologies (``imports.ttl``) is a class any web page or standard belongs to, that
  class for each IRI value (what RDFS entailment with those imports gives; a literal there
  still breaks ``sh:nodeKind``);
* the data services of the source, as ``dcat:DataService`` (``dcat:accessService``).

A batch is many descriptions in one graph (blank nodes relabelled per description). As
data.europa.eu counts it, a dataset complies when no ``sh:Violation`` has the dataset or
one of its distributions as focus node; each result on those nodes becomes a
:class:`~dcatwatch.validators.metadata.Finding` (``shacl.*`` codes, hints naming the
property and what to put there: :mod:`dcatwatch.validators.shacl_hints`). A literal that
breaks both ``sh:nodeKind`` and ``sh:class`` (``dct:format "text/csv"``) is one finding.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from dcatwatch.dcat import namespaces as ns
from dcatwatch.dcat import vocabularies as vocab
from dcatwatch.dcat.terms import is_blank, value
from dcatwatch.validators.metadata import Finding
from dcatwatch.validators.rules import Record, Severity
from dcatwatch.validators.shacl_engines import ENGINE, ENGINES, Result
from dcatwatch.validators.shacl_hints import code_of, shape_index

SHAPES_DIR = Path(__file__).resolve().parent / "shapes"
SHAPE_FILES = ("dcat-ap-3.0.1-shapes.ttl", "dcat-ap-3.0.1-range.ttl")
BACKGROUND = SHAPES_DIR / "background.nt"
SEVERITIES: dict[str, Severity] = {"Violation": "error", "Warning": "warning", "Info": "info"}
TYPE = f"<{ns.RDF_TYPE}>"
_DCT, _DCAT = ns.DCT, ns.DCAT
DISTRIBUTION = f"<{_DCAT}distribution>"
GEONAMES = re.compile(r"^https?://sws\.geonames\.org/\d+/?$")
ANY_IRI = re.compile("")
FOAF_DOCUMENT = ns.FOAF + "Document"
PATTERN_CLASSES: dict[str, tuple[tuple[object, str], ...]] = {
    # predicate → (test, class): open vocabularies, typed when a batch uses one of their IRIs
    f"<{_DCT}format>": ((vocab.FILE_TYPE, _DCT + "MediaTypeOrExtent"),
                        (vocab.MEDIA_TYPE_IRI, _DCT + "MediaType")),
    f"<{_DCAT}mediaType>": ((vocab.MEDIA_TYPE_IRI, _DCT + "MediaType"),),
    f"<{_DCAT}compressFormat>": ((vocab.MEDIA_TYPE_IRI, _DCT + "MediaType"),),
    f"<{_DCAT}packageFormat>": ((vocab.MEDIA_TYPE_IRI, _DCT + "MediaType"),),
    f"<{_DCT}language>": ((vocab.LANGUAGE, _DCT + "LinguisticSystem"),),
    f"<{_DCT}accrualPeriodicity>": ((vocab.FREQUENCY, _DCT + "Frequency"),),
    f"<{_DCT}license>": ((vocab.LICENCE, _DCT + "LicenseDocument"),),
    f"<{_DCT}spatial>": ((GEONAMES, _DCT + "Location"),),
    # ranges the imported ontologies give every value: a page is a foaf:Document, what a
    # record conforms to a dct:Standard (rdfs:range in DCAT and DCMI terms)
    f"<{_DCAT}landingPage>": ((ANY_IRI, FOAF_DOCUMENT),),
    f"<{ns.FOAF}page>": ((ANY_IRI, FOAF_DOCUMENT),),
    f"<{_DCT}conformsTo>": ((ANY_IRI, _DCT + "Standard"),),
}
_OBJECT_LINE = re.compile(r"^(\S+) (<[^>]*>) <([^>]*)> \.$", re.MULTILINE)
_BLANK_SUBJECT = re.compile(r"^_:", re.MULTILINE)
_BLANK_OBJECT = re.compile(r" _:(\S+) \.$", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class Description:
    """One stored dataset description to check: ``key`` names it to the caller (a dataset
    id), ``iri`` is the dataset's name in findings, ``text`` its N-Triples (dataset first)."""

    key: int | str
    iri: str
    text: str


@dataclass(slots=True)
class Verdict:
    """A description's compliance: ``conforms`` when no violation is on the dataset or its
    distributions; ``findings``: every result on them."""

    conforms: bool = True
    findings: list[Finding] = field(default_factory=list)


@lru_cache(maxsize=1)
def shapes_text() -> str:
    """The shapes graph as the engines read it (Turtle; ``sh:shape`` dropped)."""
    import rdflib

    graph = rdflib.Graph()
    for name in SHAPE_FILES:
        graph.parse(SHAPES_DIR / name, format="turtle")
    graph.remove((None, rdflib.URIRef("http://www.w3.org/ns/shacl#shape"), None))
    return graph.serialize(format="turtle")


@lru_cache(maxsize=1)
def background() -> tuple[str, frozenset[str]]:
    """The shipped background triples, and the IRIs they type."""
    text = BACKGROUND.read_text(encoding="utf-8")
    return text, frozenset(line.split(" ", 1)[0] for line in text.splitlines())


@lru_cache(maxsize=1)
def fingerprint() -> str:
    """What a stored verdict was checked against: shapes, background and engine. A verdict
    checked against anything else is checked again."""
    digest = hashlib.sha256(shapes_text().encode())
    digest.update(background()[0].encode())
    digest.update(ENGINE.encode())
    return digest.hexdigest()[:16]


def batch_text(descriptions: Sequence[Description], services: Iterable[str] = ()) -> str:
    """The descriptions in one N-Triples graph with the background knowledge they need; the
    blank nodes of description *i* are relabelled ``_:d<i>_…``."""
    parts = []
    for index, description in enumerate(descriptions):
        text = _BLANK_SUBJECT.sub(f"_:d{index}_", description.text)
        parts.append(_BLANK_OBJECT.sub(rf" _:d{index}_\1 .", text))
    data = "".join(parts)
    known_text, known = background()
    typed = [f"<{iri}> {TYPE} <{_DCAT}DataService> .\n" for iri in dict.fromkeys(services)]
    seen: set[tuple[str, str]] = set()
    for match in _OBJECT_LINE.finditer(data):
        tests = PATTERN_CLASSES.get(match[2])
        iri = match[3]
        if tests is None or f"<{iri}>" in known:
            continue
        for test, cls in tests:
            accepted = test.accepts(iri) if isinstance(test, vocab.Vocabulary) \
                else bool(test.match(iri))  # type: ignore[attr-defined]
            if accepted and (iri, cls) not in seen:
                seen.add((iri, cls))
                typed.append(f"<{iri}> {TYPE} <{cls}> .\n")
    return data + known_text + "".join(typed)


def check(descriptions: Sequence[Description], services: Iterable[str] = (),
          engine: str = ENGINE) -> dict[int | str, Verdict]:
    """The verdict of each description (by key), validated together in one graph."""
    results = ENGINES[engine](batch_text(descriptions, services), shapes_text())
    return verdicts(descriptions, results)


def verdicts(descriptions: Sequence[Description],
             results: Iterable[Result]) -> dict[int | str, Verdict]:
    """Each description's verdict from the results of its batch (see :func:`batch_text`)."""
    owners: dict[str, list[tuple[Description, Record]]] = {}
    for index, description in enumerate(descriptions):
        for node, record in _focus_nodes(description.text, index):
            owners.setdefault(node, []).append((description, record))
    found: dict[int | str, Verdict] = {d.key: Verdict() for d in descriptions}
    both = {(r.focus, r.path, r.value) for r in results
            if r.component == "NodeKindConstraintComponent"}
    index = shape_index()
    for result in results:
        if result.component == "ClassConstraintComponent" and \
                (result.focus, result.path, result.value) in both:
            continue  # a literal where an IRI of a class belongs: said once, by sh:nodeKind
        for description, record in owners.get(result.focus, ()):
            verdict = found[description.key]
            severity = SEVERITIES.get(result.severity, "error")
            verdict.conforms = verdict.conforms and result.severity != "Violation"
            verdict.findings.append(Finding(
                code_of(result.component), severity, record,
                _subject(result.focus, description, record), index.compact(result.path),
                value(result.value) if result.value else None, description.iri))
    for verdict in found.values():
        verdict.findings.sort(key=lambda f: (f.subject, f.code, f.property, f.value or ""))
    return found


def _focus_nodes(text: str, index: int) -> list[tuple[str, Record]]:
    """The dataset node and its distribution nodes of a description, as relabelled."""
    root = text.split(" ", 1)[0]
    nodes: list[tuple[str, Record]] = [(root, "dataset")]
    for line in text.splitlines():
        subject, predicate, rest = line.split(" ", 2)
        if subject == root and predicate == DISTRIBUTION:
            nodes.append((rest[:-2], "distribution"))
    return [(f"_:d{index}_{node[2:]}" if is_blank(node) else node, record)
            for node, record in nodes]


def _subject(focus: str, description: Description, record: Record) -> str:
    if not is_blank(focus):
        return value(focus)
    return description.iri if record == "dataset" else f"{description.iri} (blank node)"
