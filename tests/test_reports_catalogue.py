"""The report's "Er katalog" / "Your catalogue" section: the health of the agency's own DCAT
catalogue, end to end (a loopback catalogue harvested well and then broken, `scores
--snapshot`, `report preview` in Swedish and English), and its texts."""

from __future__ import annotations

import html as markup
import json
import re
import sqlite3
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert

from dcatwatch.errors import CATALOGUE
from dcatwatch.reports.texts import Texts
from dcatwatch.store.tables import RUNS
from tests.conftest import FIXTURES
from tests.helpers import harvest_json, run, write_config
from tests.servers import LoopbackServer
from tests.test_reports import CATALOG, SENDER, TAX, scores

BROKEN_LINE = '    dct:title "Trafikflöden"@sv ;'
BROKEN = CATALOG.replace(BROKEN_LINE, BROKEN_LINE + ";; <<")
EMPTIED = "\n".join(line for line in CATALOG.splitlines() if line.startswith("@prefix"))
DUMP = FIXTURES / "dataportal" / "dump.rdf"
DUMP_ONLY = "2120001215-1"  # an agency whose datasets come only from the dataportal dump
SHOWN = {"fetch.timeout", "fetch.connection", "fetch.http_status", "fetch.too_large",
         "fetch.decompression_bomb", "fetch.bad_encoding", "fetch.too_many_redirects",
         "fetch.invalid_url", "parse.syntax", "parse.not_rdf", "parse.unsafe_xml",
         "parse.recovered", "parse.crashed", "parse.remote_context", "page.loop", "page.cap",
         "page.failed", "record.no_iri", "record.relative_iri", "record.invalid",
         "record.no_publisher", "record.too_large", "record.tolerated",
         "meta.distribution.format_conflict"}
DAY = r"\(\d{4}-\d{2}-\d{2}\)"


def configure(tmp_path: Path, sources: list[dict[str, Any]], language: str = "sv",
              database: str | None = None) -> Path:
    registry = [{"id": TAX, "name": "Skatteverket", "email": "oppnadata@skatteverket.example",
                 "language": language}]
    return write_config(tmp_path, sources, agencies=registry, database=database,
                        smtp={"host": "127.0.0.1", "sender": SENDER})


def catalogue_source(server: LoopbackServer, body: str) -> dict[str, Any]:
    url = server.route("/catalog.ttl", body.encode(), content_type="text/turtle")
    return {"name": "exempel", "type": "dcat", "url": url}


def harvest(config: Path, expected: str) -> None:
    _, [result] = harvest_json(config, "exempel")
    assert result["status"] == expected, result["errors"]


def preview(config: Path, out: Path, agency: str = TAX) -> tuple[str, str]:
    """The report's text and HTML, as `report preview` writes them."""
    status, stdout, err = run("--config", str(config), "report", "preview", "--agency", agency,
                              "--out", str(out), "--period", "2026-05")
    assert status == 0, err
    _, html, text = (Path(line) for line in stdout.splitlines())
    return text.read_text(encoding="utf-8"), html.read_text(encoding="utf-8")


def flat(text: str) -> str:
    """Text with line breaks and indentation as single spaces (the text part is wrapped)."""
    return " ".join(text.split())


def section(text: str, heading: str, after: str) -> str:
    """The text between ``heading`` and the next section, ``after``."""
    assert heading in text, text
    return text.split(heading, 1)[1].split(after, 1)[0]


def record_run(config: Path, status: str, errors: list[dict[str, Any]]) -> None:
    """A finished run of the ``exempel`` source, written straight into the store."""
    url = tomllib.loads(config.read_text(encoding="utf-8"))["database"]["url"]
    engine = create_engine(url)
    when = datetime(2026, 5, 14, 4, 0, tzinfo=UTC)  # 2026-05-14 in Stockholm
    try:
        with engine.begin() as connection:
            connection.execute(insert(RUNS).values(
                source="exempel", started_at=when, finished_at=when, status=status,
                errors=json.dumps(errors)))
    finally:
        engine.dispose()


