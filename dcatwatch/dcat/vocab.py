"""Classification vocabularies as plain data: format codes per class, synonyms, URL patterns.

Codes are EU file-type authority codes (``…/authority/file-type/<CODE>``) where one exists;
API, OGC_API, ODATA, GRAPHQL, OPENAPI, CSW_SRVC, SOS_SRVC, WPS_SRVC, GTFS, YAML, SQLITE and
IMAGE are dcatwatch's own (no EU code exists). The generated EU table itself is in
:mod:`dcatwatch.dcat.filetypes`; lookups combining both live in :mod:`dcatwatch.dcat.formats`.
Sources: research/quality.md §2.4 (MQA lists) and §4 (classes), research/sweden.md §1.3
(DCAT-AP-SE format literals), INSPIRE media-type register.
"""

from __future__ import annotations

from dcatwatch.dcat.namespaces import ESTERMS

# IRI prefixes (compared without scheme, lower-case) whose tail is a code / a media type.
EU_FILE_TYPE_PREFIXES = ("publications.europa.eu/resource/authority/file-type/",)
MEDIA_TYPE_IRI_PREFIXES = (
    "www.iana.org/assignments/media-types/",
    "iana.org/assignments/media-types/",
    "purl.org/net/mediatypes/",
)

# EU codes added after the 2018-12 table we generate from (cited in research/quality.md).
NEWER_EU_CODES = frozenset(
    {"WCS_SRVC", "WMTS_SRVC", "PARQUET", "GPKG", "GEOTIFF", "7Z", "BZIP2", "ETSI_XML",
     "HTML5", "XHTML5", "PDFUA", "WEBP"}
)  # fmt: skip

# --- classes -------------------------------------------------------------------------------
MQA_MACHINE_READABLE = frozenset(
    {"CSV", "GEOJSON", "ICS", "JSON", "JSON_LD", "KML", "KMZ", "NETCDF", "ODS", "RDFA",
     "RDF_N_QUADS", "RDF_N_TRIPLES", "RDF_TRIG", "RDF_TURTLE", "RDF_XML", "RSS", "SHP", "XLS",
     "XLSX", "XML"}
)  # fmt: skip
MQA_NON_PROPRIETARY = frozenset(
    {"BMP", "CSV", "DBF", "GEOJSON", "GZIP", "HTML", "ICS", "JPEG2000", "JSON", "JSON_LD", "KML",
     "KMZ", "NETCDF", "ODS", "PNG", "RDF_N_QUADS", "RDF_N_TRIPLES", "RDF_TRIG", "RDF_TURTLE",
     "RDF_XML", "RSS", "RTF", "TAR", "TIFF", "TSV", "TXT", "WMS_SRVC", "XML", "ZIP"}
)  # fmt: skip
# Our extension of "machine-readable", reported apart from the MQA list (rule M2).
EXTENSION_MACHINE_READABLE = frozenset(
    {"TSV", "PARQUET", "GPKG", "GML", "GMZ", "GEOTIFF", "GRID_ASCII", "ATOM", "GTFS", "SDMX",
     "YAML", "DBF", "HDF", "LAS", "LAZ", "SPARQLQRES", "GDB", "RDF", "N3", "SQLITE", "MDB", "TAB"}
)  # fmt: skip
# Machine-readable codes that are also open (non-proprietary) beyond the MQA list.
EXTENSION_OPEN = frozenset(
    {"TSV", "PARQUET", "GPKG", "GML", "GMZ", "GEOTIFF", "ATOM", "GTFS", "SDMX", "YAML", "HDF",
     "LAS", "LAZ", "SPARQLQRES", "RDF", "N3", "SQLITE"}
)  # fmt: skip
LINKED_DATA = frozenset(
    {"RDF_XML", "RDF_TURTLE", "RDF_N_TRIPLES", "RDF_N_QUADS", "RDF_TRIG", "JSON_LD", "RDF", "N3"}
)
API_CODES = frozenset(
    {"WMS_SRVC", "WFS_SRVC", "WCS_SRVC", "WMTS_SRVC", "MAP_SRVC", "REST", "SPARQLQ",
     "CSW_SRVC", "SOS_SRVC", "WPS_SRVC", "OGC_API", "ODATA", "GRAPHQL", "OPENAPI", "API"}
)  # fmt: skip
DOCUMENT_CODES = frozenset(
    {"PDF", "PDF1X", "PDFA1A", "PDFA1B", "PDFA2A", "PDFA2B", "PDFA3", "PDFUA", "PDFX", "PDFX1A",
     "PDFX2A", "PDFX4", "DOC", "DOCX", "ODT", "RTF", "TXT", "HTML", "HTML5", "HTML_SIMPL",
     "XHTML", "XHTML5", "XHTML_SIMPL", "MHTML", "EPUB", "MOBI", "AZW", "PPT", "PPTX", "PPS",
     "PPSX", "ODP", "PS", "EPS", "JPEG", "PNG", "GIF", "BMP", "TIFF", "TIFF_FX", "SVG", "WEBP",
     "JPEG2000", "MAP_PRVW", "IMAGE"}
)  # fmt: skip
ARCHIVE_CODES = frozenset({"ZIP", "GZIP", "TAR", "TAR_GZ", "TAR_XZ", "7Z", "RAR", "BZIP2"})
BINARY_CODES = frozenset({"OCTET", "BIN"})
# Document codes that may hide data or an API explorer: flagged in the evidence detail.
AMBIGUOUS_DOCUMENTS = frozenset({"TXT", "TIFF", "JPEG2000", "HTML"})
HTML_CODES = frozenset({"HTML", "HTML5", "HTML_SIMPL", "XHTML", "XHTML5", "XHTML_SIMPL"})

