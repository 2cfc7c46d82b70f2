"""Agency reports end to end: a loopback harvest of the fixture catalogue, `scores --snapshot`,
then `report send` to a real SMTP server on loopback (aiosmtpd) and `report preview`."""

from __future__ import annotations

import email
import json
import shutil
import socket
import sqlite3
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.conftest import FIXTURES
from tests.helpers import harvest_json, run, write_config
from tests.servers import LoopbackServer

CATALOG = (FIXTURES / "agency-catalog.ttl").read_text(encoding="utf-8")
TAX, EMPTY, NO_ADDRESS, OPTED_OUT = "2021005448", "2120000142", "2021000001", "2021000002"
REGISTRY = [
    {"id": TAX, "name": "Skatteverket", "email": "oppnadata@skatteverket.example"},
    {"id": EMPTY, "name": "Kommun utan data", "email": "registrator@kommun.example"},
    {"id": NO_ADDRESS, "name": "Myndighet utan adress"},
    {"id": OPTED_OUT, "name": "Avböjande myndigheten", "email": "nej@example.se", "reports": False},
]
SENDER = "dcatwatch@granskning.example"
PASSWORD_ENV = "DCATWATCH_TEST_SMTP_PASSWORD"
CSV_ADDED = CATALOG.replace(
    'dct:format "application/pdf" ]',
    'dct:format "application/pdf" ], [ a dcat:Distribution ;\n'
    '        dcat:accessURL <https://data.example.se/files/arsredovisning.csv> ;\n'
    '        dct:format <http://publications.europa.eu/resource/authority/file-type/CSV> ;\n'
    '        dcat:mediaType "text/csv" ]')


@dataclass
class Mailbox:
    """What an aiosmtpd server received."""

    messages: list[tuple[list[str], EmailMessage]] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=default)
        self.messages.append((list(envelope.rcpt_tos), message))  # type: ignore[arg-type]
        return "250 Message accepted for delivery"

    def authenticate(self, _server: Any, _session: Any, _envelope: Any, _mechanism: str,
                     data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and data.password == b"hemligt"
        if ok:
            self.logins.append(data.login.decode())
        return AuthResult(success=ok)

    def by_recipient(self) -> dict[str, EmailMessage]:
        return {recipients[0]: message for recipients, message in self.messages}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    """A plain SMTP server on loopback."""
    mailbox, port = Mailbox(), free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield mailbox, port
    controller.stop()


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (made with the openssl command)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


@pytest.fixture
def tls_smtp(certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
             ) -> Iterator[tuple[Mailbox, int]]:
    """An SMTP server that requires STARTTLS and then AUTH; the client trusts its certificate."""
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    monkeypatch.setenv(PASSWORD_ENV, "hemligt")
    mailbox, port = Mailbox(), free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, tls_context=context,
                            require_starttls=True, auth_required=True, auth_require_tls=True,
                            authenticator=mailbox.authenticate)
    controller.start()
    yield mailbox, port
    controller.stop()


def setup_store(server: LoopbackServer, tmp_path: Path, smtp: dict[str, Any],
                registry: list[dict[str, Any]] = REGISTRY) -> tuple[Path, dict[str, Any]]:
    """Harvest the fixture catalogue through the CLI and snapshot the scores."""
    url = server.route("/catalog.ttl", CATALOG.encode(), content_type="text/turtle")
    config = write_config(tmp_path, [{"name": "exempel", "type": "dcat", "url": url}],
                          agencies=registry, smtp={"host": "127.0.0.1", "sender": SENDER, **smtp})
    harvest_json(config)
    return config, scores(config)


def scores(config: Path) -> dict[str, Any]:
    status, out, err = run("--config", str(config), "scores", "--snapshot", "--json")
    assert status == 0, err
    return {agency["id"]: agency for agency in json.loads(out)["agencies"]}


def send(config: Path, *extra: str) -> tuple[int, str]:
    status, out, err = run("--config", str(config), "report", "send", *extra)
    assert status in (0, 1), err
    return status, out


def sv(value: float, digits: int = 1) -> str:
    return f"{value:.{digits}f}".replace(".", ",")


def parts(message: EmailMessage) -> tuple[str, str]:
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()