def test_a_broken_catalogue_is_reported_with_when_it_last_worked_and_what_to_fix(
        server: LoopbackServer, tmp_path: Path) -> None:
    source = catalogue_source(server, CATALOG)
    config = configure(tmp_path, [source])
    harvest(config, "ok")
    with sqlite3.connect(tmp_path / "dcatwatch.db") as db:  # that good harvest was in April
        db.execute("UPDATE harvest_run SET started_at = '2026-04-20 03:00:00.000000', "
                   "finished_at = '2026-04-20 03:00:05.000000'")
        db.execute("UPDATE source SET last_success_at = '2026-04-20 03:00:05.000000'")
    catalogue_source(server, BROKEN)
    harvest(config, "failed")
    scores(config)
    line = BROKEN.splitlines().index(BROKEN_LINE + ";; <<") + 1
    position = re.compile(rf"line {line}, column \d+")

    text, html = preview(config, tmp_path / "sv")

    assert text.index("SÅ PUBLICERAR NI I DAG") < text.index("ER KATALOG") \
        < text.index("METADATAKVALITET (MQA)")  # right after the summary figures
    mine = flat(section(text, "ER KATALOG", "METADATAKVALITET"))
    assert f"- {source['url']} " in mine
    assert re.search(rf"Senaste hämtningen {DAY} misslyckades: katalogen gick inte att läsa\. "
                     r"Senast läst utan fel 2026-04-20\.", mine), mine
    assert "Det här behöver ni rätta: 1. Katalogen har ett syntaxfel. Rätta felet på raden " \
           "och kolumnen som anges." in mine
    assert "Exempel: Turtle syntax error at " in mine and position.search(mine)
    body = markup.unescape(flat(section(html, ">Er katalog</h2>", "<h2")))
    assert f'<a href="{source["url"]}"' in body
    assert re.search(rf'class="down"[^>]*>Senaste hämtningen {DAY} misslyckades', body), body
    assert "Senast läst utan fel 2026-04-20." in body
    assert ">Katalogen har ett syntaxfel.</span> Rätta felet på raden" in body
    assert position.search(body)

    configure(tmp_path, [source], language="en")
    text, html = preview(config, tmp_path / "en")

    mine = flat(section(text, "YOUR CATALOGUE", "METADATA QUALITY"))
    assert re.search(rf"The latest harvest {DAY} failed: the catalogue could not be read\. "
                     r"Last read without errors on 2026-04-20\.", mine), mine
    assert "What to fix: 1. The catalogue has a syntax error. Fix the error at the line and " \
           "column given." in mine
    assert position.search(mine)
    body = markup.unescape(flat(section(html, ">Your catalogue</h2>", "<h2")))
    assert "failed: the catalogue could not be read." in body
    assert "Last read without errors on 2026-04-20." in body
    assert ">The catalogue has a syntax error.</span> Fix the error" in body
    assert position.search(body)

    catalogue_source(server, CATALOG)  # fixed
    harvest(config, "ok")
    text, _ = preview(config, tmp_path / "fixed")
    mine = flat(section(text, "YOUR CATALOGUE", "METADATA QUALITY"))
    assert re.fullmatch(rf"We harvest .* went\. - {re.escape(source['url'])} "
                        rf"The latest harvest {DAY} went fine\.", mine), mine


def test_only_the_agencys_own_dcat_catalogues_get_a_section(server: LoopbackServer,
                                                            tmp_path: Path) -> None:
    dump = server.route_file("/all.rdf", DUMP, "application/rdf+xml")
    source = catalogue_source(server, CATALOG)
    config = configure(tmp_path, [
        {"name": "dataportal", "type": "dataportal", "mode": "dump", "url": dump}, source])
    status, results = harvest_json(config)
    assert status == 0 and [r["status"] for r in results] == ["ok", "ok"]
    scores(config)

    text, html = preview(config, tmp_path / "portal", agency=DUMP_ONLY)

    assert "ER KATALOG" not in text and "Er katalog" not in html

    text, _ = preview(config, tmp_path / "own")

    mine = section(text, "ER KATALOG", "METADATAKVALITET")
    assert source["url"] in mine and dump not in mine
    assert "Vi hämtar era datamängder direkt från er egen katalog." in flat(mine)