# Service codes written without the EU table's "_SRVC" suffix ("file-type/WMS", "OGC:WFS"):
# read as the API code they name (rule A3).
SERVICE_CODE_ALIASES: dict[str, str] = {
    "WMS": "WMS_SRVC", "WFS": "WFS_SRVC", "WCS": "WCS_SRVC", "WMTS": "WMTS_SRVC",
    "CSW": "CSW_SRVC", "SOS": "SOS_SRVC", "WPS": "WPS_SRVC", "SPARQL": "SPARQLQ",
    "OGC_API": "OGC_API", "OGCAPI": "OGC_API", "GRAPHQL": "GRAPHQL", "OPENAPI": "OPENAPI",
}  # fmt: skip

# --- media types ---------------------------------------------------------------------------
# Curated media type -> code; wins over the EU table's "mime-type-cellar" mappings.
MEDIA_TYPES: dict[str, str] = {
    "text/csv": "CSV", "application/csv": "CSV", "text/comma-separated-values": "CSV",
    "text/tab-separated-values": "TSV",
    "application/json": "JSON", "text/json": "JSON",
    "application/geo+json": "GEOJSON", "application/vnd.geo+json": "GEOJSON",
    "application/ld+json": "JSON_LD",
    "application/xml": "XML", "text/xml": "XML",
    "application/rdf+xml": "RDF_XML", "text/turtle": "RDF_TURTLE",
    "application/n-triples": "RDF_N_TRIPLES", "application/n-quads": "RDF_N_QUADS",
    "application/trig": "RDF_TRIG", "text/n3": "N3",
    "application/rss+xml": "RSS", "application/atom+xml": "ATOM", "text/calendar": "ICS",
    "application/vnd.ms-excel": "XLS",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "XLSX",
    "application/vnd.oasis.opendocument.spreadsheet": "ODS",
    "application/gml+xml": "GML", "application/x-gmz": "GMZ",
    "application/vnd.google-earth.kml+xml": "KML", "application/vnd.google-earth.kmz": "KMZ",
    "application/geopackage+sqlite3": "GPKG", "application/vnd.sqlite3": "SQLITE",
    "application/x-shapefile": "SHP", "application/vnd.shp": "SHP",
    "application/x-esri-shape": "SHP",
    "application/x-filegdb": "GDB", "application/x-ascii-grid": "GRID_ASCII",
    "application/x-las": "LAS", "application/x-laz": "LAZ", "application/x-tab": "TAB",
    "application/x-netcdf": "NETCDF", "application/netcdf": "NETCDF",
    "application/x-hdf": "HDF", "application/x-hdf5": "HDF",
    "application/vnd.apache.parquet": "PARQUET", "application/x-parquet": "PARQUET",
    "application/yaml": "YAML", "application/x-yaml": "YAML", "text/yaml": "YAML",
    "application/dbf": "DBF", "application/x-dbf": "DBF", "application/x-msaccess": "MDB",
    "application/sparql-results+xml": "SPARQLQRES", "application/sparql-results+json": "SPARQLQRES",
    "application/vnd.ogc.wms_xml": "WMS_SRVC", "application/vnd.ogc.wmts_xml": "WMTS_SRVC",
    "application/vnd.ogc.wfs_xml": "WFS_SRVC", "application/vnd.ogc.wcs_xml": "WCS_SRVC",
    "application/vnd.ogc.wms+xml": "WMS_SRVC", "application/vnd.ogc.wmts+xml": "WMTS_SRVC",
    "application/vnd.ogc.wfs+xml": "WFS_SRVC", "application/vnd.ogc.wcs+xml": "WCS_SRVC",
    "application/vnd.ogc.csw_xml": "CSW_SRVC", "application/vnd.ogc.sos_xml": "SOS_SRVC",
    "application/sparql-query": "SPARQLQ", "application/graphql": "GRAPHQL",
    "application/vnd.oai.openapi": "OPENAPI", "application/vnd.oai.openapi+json": "OPENAPI",
    "application/pdf": "PDF", "application/msword": "DOC",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "DOCX",
    "application/vnd.oasis.opendocument.text": "ODT",
    "application/rtf": "RTF", "text/rtf": "RTF", "text/plain": "TXT",
    "text/html": "HTML", "application/xhtml+xml": "XHTML",
    "application/vnd.ms-powerpoint": "PPT",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "PPTX",
    "application/vnd.oasis.opendocument.presentation": "ODP", "application/epub+zip": "EPUB",
    "image/tiff": "TIFF", "image/jp2": "JPEG2000", "image/jpeg": "JPEG", "image/png": "PNG",
    "application/zip": "ZIP", "application/x-zip-compressed": "ZIP",
    "application/gzip": "GZIP", "application/x-gzip": "GZIP", "application/x-tar": "TAR",
    "application/x-7z-compressed": "7Z", "application/vnd.rar": "RAR",
    "application/x-rar-compressed": "RAR", "application/x-bzip2": "BZIP2",
    "application/octet-stream": "OCTET",
}  # fmt: skip
# Media type prefixes mapped when no exact entry exists.
MEDIA_TYPE_PREFIX_CODES: tuple[tuple[str, str], ...] = (
    ("image/", "IMAGE"),
    ("application/vnd.sdmx", "SDMX"),
)
# Registered top-level types: anything else shaped "a/b" ("RDF/XML") is read as a label.
TOP_LEVEL_TYPES = frozenset(
    {"application", "text", "image", "audio", "video", "model", "font", "message", "multipart",
     "chemical"}
)  # fmt: skip
# DCAT-AP-SE packaged literals: "text/csv+zip" = CSV inside a ZIP.
PACKAGING_SUFFIXES: dict[str, str] = {"zip": "ZIP", "gzip": "GZIP"}

