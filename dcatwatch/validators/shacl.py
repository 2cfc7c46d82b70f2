"""Optional SHACL validation with pyshacl against the DCAT-AP 3.0.1 "Base" shapes.

Switched on by ``[validation] shacl = true``; pyshacl is an optional dependency (the
``shacl`` extra). The shapes ship with dcatwatch (``shapes/``, CC BY 4.0, see NOTICE.md):
only the base shapes, as range and vocabulary shapes without the EU vocabularies loaded flag
every vocabulary IRI (research/quality.md §6.3). Settings as measured there: no inference,
no meta-SHACL, no advanced features. Each result becomes a :class:`Finding` coded by its
constraint component (``shacl.min_count`` …, hints in :data:`~dcatwatch.validators.rules.
SHACL_HINTS`), its severity from ``sh:resultSeverity``. The service validates each stored
dataset description (data services are kept as mapped JSON, not triples, and are not
SHACL-checked); about 25 to 40 ms per dataset once the shapes are loaded.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from dcatwatch.dcat import namespaces as ns
from dcatwatch.errors import ConfigError
from dcatwatch.validators.metadata import Finding
from dcatwatch.validators.rules import SHACL_HINTS, Record, Severity

SHAPES = Path(__file__).resolve().parent / "shapes" / "dcat-ap-3.0.1-shapes.ttl"
SH = "http://www.w3.org/ns/shacl#"
SEVERITIES: dict[str, Severity] = {SH + "Violation": "error", SH + "Warning": "warning",
                                   SH + "Info": "info"}
RECORDS: dict[str, Record] = {ns.CATALOG: "catalog", ns.DATASET: "dataset",
                              ns.DATASET_SERIES: "dataset", ns.DISTRIBUTION: "distribution",
                              ns.DATA_SERVICE: "data_service", ns.FOAF + "Agent": "agent",
                              ns.FOAF + "Organization": "agent", ns.VCARD + "Kind": "contact",
                              ns.VCARD + "Organization": "contact",
                              ns.VCARD + "Individual": "contact"}


@lru_cache(maxsize=1)
def _shapes() -> Any:
    import rdflib

    return rdflib.Graph().parse(SHAPES, format="turtle")


def _pyshacl() -> Any:
    try:
        import pyshacl
    except ImportError:
        raise ConfigError("validation.shacl", "needs pyshacl: pip install 'dcatwatch[shacl]'")\
            from None
    return pyshacl


def shacl_findings(ntriples: str, blank_subject: str = "(blank node)") -> list[Finding]:
    """SHACL findings of the records in ``ntriples`` (a stored description or a document);
    a blank focus node is named ``blank_subject``."""
    import rdflib

    data = rdflib.Graph().parse(data=ntriples, format="nt")
    conforms, results, _ = _pyshacl().validate(
        data, shacl_graph=_shapes(), inference="none", advanced=False, meta_shacl=False,
        abort_on_first=False, allow_warnings=True)
    if conforms:
        return []
    found = []
    for result in results.subjects(rdflib.RDF.type, rdflib.URIRef(SH + "ValidationResult")):
        focus = results.value(result, rdflib.URIRef(SH + "focusNode"))
        path = results.value(result, rdflib.URIRef(SH + "resultPath"))
        component = results.value(result, rdflib.URIRef(SH + "sourceConstraintComponent"))
        severity = results.value(result, rdflib.URIRef(SH + "resultSeverity"))
        offending = results.value(result, rdflib.URIRef(SH + "value"))
        types = {str(t) for t in data.objects(focus, rdflib.RDF.type)}
        record = next((RECORDS[t] for t in types if t in RECORDS), "dataset")
        subject = blank_subject if isinstance(focus, rdflib.BNode) else str(focus)
        found.append(Finding(_code(str(component)), SEVERITIES.get(str(severity), "error"),
                             record, subject,
                             _compact(str(path)) if path is not None else "",
                             str(offending) if offending is not None else None))
    return sorted(found, key=lambda f: (f.subject, f.code, f.property))


def _code(component: str) -> str:
    local = component.rsplit("#", 1)[-1].removesuffix("ConstraintComponent")
    code = "shacl." + re.sub(r"(?<=[a-z])(?=[A-Z])", "_", local).lower()
    return code if code in SHACL_HINTS else "shacl.other"


def _compact(path: str) -> str:
    for prefix, namespace in (("dct", ns.DCT), ("dcat", ns.DCAT), ("foaf", ns.FOAF),
                              ("vcard", ns.VCARD), ("dcatap", ns.DCATAP), ("adms", ns.ADMS)):
        if path.startswith(namespace):
            return f"{prefix}:{path[len(namespace):]}"
    return path
