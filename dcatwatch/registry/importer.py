"""Importing the agency registry from a CSV file (``dcatwatch agencies import FILE.csv``).

The registry is the list of bodies that should publish (and where their reports go). The
file has a header row naming its columns -- ``id`` (or ``orgnr``/``organisationsnummer``),
``name`` (``namn``), ``email`` (``e-post``), optional ``aliases`` (publisher IRIs separated
by ``|``) and ``language`` (``sv``/``en``), in any order, other columns ignored -- or no
header, and then those five columns in that order. Fields are separated by ``;`` (what a
Swedish spreadsheet writes) or ``,``; the text is UTF-8 with or without a byte-order mark
(Windows-1252, Excel's other CSV, is read too). Organisation numbers may carry a dash or an
``SE`` prefix (``202100-5448``, ``SE2021005448`` → ``2021005448``).

Good rows are upserted into the agency table as registry agencies (``in_registry``), in one
transaction; aliases join the agency's publisher IRIs. A bad row is skipped and reported with
its line number, so fixing it and importing again completes the registry. A registry agency
that publishes nothing is listed like any other, with no datasets.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from dcatwatch.dcat.agency import organisation_number
from dcatwatch.store.core import Store

COLUMNS = ("id", "name", "email", "aliases", "language")
HEADER_NAMES = {
    "id": "id", "orgnr": "id", "organisationsnummer": "id", "org_nr": "id", "org-nr": "id",
    "name": "name", "namn": "name",
    "email": "email", "e-mail": "email", "e-post": "email", "epost": "email", "mail": "email",
    "aliases": "aliases", "alias": "aliases",
    "language": "language", "lang": "language", "språk": "language", "sprak": "language",
}
LANGUAGES = {"sv", "en"}
_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$")


@dataclass(slots=True)
class RegistryRow:
    """One agency as the file gives it."""

    id: str
    name: str
    email: str | None = None
    aliases: list[str] = field(default_factory=list)
    language: str | None = None  # of its reports; None: the configured default
    line: int = 0


@dataclass(slots=True)
class ImportResult:
    """What an import changed, and the rows it refused (``line N: why``)."""

    file: str
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    encoding: str = "utf-8"
    rows: list[RegistryRow] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line of counts, then the refused rows."""
        text = (f"{self.file}: {self.added} added, {self.updated} updated, "
                f"{self.unchanged} unchanged")
        if self.errors:
            text += f"; {len(self.errors)} problems, those rows were not imported:\n  "
            text += "\n  ".join(self.errors)
        return text

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def import_agencies(store: Store, csv_path: Path) -> ImportResult:
    """Upsert the registry agencies listed in ``csv_path``; bad rows are skipped and named
    in ``errors``, as is a file that cannot be read."""
    result = ImportResult(file=str(csv_path))
    try:
        text, result.encoding = _decoded(csv_path)
    except OSError as exc:
        result.errors.append(f"cannot read the file: {exc.strerror or exc}")
        return result
    result.rows, result.errors = read_rows(text)
    if not result.rows:
        return result
    with store.write() as unit:
        existing = unit.agencies.get([r.id for r in result.rows])
        changed = []
        for row in result.rows:
            known = existing.get(row.id)
            seen = json.loads(known.publisher_iris) if known is not None else []
            iris = sorted(set(seen) | set(row.aliases))
            if known is None:
                result.added += 1
            elif (known.name, known.email, known.language, known.in_registry, seen) == (
                    row.name, row.email, row.language, True, iris):
                result.unchanged += 1
                continue
            else:
                result.updated += 1
            changed.append({"id": row.id, "name": row.name, "email": row.email,
                            "language": row.language, "publisher_iris": iris})
        unit.agencies.import_registry(changed)
    return result


def _decoded(path: Path) -> tuple[str, str]:
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace"), "windows-1252"


def read_rows(text: str) -> tuple[list[RegistryRow], list[str]]:
    """The good rows of a registry CSV text, and a ``line N: why`` for each bad one."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = ";" if ";" in first and first.count(";") >= first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    columns: list[str | None] = list(COLUMNS)
    rows: list[RegistryRow] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    header_checked = False
    for cells in reader:
        if not any(cell.strip() for cell in cells):
            continue
        if not header_checked:
            header_checked = True
            names = [HEADER_NAMES.get(cell.strip().lower()) for cell in cells]
            if "id" in names:
                if "name" not in names:
                    return [], [f"line {reader.line_num}: the header has no 'name' column"]
                columns = names
                continue
        row = _row(cells, columns, reader.line_num, problems)
        if row is None:
            continue
        if row.id in seen:
            problems.append(f"line {row.line}: id {row.id} is already on line {seen[row.id]}")
            continue
        seen[row.id] = row.line
        rows.append(row)
    if not rows and not problems:
        problems.append("the file lists no agencies")
    return rows, problems


def _row(cells: list[str], columns: list[str | None], line: int,
         problems: list[str]) -> RegistryRow | None:
    values = {name: cell.strip() for name, cell in zip(columns, cells, strict=False) if name}
    found: list[str] = []
    raw_id = values.get("id", "")
    agency_id = organisation_number(raw_id) or raw_id
    if not raw_id:
        found.append("the id (organisation number) is empty")
    elif not _ID.match(agency_id):
        found.append(f"id {raw_id!r} is not an organisation number or an id of letters, "
                     "digits, '.', '_' and '-'")
    name = values.get("name", "")
    if not name:
        found.append("the name is empty")
    email = values.get("email") or None
    if email and not _EMAIL.match(email):
        found.append(f"e-mail address {email!r} is not valid")
    aliases = [a.strip() for a in values.get("aliases", "").split("|") if a.strip()]
    found += [f"alias {alias!r} is not an IRI" for alias in aliases if not _IRI.match(alias)]
    language = values.get("language", "").lower() or None
    if language and language not in LANGUAGES:
        found.append(f"language {language!r} is neither sv nor en")
    if found:
        problems.extend(f"line {line}: {problem}" for problem in found)
        return None
    return RegistryRow(agency_id, name, email, aliases, language, line)
