"""Progress in the agency report: `report preview` after two periods shows the change of every
headline figure as the difference of the two stored snapshots, the problems fixed and new
since the last report, links that failed once with their next check, and the national
median in the month-by-month chart (HTML and text)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from dcatwatch.reports.texts import Texts
from tests.helpers import harvest_json, run, sql
from tests.servers import LoopbackServer
from tests.test_reports import CSV_ADDED, REGISTRY, TAX, scores, setup_store

PDF = "https://data.example.se/files/arsredovisning.pdf"
CSV = "https://data.example.se/files/skattesatser.csv"
ARSREDOVISNING = "https://data.example.se/dataset/arsredovisning"
SKATTESATSER = "https://data.example.se/dataset/skattesatser"
TITLES = {ARSREDOVISNING: "Årsredovisning 2025", SKATTESATSER: "Skattesatser per kommun"}
STOCKHOLM = ZoneInfo("Europe/Stockholm")
SV_MONTHS = ["januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti",
             "september", "oktober", "november", "december"]
LEVELS = [("api", "API"), ("machine_readable", "Maskinläsbara filer"),
          ("document_only", "Endast dokument"), ("unknown", "Format saknas")]
# the second period: årsredovisning gets a CSV file (fixes "add_csv"), skattesatser loses its
# keyword (a new "keyword" problem)
SECOND = CSV_ADDED.replace('    dcat:keyword "skatt"@sv ;\n', "")


def preview(config: Path, out: Path, period: str) -> tuple[str, str]:
    status, printed, err = run("--config", str(config), "report", "preview", "--agency", TAX,
                               "--out", str(out), "--period", period)
    assert status == 0, err
    paths = [Path(line) for line in printed.splitlines()]
    return paths[2].read_text(encoding="utf-8"), paths[1].read_text(encoding="utf-8")


def signed(value: float, digits: int) -> str:
    """A change as the Swedish report writes it."""
    if round(value, digits) == 0:
        return "±0"
    text = f"{abs(value):.{digits}f}".replace(".", ",")
    return ("+" if value > 0 else "\u2212") + text


def snapshot(config: Path, scored_at: Any) -> dict[str, Any]:
    """The agency's stored snapshot of the scoring run at ``scored_at``."""
    [row] = sql(config, "SELECT datasets, api, machine_readable, document_only, unknown, "
                        "api_document_index, mqa_points FROM agency_score "
                        f"WHERE agency_id = '{TAX}' AND scored_at = '{scored_at}'")
    return dict(zip(("datasets", "api", "machine_readable", "document_only", "unknown",
                     "index", "mqa"), row, strict=True))


def progress_table(text: str) -> dict[str, tuple[str, str]]:
    """The progress table of a text report: label → (now, change)."""
    block = text.split("FÖRÄNDRING SEDAN RAPPORTEN FÖR OKTOBER 2026", 1)[1]
    block = block.split("\n\n", 2)[2].split("\n\n", 1)[0]  # after the intro paragraph
    rows = [re.split(r"\s{2,}", line.strip()) for line in block.splitlines()[1:]]
    return {label: (now, change) for label, now, change in rows}