def outbox(tmp_path: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(tmp_path / "dcatwatch.db") as db:
        return db.execute("SELECT agency_id, period, status, attempts, failures, message_id "
                          "FROM report_delivery ORDER BY agency_id").fetchall()


def test_one_report_per_registry_agency_with_an_address_over_starttls_and_auth(
        server: LoopbackServer, tmp_path: Path, tls_smtp: tuple[Mailbox, int]) -> None:
    mailbox, port = tls_smtp
    config, figures = setup_store(server, tmp_path, {
        "port": port, "security": "starttls", "username": "rapporter",
        "password_env": PASSWORD_ENV})

    status, out = send(config, "--period", "2026-05")

    assert status == 0, out
    assert "2 sent, 0 failed" in out and "skipped (opted out)" in out
    assert mailbox.logins == ["rapporter"]  # one session for both reports
    received = mailbox.by_recipient()
    assert sorted(received) == ["oppnadata@skatteverket.example", "registrator@kommun.example"]
    tax = figures[TAX]
    message = received["oppnadata@skatteverket.example"]
    assert message["Message-ID"] == f"<dcatwatch-report.2026-05.{TAX}@granskning.example>"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["From"] == SENDER
    assert "Skatteverket" in message["Subject"] and "maj 2026" in message["Subject"]
    assert message["List-Unsubscribe"] == (
        f"<mailto:{SENDER}?subject=Avbest%C3%A4ll%20m%C3%A5nadsrapporterna%20%28{TAX}%29>")
    text, html = parts(message)
    assert " ".join(text.split()).endswith("Svara på mejlet med ordet ”avbeställ”.")
    assert "Svara på mejlet med ordet ”avbeställ”.</p>" in html
    for body in (text, html):
        assert "API–dokumentindex" in body
        assert f"{sv(tax['api_document_index'])} av 100" in body
        assert f"{tax['datasets']} datamängder" in body
        assert f"{sv(tax['mqa_points'], 0)} av 405 poäng" in body
        assert "Betyg: Dålig" in body and tax["mqa_band"] == "Bad"
        assert "Årsredovisning 2025" in body
    assert '<html lang="sv">' in html and "<style" not in html and 'style="' in html
    assert "<img" not in html and "<link" not in html and "<script" not in html
    levels = {"API": tax["api"], "Maskinläsbara filer": tax["machine_readable"],
              "Endast dokument": tax["document_only"], "Format saknas": tax["unknown"]}
    for name, count in levels.items():
        assert any(line.split()[:len(name.split())] == name.split()
                   and line.split()[len(name.split())] == str(count)
                   for line in text.splitlines()), name
    empty_text, _ = parts(received["registrator@kommun.example"])
    assert "Vi hittade inga datamängder" in empty_text
    assert "http://dataportal.se/organisation/SE2120000142" in empty_text


def test_a_second_send_for_the_same_period_sends_nothing(
        server: LoopbackServer, tmp_path: Path, smtp: tuple[Mailbox, int]) -> None:
    mailbox, port = smtp
    config, _ = setup_store(server, tmp_path, {"port": port})
    assert send(config, "--period", "2026-05")[0] == 0
    assert len(mailbox.messages) == 2

    status, out = send(config, "--period", "2026-05")

    assert status == 0
    assert "0 sent, 0 failed, 2 already sent" in out
    assert len(mailbox.messages) == 2
    assert [row[2:5] for row in outbox(tmp_path)] == [("sent", 1, 0), ("sent", 1, 0)]


def test_an_interrupted_delivery_is_sent_again_with_the_same_message_id(
        server: LoopbackServer, tmp_path: Path, smtp: tuple[Mailbox, int]) -> None:
    mailbox, port = smtp
    config, _ = setup_store(server, tmp_path, {"port": port})
    send(config, "--period", "2026-05", "--agency", TAX)
    with sqlite3.connect(tmp_path / "dcatwatch.db") as db:  # a crash after the hand-over
        db.execute("UPDATE report_delivery SET status = 'sending'")

    status, out = send(config, "--period", "2026-05", "--agency", TAX)

    assert status == 0 and "1 sent" in out
    first, second = (message for _, message in mailbox.messages)
    assert first["Message-ID"] == second["Message-ID"]
    assert first.as_bytes() == second.as_bytes()


def test_a_server_that_is_down_leaves_the_report_queued_for_the_next_run(
        server: LoopbackServer, tmp_path: Path) -> None:
    port = free_port()  # nothing listens here yet
    config, _ = setup_store(server, tmp_path, {"port": port, "timeout": 5}, registry=REGISTRY[:1])

    status, out = send(config, "--period", "2026-05")

    assert status == 1
    assert "0 sent, 1 failed" in out and "ConnectionRefusedError" in out
    [(agency, period, state, attempts, failures, queued_id)] = outbox(tmp_path)
    assert (agency, period, state, attempts, failures) == (TAX, "2026-05", "failed", 1, 1)

    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        status, out = send(config, "--period", "2026-05")
    finally:
        controller.stop()

    assert status == 0 and "1 sent, 0 failed" in out
    [(recipients, message)] = mailbox.messages
    assert recipients == ["oppnadata@skatteverket.example"]
    assert message["Message-ID"] == queued_id
    assert outbox(tmp_path)[0][2:5] == ("sent", 2, 1)


def test_preview_writes_eml_html_and_txt_in_the_agency_language(
        server: LoopbackServer, tmp_path: Path) -> None:
    registry = [dict(REGISTRY[0], language="en")]
    config, figures = setup_store(server, tmp_path, {}, registry=registry)
    out_dir = tmp_path / "preview"

    status, out, err = run("--config", str(config), "report", "preview", "--agency", TAX,
                           "--out", str(out_dir), "--period", "2026-05")

    assert status == 0, err
    paths = [Path(line) for line in out.splitlines()]
    assert [p.suffix for p in paths] == [".eml", ".html", ".txt"]
    assert all(p.parent == out_dir and p.exists() for p in paths)
    message = email.message_from_bytes(paths[0].read_bytes(), policy=default)
    text, html = parts(message)  # type: ignore[arg-type]
    assert text.replace("\r\n", "\n") == paths[2].read_text(encoding="utf-8")
    assert html.replace("\r\n", "\n") == paths[1].read_text(encoding="utf-8")
    assert '<html lang="en">' in html and message["Content-Language"] == "en"
    assert message["List-Unsubscribe"] == (
        f"<mailto:{SENDER}?subject=Unsubscribe%20from%20the%20monthly%20reports%20%28{TAX}%29>")
    assert " ".join(text.split()).endswith("reply with the word “unsubscribe”.")
    assert f"API–document index: {figures[TAX]['api_document_index']:.1f} of 100" in text
    assert "Documents only" in text and "May 2026" in text
    assert "Links that do not answer" not in text  # no link checks yet: no section
    assert outbox(tmp_path) == []  # a preview queues nothing


def test_fix_gains_are_what_making_the_fix_earns(server: LoopbackServer, tmp_path: Path,
                                                 smtp: tuple[Mailbox, int]) -> None:
    mailbox, port = smtp
    config, before = setup_store(server, tmp_path, {"port": port}, registry=REGISTRY[:1])
    send(config, "--period", "2026-04")
    first, _ = parts(mailbox.messages[0][1])
    fix = first.split("1. ", 1)[1].split("\n\n", 1)[0]
    assert "1 datamängd finns bara som dokument" in fix and "Årsredovisning 2025" in fix
    predicted_index = fix.split("indexet +", 1)[1].split(" ", 1)[0]
    predicted_mqa = fix.split("MQA-snittet +", 1)[1].split(" ", 1)[0]

    server.route("/catalog.ttl", CSV_ADDED.encode(), content_type="text/turtle")  # make the fix
    harvest_json(config)
    after = scores(config)
    send(config, "--period", "2026-05")

    gained = after[TAX]["api_document_index"] - before[TAX]["api_document_index"]
    assert predicted_index == sv(gained)
    assert predicted_mqa == sv(after[TAX]["mqa_points"] - before[TAX]["mqa_points"])
    second, html = parts(mailbox.messages[1][1])
    assert f"+{sv(gained)} sedan rapporten för april 2026" in second
    assert "finns bara som dokument" not in second
    assert 'class="up"' in html


def test_link_and_data_checks_appear_when_there_are_some(server: LoopbackServer,
                                                         tmp_path: Path) -> None:
    config, _ = setup_store(server, tmp_path, {}, registry=REGISTRY[:1])
    examples = [{"type": "extra-cell", "message": 'Row at position "7" has an extra value',
                 "row": 7, "field": None},
                {"type": "type-error", "message": 'Type error in the cell "n/a"', "row": 12,
                 "field": "skattesats"}]
    with sqlite3.connect(tmp_path / "dcatwatch.db") as db:
        db.execute("INSERT INTO link_check (url, status, reachable, reason, last_checked_at, "
                   "first_failure_at, consecutive_failures, error_code, blame, "
                   "agency_failure_at, verdict) VALUES (?, 404, 0, 'HTTP 404', "
                   "'2026-05-02 05:00:00', '2026-04-20 05:00:00', 3, 'fetch.http_status', "
                   "'agency', '2026-04-20 05:00:00', 'broken')",
                   ("https://data.example.se/files/arsredovisning.pdf",))
        db.execute("INSERT INTO link_check (url, status, reachable, reason, last_checked_at, "
                   "consecutive_failures, verdict) VALUES (?, 200, 1, 'HTTP 200', "
                   "'2026-05-02 05:00:00', 0, 'ok')",
                   ("https://data.example.se/files/skattesatser.csv",))
        db.execute("INSERT INTO data_check (url, format, tabular, valid, sampled, reason, "
                   "bytes_read, rows_checked, error_count, error_types, examples, checked_at) "
                   "VALUES (?, 'csv', 1, 0, 0, '', 2048, 40, 2, ?, ?, '2026-05-02 05:00:00')",
                   ("https://data.example.se/files/skattesatser.csv",
                    json.dumps({"extra-cell": 1, "type-error": 1}), json.dumps(examples)))

    status, out, err = run("--config", str(config), "report", "preview", "--agency", TAX,
                           "--out", str(tmp_path / "preview"), "--period", "2026-05")

    assert status == 0, err
    text = Path(out.splitlines()[2]).read_text(encoding="utf-8")
    links = text.split("LÄNKAR SOM INTE SVARAR", 1)[1]
    assert "1 av 2 kontrollerade länkar svarar." in links
    assert "https://data.example.se/files/arsredovisning.pdf" in links
    assert "Servern svarar med felkod 404, sedan 2026-04-20, 3 kontroller i rad" in links
    data = text.split("DATAFILER MED FEL", 1)[1]
    assert "0 av 1 kontrollerade datafiler har inga strukturfel." in data
    assert "fel datatyp (rad 12, fält ”skattesats”)" in data
    assert "extra cell (rad 7)" in data


def test_metadata_cannot_inject_html_or_script_links(server: LoopbackServer,
                                                     tmp_path: Path) -> None:
    hostile = CATALOG.replace('dct:format "application/pdf"',
                              'dct:format "PDF\\"><b>injected</b>"').replace(
        "<https://data.example.se/files/arsredovisning.pdf>", "<javascript:alert(1)>")
    url = server.route("/catalog.ttl", hostile.encode(), content_type="text/turtle")
    config = write_config(tmp_path, [{"name": "exempel", "type": "dcat", "url": url}],
                          agencies=REGISTRY, smtp={"host": "127.0.0.1", "sender": SENDER})
    harvest_json(config)
    scores(config)
    status, out, err = run("--config", str(config), "report", "preview", "--agency", TAX,
                           "--out", str(tmp_path / "preview"))
    assert status == 0, err
    html = (tmp_path / "preview" / Path(out.splitlines()[1]).name).read_text(encoding="utf-8")
    assert "<b>injected</b>" not in html
    assert "&lt;b&gt;injected&lt;/b&gt;" in html  # shown, as text
    assert 'href="javascript:' not in html


def test_send_and_preview_take_the_first_score_snapshot_themselves(
        server: LoopbackServer, tmp_path: Path, smtp: tuple[Mailbox, int]) -> None:
    mailbox, port = smtp
    url = server.route("/catalog.ttl", CATALOG.encode(), content_type="text/turtle")
    config = write_config(tmp_path, [{"name": "exempel", "type": "dcat", "url": url}],
                          agencies=REGISTRY, smtp={"host": "127.0.0.1", "port": port,
                                                   "sender": SENDER})
    harvest_json(config)  # no `scores --snapshot` yet
    status, out, err = run("--config", str(config), "report", "preview", "--agency", TAX,
                           "--out", str(tmp_path / "preview"), "--period", "2026-05")
    assert status == 0, err
    text = Path(out.splitlines()[2]).read_text(encoding="utf-8")
    with sqlite3.connect(tmp_path / "dcatwatch.db") as db:
        [(snapshots,)] = db.execute("SELECT count(DISTINCT scored_at) FROM national_score")
    assert snapshots == 1  # the preview took it

    status, out = send(config, "--period", "2026-05")

    assert status == 0 and "2 sent, 0 failed" in out and "not scored yet" not in out
    figures = scores(config)[TAX]
    body, _ = parts(mailbox.by_recipient()["oppnadata@skatteverket.example"])
    for shown in (text, body):
        assert f"{sv(figures['api_document_index'])} av 100" in shown
        assert f"{figures['datasets']} datamängder" in shown
