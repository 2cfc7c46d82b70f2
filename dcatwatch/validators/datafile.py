"""Validating one local tabular file with frictionless, set up for what Swedish files look like.

frictionless only ever sees a local path (or rows already read): it never opens a URL. Its
guesses are replaced where they go wrong on Swedish files (research/quality.md §5.3):

* **Encoding** (CSV/TSV): a byte-order mark decides (UTF-8, UTF-16); else UTF-8 if the first
  megabyte decodes as UTF-8; else Windows-1252; else Latin-1. chardet is not asked: it calls
  a Windows-1252 file with å/ä/ö "hp-roman8" and the file then looks broken.
* **Delimiter** (CSV): of ``;``, ``,``, TAB and ``|``, the one that splits the header line
  into the most cells (TSV: TAB). Headers carry no decimal commas, so ``;`` files with
  ``0,25`` in every row are not read as comma-separated.
* **Decimal commas**: a column whose sampled values are all numbers, at least one written
  with a decimal comma, is validated as a number with ``decimalChar ","``, not as the
  geopoint ("lon,lat") or string frictionless infers.
* **Missing values**: the configured markers (default ``""`` and SCB's ``..``).

Work is bounded by a row limit and an error limit; a file whose rows were not all read is
reported as ``sampled``. JSON counts as a table when it is an array of objects or of arrays
(possibly under one top-level key); it is parsed here and handed over as rows.
"""

from __future__ import annotations

import codecs
import csv
import json
import re
import threading
import warnings
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import frictionless
from frictionless import Detector, Dialect, FrictionlessException, Schema
from frictionless.formats import CsvControl

from dcatwatch.config import ValidationSettings

