"""Generate ``dcatwatch/validators/shapes/background.nt``: what the DCAT-AP range shapes need
to know about the vocabularies dcatwatch recognises.

    python scripts/gen_shacl_background.py

The range shapes (``range.ttl``) ask that a value be an instance of a class: a
``dct:format`` a ``dct:MediaTypeOrExtent``, a ``dcat:theme`` a ``skos:Concept``, a licence a
``dct:LicenseDocument`` … Harvested data never types the EU vocabulary IRIs it uses, so
without this background every valid vocabulary IRI is a violation (research/quality.md §6.3).
This file gives each IRI of the vocabularies of :mod:`dcatwatch.dcat.vocabularies`,
:mod:`dcatwatch.dcat.filetypes` and :mod:`dcatwatch.dcat.vocab` (the media types it knows)
the class the shapes ask for (http and https alike, as the vocabularies accept both), and
the subclass links of the imported ontologies that make a ``vcard:Organization`` a
``vcard:Kind`` and a ``foaf:Organization`` a ``foaf:Agent``. It reads only dcatwatch's own
modules (offline, reproducible: the same package gives the same file, which a test checks).
Open vocabularies recognised by pattern (EU licence, language and file-type codes, IANA media
types, GeoNames) are typed per batch instead (:data:`dcatwatch.validators.shacl.
PATTERN_CLASSES`). Run again when a vocabulary changes; the package reads only the
generated file.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from dcatwatch.dcat import vocabularies as vocab
from dcatwatch.dcat.filetypes import FILE_TYPES
from dcatwatch.dcat.languages import ISO_639_2
from dcatwatch.dcat.vocab import MEDIA_TYPES, NEWER_EU_CODES

OUT = Path(__file__).resolve().parent.parent / "dcatwatch" / "validators" / "shapes" / \
    "background.nt"
EU = vocab.EU_AUTHORITY
RDF_TYPE = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"
SUBCLASS = "<http://www.w3.org/2000/01/rdf-schema#subClassOf>"
DCT = "http://purl.org/dc/terms/"
SKOS_CONCEPT = "http://www.w3.org/2004/02/skos/core#Concept"
PREF_LABEL = "<http://www.w3.org/2004/02/skos/core#prefLabel>"
VCARD = "http://www.w3.org/2006/vcard/ns#"
FOAF = "http://xmlns.com/foaf/0.1/"

SUBCLASSES = (  # from the imported ontologies (DCMI terms, vCard, FOAF)
    (DCT + "MediaType", DCT + "MediaTypeOrExtent"),
    *((VCARD + kind, VCARD + "Kind") for kind in ("Individual", "Organization", "Location",
                                                 "Group")),
    *((FOAF + kind, FOAF + "Agent") for kind in ("Organization", "Person", "Group")),
)
FREQUENCIES = (  # EU frequency authority table
    "ANNUAL", "ANNUAL_2", "ANNUAL_3", "BIENNIAL", "BIDECENNIAL", "BIHOURLY", "BIMONTHLY",
    "BIWEEKLY", "CONT", "DAILY", "DAILY_2", "DECENNIAL", "HOURLY", "IRREG", "MONTHLY",
    "MONTHLY_2", "MONTHLY_3", "NEVER", "OP_DATPRO", "OTHER", "QUADRENNIAL", "QUARTERLY",
    "QUINQUENNIAL", "TRIDECENNIAL", "TRIENNIAL", "TRIHOURLY", "UNKNOWN", "UPDATE_CONT",
    "WEEKLY", "WEEKLY_2", "WEEKLY_3", "1MIN", "5MIN", "10MIN", "15MIN", "30MIN", "12HRS",
    "1HOUR")
DC_FREQUENCIES = (  # Dublin Core collection frequencies (deprecated, still accepted)
    "annual", "biennial", "bimonthly", "biweekly", "continuous", "daily", "irregular",
    "monthly", "quarterly", "semiannual", "semimonthly", "semiweekly", "threeTimesAMonth",
    "threeTimesAWeek", "threeTimesAYear", "triennial", "weekly")
COUNTRIES = (  # EU/EEA countries and neighbours: the spatial values Swedish catalogues use
    "AUT", "BEL", "BGR", "CHE", "CYP", "CZE", "DEU", "DNK", "ESP", "EST", "FIN", "FRA", "GBR",
    "GRC", "HRV", "HUN", "IRL", "ISL", "ITA", "LIE", "LTU", "LUX", "LVA", "MLT", "NLD", "NOR",
    "POL", "PRT", "ROU", "SVK", "SVN", "SWE")


def _schemes(iri: str) -> list[str]:
    """``iri`` as written and with the other scheme (the vocabularies accept both)."""
    if iri.startswith("http://"):
        return [iri, "https://" + iri[len("http://"):]]
    if iri.startswith("https://"):
        return [iri, "http://" + iri[len("https://"):]]
    return [iri]


def typed() -> dict[str, set[str]]:
    """Each vocabulary IRI → the classes the range shapes ask it to have."""
    found: dict[str, set[str]] = {}

    def add(iris: object, *classes: str) -> None:
        for iri in iris:  # type: ignore[attr-defined]
            for written in _schemes(iri):
                found.setdefault(written, set()).update(classes)

    file_types = sorted(set(FILE_TYPES) | NEWER_EU_CODES)
    add((EU + "file-type/" + code for code in file_types), DCT + "MediaTypeOrExtent")
    media = sorted(set(MEDIA_TYPES) | {m for _, _, types in FILE_TYPES.values() for m in types})
    add(("http://www.iana.org/assignments/media-types/" + m for m in media), DCT + "MediaType")
    add(vocab.DATA_THEME.values, SKOS_CONCEPT)
    add(vocab.ACCESS_RIGHT.values, DCT + "RightsStatement")
    add((EU + "frequency/" + code for code in FREQUENCIES), DCT + "Frequency")
    add(("http://purl.org/cld/freq/" + code for code in DC_FREQUENCIES), DCT + "Frequency")
    add((EU + "language/" + code.upper() for code in ISO_639_2), DCT + "LinguisticSystem")
    add(vocab.AVAILABILITY.values, SKOS_CONCEPT)
    add(vocab.DISTRIBUTION_STATUS.values, SKOS_CONCEPT)
    add(vocab.PUBLISHER_TYPE.values, SKOS_CONCEPT)
    add((EU + "country/" + code for code in COUNTRIES), DCT + "Location")
    add([EU + "continent/EUROPE"], DCT + "Location")
    cc = sorted(vocab.CC_LICENCES)
    add(cc + [iri.rstrip("/") for iri in cc], DCT + "LicenseDocument")
    return found


def render() -> str:
    lines = [f"<{sub}> {SUBCLASS} <{sup}> .\n" for sub, sup in SUBCLASSES]
    for iri, classes in sorted(typed().items()):
        lines += [f"<{iri}> {RDF_TYPE} <{cls}> .\n" for cls in sorted(classes)]
        if SKOS_CONCEPT in classes:  # the shapes ask a concept for a label
            label = iri.rstrip("/").rsplit("/", 1)[-1]
            lines.append(f'<{iri}> {PREF_LABEL} "{label}" .\n')
    return "".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    text = render()
    args.out.write_text(text, encoding="utf-8")
    print(f"{args.out}: {text.count(chr(10))} triples")


if __name__ == "__main__":
    main()
