"""Data checks against files served by a real loopback server: frictionless on bounded copies."""

from __future__ import annotations

import gzip
import io
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import openpyxl
import pytest
from pydantic import ValidationError
from sqlalchemy import select

from dcatwatch.config import HttpSettings, Settings, ValidationSettings
from dcatwatch.dcat.model import Distribution
from dcatwatch.http.client import CacheValidators, HttpClient
from dcatwatch.store.core import Store
from dcatwatch.store.validation_models import DataCheck
from dcatwatch.validators.data import DataChecker, DataTarget, check_data, cut_at_last_line, target
from dcatwatch.validators.datafile import detect_delimiter, detect_encoding
from tests.helpers import check_links
from tests.conftest import FIXTURES
from tests.servers import LoopbackServer, Request, Response

FILES = FIXTURES / "validation"
CSV = "text/csv; charset=utf-8"


@pytest.fixture
def client() -> Iterator[HttpClient]:
    with HttpClient(HttpSettings(allowed_networks=("127.0.0.0/8",), min_delay=0,
                                 retries=0)) as http:
        yield http


def check(client: HttpClient, url: str, fmt: str, settings: ValidationSettings | None = None,
          cached: CacheValidators | None = None, known: str | None = None):
    return DataChecker(client, settings or ValidationSettings()).check(url, fmt, cached, known)


def test_clean_csv_is_valid(server: LoopbackServer, client: HttpClient) -> None:
    url = server.route_file("/clean.csv", FILES / "clean.csv", CSV)
    outcome = check(client, url, "csv")
    assert outcome.valid is True and outcome.sampled is False
    assert outcome.report is not None and outcome.report.rows == 3
    assert outcome.report.error_count == 0 and outcome.http_status == 200


def test_blank_header_extra_and_missing_cells_are_reported(server: LoopbackServer,
                                                           client: HttpClient) -> None:
    url = server.route_file("/broken.csv", FILES / "broken.csv", CSV)
    outcome = check(client, url, "csv")
    assert outcome.valid is False and outcome.report is not None
    assert outcome.report.error_types == {"blank-label": 1, "extra-cell": 1, "missing-cell": 1}
    examples = {e["type"]: e for e in outcome.report.examples}
    assert examples["extra-cell"]["row"] == 3
    assert (examples["missing-cell"]["row"], examples["missing-cell"]["field"]) == (4, "namn")
    assert examples["blank-label"]["field"] == "field2"


def test_windows_1252_semicolons_and_decimal_commas_are_valid(server: LoopbackServer,
                                                              client: HttpClient) -> None:
    path = FILES / "swedish-cp1252.csv"
    assert detect_encoding(path) == "cp1252" and detect_delimiter(path, "cp1252") == ";"
    url = server.route_file("/kommuner.csv", path, "text/csv")
    outcome = check(client, url, "csv")
    assert outcome.report is not None
    assert outcome.valid is True, outcome.report.examples  # no geopoint, no false type errors
    assert outcome.report.rows == 150


def test_a_decimal_comma_column_is_still_typed(server: LoopbackServer, client: HttpClient) -> None:
    text = "kommun;andel\n" + "".join(f"K{i};0,{i:02d}\n" for i in range(50)) + "K50;ingen\n"
    url = server.route("/andel.csv", text.encode("utf-8"), content_type=CSV)
    outcome = check(client, url, "csv")
    assert outcome.valid is False and outcome.report is not None
    assert outcome.report.error_types == {"type-error": 1}
    example = outcome.report.examples[0]
    assert (example["row"], example["field"]) == (52, "andel")


def test_utf8_bom_and_tsv(server: LoopbackServer, client: HttpClient) -> None:
    text = "\ufeffnamn\tvärde\nÅre\t1\nÖrebro\t2\n"
    url = server.route("/data.tsv", text.encode("utf-8"), content_type="text/tab-separated-values")
    outcome = check(client, url, "tsv")
    assert outcome.valid is True and outcome.report is not None and outcome.report.rows == 2


