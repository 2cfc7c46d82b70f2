"""Importing the agency registry from CSV: delimiters, encodings, headers, upserts, bad rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from dcatwatch.config import AgencySettings, Settings
from dcatwatch.harvester.agencies import sync_registry
from dcatwatch.registry.importer import import_agencies
from dcatwatch.reports.service import registry
from dcatwatch.store.core import Store
from dcatwatch.store.db import open_store
from tests.helpers import run, write_config


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    return open_store(f"sqlite:///{tmp_path}/dcatwatch.db")


def write(tmp_path: Path, content: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / "registry.csv"
    path.write_bytes(content.encode(encoding))
    return path


def agencies(engine: Engine) -> dict[str, tuple]:
    with engine.connect() as conn:
        return {row[0]: (row[1], row[2], bool(row[3]), json.loads(row[4])) for row in conn.execute(
            text("SELECT id, name, email, in_registry, publisher_iris FROM agency"))}


def test_semicolons_bom_dashed_orgnr_aliases_and_quoted_names(engine: Engine,
                                                               tmp_path: Path) -> None:
    path = write(tmp_path, (
        "Organisationsnummer;Namn;E-post;Alias;Språk\r\n"
        "202100-5448;Skatteverket;oppnadata@skatteverket.se;"
        "https://www.skatteverket.se/#org | http://skatteverket.se/org;sv\r\n"
        'SE2021006297;"Trafikverket; Borlänge";;;EN\r\n'
        "\r\n"
        "2120001215-1;Göteborgs stad, park- och natur;;;\r\n"), encoding="utf-8-sig")

    result = import_agencies(Store(engine), path)

    assert (result.added, result.updated, result.unchanged) == (3, 0, 0)
    assert [(r.id, r.language, r.line) for r in result.rows] == [
        ("2021005448", "sv", 2), ("2021006297", "en", 3), ("2120001215-1", None, 5)]
    assert agencies(engine) == {
        "2021005448": ("Skatteverket", "oppnadata@skatteverket.se", True,
                       ["http://skatteverket.se/org", "https://www.skatteverket.se/#org"]),
        "2021006297": ("Trafikverket; Borlänge", None, True, []),
        "2120001215-1": ("Göteborgs stad, park- och natur", None, True, []),
    }


def test_commas_and_columns_in_any_order_other_columns_ignored(engine: Engine,
                                                               tmp_path: Path) -> None:
    path = write(tmp_path, "name,kommentar,orgnr,email\n"
                           '"Lantmäteriet, Gävle",x,2021001363,lm@lm.se\n')
    import_agencies(Store(engine), path)
    assert agencies(engine) == {"2021001363": ("Lantmäteriet, Gävle", "lm@lm.se", True, [])}


def test_without_a_header_the_columns_are_positional(engine: Engine, tmp_path: Path) -> None:
    import_agencies(Store(engine), write(tmp_path, "2021004730;SCB;scb@scb.se\n"))
    assert agencies(engine) == {"2021004730": ("SCB", "scb@scb.se", True, [])}


def test_windows_1252_from_a_spreadsheet_is_read(engine: Engine, tmp_path: Path) -> None:
    result = import_agencies(Store(engine), write(tmp_path, "id;namn\n2021004441;Naturvårdsverket\n",
                                           encoding="cp1252"))
    assert result.encoding == "windows-1252"
    assert agencies(engine)["2021004441"][0] == "Naturvårdsverket"


def test_reimport_updates_names_keeps_seen_iris_and_counts_unchanged(engine: Engine,
                                                                     tmp_path: Path) -> None:
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO agency (id, name, in_registry, identity_rule, flagged, "
                          "publisher_iris) VALUES ('2021006297', 'Trafikverket (portal)', 0, "
                          "'dataportal', 0, :iris)"),
                     {"iris": json.dumps(["http://dataportal.se/organisation/SE2021006297"])})
    path = write(tmp_path, "id;name;aliases\n2021006297;Trafikverket;https://tv.se/org\n"
                           "2021005448;Skatteverket;\n")

    first = import_agencies(Store(engine), path)
    again = import_agencies(Store(engine), path)

    assert (first.added, first.updated, first.unchanged) == (1, 1, 0)
    assert (again.added, again.updated, again.unchanged) == (0, 0, 2)
    assert agencies(engine)["2021006297"] == (
        "Trafikverket", None, True,
        ["http://dataportal.se/organisation/SE2021006297", "https://tv.se/org"])
    with engine.connect() as conn:
        rule = conn.execute(text("SELECT identity_rule FROM agency WHERE id = '2021006297'"))
        assert rule.scalar() == "dataportal"


def test_the_imported_language_is_kept_and_written_in_unless_the_config_says_otherwise(
        engine: Engine, tmp_path: Path) -> None:
    path = write(tmp_path, "id;name;language\n2021005448;Skatteverket;en\n"
                           "2021006297;Trafikverket;\n2021001363;Lantmäteriet;en\n")
    import_agencies(Store(engine), path)
    changed = import_agencies(Store(engine), write(tmp_path, "id;name;language\n"
                                                      "2021005448;Skatteverket;sv\n"))
    configured = Settings(agencies=[{"id": "2021001363", "name": "Lantmäteriet",
                                     "language": "sv"},
                                    {"id": "2021006297", "name": "Trafikverket"}])

    languages = {r.id: r.language for r in registry(configured, Store(engine))}

    assert (changed.updated, changed.unchanged) == (1, 0)
    assert languages == {"2021005448": "sv", "2021006297": None, "2021001363": "sv"}
    languages = {r.id: r.language for r in registry(Settings(), Store(engine))}
    assert languages == {"2021005448": "sv", "2021006297": None, "2021001363": "en"}


def test_the_configured_registry_keeps_an_imported_language_it_does_not_set(
        database_url: str, tmp_path: Path) -> None:
    engine = open_store(database_url)
    import_agencies(Store(engine), write(tmp_path, "id;name;language\n2021005448;Skatteverket;en\n"
                                            "2021006297;Trafikverket;en\n"))
    engine.dispose()
    with Store.open(database_url) as store, store.write() as unit:
        sync_registry(unit, [AgencySettings(id="2021005448", name="Skatteverket"),
                             AgencySettings(id="2021006297", name="Trafikverket",
                                            language="sv")])
        stored = dict(unit.connection.execute(text("SELECT id, language FROM agency")).all())
    assert stored == {"2021005448": "en", "2021006297": "sv"}


def test_bad_rows_are_named_by_line_and_the_good_ones_imported(engine: Engine,
                                                                 tmp_path: Path) -> None:
    path = write(tmp_path, (
        "id;name;email;aliases;language\n"
        "2021005448;Skatteverket;;;\n"
        ";Utan id;;;\n"
        "2021006297;;not-an-address;;de\n"
        "202100-5448;Dubblett;;;\n"
        "min myndighet;Namn;;ftp space;\n"))

    result = import_agencies(Store(engine), path)

    assert result.errors == [
        "line 3: the id (organisation number) is empty",
        "line 4: the name is empty",
        "line 4: e-mail address 'not-an-address' is not valid",
        "line 4: language 'de' is neither sv nor en",
        "line 5: id 2021005448 is already on line 2",
        "line 6: id 'min myndighet' is not an organisation number or an id of letters, digits, "
        "'.', '_' and '-'",
        "line 6: alias 'ftp space' is not an IRI",
    ]
    assert result.summary().startswith(
        f"{path}: 1 added, 0 updated, 0 unchanged; 7 problems, those rows were not imported:\n"
        "  line 3: the id")
    assert agencies(engine) == {"2021005448": ("Skatteverket", None, True, [])}


@pytest.mark.parametrize(("content", "error"), [
    ("", "the file lists no agencies"),
    ("id;name\n", "the file lists no agencies"),
    ("orgnr;email\n2021005448;a@b.se\n", "line 1: the header has no 'name' column"),
])
def test_empty_files_and_headers_without_a_name_import_nothing(engine: Engine, tmp_path: Path,
                                                               content: str, error: str) -> None:
    result = import_agencies(Store(engine), write(tmp_path, content))
    assert result.errors == [error] and result.rows == []
    assert agencies(engine) == {}


def test_a_missing_file_is_an_error_not_a_crash(engine: Engine, tmp_path: Path) -> None:
    result = import_agencies(Store(engine), tmp_path / "saknas.csv")
    assert result.errors == ["cannot read the file: No such file or directory"]


def test_the_command_line_imports_and_exits_1_on_bad_rows(tmp_path: Path) -> None:
    config = write_config(tmp_path, [])
    good = write(tmp_path, "orgnr;namn\n202100-5448;Skatteverket\n")
    status, out, _ = run("--config", str(config), "agencies", "import", str(good))
    assert (status, out.strip()) == (0, f"{good}: 1 added, 0 updated, 0 unchanged")

    bad = write(tmp_path, "orgnr;namn\n202100-5448;Skatteverket\nx y;Fel\n")
    status, out, _ = run("--config", str(config), "agencies", "import", str(bad))
    assert status == 1 and "1 unchanged" in out and "line 3: id 'x y'" in out
