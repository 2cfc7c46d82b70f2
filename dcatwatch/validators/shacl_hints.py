"""Plain hints for SHACL findings: which property, and what to put there.

A SHACL result names a path and a constraint component; what the shape asks for (the class,
datatype, node kind or count) is read from the shapes themselves (:func:`shape_index`, by
record and path), so each hint says, in Swedish and English, what DCAT-AP 3.0.1 expects
of that property on that record, with an example value where there is one. The literal
``dct:format "text/csv"`` of Swedish catalogues (research/quality.md §6.4) has a hint of
its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from dcatwatch.dcat import namespaces as ns
from dcatwatch.validators.rules import RECORD_LABELS, Record

CODES = ("shacl.min_count", "shacl.max_count", "shacl.node_kind", "shacl.datatype",
         "shacl.class", "shacl.or", "shacl.other")
PREFIXES = (("dct", ns.DCT), ("dcat", ns.DCAT), ("foaf", ns.FOAF), ("vcard", ns.VCARD),
            ("dcatap", ns.DCATAP), ("adms", ns.ADMS),
            ("skos", "http://www.w3.org/2004/02/skos/core#"),
            ("xsd", "http://www.w3.org/2001/XMLSchema#"), ("prov", "http://www.w3.org/ns/prov#"),
            ("spdx", "http://spdx.org/rdf/terms#"), ("odrl", "http://www.w3.org/ns/odrl/2/"),
            ("rdf", "http://www.w3.org/1999/02/22-rdf-syntax-ns#"),
            ("eli", "http://data.europa.eu/eli/ontology#"),
            ("time", "http://www.w3.org/2006/time#"))
EU = "http://publications.europa.eu/resource/authority/"
EXAMPLES: dict[str, str] = {  # class → an example value
    "dct:MediaTypeOrExtent": EU + "file-type/CSV",
    "dct:MediaType": "https://www.iana.org/assignments/media-types/text/csv",
    "dct:LicenseDocument": "http://creativecommons.org/licenses/by/4.0/",
    "dct:RightsStatement": EU + "access-right/PUBLIC",
    "dct:Frequency": EU + "frequency/ANNUAL",
    "dct:LinguisticSystem": EU + "language/SWE",
    "dct:Location": EU + "country/SWE",
    "skos:Concept": EU + "data-theme/ENVI",
}
DATATYPES: dict[str, str] = {  # datatype → an example literal
    "xsd:date": '"2024-01-31"^^xsd:date', "xsd:dateTime": '"2024-01-31T12:00:00"^^xsd:dateTime',
    "xsd:nonNegativeInteger": '"1024"^^xsd:nonNegativeInteger',
    "xsd:decimal": '"0.5"^^xsd:decimal', "rdf:langString": '"Titel"@sv',
    "xsd:duration": '"P1D"^^xsd:duration', "xsd:hexBinary": '"9f86d0…"^^xsd:hexBinary',
}
_RECORD_CLASSES = {"dataset": ns.DATASET, "distribution": ns.DISTRIBUTION}
_SH = "http://www.w3.org/ns/shacl#"


def code_of(component: str) -> str:
    """The finding code of a constraint component (``MinCountConstraintComponent`` →
    ``shacl.min_count``; components without a hint of their own: ``shacl.other``)."""
    local = component.removesuffix("ConstraintComponent")
    code = "shacl." + re.sub(r"(?<=[a-z])(?=[A-Z])", "_", local).lower()
    return code if code in CODES else "shacl.other"


def compact(iri: str) -> str:
    """``dct:format`` for ``<http://purl.org/dc/terms/format>`` (the IRI when no prefix)."""
    bare = iri.strip("<>")
    for prefix, namespace in PREFIXES:
        if bare.startswith(namespace):
            return f"{prefix}:{bare[len(namespace):]}"
    return bare


@dataclass(frozen=True, slots=True)
class ShapeIndex:
    """What the shapes ask of each (record, property): ``sh:class``, ``sh:datatype``,
    ``sh:nodeKind``, ``sh:maxCount`` (compact names)."""

    asks: dict[tuple[str, str], dict[str, str]]

    def compact(self, path: str) -> str:
        return compact(path) if path else ""

    def of(self, record: str, prop: str) -> dict[str, str]:
        return self.asks.get((record, prop), {})