# --- free-text labels ----------------------------------------------------------------------
# Curated label (lower-case, single spaces) -> code; wins over the EU table's labels.
LABELS: dict[str, str] = {
    "excel": "XLSX", "ms excel": "XLSX", "microsoft excel": "XLSX", "excel-fil": "XLSX",
    "word": "DOCX", "ms word": "DOCX", "powerpoint": "PPTX", "pdf": "PDF", "text": "TXT",
    "html": "HTML", "webbsida": "HTML", "webbplats": "HTML", "hemsida": "HTML",
    "web page": "HTML", "webpage": "HTML", "website": "HTML",
    "api": "API", "rest": "API", "rest api": "API", "restful": "API", "json api": "API",
    "webbtjänst": "API", "web service": "API", "webservice": "API",
    "esri rest": "REST", "arcgis rest": "REST", "arcgis rest api": "REST",
    "arcgis map service": "MAP_SRVC", "arcgis feature service": "REST",
    "wms": "WMS_SRVC", "wfs": "WFS_SRVC", "wcs": "WCS_SRVC", "wmts": "WMTS_SRVC",
    "csw": "CSW_SRVC", "sos": "SOS_SRVC", "wps": "WPS_SRVC", "ogc api": "OGC_API",
    "ogc wms": "WMS_SRVC", "ogc wfs": "WFS_SRVC", "ogc wcs": "WCS_SRVC", "ogc wmts": "WMTS_SRVC",
    "ogc:wms": "WMS_SRVC", "ogc:wfs": "WFS_SRVC", "ogc:wcs": "WCS_SRVC", "ogc:wmts": "WMTS_SRVC",
    "ogc-wms": "WMS_SRVC", "ogc-wfs": "WFS_SRVC", "ogc-wcs": "WCS_SRVC", "ogc-wmts": "WMTS_SRVC",
    "odata": "ODATA", "sparql": "SPARQLQ", "sparql endpoint": "SPARQLQ", "graphql": "GRAPHQL",
    "openapi": "OPENAPI", "swagger": "OPENAPI",
    "csv": "CSV", "tsv": "TSV", "json": "JSON", "geojson": "GEOJSON", "xml": "XML",
    "json-ld": "JSON_LD", "jsonld": "JSON_LD", "rdf": "RDF", "rdf/xml": "RDF_XML",
    "rdf+xml": "RDF_XML", "turtle": "RDF_TURTLE", "ttl": "RDF_TURTLE",
    "n-triples": "RDF_N_TRIPLES", "ntriples": "RDF_N_TRIPLES", "n-quads": "RDF_N_QUADS",
    "xls": "XLS", "xlsx": "XLSX", "ods": "ODS", "shape": "SHP", "shapefile": "SHP",
    "esri shape": "SHP", "shp": "SHP", "geopackage": "GPKG", "gpkg": "GPKG", "gml": "GML",
    "kml": "KML", "kmz": "KMZ", "parquet": "PARQUET", "netcdf": "NETCDF", "gtfs": "GTFS",
    "gtfs-rt": "GTFS", "gtfs realtime": "GTFS", "geotiff": "GEOTIFF", "sdmx": "SDMX",
    "yaml": "YAML", "yml": "YAML", "atom": "ATOM", "rss": "RSS", "filegdb": "GDB",
    "file geodatabase": "GDB", "sqlite": "SQLITE", "las": "LAS", "laz": "LAZ",
    "zip": "ZIP", "gzip": "GZIP", "tiff": "TIFF", "tif": "TIFF", "jpg": "JPEG",
}  # fmt: skip
# Phrases, then words, recognised inside longer free text ("OGC API - Features", "CSV och JSON").
PHRASES = ("ogc api", "esri rest", "arcgis rest", "sparql endpoint", "json-ld", "rdf/xml")
TOKENS = frozenset(
    {"csv", "tsv", "json", "geojson", "jsonld", "xml", "rdf", "turtle", "ttl", "xls", "xlsx",
     "excel", "ods", "pdf", "doc", "docx", "word", "odt", "rtf", "txt", "html", "api", "rest",
     "wms", "wfs", "wcs", "wmts", "csw", "odata", "sparql", "graphql", "openapi", "swagger",
     "kml", "kmz", "gml", "shp", "shapefile", "gpkg", "geopackage", "parquet", "netcdf",
     "gtfs", "geotiff", "sdmx", "yaml", "atom", "rss", "zip"}
)  # fmt: skip