def test_xlsx_is_validated_whole(server: LoopbackServer, client: HttpClient) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["kommun", "invånare"])
    for i in range(20):
        sheet.append([f"Kommun {i}", 1000 + i])
    buffer = io.BytesIO()
    book.save(buffer)
    url = server.route("/kommuner.xlsx", buffer.getvalue(), content_type=(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))
    outcome = check(client, url, "xlsx")
    assert outcome.format == "xlsx" and outcome.valid is True and outcome.sampled is False
    assert outcome.report is not None and outcome.report.rows == 20
    small = ValidationSettings(max_file_bytes=len(buffer.getvalue()) // 2)
    too_big = check(client, url, "xlsx", small)
    assert too_big.valid is None and "max_file_bytes" in too_big.reason


def test_a_400_mb_stream_is_sampled_and_cut_at_a_full_line(server: LoopbackServer,
                                                            client: HttpClient) -> None:
    header, line = b"id;kommun;invanare;andel\n", b"1;Stockholm;975551;12,5\n"
    total = 400 * 1024 * 1024
    sent = [0]

    def endless(_request: Request) -> Response:
        def body() -> Iterator[bytes]:
            yield header
            chunk = line * 4096
            while sent[0] < total:
                sent[0] += len(chunk)
                yield chunk
        return Response(200, body(), {"Content-Type": CSV})

    url = server.handle("/huge.csv", endless)
    settings = ValidationSettings(sample_bytes=1 << 20, row_limit=5000)
    started = time.monotonic()
    outcome = check(client, url, "csv", settings)
    assert time.monotonic() - started < 10
    assert outcome.sampled is True and outcome.valid is True
    assert outcome.bytes_read <= settings.sample_bytes
    assert (outcome.bytes_read - len(header)) % len(line) == 0  # header + whole lines only
    assert sent[0] < 8 * settings.sample_bytes  # the server was not drained
    assert outcome.report is not None and outcome.report.rows == settings.row_limit


def test_conditional_get_skips_revalidation(server: LoopbackServer, client: HttpClient) -> None:
    body = (FILES / "clean.csv").read_bytes()

    def etagged(request: Request) -> Response:
        if request.headers.get("if-none-match") == '"v1"':
            return Response(304, b"", {"ETag": '"v1"'})
        return Response(200, body, {"Content-Type": CSV, "ETag": '"v1"'})

    url = server.handle("/etag.csv", etagged)
    first = check(client, url, "csv")
    assert first.valid is True and first.etag == '"v1"' and not first.unchanged
    again = check(client, url, "csv", cached=CacheValidators(first.etag, None))
    assert again.unchanged is True and again.report is None and again.http_status == 304
    same = check(client, url, "csv", known=first.sha256)  # no validators: same bytes
    assert same.unchanged is True and same.report is None


def test_a_web_page_is_not_validated(server: LoopbackServer, client: HttpClient) -> None:
    url = server.route("/sida.csv", b"<!DOCTYPE html><html><body>Hej</body></html>",
                       content_type="text/html")
    outcome = check(client, url, "csv")
    assert outcome.valid is None and "web page" in outcome.reason


def test_a_404_is_a_reason_not_a_crash(server: LoopbackServer, client: HttpClient) -> None:
    outcome = check(client, server.url("/saknas.csv"), "csv")
    assert outcome.valid is None and outcome.http_status == 404
    assert outcome.reason.startswith("fetch.http_status")


def test_json_tables(server: LoopbackServer, client: HttpClient) -> None:
    records = (b'{"data": [{"kommun": "Ale", "invanare": 32000}, '
               b'{"kommun": "Bjuv", "invanare": 16000}]}')
    url = server.route("/kommuner.json", records, content_type="application/json")
    outcome = check(client, url, "json")
    assert outcome.valid is True and outcome.report is not None and outcome.report.rows == 2
    url = server.route("/config.json", b'{"version": 2, "name": "x"}',
                       content_type="application/json")
    outcome = check(client, url, "json")
    assert outcome.valid is None and "not a table" in outcome.reason


def test_the_content_decides_the_spreadsheet_kind(server: LoopbackServer,
                                                  client: HttpClient) -> None:
    url = server.route("/fel.xlsx", b"a;b\n1;2\n", content_type="application/vnd.ms-excel")
    outcome = check(client, url, "xlsx")
    assert outcome.valid is None and outcome.reason == \
        "declared XLSX, but the file is not a spreadsheet"
    url = server.route("/packad.csv", gzip.compress(b"a;b\n1;2\n"), content_type="text/csv")
    outcome = check(client, url, "csv")
    assert outcome.valid is None and "binary" in outcome.reason


def test_unreachable_files_are_not_downloaded(server: LoopbackServer, client: HttpClient,
                                              tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path}/data.db")
    dead = "http://127.0.0.1:9/data.csv"
    good = server.route_file("/clean.csv", FILES / "clean.csv", CSV)

    def now() -> datetime:
        return datetime(2025, 3, 1, tzinfo=UTC)

    settings = ValidationSettings(recheck_hours=0)
    check_links(store, client, [dead, good], workers=2, timeout=5, recheck_hours=0, now=now)
    targets = [DataTarget(dead, "csv"), DataTarget(good, "csv"), DataTarget(None, None, "x")]
    assert check_data(store, client, targets, settings, now=now) == 1
    with store.engine.connect() as conn:
        rows = {row.url: row for row in conn.execute(select(DataCheck.__table__))}
    store.close()
    assert rows[good].valid is True and rows[good].rows_checked == 3
    assert rows[dead].valid is None and rows[dead].reason.startswith(
        "not downloaded: the link check failed (could not connect")


def test_settings_are_the_configuration_section() -> None:
    settings = Settings.model_validate({"validation": {"recheck_hours": 6.0,
                                                     "missing_values": ["", "-"]}}).validation
    assert settings.recheck_hours == 6.0 and settings.missing_values == ["", "-"]
    assert settings.row_limit == ValidationSettings().row_limit
    with pytest.raises(ValidationError):
        ValidationSettings(unknown_key=1)


def test_which_distributions_are_tabular() -> None:
    csv = target(Distribution("d1", download_urls=["http://x/a"], access_urls=["http://x/b"],
                              formats=["text/csv"]))
    assert csv == DataTarget("http://x/a", "csv")
    by_extension = target(Distribution("d2", access_urls=["http://x/data.xlsx"]))
    assert by_extension.format == "xlsx"
    pdf = target(Distribution("d3", access_urls=["http://x/r.csv"], formats=["application/pdf"]))
    assert pdf.format is None and pdf.reason == "not a tabular format (PDF)"
    zipped = target(Distribution("d4", access_urls=["http://x/a.zip"], formats=["text/csv+zip"]))
    assert zipped.format is None and "ZIP" in zipped.reason


def test_cut_at_last_line(tmp_path: Path) -> None:
    path = tmp_path / "sample.csv"
    path.write_bytes(b"a;b\n1;2\n3;")
    assert cut_at_last_line(path) == 8 and path.read_bytes() == b"a;b\n1;2\n"