@lru_cache(maxsize=1)
def shape_index() -> ShapeIndex:
    """The index of the shapes dcatwatch validates with."""
    import rdflib

    from dcatwatch.validators.shacl import shapes_text

    graph = rdflib.Graph().parse(data=shapes_text(), format="turtle")
    sh = rdflib.Namespace(_SH)
    asks: dict[tuple[str, str], dict[str, str]] = {}
    for record, cls in _RECORD_CLASSES.items():
        for shape in graph.subjects(sh.targetClass, rdflib.URIRef(cls)):
            for prop in graph.objects(shape, sh.property):
                path = graph.value(prop, sh.path)
                if not isinstance(path, rdflib.URIRef):
                    continue
                found = asks.setdefault((record, compact(str(path))), {})
                for key in ("class", "datatype", "nodeKind", "maxCount"):
                    given = graph.value(prop, sh[key])
                    if given is not None:
                        found[key] = compact(str(given))
    return ShapeIndex(asks)


def hint(code: str, prop: str, record: Record, language: str = "sv") -> str:
    """What to do about a SHACL finding ``code`` on ``prop`` of ``record``, in ``language``."""
    sv, en = _hint(code, prop, record)
    return sv if language == "sv" else en


def _what(asks: dict[str, str]) -> tuple[str, str]:
    """What a value must be, as (sv, en), from what the shape asks."""
    if "class" in asks:
        cls = asks["class"]
        example = EXAMPLES.get(cls)
        tail_sv = f", t.ex. <{example}>" if example else f" (en resurs med rdf:type {cls})"
        tail_en = f", e.g. <{example}>" if example else f" (a resource with rdf:type {cls})"
        return f"en IRI av typen {cls}{tail_sv}", f"an IRI of class {cls}{tail_en}"
    if "datatype" in asks:
        datatype = asks["datatype"]
        example = DATATYPES.get(datatype)
        return (f"ett värde av datatypen {datatype}" + (f", t.ex. {example}" if example else ""),
                f"a value of datatype {datatype}" + (f", e.g. {example}" if example else ""))
    if asks.get("nodeKind") == "sh:Literal":
        return "en text (literal)", "a text (literal)"
    if asks.get("nodeKind") in ("sh:IRI", "sh:BlankNodeOrIRI"):
        return "en IRI", "an IRI"
    return "ett värde", "a value"


def _hint(code: str, prop: str, record: Record) -> tuple[str, str]:
    record_sv, record_en = RECORD_LABELS[record]
    asks = shape_index().of(record, prop)
    what_sv, what_en = _what(asks)
    if code == "shacl.node_kind" and prop == "dct:format":
        return (f"Formatet på {record_sv} är skrivet som text (t.ex. \"text/csv\"). Skriv "
                f"formatet som en IRI från EU:s filtypslista, t.ex. <{EU}file-type/CSV>, och "
                "medietypen i dcat:mediaType som IANA-IRI, t.ex. "
                "<https://www.iana.org/assignments/media-types/text/csv>.",
                f"The format of {record_en} is written as text (e.g. \"text/csv\"). Write the "
                f"format as an IRI from the EU file-type list, e.g. <{EU}file-type/CSV>, and "
                "the media type in dcat:mediaType as an IANA IRI, e.g. "
                "<https://www.iana.org/assignments/media-types/text/csv>.")
    if code == "shacl.min_count":
        return (f"Ange {prop} för {record_sv}: DCAT-AP 3.0.1 kräver {what_sv}.",
                f"Give {record_en} {prop}: DCAT-AP 3.0.1 requires {what_en}.")
    if code == "shacl.max_count":
        most = asks.get("maxCount", "1")
        return (f"{prop} får ha högst {most} värde på {record_sv}; ta bort de övriga.",
                f"{prop} may have at most {most} value on {record_en}; remove the others.")
    if code in ("shacl.node_kind", "shacl.datatype", "shacl.class"):
        return (f"Värdet av {prop} på {record_sv} ska vara {what_sv}.",
                f"The value of {prop} on {record_en} must be {what_en}.")
    if code == "shacl.or":
        return (f"Värdet av {prop} på {record_sv} ska vara ett datum: xsd:date eller "
                "xsd:dateTime, t.ex. \"2024-01-31\"^^xsd:date.",
                f"The value of {prop} on {record_en} must be a date: xsd:date or "
                "xsd:dateTime, e.g. \"2024-01-31\"^^xsd:date.")
    return (f"Värdet av {prop} på {record_sv} följer inte DCAT-AP 3.0.1; det ska vara "
            f"{what_sv}.",
            f"The value of {prop} on {record_en} does not follow DCAT-AP 3.0.1; it must be "
            f"{what_en}.")
