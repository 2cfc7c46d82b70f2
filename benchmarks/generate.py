"""Generate a synthetic DCAT-AP-SE catalogue of N datasets in any RDF serialisation.

    python benchmarks/generate.py 10000 out.rdf [--format rdfxml|turtle|ntriples|jsonld]
        [--agencies 50] [--seed 1] [--dataportal]

About 24 triples per dataset (10 000 datasets ≈ 240 000 triples). Publishers are
``http://dataportal.se/organisation/SE<orgnr>`` IRIs (``--dataportal``) or agency-owned IRIs.
Distributions mix APIs (accessService), CSV/JSON files and PDF documents, so the output
exercises classification as well as parsing.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

import pyoxigraph as ox

FORMATS = {
    "rdfxml": ox.RdfFormat.RDF_XML,
    "turtle": ox.RdfFormat.TURTLE,
    "ntriples": ox.RdfFormat.N_TRIPLES,
    "jsonld": ox.RdfFormat.JSON_LD,
}

DCAT = "http://www.w3.org/ns/dcat#"
DCT = "http://purl.org/dc/terms/"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
FOAF = "http://xmlns.com/foaf/0.1/"
VCARD = "http://www.w3.org/2006/vcard/ns#"
BASE = "https://data.example.se"
MEDIA = ["text/csv", "application/json", "application/pdf", "text/csv", "application/vnd.ms-excel"]


def _iri(value: str) -> str:
    return f"<{value}>"


def _lit(value: str, lang: str | None = None) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"@{lang}' if lang else f'"{escaped}"'


def agency_iri(index: int, dataportal: bool) -> str:
    orgnr = f"202100{index:04d}"
    if dataportal:
        return f"http://dataportal.se/organisation/SE{orgnr}"
    return f"{BASE}/agency/{orgnr}"


def ntriples(n: int, agencies: int = 50, seed: int = 1, dataportal: bool = True,
             catalog: str = f"{BASE}/catalog") -> str:
    """The catalogue as N-Triples text (the other formats are converted from it)."""
    rng = random.Random(seed)
    out: list[str] = []
    add = out.append
    add(f"{_iri(catalog)} <{RDF_TYPE}> <{DCAT}Catalog> .")
    add(f"{_iri(catalog)} <{DCT}title> {_lit('Syntetisk katalog', 'sv')} .")
    add(f"{_iri(catalog)} <{DCT}publisher> {_iri(agency_iri(0, dataportal))} .")
    for a in range(agencies):
        add(f"{_iri(agency_iri(a, dataportal))} <{RDF_TYPE}> <{FOAF}Organization> .")
        add(f"{_iri(agency_iri(a, dataportal))} <{FOAF}name> {_lit(f'Myndighet {a}', 'sv')} .")
    for i in range(n):
        ds = f"{BASE}/dataset/{i}"
        agency = agency_iri(i % agencies, dataportal)
        add(f"{_iri(catalog)} <{DCAT}dataset> {_iri(ds)} .")
        add(f"{_iri(ds)} <{RDF_TYPE}> <{DCAT}Dataset> .")
        add(f"{_iri(ds)} <{DCT}title> {_lit(f'Datamängd {i}', 'sv')} .")
        add(f"{_iri(ds)} <{DCT}title> {_lit(f'Dataset {i}', 'en')} .")
        add(f"{_iri(ds)} <{DCT}description> {_lit(f'Beskrivning av datamängd {i} med åäö.', 'sv')} .")
        add(f"{_iri(ds)} <{DCT}publisher> {_iri(agency)} .")
        add(f"{_iri(ds)} <{DCAT}keyword> {_lit(f'nyckelord{rng.randrange(100)}', 'sv')} .")
        add(f"{_iri(ds)} <{DCAT}keyword> {_lit(f'ämne{rng.randrange(50)}', 'sv')} .")
        add(f"{_iri(ds)} <{DCT}identifier> {_lit(f'ds-{i}')} .")
        add(f"{_iri(ds)} <{DCAT}landingPage> <{BASE}/sida/{i}> .")
        add(f"{_iri(ds)} <{DCT}accessRights> "
            "<http://publications.europa.eu/resource/authority/access-right/PUBLIC> .")
        add(f"{_iri(ds)} <{DCAT}theme> <http://publications.europa.eu/resource/authority/data-theme/GOVE> .")
        add(f"{_iri(ds)} <{DCT}modified> \"2025-0{1 + i % 9}-1{i % 10}\"^^<http://www.w3.org/2001/XMLSchema#date> .")
        add(f"{_iri(ds)} <{DCAT}contactPoint> _:c{i} .")
        add(f"_:c{i} <{RDF_TYPE}> <{VCARD}Organization> .")
        add(f"_:c{i} <{VCARD}fn> {_lit('Kundtjänst')} .")
        add(f"_:c{i} <{VCARD}hasEmail> <mailto:info{i % agencies}@example.se> .")
        kind = i % 10
        dist = f"{ds}/distribution/1"
        add(f"{_iri(ds)} <{DCAT}distribution> {_iri(dist)} .")
        add(f"{_iri(dist)} <{RDF_TYPE}> <{DCAT}Distribution> .")
        add(f"{_iri(dist)} <{DCAT}accessURL> <{BASE}/files/{i}> .")
        add(f"{_iri(dist)} <{DCT}title> {_lit(f'Fil {i}', 'sv')} .")
        add(f"{_iri(dist)} <{DCT}format> {_lit(MEDIA[kind % len(MEDIA)])} .")
        add(f"{_iri(dist)} <{DCT}license> <http://creativecommons.org/publicdomain/zero/1.0/> .")
        if kind == 0:
            service = f"{BASE}/api/{i}"
            add(f"{_iri(dist)} <{DCAT}accessService> {_iri(service)} .")
            add(f"{_iri(service)} <{RDF_TYPE}> <{DCAT}DataService> .")
            add(f"{_iri(service)} <{DCT}title> {_lit(f'API för datamängd {i}', 'sv')} .")
            add(f"{_iri(service)} <{DCAT}endpointURL> <{BASE}/api/{i}/v1> .")
        else:
            add(f"{_iri(dist)} <{DCAT}downloadURL> <{BASE}/files/{i}.csv> .")
    return "\n".join(out) + "\n"


def write(n: int, path: Path, syntax: str = "rdfxml", **kwargs: object) -> Path:
    """Write a catalogue of ``n`` datasets to ``path`` in ``syntax``."""
    text = ntriples(n, **kwargs)  # type: ignore[arg-type]
    if syntax == "ntriples":
        path.write_text(text, encoding="utf-8")
        return path
    triples = ox.parse(input=text.encode(), format=ox.RdfFormat.N_TRIPLES)
    with path.open("wb") as handle:
        ox.serialize(triples, handle, FORMATS[syntax],
                     prefixes={"dcat": DCAT, "dct": DCT, "foaf": FOAF, "vcard": VCARD})
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("datasets", type=int)
    parser.add_argument("out", type=Path)
    parser.add_argument("--format", choices=sorted(FORMATS), default="rdfxml")
    parser.add_argument("--agencies", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--dataportal", action="store_true",
                        help="publishers as http://dataportal.se/organisation/SE<orgnr>")
    args = parser.parse_args()
    write(args.datasets, args.out, args.format, agencies=args.agencies, seed=args.seed,
          dataportal=args.dataportal)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