ENCODING_PROBE = 1 << 20
DELIMITERS = (";", ",", "\t", "|")
SAMPLE_ROWS = 500  # rows frictionless infers types from
_DECIMAL_COMMA = re.compile(r"^[+-]?\d+(?:,\d+)?$")
_LOCK = threading.Lock()  # frictionless and openpyxl touch global state (warnings filters)
UNPACKED_RATIO = 10  # a spreadsheet may unpack to this many times the file-size cap
_ZIP, _OLE = b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"
_GZIP, _UTF16_BOMS = b"\x1f\x8b", (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


class NotATable(Exception):
    """The file cannot be read as a table (the message says why)."""


@dataclass(slots=True)
class FileReport:
    """What frictionless found in one file."""

    valid: bool
    rows: int = 0
    row_limit_reached: bool = False
    error_count: int = 0
    error_types: dict[str, int] = field(default_factory=dict)
    examples: list[dict[str, Any]] = field(default_factory=list)


def detect_encoding(path: Path) -> str:
    """The encoding of a text file, decided as the module doc says."""
    with path.open("rb") as handle:
        head = handle.read(ENCODING_PROBE)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        head.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


def detect_delimiter(path: Path, encoding: str) -> str:
    """The delimiter that splits the header line into the most cells (``;`` wins ties)."""
    with path.open("r", encoding=encoding, errors="replace", newline="") as handle:
        header = handle.readline()
    counts = {d: len(next(csv.reader([header], delimiter=d), [])) for d in DELIMITERS}
    return max(DELIMITERS, key=lambda d: (counts[d], -DELIMITERS.index(d)))


def decimal_comma_columns(fragment: list[list[Any]], width: int,
                          missing: tuple[str, ...]) -> list[int]:
    """Indexes of columns whose values are numbers with decimal commas (module doc)."""
    found = []
    for index in range(width):
        values = [row[index] for row in fragment if index < len(row)]
        values = [v for v in values if isinstance(v, str) and v.strip() not in missing]
        if values and any("," in v for v in values) and \
                all(_DECIMAL_COMMA.match(v.strip()) for v in values):
            found.append(index)
    return found


def load_json_table(path: Path) -> list[Any]:
    """The rows of a JSON table: an array of objects or arrays, maybe under one key."""
    try:
        with path.open("rb") as handle:
            data = json.load(handle)
    except (ValueError, UnicodeDecodeError) as exc:
        raise NotATable(f"not valid JSON: {exc}") from None
    if isinstance(data, dict):
        arrays = [value for value in data.values() if isinstance(value, list)]
        data = arrays[0] if len(arrays) == 1 else None
    rows_alike = isinstance(data, list) and bool(data) and (
        all(isinstance(row, dict) for row in data) or all(isinstance(row, list) for row in data))
    if not rows_alike:
        raise NotATable("the JSON is not a table (an array of objects or of arrays)")
    return data


def actual_format(path: Path, declared: str, max_unpacked: int) -> str:
    """The format to validate ``path`` as, from its first bytes; ``declared`` when they agree.

    Excel and OpenDocument containers are told apart by content (an "Excel" distribution is
    often XLS, or XLSX named .xls). Raises :class:`NotATable` for a web page, an archive or
    a spreadsheet where text was declared (and the reverse), and for a container unpacking
    to more than ``max_unpacked`` bytes.
    """
    with path.open("rb") as handle:
        head = handle.read(1024)
    if head.startswith(_OLE):
        if declared not in ("xls", "xlsx"):
            raise NotATable(f"declared {declared.upper()}, but the file is an Excel 97 workbook")
        return "xls"
    if head.startswith(_ZIP):
        return _container_format(path, declared, max_unpacked)
    if declared in ("xls", "xlsx", "ods"):
        raise NotATable(f"declared {declared.upper()}, but the file is not a spreadsheet")
    if re.search(rb"<(!doctype html|html)[\s>]", head.lstrip(codecs.BOM_UTF8).lower()):
        raise NotATable("the URL answered with a web page, not the file")
    if head.startswith(_GZIP) or (b"\x00" in head and not head.startswith(_UTF16_BOMS)):
        raise NotATable(f"declared {declared.upper()}, but the file is binary (compressed?)")
    return declared


def _container_format(path: Path, declared: str, max_unpacked: int) -> str:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            unpacked = sum(info.file_size for info in archive.infolist())
            mimetype = archive.read("mimetype")[:100] if "mimetype" in names else b""
    except (zipfile.BadZipFile, OSError) as exc:
        raise NotATable(f"a damaged ZIP container: {exc}") from None
    if unpacked > max_unpacked:
        raise NotATable(f"the file unpacks to {unpacked} bytes, more than {max_unpacked}")
    if "xl/workbook.xml" in names:
        found = "xlsx"
    elif mimetype.startswith(_ODS_MIMETYPE):
        found = "ods"
    else:
        raise NotATable("the file is a ZIP archive, not a table")
    if declared in ("csv", "tsv", "json"):
        raise NotATable(f"declared {declared.upper()}, but the file is {found.upper()}")
    return found


def validate_file(path: Path, fmt: str, settings: ValidationSettings) -> FileReport:
    """Validate the ``fmt`` file (csv, tsv, xlsx, xls, ods, json) at ``path``.

    Raises :class:`NotATable` when the file cannot be read as a table at all.
    """
    options = _source(path, fmt)
    detector = Detector(sample_size=SAMPLE_ROWS, field_missing_values=list(settings.missing_values))
    with _LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            resource = frictionless.Resource(**options, detector=detector)
            resource.infer()
            schema = _patched(resource.schema, resource.fragment or [], settings.missing_values)
            options |= {"dialect": resource.dialect} if fmt != "json" else {}
            resource = frictionless.Resource(**options, schema=schema, detector=detector)
            rows = 0

            def count(_row: object) -> None:
                nonlocal rows
                rows += 1

            report = resource.validate(limit_rows=settings.row_limit,
                                       limit_errors=settings.error_limit, on_row=count)
        except FrictionlessException as exc:
            return _failed(exc.error.type, exc.error.message)
    return _summarise(report, rows, settings)


def _source(path: Path, fmt: str) -> dict[str, Any]:
    if fmt == "json":
        return {"data": load_json_table(path)}
    options: dict[str, Any] = {"path": path.name, "basepath": str(path.parent), "format": fmt}
    if fmt in ("csv", "tsv"):
        encoding = detect_encoding(path)
        delimiter = "\t" if fmt == "tsv" else detect_delimiter(path, encoding)
        options |= {"format": "csv", "encoding": encoding,
                    "dialect": Dialect(controls=[CsvControl(delimiter=delimiter)])}
    return options


def _patched(schema: Schema, fragment: list[list[Any]], missing: tuple[str, ...]) -> Schema:
    descriptor = schema.to_descriptor()
    fields = descriptor.get("fields", [])
    for index in decimal_comma_columns(fragment, len(fields), missing):
        fields[index] = {"name": fields[index]["name"], "type": "number", "decimalChar": ","}
    return Schema.from_descriptor(descriptor)


def _failed(kind: str, message: str) -> FileReport:
    return FileReport(valid=False, error_count=1, error_types={kind: 1},
                      examples=[{"type": kind, "message": message, "row": None, "field": None}])


def _summarise(report: frictionless.Report, rows: int, settings: ValidationSettings) -> FileReport:
    errors = list(report.errors) + [e for task in report.tasks for e in task.errors]
    warned = " ".join(w for task in report.tasks for w in task.warnings)
    types = Counter(error.type for error in errors)
    examples = [{"type": error.type, "message": error.message,
                 "row": getattr(error, "row_number", None),
                 "field": getattr(error, "field_name", None) or None}
                for error in errors[:settings.examples]]
    return FileReport(valid=report.valid, rows=rows, row_limit_reached="row limit" in warned,
                      error_count=len(errors), error_types=dict(types), examples=examples)