def test_preview_after_two_periods_shows_the_difference_of_the_stored_snapshots(
        server: LoopbackServer, tmp_path: Path) -> None:
    config, _ = setup_store(server, tmp_path, {}, registry=REGISTRY[:1])
    first_text, _ = preview(config, tmp_path / "first", "2026-10")
    assert "FÖRÄNDRING SEDAN" not in first_text  # nothing earlier to compare with
    assert "Vilka problem ni har åtgärdat visar nästa rapport" not in first_text

    server.route("/catalog.ttl", SECOND.encode(), content_type="text/turtle")
    harvest_json(config)
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    with_broken = ("INSERT INTO link_check (url, status, reachable, reason, last_checked_at, "
                   "first_failure_at, consecutive_failures, error_code, blame, "
                   "agency_failure_at, verdict) VALUES ('{0}', 404, 0, 'HTTP 404', '{1}', '{1}', "
                   "2, 'fetch.http_status', 'agency', '{1}', 'broken')")
    sql_write(config, with_broken.format(CSV, now))
    scores(config)
    text, html = preview(config, tmp_path / "second", "2026-11")

    [(before_at, before_broken), (after_at, after_broken)] = sql(
        config, f"SELECT scored_at, broken_links FROM report_progress WHERE agency_id = '{TAX}' "
                "ORDER BY period")
    before, after = snapshot(config, before_at), snapshot(config, after_at)
    assert before_at != after_at and (before_broken, after_broken) == (0, 1)
    api_share = 100 * (after["api"] / after["datasets"] - before["api"] / before["datasets"])
    expected = {
        "API–dokumentindex": signed(after["index"] - before["index"], 1),
        "Andel API": (f"{signed(api_share, 1)} procentenheter" if round(api_share, 1)
                      else "±0"),
        **{label: signed(after[key] - before[key], 0) for key, label in LEVELS},
        "MQA-snitt (poäng)": signed(after["mqa"] - before["mqa"], 1),
        "Bekräftat trasiga länkar": signed(after_broken - before_broken, 0),
    }
    table = progress_table(text)
    assert {label: change for label, (_, change) in table.items()} == expected
    assert table["Maskinläsbara filer"] == (str(after["machine_readable"]), "+1")
    assert table["Endast dokument"] == (str(after["document_only"]), "\u22121")
    assert table["Bekräftat trasiga länkar"] == ("1", "+1")
    assert f"{signed(after['index'] - before['index'], 1)} sedan rapporten för oktober 2026" \
        in text  # the headline agrees with the table

    problems = [{fix: set(iris) for fix, iris in json.loads(stored).items()} for (stored,) in
                sql(config, "SELECT problems FROM report_progress ORDER BY period")]
    done = {fix: gone for fix, iris in problems[0].items()
            if (gone := iris - problems[1].get(fix, set()))}
    added = {fix: new for fix, iris in problems[1].items()
             if (new := iris - problems[0].get(fix, set()))}
    assert done["add_csv"] == {ARSREDOVISNING} and added == {"keyword": {SKATTESATSER}}
    words = Texts("sv")
    fixed = text.split("Åtgärdat sedan rapporten för oktober 2026:", 1)[1].split("\n\n\n")[0]
    count = sum(len(iris) for iris in done.values())
    assert words.plural("progress.fixed_intro", count) in fixed
    assert listed(fixed) == {words("progress.fixed_item", done=words(f"fixes.{fix}.done"),
                                   datasets=words.plural("progress.datasets", len(iris))):
                             {TITLES[iri] for iri in iris} for fix, iris in done.items()}
    new = text.split("Nytt sedan rapporten för oktober 2026:", 1)[1].split("\n\n\n")[0]
    assert "1 problem har tillkommit sedan dess." in new
    assert listed(new) == {"1 datamängd saknar nyckelord": {"Skattesatser per kommun"}}

    for heading in ("Förändring sedan rapporten för oktober 2026",
                    "Åtgärdat sedan rapporten för oktober 2026",
                    "Nytt sedan rapporten för oktober 2026"):
        assert heading in html
    assert re.search(r'<th[^>]*>Bekräftat trasiga länkar</th>\s*'
                     r'<td[^>]*>1</td>\s*<td class="num down"[^>]*>\+1</td>', html)  # worse: red


def listed(block: str) -> dict[str, set[str]]:
    """The items of a fixed or new list in a text report: item → titles of its datasets."""
    items: dict[str, set[str]] = {}
    for line in block.splitlines():
        if line.startswith(" - "):
            item = items.setdefault(line[3:], set())
        elif line.startswith("   - "):
            item.add(line[5:].split(" <", 1)[0])
    return items


def sql_write(config: Path, statement: str) -> None:
    import sqlite3
    import tomllib

    url = tomllib.loads(config.read_text(encoding="utf-8"))["database"]["url"]
    with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
        db.execute(statement)


def next_sunday_three(after: datetime) -> datetime:
    """The first Sunday 03:00 in Stockholm after ``after`` (the default full link check)."""
    local = after.astimezone(STOCKHOLM)
    day = local.date()
    while True:
        moment = datetime(day.year, day.month, day.day, 3, tzinfo=STOCKHOLM)
        if day.isoweekday() == 7 and moment >= local:
            return moment
        day += timedelta(days=1)


def sv_date(moment: datetime) -> str:
    local = moment.astimezone(STOCKHOLM)
    return f"{local.day} {SV_MONTHS[local.month - 1]} {local.year}"


def test_a_link_that_failed_once_is_shown_and_counted_with_its_next_check(
        server: LoopbackServer, tmp_path: Path) -> None:
    config, _ = setup_store(server, tmp_path, {}, registry=REGISTRY[:1])
    failed = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    stamp = failed.replace(tzinfo=None)
    sql_write(config, "INSERT INTO link_check (url, status, reachable, reason, last_checked_at, "
                      "first_failure_at, consecutive_failures, error_code, blame, "
                      "agency_failure_at, verdict) VALUES "
                      f"('{PDF}', 404, 0, 'HTTP 404', '{stamp}', '{stamp}', 1, "
                      f"'fetch.http_status', 'agency', '{stamp}', 'failing')")
    sql_write(config, "INSERT INTO link_check (url, reachable, reason, last_checked_at, "
                      "consecutive_failures, error_code, blame, verdict) VALUES "
                      f"('{CSV}', 0, 'temporary DNS failure', '{stamp}', 1, "
                      "'fetch.connection', 'monitor', 'inconclusive')")

    text, html = preview(config, tmp_path / "preview", "2026-12")

    links = " ".join(text.split("LÄNKAR SOM INTE SVARAR", 1)[1].split())
    assert links.startswith("0 av 1 kontrollerade länkar svarar; 1 svarade med fel en gång "
                            "och kontrolleras igen.")  # the inconclusive check is left out
    due = failed + timedelta(hours=6)  # [validation] confirm_after_hours
    expected = (f"Servern svarade med felkod 404 den {sv_date(failed)}. Vi kontrollerar igen "
                f"senast den {sv_date(next_sunday_three(due))}.")
    assert expected in links and PDF in links and "Årsredovisning 2025" in links
    assert CSV not in links
    assert "Länkar som svarade med fel en gång" in html and expected in " ".join(html.split())