def test_problems_that_are_ours_to_fix_are_not_shown(server: LoopbackServer,
                                                     tmp_path: Path) -> None:
    source = catalogue_source(server, CATALOG)
    config = configure(tmp_path, [source])
    harvest(config, "ok")
    catalogue_source(server, EMPTIED)  # the guard holds the removals: run.held_removals
    harvest(config, "ok")
    scores(config)

    text, html = preview(config, tmp_path / "held")

    mine = flat(section(text, "ER KATALOG", "METADATAKVALITET"))
    assert re.search(rf"Senaste hämtningen {DAY} gick bra\.$", mine), mine
    assert "held back" not in text and "held back" not in html
    assert "Det här behöver ni rätta" not in text

    record_run(config, "failed", [
        {"code": "run.internal", "message": "KeyError: 'datasets'", "url": None},
        {"code": "fetch.refused_address", "message": "resolves to a private address",
         "url": source["url"]}])
    text, html = preview(config, tmp_path / "internal")

    mine = flat(section(text, "ER KATALOG", "METADATAKVALITET"))
    assert "Senaste hämtningen (2026-05-14) misslyckades" in mine
    assert "Felet ligger hos oss, inte i er katalog. Ni behöver inte göra något." in mine
    for hidden in ("KeyError", "private address", "Det här behöver ni rätta"):
        assert hidden not in text and hidden not in html


def test_run_problems_are_grouped_most_severe_first_and_escaped(
        server: LoopbackServer, tmp_path: Path, database_url: str) -> None:
    source = catalogue_source(server, CATALOG)
    config = configure(tmp_path, [source], database=database_url)
    harvest(config, "ok")
    scores(config)
    hostile = ("Turtle syntax error at line 3, column 9: <script>alert(1)</script>"
               + " near" * 60 + " TAIL-NEVER-SHOWN")

    def error(code: str, message: str = "", url: str | None = None) -> dict[str, Any]:
        return {"code": code, "message": message, "url": url}

    record_run(config, "partial", [
        error("run.internal", "a bug of ours"),
        *[error("record.no_publisher", "no dct:publisher", f"https://data.example.se/d/{i}")
          for i in range(3)],
        error("record.relative_iri", "resolved against the document URL"),
        error("page.cap", "stopped after 50 pages"),
        error("page.loop", "page 3 links back to page 1"),
        error("parse.syntax", hostile, "javascript:alert(1)"),
        error("page.failed", "fetch.http_status: HTTP 500", "https://data.example.se/p/2"),
        error("fetch.timeout", "no answer within 30 s", source["url"])])

    text, html = preview(config, tmp_path / "grouped")

    mine = flat(section(text, "ER KATALOG", "METADATAKVALITET"))
    assert re.search(r"Senaste hämtningen \(2026-05-14\) lyckades bara delvis: en del av "
                     r"katalogen gick inte att läsa\. Senast läst utan fel \d{4}-\d{2}-\d{2}\.",
                     mine), mine
    titles = ["1. Servern svarade inte i tid.", "2. Katalogen har ett syntaxfel.",
              "3. En sida eller delkatalog gick inte att läsa.",
              "4. En datamängd saknar utgivare (3 gånger).",
              "5. En sidlänk pekar tillbaka på en sida som vi redan har läst.",
              "6. Katalogen har fler sidor än vi läser."]
    assert [mine.index(title) for title in titles] == sorted(mine.index(t) for t in titles)
    assert "relativa IRI:er" not in mine
    assert mine.endswith("Ytterligare 1 typ av problem visas inte.")
    assert "Exempel: no dct:publisher <https://data.example.se/d/0>" in mine
    assert "Exempel: no answer within 30 s 2." in mine  # the catalogue's own URL is not repeated
    assert "a bug of ours" not in text and "TAIL-NEVER-SHOWN" not in text
    shown = mine.split("Exempel: Turtle syntax error", 1)[1].split(" <javascript:alert(1)>")[0]
    assert shown.startswith(" at line 3, column 9: <script>alert(1)</script> near near")
    assert len("Turtle syntax error" + shown) == 200 and shown.endswith("…")  # cut
    assert "<script" not in html and 'href="javascript:' not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; near" in html
    assert "javascript:alert(1)</span>" in html  # shown, as text
    assert "TAIL-NEVER-SHOWN" not in html


def test_every_harvest_problem_shown_has_texts_in_both_languages() -> None:
    assert {code for code, entry in CATALOGUE.items() if entry.publisher} == SHOWN
    for language in ("sv", "en"):
        texts = Texts(language)
        for code in SHOWN:
            assert texts(f"harvest_problems.{code}.problem")
            assert texts(f"harvest_problems.{code}.action")
        for status in ("ok", "warnings", "partial", "failed"):
            assert "2026-05-14" in texts(f"catalogue.status.{status}", date="2026-05-14")
