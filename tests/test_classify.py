"""Classification: a table of hand-written distributions covering every rule and format form,
then dataset-level behaviour (A2, title shortcut, levels, strong/weak, open)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest

from dcatwatch.cli_output import explanation
from dcatwatch.dcat.classify import (
    FORMAT_CONFLICT,
    RULES,
    LinkInfo,
    classify_dataset,
    classify_distribution,
    services_by_dataset,
)
from dcatwatch.dcat.model import DataService, Dataset, Distribution
from dcatwatch.errors import lookup
from dcatwatch.scoring.mqa import score_dataset

EU = "http://publications.europa.eu/resource/authority/file-type/"
IANA = "https://www.iana.org/assignments/media-types/"
ESTERMS = "http://entryscape.com/terms/"
DS = "https://data.example.se/dataset/trafik"
LANDING = "https://www.example.se/statistik/trafik"
API_SERVICE = "https://data.example.se/service/trafik-api"
INSPIRE_SERVICE_TYPE = "http://inspire.ec.europa.eu/metadata-codelist/SpatialDataServiceType/"
S, W = True, False  # strong / weak evidence

SERVICE = DataService(
    API_SERVICE,
    title={"sv": "Trafik-API"},
    endpoint_urls=["https://api.example.se/trafik/v1"],
    endpoint_descriptions=["https://api.example.se/trafik/v1/openapi.json"],
    conforms_to=["https://spec.openapis.org/oas/v3.1.0"],
    serves_datasets=[DS],
)
SERVICES = {API_SERVICE: SERVICE}


@dataclass
class Case:
    """One hand-written distribution and what the classifier must say about it."""

    id: str
    dist: dict[str, list[str]]
    cls: str
    evidence: list[tuple[str, bool]]  # (rule id, strong) in order
    codes: list[str] = field(default_factory=list)
    open: bool = False
    linked: bool = False
    landing: bool = False
    links: dict[str, LinkInfo] = field(default_factory=dict)


def fmt(*values: str) -> dict[str, list[str]]:
    return {"formats": list(values)}


def acc(url: str, **more: list[str]) -> dict[str, list[str]]:
    return {"access_urls": [url], **more}


def dl(url: str, **more: list[str]) -> dict[str, list[str]]:
    return {"download_urls": [url], **more}


CASES = [
    # --- A1: accessService / dataportal.se ServiceDistribution -------------------------------
    Case("A1 accessService", {"access_services": [API_SERVICE]}, "api",
         [("A1", S), ("A4", S), ("A4", S)]),
    Case("A1 beats CSV", {"access_services": [API_SERVICE], "formats": ["text/csv"]}, "api",
         [("A1", S), ("A4", S), ("A4", S)], codes=["CSV"], open=True),
    Case("A1 unknown service node", {"access_services": ["_:b0"]}, "api", [("A1", S)]),
    Case("A1 esterms:ServiceDistribution", {"types": [ESTERMS + "ServiceDistribution"]}, "api",
         [("A1", S)]),
    # --- A3: API format codes in every form ---------------------------------------------------
    Case("A3 EU WMS_SRVC", fmt(EU + "WMS_SRVC"), "api", [("A3", S)], codes=["WMS_SRVC"]),
    Case("A3 EU WFS_SRVC", fmt(EU + "WFS_SRVC"), "api", [("A3", S)], codes=["WFS_SRVC"]),
    Case("A3 EU REST (Esri)", fmt(EU + "REST"), "api", [("A3", S)], codes=["REST"]),
    Case("A3 EU SPARQLQ", fmt(EU + "SPARQLQ"), "api", [("A3", S)], codes=["SPARQLQ"]),
    Case("A3 SE wms_xml", fmt("application/vnd.ogc.wms_xml"), "api", [("A3", S)],
         codes=["WMS_SRVC"]),
    Case("A3 SE wfs_xml", fmt("application/vnd.ogc.wfs_xml"), "api", [("A3", S)],
         codes=["WFS_SRVC"]),
    Case("A3 sparql-query", fmt("application/sparql-query"), "api", [("A3", S)],
         codes=["SPARQLQ"]),
    Case("A3 openapi media type", {"media_types": ["application/vnd.oai.openapi+json"]}, "api",
         [("A3", S)], codes=["OPENAPI"]),
    Case("A3 IANA IRI wmts", fmt(IANA + "application/vnd.ogc.wmts_xml"), "api", [("A3", S)],
         codes=["WMTS_SRVC"]),
    Case("A3 text WMS", fmt("WMS"), "api", [("A3", S)], codes=["WMS_SRVC"]),
    Case("A3 text ESRI REST", fmt("ESRI REST"), "api", [("A3", S)], codes=["REST"]),
    Case("A3 text OGC API", fmt("OGC API - Features"), "api", [("A3", S)], codes=["OGC_API"]),
    Case("A3 text api", fmt("api"), "api", [("A3", S)], codes=["API"]),
    Case("A3 text GraphQL", fmt("GraphQL"), "api", [("A3", S)], codes=["GRAPHQL"]),
    Case("A3 text OData", fmt("OData"), "api", [("A3", S)], codes=["ODATA"]),
    # --- A4: conformsTo an API specification or description ----------------------------------
    Case("A4 OGC WFS service type",
         {"conforms_to": ["http://www.opengis.net/def/serviceType/ogc/wfs"]}, "api", [("A4", S)]),
    Case("A4 OpenAPI spec", {"conforms_to": ["https://spec.openapis.org/oas/v3.0.3"]}, "api",
         [("A4", S)]),
    Case("A4 openapi.json URL", {"conforms_to": ["https://api.example.se/v2/openapi.json"]},
         "api", [("A4", S)]),
    Case("A4 api-docs URL", {"conforms_to": ["https://api.example.se/v3/api-docs"]}, "api",
         [("A4", S)]),
    Case("A4 INSPIRE download service",
         {"conforms_to": [INSPIRE_SERVICE_TYPE + "download"]}, "api", [("A4", S)]),
    Case("A4 not for a data schema",
         {"conforms_to": ["https://www.example.se/schema/trafik.json"], "formats": ["CSV"]},
         "machine_readable", [("M1", S)], codes=["CSV"], open=True),
    # --- A5 (weak): endpoint-shaped accessURL -------------------------------------------------
    Case("A5 WMS GetCapabilities",
         acc("https://geo.example.se/ows?SERVICE=WMS&REQUEST=GetCapabilities",
             formats=["image/png"]), "api", [("A5", W)], codes=["PNG"]),
    Case("A5 sparql endpoint", acc("https://lod.example.se/sparql"), "api", [("A5", W)]),
    Case("A5 ArcGIS MapServer",
         acc("https://gis.example.se/arcgis/rest/services/Trafik/MapServer"), "api", [("A5", W)]),
    Case("A5 OData", acc("https://data.example.se/odata/v4/Trafik"), "api", [("A5", W)]),
    Case("A5 OGC API collections", acc("https://geo.example.se/collections/vagar/items?f=json"),
         "api", [("A5", W)]),
    Case("A5 geoserver wfs path", acc("https://geo.example.se/geoserver/wfs"), "api",
         [("A5", W)]),
    Case("A3 strong plus A5 weak",
         acc("https://geo.example.se/wms?service=WMS", formats=["WMS"]), "api",
         [("A3", S), ("A5", W)], codes=["WMS_SRVC"]),
    # --- A6 (weak): "API" as a word in the distribution title ----------------------------------
    Case("A6 title", {"title": ["Trafikdata via API"]}, "api", [("A6", W)]),
    Case("A6 beats PDF", {"title": ["API:er för väder"], "formats": ["application/pdf"]}, "api",
         [("A6", W)], codes=["PDF"]),
    Case("A6 needs a whole word", {"title": ["Rapid trafikdata"], "formats": ["CSV"]},
         "machine_readable", [("M1", S)], codes=["CSV"], open=True),
    # --- A3: EU file-type service codes without "_SRVC", and their common spellings -----------
    Case("A3 EU file-type/WMS", fmt(EU + "WMS"), "api", [("A3", S)], codes=["WMS_SRVC"]),
    Case("A3 EU file-type/wfs lower case", fmt(EU + "wfs"), "api", [("A3", S)],
         codes=["WFS_SRVC"]),
    Case("A3 EU file-type/WCS", fmt(EU + "WCS"), "api", [("A3", S)], codes=["WCS_SRVC"]),
    Case("A3 EU file-type/WMTS", fmt(EU + "WMTS"), "api", [("A3", S)], codes=["WMTS_SRVC"]),
    Case("A3 EU file-type/SOS", fmt(EU + "SOS"), "api", [("A3", S)], codes=["SOS_SRVC"]),
    Case("A3 EU file-type/OData", fmt(EU + "OData"), "api", [("A3", S)], codes=["ODATA"]),
    Case("A3 literal WMS_SRVC", fmt("WMS_SRVC"), "api", [("A3", S)], codes=["WMS_SRVC"]),
    Case("A3 literal OGC:WMS", fmt("OGC:WMS"), "api", [("A3", S)], codes=["WMS_SRVC"]),
    Case("A3 literal ogc-wfs", fmt("ogc-wfs"), "api", [("A3", S)], codes=["WFS_SRVC"]),
    Case("A3 media type wms+xml", fmt("application/vnd.ogc.wms+xml"), "api", [("A3", S)],
         codes=["WMS_SRVC"]),
    # --- A7 (weak): the distribution's description says API ------------------------------------
    Case("A7 'via API' in the description",
         {"description": ["Nedladdning via API i JSON-format"], "formats": ["application/json"]},
         "api", [("A7", W)], codes=["JSON"], open=True),
    Case("A7 German Schnittstelle", {"description": ["Abruf über die REST-Schnittstelle"]},
         "api", [("A7", W)]),
    Case("A7 Schnittstelle in the title", {"title": ["Schnittstelle Parkhäuser"]}, "api",
         [("A7", W)]),
    Case("A7 needs a whole word", {"description": ["Rapid kapitelvis"], "formats": ["CSV"]},
         "machine_readable", [("M1", S)], codes=["CSV"], open=True),
    Case("A7 not from a web address in the description (an HTML page)",
         {"description": ["Webseite von Destatis: https://www-genesis.destatis.de/genesis/"
                          "online?Menu=api&doc=webservice"], "formats": ["HTML"]},
         "document", [("D1", S)], codes=["HTML"]),
    Case("A7 not from a web address without a scheme",
         {"description": ["Webseite von Destatis, Doku unter destatis.de/api/doku.html"],
          "formats": ["HTML"]}, "document", [("D1", S)], codes=["HTML"]),
    Case("A7 still reads the words around a web address",
         {"description": ["Abfrage über die API: data.example.de/v1/stationen"]}, "api",
         [("A7", W)]),
    Case("A7 not from 'csv export of https://…/api/…'",
         {"description": ["csv export of https://opendata.example.de/api/v2/catalog/datasets/x"],
          "formats": ["CSV"]}, "machine_readable", [("M1", S)], codes=["CSV"], open=True),
    Case("A6 not from a web address in the title",
         {"title": ["https://x.de/api/v2/catalog/datasets/x"], "formats": ["CSV"]},
         "machine_readable", [("M1", S)], codes=["CSV"], open=True),
    # --- A8 (weak): an "api" token in the path of an accessURL that names no file -------------
    Case("A8 /api/ accessURL, no file format", acc("https://data.example.se/api/v1/trafik"),
         "api", [("A8", W)]),
    Case("A8 not for a declared file format",
         acc("http://resource.sgu.se/oppnadata/grundvatten/brunnar-api.xml", formats=["text/csv"]),
         "machine_readable", [("M1", S)], codes=["CSV"], open=True),
    Case("A8 not for a file name's suffix",
         acc("http://resource.sgu.se/oppnadata/grundvatten/brunnar-api.xml"),
         "machine_readable", [("M1", W)], codes=["XML"], open=True),
    Case("A8 not for an OpenDataSoft export (a downloadURL)",
         dl("https://opendata.example.de/api/v2/catalog/datasets/x/exports/csv",
            formats=["text/csv"]), "machine_readable", [("M1", S)], codes=["CSV"], open=True),
    Case("A8 not for an export path without a format",
         acc("https://opendata.example.de/api/v2/catalog/datasets/x/exports/csv"),
         "unknown", [("U4", S)]),
    Case("A5 OData under /api/ stays an API",
         acc("https://data.example.se/api/odata/v4/Trafik", formats=["JSON"]), "api",
         [("A5", W), ("A8", W)], codes=["JSON"], open=True),
    Case("A3 WFS under /api/ stays an API",
         acc("https://geo.example.se/api/geoserver/ows", formats=["WFS"]), "api",
         [("A3", S), ("A5", W), ("A8", W)], codes=["WFS_SRVC"]),
    Case("A8 for a JSON answer of an /api/ accessURL (a query API answers JSON)",
         acc("https://data.example.se/api/v1/stationer", formats=["application/json"]), "api",
         [("A8", W)], codes=["JSON"], open=True),
    Case("A8 not for a declared spreadsheet", acc("https://x.se/api/v1/rapport", formats=["XLSX"]),
         "machine_readable", [("M1", S)], codes=["XLSX"]),
    Case("A8 not for a JSON file name", acc("https://x.se/api/stationer.json",
                                            formats=["application/json"]),
         "machine_readable", [("M1", S)], codes=["JSON"], open=True),
    Case("A8 not for a JSON export", acc("https://x.de/api/v2/catalog/datasets/x/exports/json",
                                         formats=["JSON"]),
         "machine_readable", [("M1", S)], codes=["JSON"], open=True),
    Case("A5 OpenDataSoft records query (the same portal's exports are downloads)",
         acc("https://x.de/api/v2/catalog/datasets/x/records?limit=10", formats=["JSON"]),
         "api", [("A5", W), ("A8", W)], codes=["JSON"], open=True),
    Case("A5 OpenDataSoft explore v2.1 records",
         acc("https://x.de/api/explore/v2.1/catalog/datasets/x/records", formats=["CSV"]),
         "api", [("A5", W)], codes=["CSV"], open=True),
    Case("A5 CKAN DataStore search",
         acc("https://ckan.example.se/api/3/action/datastore_search?resource_id=1",
             formats=["CSV"]), "api", [("A5", W)], codes=["CSV"], open=True),
    Case("A5 GraphQL endpoint", acc("https://data.example.se/graphql"), "api", [("A5", W)]),
    Case("A8 not in the host name", dl("https://api.example.se/trafik.csv"), "machine_readable",
         [("M1", W)], codes=["CSV"], open=True),
    Case("A8 not inside a word", dl("https://example.de/papiercontainer/papiercontainer.csv"),
         "machine_readable", [("M1", W)], codes=["CSV"], open=True),
    # --- format contradicting a strong URL suffix: the suffix decides -------------------------
    Case("conflict XML declared, .pdf URL", dl("http://x.de/internet_baumliste.pdf",
                                               formats=[EU + "XML"]),
         "document", [("D1", W)], codes=["PDF"]),
    Case("conflict HTML declared, .xlsx URL", dl("https://x.de/04-kreise.xlsx", formats=["HTML"]),
         "machine_readable", [("M1", W)], codes=["XLSX"]),
    Case("conflict HTML declared, .zip URL", acc("https://x.de/GV100AD.zip", formats=["HTML"]),
         "unknown", [("U1", W)], codes=["ZIP"]),
    Case("no conflict within a class: XLS and .xlsx", dl("https://x.de/a.xlsx", formats=["XLS"]),
         "machine_readable", [("M1", S)], codes=["XLS"]),
    Case("no conflict with a weak suffix: JSON and .xml",
         acc("http://resource.sgu.se/kallor-nedladdning.xml", formats=["application/json"]),
         "machine_readable", [("M1", S)], codes=["JSON"], open=True),
    Case("CKAN datastore dump is CSV", dl("http://ckan.example.se/datastore/dump/27fb8bcc-23cb"),
         "machine_readable", [("M1", W)], codes=["CSV"], open=True),
    # --- M1: MQA machine-readable list, every format form --------------------------------------
    Case("M1 EU CSV", fmt(EU + "CSV"), "machine_readable", [("M1", S)], codes=["CSV"], open=True),
    Case("M1 IANA text/csv", fmt(IANA + "text/csv"), "machine_readable", [("M1", S)],
         codes=["CSV"], open=True),
    Case("M1 literal with charset", fmt("text/csv; charset=UTF-8"), "machine_readable",
         [("M1", S)], codes=["CSV"], open=True),
    Case("M1 label CSV", fmt("CSV"), "machine_readable", [("M1", S)], codes=["CSV"], open=True),
    Case("M1 label Excel (not open)", fmt("Excel"), "machine_readable", [("M1", S)],
         codes=["XLSX"]),
    Case("M1 xls media type (not open)", fmt("application/vnd.ms-excel"), "machine_readable",
         [("M1", S)], codes=["XLS"]),
    Case("M1 label xlsx", fmt("xlsx"), "machine_readable", [("M1", S)], codes=["XLSX"]),
    Case("M1 shapefile (not open)", fmt("application/x-shapefile"), "machine_readable",
         [("M1", S)], codes=["SHP"]),
    Case("M1 turtle linked", fmt("text/turtle"), "machine_readable", [("M1", S)],
         codes=["RDF_TURTLE"], open=True, linked=True),
    Case("M1 EU RDF_XML linked", fmt(EU + "RDF_XML"), "machine_readable", [("M1", S)],
         codes=["RDF_XML"], open=True, linked=True),
    Case("M1 JSON-LD linked", {"media_types": ["application/ld+json"]}, "machine_readable",
         [("M1", S)], codes=["JSON_LD"], open=True, linked=True),
    Case("M1 format and media type both count",
         {"formats": ["GeoJSON"], "media_types": ["application/geo+json"]}, "machine_readable",
         [("M1", S), ("M1", S)], codes=["GEOJSON"], open=True),
    Case("M1 media type rescues a ZIP format",
         {"formats": ["application/zip"], "media_types": ["text/csv"]}, "machine_readable",
         [("M1", S)], codes=["ZIP", "CSV"], open=True),
    Case("M1 CSV with compressFormat gzip",
         {"formats": ["CSV"], "compress_formats": ["application/gzip"]}, "machine_readable",
         [("M1", S)], codes=["CSV", "GZIP"], open=True),
    # --- M2: our extension ------------------------------------------------------------------
    Case("M2 EU TSV", fmt(EU + "TSV"), "machine_readable", [("M2", S)], codes=["TSV"], open=True),
    Case("M2 label Parquet", fmt("Parquet"), "machine_readable", [("M2", S)],
         codes=["PARQUET"], open=True),
    Case("M2 GeoPackage", fmt("application/geopackage+sqlite3"), "machine_readable",
         [("M2", S)], codes=["GPKG"], open=True),
    Case("M2 FileGDB (not open)", fmt("application/x-filegdb"), "machine_readable",
         [("M2", S)], codes=["GDB"]),
    # --- M3: packaged --------------------------------------------------------------------------
    Case("M3 SE text/csv+zip", fmt("text/csv+zip"), "machine_readable", [("M3", S)],
         codes=["CSV"], open=True),
    Case("M3 SE application/json+zip", fmt("application/json+zip"), "machine_readable",
         [("M3", S)], codes=["JSON"], open=True),
    Case("M3 SE application/xml+zip", fmt("application/xml+zip"), "machine_readable",
         [("M3", S)], codes=["XML"], open=True),
    # --- URL extension fallback (weak) ------------------------------------------------------------
    Case("M1 .csv download, no format", dl("https://data.example.se/trafik.csv"),
         "machine_readable", [("M1", W)], codes=["CSV"], open=True),
    Case("M3 .csv.gz download", dl("https://data.example.se/trafik.csv.gz"), "machine_readable",
         [("M3", W)], codes=["CSV"], open=True),
    Case("M2 .parquet download", dl("https://data.example.se/trafik.parquet"),
         "machine_readable", [("M2", W)], codes=["PARQUET"], open=True),
    Case("M3 ZIP format, .csv.zip download",
         dl("https://data.example.se/trafik.csv.zip", formats=["application/zip"]),
         "machine_readable", [("M3", W)], codes=["ZIP", "CSV"], open=True),
    Case("M1 .geojson on accessURL", acc("https://data.example.se/vagar.geojson"),
         "machine_readable", [("M1", W)], codes=["GEOJSON"], open=True),
    # --- D1: documents ----------------------------------------------------------------------------
    Case("D1 application/pdf", fmt("application/pdf"), "document", [("D1", S)], codes=["PDF"]),
    Case("D1 label PDF (.pdf)", fmt("PDF (.pdf)"), "document", [("D1", S)], codes=["PDF"]),
    Case("D1 EU DOCX", fmt(EU + "DOCX"), "document", [("D1", S)], codes=["DOCX"]),
    Case("D1 text/html", fmt("text/html"), "document", [("D1", S)], codes=["HTML"]),
    Case("D1 image/png", fmt("image/png"), "document", [("D1", S)], codes=["PNG"]),
    Case("D1 EU MAP_PRVW", fmt(EU + "MAP_PRVW"), "document", [("D1", S)], codes=["MAP_PRVW"]),
    Case("D1 label Webbsida", fmt("Webbsida"), "document", [("D1", S)], codes=["HTML"]),
    Case("D1 .pdf download", dl("https://data.example.se/rapport.pdf"), "document", [("D1", W)],
         codes=["PDF"]),
    # --- D2/D3: landing pages --------------------------------------------------------------------
    Case("D2 accessURL is the landing page", acc("http://example.se/statistik/trafik/"),
         "document", [("D2", S)], landing=True),
    Case("D3 link check says text/html", acc("https://www.example.se/om-trafikdata"), "document",
         [("D3", W)], landing=True,
         links={"https://www.example.se/om-trafikdata":
                LinkInfo(200, "text/html; charset=utf-8", True)}),
    Case("no D3 when a format is declared", acc("https://www.example.se/x", formats=["CSV"]),
         "machine_readable", [("M1", S)], codes=["CSV"], open=True,
         links={"https://www.example.se/x": LinkInfo(200, "text/html", True)}),
    Case("no D2 when a download URL exists",
         acc(LANDING, download_urls=["https://data.example.se/get?id=7"]), "unknown",
         [("U4", S)]),
    # --- U: unknown -------------------------------------------------------------------------------
    Case("U1 application/zip", fmt("application/zip"), "unknown", [("U1", S)], codes=["ZIP"]),
    Case("U1 EU GZIP", fmt(EU + "GZIP"), "unknown", [("U1", S)], codes=["GZIP"]),
    Case("U1 .zip download", dl("https://data.example.se/allt.zip"), "unknown", [("U1", W)],
         codes=["ZIP"]),
    Case("U2 octet-stream", fmt("application/octet-stream"), "unknown", [("U2", S)],
         codes=["OCTET"]),
    Case("U3 unmapped text", fmt("eget internt format"), "unknown", [("U3", S)]),
    Case("U3 unmapped media type", fmt("application/x-ecw"), "unknown", [("U3", S)]),
    Case("U3 EU code not classified", fmt(EU + "EXE"), "unknown", [("U3", S)], codes=["EXE"]),
    Case("U4 nothing at all", acc("https://data.example.se/hamta?id=1"), "unknown", [("U4", S)]),
    Case("U4 a .rq URL never proves an API", dl("https://data.example.se/fraga.rq"), "unknown",
         [("U4", S)]),
]  # fmt: skip


def test_table_is_large_and_covers_every_distribution_rule() -> None:
    assert len(CASES) >= 60
    used = {rule for case in CASES for rule, _ in case.evidence}
    assert used == {r for r in RULES if r not in ("A2", "U5")}  # A2, U5 are dataset-level


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_distribution(case: Case) -> None:
    dataset = Dataset(DS, title={"sv": "Trafikflöden"}, landing_pages=[LANDING])
    fields = dict(case.dist)
    titles = dict(zip(("sv", "en"), fields.pop("title", []), strict=False))
    texts = dict(zip(("sv", "en"), fields.pop("description", []), strict=False))
    dist = Distribution("https://data.example.se/dist/1", title=titles, description=texts,
                        **fields)  # type: ignore[arg-type]
    result = classify_distribution(dist, dataset, SERVICES, case.links)
    assert result.cls == case.cls
    assert [(e.rule, e.strong) for e in result.evidence] == case.evidence
    assert result.codes == case.codes
    assert (result.open, result.linked, result.landing_page) == (
        case.open,
        case.linked,
        case.landing,
    )
    assert result.iri == dist.iri


def test_evidence_names_property_value_and_code() -> None:
    dataset = Dataset(DS)
    dist = Distribution("d", formats=["text/csv+zip"], media_types=["text/csv"])
    evidence = classify_distribution(dist, dataset).evidence
    assert [(e.rule, e.property, e.value, e.detail) for e in evidence] == [
        ("M3", "format", "text/csv+zip", "CSV in ZIP"),
        ("M1", "mediaType", "text/csv", "CSV"),
    ]


def test_service_conforms_to_and_endpoint_description_are_reported() -> None:
    dist = Distribution("d", access_services=[API_SERVICE])
    evidence = classify_distribution(dist, Dataset(DS), SERVICES).evidence
    assert [(e.property, e.value) for e in evidence] == [
        ("accessService", API_SERVICE),
        ("accessService/conformsTo", "https://spec.openapis.org/oas/v3.1.0"),
        ("accessService/endpointDescription", "https://api.example.se/trafik/v1/openapi.json"),
    ]
    assert evidence[0].detail == "Trafik-API"


def test_format_conflict_is_a_finding_in_the_error_catalogue() -> None:
    dist = Distribution("d", formats=[EU + "XML"], download_urls=["http://x.de/baumliste.pdf"])
    result = classify_distribution(dist, Dataset(DS))
    assert [tuple(f) for f in result.findings] == [
        (FORMAT_CONFLICT, "downloadURL", "http://x.de/baumliste.pdf",
         "declared XML, the URL names PDF"),
    ]
    assert lookup(FORMAT_CONFLICT).severity == "warning"
    assert result.to_dict()["findings"][0]["code"] == FORMAT_CONFLICT
    assert classify_distribution(Distribution("e", formats=["PDF"], download_urls=[
        "http://x.de/baumliste.pdf"]), Dataset(DS)).findings == []


def test_api_evidence_from_text_and_url_names_what_matched() -> None:
    dist = Distribution("d", description={"sv": "Nedladdning via API i CSV-format"},
                        access_urls=["http://r.sgu.se/miljo-api.xml"], formats=["text/csv"])
    evidence = classify_distribution(dist, Dataset(DS)).evidence
    assert [(e.rule, e.property, e.value, e.detail) for e in evidence] == [
        ("A7", "description", "Nedladdning via API i CSV-format",
         "'API' in “Nedladdning via API i CSV-format”"),
    ]
    long = "Daten " * 20 + "über die REST-Schnittstelle abrufen, " + "mehr " * 20
    [a7] = classify_distribution(Distribution("e", description={"de": long}), Dataset(DS)).evidence
    assert a7.detail.startswith("'Schnittstelle' in “…") and a7.detail.endswith("…”")
    assert "REST-Schnittstelle" in a7.detail and a7.value == long
    [cut] = classify_distribution(Distribution("g", description={
        "sv": "Ger åtkomst till bibliotek via ett API"}), Dataset(DS)).evidence
    assert cut.detail == "'API' in “…till bibliotek via ett API”"  # whole words, not "…tkomst"
    [a8] = classify_distribution(Distribution("f", access_urls=["https://x.se/api/v1/items?q=1"]),
                                 Dataset(DS)).evidence
    assert (a8.rule, a8.property, a8.value, a8.detail) == (
        "A8", "accessURL", "https://x.se/api/v1/items?q=1", "'api' in the path /api/v1/items")


def test_an_open_data_soft_dataset_is_level_2_and_a_service_keeps_it_3() -> None:
    """Whole-file exports under /api/ are downloads (level 2); a DataService makes it 3."""
    base = "https://opendata.example.de/api/v2/catalog/datasets/obm-2018"
    exports = [Distribution(f"{base}-{kind}", formats=[kind],
                            description={"": f"{kind} export of {base}"},
                            access_urls=[f"{base}/exports/{kind}"]) for kind in ("csv", "json")]
    dataset = Dataset(base, title={"de": "Wahlergebnisse (csv)"}, distributions=exports)
    level = classify_dataset(dataset)
    assert (level.level, {e.rule for e in level.evidence}) == (2, {"M1"})
    service = DataService("https://opendata.example.de/api/v2", serves_datasets=[base])
    assert classify_dataset(dataset, {service.iri: service}).level == 3


def test_ambiguous_document_formats_are_flagged() -> None:
    evidence = classify_distribution(
        Distribution("d", formats=["text/plain"]), Dataset(DS)
    ).evidence
    assert evidence[0].detail == "TXT (may be data)"


# --- dataset level -------------------------------------------------------------------------------


def _dataset(*dists: Distribution, **kwargs: object) -> Dataset:
    return Dataset(DS, distributions=list(dists), **kwargs)  # type: ignore[arg-type]


PDF = Distribution("pdf", formats=["application/pdf"])
CSV = Distribution("csv", formats=["text/csv"])
XLSX = Distribution("xlsx", formats=["Excel"])
ZIP = Distribution("zip", formats=["application/zip"])
WMS_URL = Distribution("wms", access_urls=["https://geo.example.se/wms?service=WMS"])


@pytest.mark.parametrize(
    ("dists", "level", "name", "strong", "open_"),
    [
        ((CSV, PDF), 2, "machine_readable", True, True),
        ((XLSX, PDF), 2, "machine_readable", True, False),
        ((PDF,), 1, "document_only", True, False),
        ((PDF, ZIP), 1, "document_only", True, False),
        ((ZIP,), 0, "unknown", True, False),
        ((), 0, "unknown", True, False),
        ((WMS_URL, CSV), 3, "api", False, True),
    ],
)
def test_dataset_level_is_best_distribution(
    dists: tuple[Distribution, ...], level: int, name: str, strong: bool, open_: bool
) -> None:
    result = classify_dataset(_dataset(*dists), {})
    assert (result.level, result.name, result.strong, result.open) == (level, name, strong, open_)
    assert len(result.distributions) == len(dists)
    assert not result.api_by_title_only


def test_dataset_evidence_is_that_of_the_winning_class() -> None:
    result = classify_dataset(_dataset(PDF, CSV, Distribution("x", formats=["text/csv+zip"])), {})
    assert [e.rule for e in result.evidence] == ["M1", "M3"]


def test_no_distribution_gives_u5() -> None:
    result = classify_dataset(_dataset(), {})
    assert [(e.rule, e.strong) for e in result.evidence] == [("U5", True)]


def test_a2_from_serving_services_found_by_scanning() -> None:
    result = classify_dataset(_dataset(PDF), SERVICES)
    assert (result.level, result.strong) == (3, True)
    assert [(e.rule, e.property, e.value) for e in result.evidence] == [
        ("A2", "servesDataset", API_SERVICE)
    ]
    assert result.distributions[0].cls == "document"


def test_a2_from_an_explicit_serving_index() -> None:
    other = DataService("https://x/s2", serves_datasets=["https://x/other"])
    index = services_by_dataset([SERVICE, other])
    assert index == {DS: [SERVICE], "https://x/other": [other]}
    assert classify_dataset(_dataset(PDF), {}, index.get(DS, [])).level == 3
    assert classify_dataset(_dataset(PDF), SERVICES, serving=[]).level == 1


def test_a2_from_dataportal_served_by_data_service_type() -> None:
    result = classify_dataset(_dataset(PDF, types=[ESTERMS + "ServedByDataService"]), {})
    assert (result.level, result.strong) == (3, True)
    assert [(e.rule, e.property) for e in result.evidence] == [("A2", "rdf:type")]


def test_api_in_dataset_title_only_is_weak_and_flagged() -> None:
    result = classify_dataset(_dataset(PDF, title={"sv": "Väder-API", "en": "Weather"}), {})
    assert (result.level, result.strong, result.api_by_title_only) == (3, False, True)
    assert [(e.rule, e.property, e.strong) for e in result.evidence] == [
        ("A6", "dataset title", False)
    ]


def test_title_plus_strong_api_is_not_title_only() -> None:
    dist = Distribution("d", access_services=["https://x/s"])
    result = classify_dataset(_dataset(dist, title={"sv": "Väder API"}), {})
    assert (result.level, result.strong, result.api_by_title_only) == (3, True, False)
    assert [e.rule for e in result.evidence] == ["A6", "A1"]


def test_links_are_looked_up_by_url() -> None:
    dist = Distribution("d", access_urls=["https://www.example.se/sida"])
    links = {"https://www.example.se/sida": LinkInfo(200, "text/html", True)}
    assert classify_dataset(_dataset(dist), {}, links=links).level == 1
    assert classify_dataset(_dataset(dist), {}).level == 0


def test_to_dict_is_json_ready() -> None:
    result = classify_dataset(_dataset(CSV, WMS_URL), {})
    data = json.loads(json.dumps(result.to_dict()))
    assert data["level"] == 3 and data["level_name"] == "api"
    assert data["evidence"][0] == {
        "rule": "A5", "property": "accessURL", "value": "https://geo.example.se/wms?service=WMS",
        "strong": False, "detail": "OGC service query",
    }  # fmt: skip
    assert [d["class"] for d in data["distributions"]] == ["machine_readable", "api"]


@pytest.mark.parametrize(
    ("status", "reachable", "ok"),
    [(200, None, True), (302, None, True), (404, False, False), (None, False, False),
     (None, True, True), (None, None, None), (500, True, False)],
)  # fmt: skip
def test_link_info_ok(status: int | None, reachable: bool | None, ok: bool | None) -> None:
    assert LinkInfo(status, None, reachable).ok is ok


# --- explain output ------------------------------------------------------------------------------


def _explained(dataset: Dataset, links: dict[str, LinkInfo] | None = None) -> str:
    details = {"classification": classify_dataset(dataset, {}, links=links or {}).to_dict(),
               "mqa": score_dataset(dataset, links or {}).to_dict()}
    return explanation(dataset.iri, [{"source": "s", "agency": "a", "title": "T",
                                      "removed": False, "details": details, "shacl": []}])


def test_explain_prints_missing_values_and_no_empty_promise() -> None:
    out = _explained(_dataset())
    assert "U5 no distribution: distribution = missing (no distribution)" in out
    assert " = \n" not in out + "\n" and not any(line.endswith("= ") for line in out.splitlines())
    url = "https://data.example.se/hamta?id=1"
    out = _explained(_dataset(Distribution("d", access_urls=[url])))
    assert "U4 no format: format = missing (no format, media type or file extension)" in out
    # the access URL is not checked yet, nor is the description against the SHACL shapes
    assert "more once links are checked and the DCAT-AP SHACL check is done" in out
    checked = _explained(_dataset(Distribution("d", access_urls=[url])),
                         {url: LinkInfo(200, "application/octet-stream", True)})
    assert "links are checked" not in checked
    assert "more once the DCAT-AP SHACL check is done" in checked
    assert "up to 0 more" not in checked


def test_explain_prints_codes_weakness_and_findings() -> None:
    dist = Distribution("d", formats=[EU + "XML"], download_urls=["http://x.de/baumliste.pdf"])
    wms = Distribution("w", formats=[EU + "WMS"], title={"de": "Bäume"})
    out = _explained(_dataset(dist))
    assert ("D1 document format: download address (downloadURL) = http://x.de/baumliste.pdf "
            "(PDF; weak)") in out
    assert ("! warning meta.distribution.format_conflict downloadURL = http://x.de/baumliste.pdf: "
            "declared XML, the URL names PDF.") in out
    assert (f"A3 the format is an API or service format (e.g. WMS, WFS, SPARQL): "
            f"format = WMS <{EU}WMS> (WMS_SRVC)") in _explained(_dataset(wms))
    assert "pass     20.0/20  machine-readable format (machine_readable, " \
        "dct:format / dcat:mediaType)" in out
