"""Format normalisation: every form of format value, URL extensions, the generated EU table."""

from __future__ import annotations

import pytest

from dcatwatch.dcat.filetypes import FILE_TYPE_TABLE_VERSION, FILE_TYPES
from dcatwatch.dcat.formats import (
    EU_CODES,
    codes_of,
    declared_formats,
    from_url,
    normalise,
    url_formats,
)
from dcatwatch.dcat.model import Distribution

EU = "http://publications.europa.eu/resource/authority/file-type/"
IANA = "https://www.iana.org/assignments/media-types/"

NORMALISE_CASES = [
    # raw value, form, code, media type, packaging
    (EU + "CSV", "eu_iri", "CSV", None, None),
    ("https://publications.europa.eu/resource/authority/file-type/RDF_TURTLE", "eu_iri",
     "RDF_TURTLE", None, None),
    (EU + "WMS_SRVC", "eu_iri", "WMS_SRVC", None, None),
    (EU + "PARQUET", "eu_iri", "PARQUET", None, None),
    (EU + "csv", "eu_iri", "CSV", None, None),  # not the table's IRI, but still CSV
    (EU + "CSV/", "eu_iri", "CSV", None, None),
    (IANA + "text/csv", "iana_iri", "CSV", "text/csv", None),
    ("http://www.iana.org/assignments/media-types/application/JSON", "iana_iri", "JSON",
     "application/json", None),
    (IANA + "application/vnd.ogc.wms_xml", "iana_iri", "WMS_SRVC", "application/vnd.ogc.wms_xml",
     None),
    ("text/csv", "media_type", "CSV", "text/csv", None),
    ("Text/CSV; charset=UTF-8", "media_type", "CSV", "text/csv", None),
    ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "media_type", "XLSX",
     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", None),
    ("application/postscript", "media_type", "EPS", "application/postscript", None),
    ("image/svg+xml", "media_type", "IMAGE", "image/svg+xml", None),
    ("application/x-unheard-of", "media_type", None, "application/x-unheard-of", None),
    ("text/csv+zip", "se_packaged", "CSV", "text/csv", "ZIP"),
    ("application/json+zip", "se_packaged", "JSON", "application/json", "ZIP"),
    ("application/xml+zip", "se_packaged", "XML", "application/xml", "ZIP"),
    ("application/epub+zip", "media_type", "EPUB", "application/epub+zip", None),
    ("CSV", "label", "CSV", None, None),
    ("Excel", "label", "XLSX", None, None),
    ("xlsx", "label", "XLSX", None, None),
    ("PDF (.pdf)", "label", "PDF", None, None),
    (".geojson", "label", "GEOJSON", None, None),
    ("ESRI REST", "label", "REST", None, None),
    ("api", "label", "API", None, None),
    ("WMS", "label", "WMS_SRVC", None, None),
    ("RDF/XML", "label", "RDF_XML", None, None),
    ("Word DOCX", "label", "DOCX", None, None),  # EU prefLabel
    ("Esri Shape", "label", "SHP", None, None),
    ("Webbsida", "label", "HTML", None, None),
    ("OGC API - Features", "label", "OGC_API", None, None),
    ("http://example.org/format/pdf", "label", "PDF", None, None),
    ("helt okänt format", "label", None, None, None),
]  # fmt: skip


@pytest.mark.parametrize(("raw", "form", "code", "media_type", "packaging"), NORMALISE_CASES)
def test_normalise(
    raw: str, form: str, code: str | None, media_type: str | None, packaging: str | None
) -> None:
    (value,) = normalise(raw)
    assert (value.form, value.code, value.media_type, value.packaging) == (
        form, code, media_type, packaging,
    )  # fmt: skip
    assert value.raw == raw
    assert not value.weak


def test_free_text_naming_several_formats_gives_each() -> None:
    values = normalise("CSV och JSON, även XLSX")
    assert [v.code for v in values] == ["CSV", "JSON", "XLSX"]
    assert {v.form for v in values} == {"label"}


def test_free_text_words_are_whole_words_only() -> None:
    (value,) = normalise("Rapid transit timetables")  # contains "api" but not as a word
    assert value.code is None


@pytest.mark.parametrize(
    ("url", "code", "packaging"),
    [
        ("https://data.example.se/export/trafik.csv", "CSV", None),
        ("https://data.example.se/export/TRAFIK.CSV?version=2#top", "CSV", None),
        ("https://data.example.se/export/trafik.csv.gz", "CSV", "GZIP"),
        ("https://data.example.se/export/trafik.json.zip", "JSON", "ZIP"),
        ("https://data.example.se/export/trafik.tar.gz", "TAR_GZ", None),
        ("https://data.example.se/export/trafik.zip", "ZIP", None),
        ("https://data.example.se/rapport.xlsx", "XLSX", None),
        ("https://data.example.se/rapport.pdf", "PDF", None),
        ("https://data.example.se/gränser.geojson", "GEOJSON", None),
        ("https://data.example.se/stor.parquet", "PARQUET", None),
        ("https://data.example.se/karta.gpkg", "GPKG", None),
        ("https://data.example.se/ontologi.ttl", "RDF_TURTLE", None),
    ],
)
def test_url_extension(url: str, code: str, packaging: str | None) -> None:
    value = from_url(url)
    assert value is not None
    assert (value.form, value.code, value.packaging) == ("extension", code, packaging)
    assert value.weak


@pytest.mark.parametrize(
    "url",
    [
        "https://data.example.se",  # the host's ".se" is no extension
        "https://data.example.se/",
        "https://data.example.se/api/v1/trafik",
        "https://data.example.se/sida.unknownext",
        "https://data.example.se/.hidden",
    ],
)
def test_url_without_known_extension(url: str) -> None:
    assert from_url(url) is None


def test_declared_formats_reads_all_four_properties_in_order() -> None:
    dist = Distribution(
        "d",
        formats=[EU + "CSV"],
        media_types=["text/csv"],
        compress_formats=["application/gzip"],
        package_formats=[EU + "TAR"],
    )
    found = declared_formats(dist)
    assert [(prop, v.code) for prop, v in found] == [
        ("format", "CSV"), ("mediaType", "CSV"), ("compressFormat", "GZIP"),
        ("packageFormat", "TAR"),
    ]  # fmt: skip
    assert codes_of(found) == ["CSV", "GZIP", "TAR"]


def test_url_formats_prefers_download_url_then_access_url() -> None:
    dist = Distribution(
        "d", access_urls=["https://x.se/a.pdf"], download_urls=["https://x.se/b.csv"]
    )
    assert [(prop, v.code) for prop, v in url_formats(dist)] == [
        ("downloadURL", "CSV"), ("accessURL", "PDF"),
    ]  # fmt: skip


def test_generated_eu_table_is_the_2018_snapshot_without_deprecated_codes() -> None:
    assert FILE_TYPE_TABLE_VERSION == "20181212-0"
    assert {"CSV", "PDF", "WMS_SRVC", "REST", "GEOJSON", "SPARQLQ"} <= set(FILE_TYPES)
    assert "FMX2" not in FILE_TYPES  # deprecated in the table
    assert FILE_TYPES["CSV"][1] == (".csv",)
    assert {"PARQUET", "GPKG", "WMTS_SRVC"} <= EU_CODES  # newer codes added by hand