# --- URL file extensions (weak evidence) --------------------------------------------------
# Curated extension -> code; wins over the EU table's "file-extension" mappings.
EXTENSIONS: dict[str, str] = {
    ".csv": "CSV", ".tsv": "TSV", ".json": "JSON", ".geojson": "GEOJSON",
    ".jsonld": "JSON_LD", ".xml": "XML", ".rdf": "RDF_XML",
    ".ttl": "RDF_TURTLE", ".nt": "RDF_N_TRIPLES", ".nq": "RDF_N_QUADS", ".trig": "RDF_TRIG",
    ".xls": "XLS", ".xlsx": "XLSX", ".ods": "ODS", ".parquet": "PARQUET", ".gpkg": "GPKG",
    ".gml": "GML", ".shp": "SHP", ".nc": "NETCDF", ".yaml": "YAML", ".yml": "YAML",
    ".sqlite": "SQLITE", ".gtfs": "GTFS", ".pdf": "PDF", ".html": "HTML", ".htm": "HTML",
    ".txt": "TXT", ".tif": "TIFF", ".tiff": "TIFF", ".tgz": "TAR_GZ", ".bz2": "BZIP2",
    ".7z": "7Z", ".zip": "ZIP", ".gz": "GZIP",
}  # fmt: skip
# File-name suffixes that name the file type beyond doubt: a declared format of another class
# is a contradiction (meta.distribution.format_conflict) and the suffix decides the class.
# (.xml, .json and .html are left out: servers answer with those for pages and APIs alike.)
STRONG_EXTENSIONS = frozenset(
    {".pdf", ".doc", ".docx", ".odt", ".rtf", ".ppt", ".pptx", ".odp", ".xls", ".xlsx", ".ods",
     ".csv", ".tsv", ".parquet", ".gpkg", ".shp", ".kmz", ".zip", ".7z", ".gz", ".tgz", ".jpg",
     ".jpeg", ".png", ".gif", ".tif", ".tiff"}
)  # fmt: skip
# Extension-less URL paths whose shape names the file type (weak, like extensions).
URL_PATH_FORMATS: tuple[tuple[str, str], ...] = (
    ("CSV", r"/datastore/dump/[\w-]+/?$"),  # CKAN DataStore dump: CSV unless ?format= says else
)
# Last suffixes that wrap an inner file ("data.csv.gz"), with the packaging code.
COMPRESSION_EXTENSIONS = {".zip": "ZIP", ".gz": "GZIP", ".bz2": "BZIP2", ".7z": "7Z"}