def test_the_chart_sets_the_national_median_of_each_month_beside_the_index(
        server: LoopbackServer, tmp_path: Path) -> None:
    config, figures = setup_store(server, tmp_path, {}, registry=REGISTRY[:1])
    for month, index, median in (("2026-09", 20.0, 41.5), ("2026-10", 30.0, 44.0)):
        at = f"{month}-15 10:00:00.000000"
        sql_write(config, "INSERT INTO agency_score (scored_at, agency_id, datasets, api, "
                          "machine_readable, document_only, unknown, api_share, "
                          "document_only_share, api_document_index, mqa_points, mqa_band, "
                          f"details) VALUES ('{at}', '{TAX}', 2, 0, 1, 1, 0, 0, 0.5, {index}, "
                          "100, 'Bad', '{}')")
        sql_write(config, "INSERT INTO national_score (scored_at, agencies, agencies_with_api, "
                          "agencies_with_api_share, datasets, api_share, document_only_share, "
                          f"api_document_index, median_api_document_index, unattributed) VALUES "
                          f"('{at}', 2, 1, 0.5, 3, 0.3, 0.3, 50, {median}, 0)")
    [(latest_median,)] = sql(config, "SELECT median_api_document_index FROM national_score "
                                     "ORDER BY scored_at DESC LIMIT 1")

    text, html = preview(config, tmp_path / "preview", "2026-12")

    chart = text.split("INDEXET MÅNAD FÖR MÅNAD", 1)[1].split("\n\n\n", 1)[0]
    assert "# Skatteverket   = landets median" in chart
    lines = [line for line in chart.splitlines() if line.startswith("  ")]
    assert lines[0].split()[:3] == ["september", "2026", "####"]
    assert lines[0].rstrip().endswith("20,0") and lines[1].rstrip().endswith("41,5")
    assert lines[1].split()[0] == "=" * 8  # 41,5 of 100 in 20 characters
    assert lines[3].rstrip().endswith("44,0")
    latest = f"{latest_median:.1f}".replace(".", ",")
    assert lines[-1].rstrip().endswith(latest)
    assert lines[-2].rstrip().endswith(f"{figures[TAX]['api_document_index']:.1f}"
                                       .replace(".", ","))
    assert "Landets median" in html
    assert re.search(r'<th[^>]*>september 2026</th>.*?<td class="median-bar"[^>]*'
                     r'width="42%".*?41,5</td>', html, re.S)


def test_send_keeps_the_period_of_an_agency_without_an_address_once(
        server: LoopbackServer, tmp_path: Path) -> None:
    registry = [{"id": TAX, "name": "Skatteverket"}]  # no address: never e-mailed
    config, _ = setup_store(server, tmp_path, {}, registry=registry)
    status, out, err = run("--config", str(config), "report", "send", "--period", "2026-10")
    assert status == 0, err
    assert "1 skipped (no e-mail address)" in out
    [(scored_at, recorded_at, problems)] = sql(
        config, "SELECT scored_at, recorded_at, problems FROM report_progress "
                f"WHERE agency_id = '{TAX}' AND period = '2026-10'")
    [(latest,)] = sql(config, f"SELECT max(scored_at) FROM agency_score WHERE agency_id = '{TAX}'")
    assert scored_at == latest and "add_csv" in json.loads(problems)

    scores(config)  # a later snapshot: the period's record stays what the first send kept
    run("--config", str(config), "report", "send", "--period", "2026-10")
    assert sql(config, "SELECT scored_at, recorded_at FROM report_progress") == [
        (scored_at, recorded_at)]
    assert sql(config, "SELECT count(*) FROM report_delivery") == [(0,)]


def test_a_period_record_is_replaced_and_the_latest_earlier_one_is_found(
        database_url: str) -> None:
    from dcatwatch.store.core import Store

    first, second = (datetime(2026, 10, 2, 5, tzinfo=UTC), datetime(2026, 10, 20, 5, tzinfo=UTC))
    with Store.open(database_url) as store:
        with store.write() as unit:
            unit.progress.record(TAX, "2026-09", first, 3, {"license": [PDF]}, first)
            unit.progress.record(TAX, "2026-10", first, 2, {"keyword": [CSV]}, first)
            unit.progress.record(TAX, "2026-10", second, 1, {}, second)  # the same period
            unit.progress.record("other", "2026-11", second, 9, {}, second)
        with store.read() as unit:
            latest = unit.progress.before(TAX, "2026-12")
            earlier = unit.progress.before(TAX, "2026-10")
            assert unit.progress.before(TAX, "2026-09") is None
    stored = latest.scored_at  # naive UTC from SQLite
    assert stored == second or stored.replace(tzinfo=UTC) == second
    assert (latest.period, latest.broken_links,
            json.loads(latest.problems)) == ("2026-10", 1, {})
    assert (earlier.period, earlier.broken_links, json.loads(earlier.problems)) == (
        "2026-09", 3, {"license": [PDF]})