# --- API evidence --------------------------------------------------------------------------
SERVICE_DISTRIBUTION = ESTERMS + "ServiceDistribution"  # dataportal.se: A1-equivalent
SERVED_BY_DATA_SERVICE = ESTERMS + "ServedByDataService"  # dataportal.se: A2-equivalent
# A4: dct:conformsTo values naming an API specification (regex on lower-case IRI, no scheme).
API_SPEC_PATTERNS: tuple[tuple[str, str], ...] = (
    ("OGC service type", r"^www\.opengis\.net/def/servicetype/ogc/(wms|wfs|wcs|wmts|csw|sos|wps)"),
    ("OGC API", r"^www\.opengis\.net/(spec|doc/is)/ogcapi"),
    ("OpenAPI", r"^(spec\.openapis\.org/oas|swagger\.io/specification)"),
    ("OData", r"^docs\.oasis-open\.org/odata/"),
    ("SPARQL protocol", r"^www\.w3\.org/tr/sparql11-protocol"),
    ("STAC API", r"^api\.stacspec\.org/"),
    ("INSPIRE service",
     r"^inspire\.ec\.europa\.eu/metadata-codelist/spatialdataservicetype/(view|download)"),
    ("API description", r"((openapi|swagger)\.(json|ya?ml)|/api-docs)(\b|$)"),
)  # fmt: skip
# A5 (weak): accessURLs shaped like service endpoints (regex on lower-case URL).
ENDPOINT_PATTERNS: tuple[tuple[str, str], ...] = (
    ("OGC service query", r"[?&]service=(wms|wfs|wcs|wmts|csw|sos|wps)\b"),
    ("GetCapabilities", r"[?&]request=getcapabilities\b"),
    ("OGC endpoint path", r"/(wms|wfs|wcs|wmts|ows)/?(\?|#|$)"),
    ("SPARQL endpoint", r"/sparql/?(\?|#|$)"),
    ("OData", r"(/odata(/|\?|$)|\$metadata)"),
    ("ArcGIS REST", r"/rest/services/.+/(mapserver|featureserver|imageserver)\b"),
    ("OGC API collections", r"/collections\b.*[?&]f=json"),
    # The query APIs of the portals whose whole-file exports are downloads (A8): one asks
    # them for records, they do not hand out a file.
    ("CKAN DataStore query", r"/api/(3/)?action/datastore_search(_sql)?\b"),
    ("OpenDataSoft records query",
     r"/api/(records/1\.0/search|(explore/v2\.\d+/|v2/)catalog/datasets/[^/?#]+/records)\b"),
    ("GraphQL endpoint", r"/graphql/?(\?|#|$)"),
)  # fmt: skip
# Substrings one of which every endpoint pattern needs (a cheap pre-check before the patterns).
ENDPOINT_HINTS = ("service=", "request=", "wms", "wfs", "wcs", "wmts", "ows", "sparql", "odata",
                  "$metadata", "/rest/services/", "/collections", "datastore_search",
                  "/records", "graphql")  # fmt: skip
# A6 (weak): "API" as a whole word in a title (dataportal.se's shortcut).
API_TITLE_PATTERN = r"(?<![^\W_])api(?![^\W_])"
# A7 (weak): a distribution's description (or title) says it is an API or web service.
API_TEXT_PATTERN = (
    r"(?<![^\W_])(apis?|schnittstellen?|programmierschnittstellen?|webbtjänst(er)?"
    r"|web ?services?)(?![^\W_])"
)
API_TEXT_STEMS = ("api", "schnittstelle", "webbtj", "webservice", "web service")  # A7 pre-check
# Web addresses inside free text: A6/A7 read the words around them, never the addresses
# ("csv export of https://…/api/v2/…" does not say API).
# "opendata.example.de/api/docs" (a host name and a path, no scheme) is one too.
TEXT_URL_PATTERN = r"(?:[a-z][a-z0-9+.-]*://|www\.|[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}/)\S*"
# A8 (weak): an "api" token in the path of an accessURL that names no file (…/api/v2/items).
API_URL_TOKEN_PATTERN = r"(?<![a-z0-9])api(?![a-z0-9])"
# URL paths that hand out a whole file whatever else they say (…/api/v2/…/exports/csv): a
# download, never A8 evidence (regex on the lower-case path).
FILE_PATH_PATTERN = r"/(exports?|downloads?|dump|files?)(/|$)"
# What a query API answers with: a declared format of these does not make an accessURL under
# /api/ a file (a declared CSV, XLSX, PDF, ZIP … does).
API_ANSWER_CODES = frozenset({"JSON", "JSON_LD", "GEOJSON", "XML"})

# --- MQA vocabularies ----------------------------------------------------------------------
# (EU file types and access rights "from a vocabulary" are the metadata validator's:
# dcatwatch.dcat.vocabularies FILE_TYPE and ACCESS_RIGHT.)
# Licences counted as "from a vocabulary" (regex on lower-case IRI without scheme and "www.").
KNOWN_LICENCE_PATTERNS: tuple[str, ...] = (
    r"^publications\.europa\.eu/resource/authority/licence/[a-z0-9_.-]+/?$",
    r"^creativecommons\.org/licenses/(by|by-sa|by-nd|by-nc|by-nc-sa|by-nc-nd)/[1-4]\.[05](/.*)?$",
    r"^creativecommons\.org/publicdomain/(zero|mark)/1\.0(/.*)?$",
    r"^opendatacommons\.org/licenses/(odbl|by|pddl)(/.*)?$",
)
