"""Each report at most once, whatever the timing: a real SMTP server on loopback (aiosmtpd)
that stalls, two real `dcatwatch report send` processes at once, a reply that never comes
after DATA, and `report resend` — on SQLite and PostgreSQL. The server counts DATA."""

from __future__ import annotations

import asyncio
import email
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import create_engine, text

from dcatwatch.metrics import StoreCollector
from dcatwatch.store.core import Store
from tests.helpers import harvest_json, run, sql, write_config
from tests.servers import LoopbackServer
from tests.test_reports import CATALOG, EMPTY, REGISTRY, SENDER, TAX, free_port

PERIOD = "2026-11"
TWO = REGISTRY[:2]  # two agencies with an address


@dataclass
class StallingMailbox:
    """Counts every message that came through DATA, then waits ``stall`` seconds (the first
    ``stalls`` times only, when set) before it answers 250."""

    stall: float = 0.0
    stalls: int | None = None
    received: list[tuple[str, EmailMessage]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=default)
        with self.lock:
            self.received.append((envelope.rcpt_tos[0], message))  # type: ignore[arg-type]
            stalling = self.stalls is None or len(self.received) <= self.stalls
        if stalling and self.stall:
            await asyncio.sleep(self.stall)
        return "250 Message accepted for delivery"

    def per_recipient(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for recipient, _ in self.received:
            counts[recipient] = counts.get(recipient, 0) + 1
        return counts


@pytest.fixture
def mailbox() -> Iterator[tuple[StallingMailbox, int]]:
    box, port = StallingMailbox(), free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


def configure(server: LoopbackServer, tmp_path: Path, database_url: str, port: int,
              registry: list[dict[str, Any]], timeout: float = 10) -> Path:
    """Harvest and score the fixture catalogue into ``database_url``."""
    url = server.route("/catalog.ttl", CATALOG.encode(), content_type="text/turtle")
    config = write_config(tmp_path, [{"name": "exempel", "type": "dcat", "url": url}],
                          agencies=registry, database=database_url,
                          smtp={"host": "127.0.0.1", "port": port, "sender": SENDER,
                                "timeout": timeout},
                          reports={"retry_backoff": 0.1})
    harvest_json(config)
    status, _, err = run("--config", str(config), "scores", "--snapshot", "--json")
    assert status == 0, err
    return config


def report(config: Path, *args: str) -> tuple[int, str]:
    status, out, err = run("--config", str(config), "report", *args)
    assert status in (0, 1), err
    return status, out


def deliveries(database_url: str) -> dict[str, float]:
    """The ``dcatwatch_report_deliveries`` samples, by state."""
    with Store.open(database_url) as store:
        families = list(StoreCollector(store).collect())
    [family] = [f for f in families if f.name == "dcatwatch_report_deliveries"]
    return {sample.labels["state"]: sample.value for sample in family.samples}


def test_two_senders_at_once_deliver_each_report_exactly_once(
        server: LoopbackServer, tmp_path: Path, database_url: str,
        mailbox: tuple[StallingMailbox, int]) -> None:
    box, port = mailbox
    box.stall = 3.0  # the server takes 3 s to answer DATA: both senders overlap
    config = configure(server, tmp_path, database_url, port, TWO)
    command = [sys.executable, "-m", "dcatwatch", "--config", str(config), "report", "send",
               "--period", PERIOD]
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent))

    senders = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=env) for _ in range(2)]
    results = [(sender.wait(timeout=120), *sender.communicate()) for sender in senders]

    assert [status for status, _, _ in results] == [0, 0], results
    assert box.per_recipient() == {"oppnadata@skatteverket.example": 1,
                                   "registrator@kommun.example": 1}
    summaries = [out for _, out, _ in results]
    sent = [int(out.split(": ", 1)[1].split(" sent", 1)[0]) for out in summaries]
    assert sum(sent) == 2, summaries  # nobody claims a report it did not send
    assert all("being sent by another sender" in out or "already sent" in out
               for out, count in zip(summaries, sent, strict=True) if count < 2), summaries
    assert deliveries(database_url)["sent"] == 2

    status, out = report(config, "send", "--period", PERIOD)  # and a third run: nothing
    assert status == 0 and "0 sent, 0 failed, 2 already sent" in out
    assert len(box.received) == 2


def test_a_reply_timeout_after_data_is_unknown_and_only_resend_sends_it_again(
        server: LoopbackServer, tmp_path: Path, database_url: str,
        mailbox: tuple[StallingMailbox, int]) -> None:
    box, port = mailbox
    box.stall, box.stalls = 3.0, 1  # the first DATA is answered after the client gave up
    config = configure(server, tmp_path, database_url, port, REGISTRY[:1], timeout=1)

    status, out = report(config, "send", "--period", PERIOD)

    assert status == 1, out
    assert "0 sent, 0 failed" in out and "1 unknown" in out
    assert f"dcatwatch report resend --agency {TAX} --period {PERIOD}" in out
    assert len(box.received) == 1  # no reconnect-and-send-again within the run
    assert deliveries(database_url)["unknown"] == 1

    status, out = report(config, "send", "--period", PERIOD)  # the next run: listed, not sent

    assert status == 0 and "0 sent" in out and "1 unknown" in out
    assert f"report resend --agency {TAX}" in out
    assert len(box.received) == 1

    status, out = report(config, "resend", "--agency", TAX, "--period", PERIOD)  # on purpose

    assert status == 0 and "1 sent" in out, out
    assert len(box.received) == 2
    first, second = (message for _, message in box.received)
    assert first["Message-ID"] == second["Message-ID"]  # the recipient can drop the copy
    assert first.as_bytes() == second.as_bytes()
    assert deliveries(database_url)["unknown"] == 0
    assert deliveries(database_url)["sent"] == 1
    status, out = report(config, "send", "--period", PERIOD)
    assert status == 0 and "1 already sent" in out and len(box.received) == 2


def _claim(database_url: str, agency: str, status: str, holder: str, until: datetime) -> None:
    engine = create_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(text(
                "UPDATE report_delivery SET status = :status, claimed_by = :holder, "
                "lease_until = :until WHERE agency_id = :agency"),
                {"status": status, "holder": holder, "until": until.replace(tzinfo=None)
                 if database_url.startswith("sqlite") else until, "agency": agency})
    finally:
        engine.dispose()


def test_a_held_claim_is_left_alone_and_a_lapsed_one_taken_over(
        server: LoopbackServer, tmp_path: Path, database_url: str,
        mailbox: tuple[StallingMailbox, int]) -> None:
    box, port = mailbox
    config = configure(server, tmp_path, database_url, port, TWO)
    box.stall, box.stalls = 0, 0
    # queue both rows without sending: nothing listens on this port yet
    (tmp_path / "refused").mkdir()
    refused = write_config(tmp_path / "refused", [], agencies=TWO, database=database_url,
                           smtp={"host": "127.0.0.1", "port": free_port(), "sender": SENDER},
                           reports={"retries": 0})
    assert report(refused, "send", "--period", PERIOD)[0] == 1
    now = datetime.now(UTC)
    _claim(database_url, TAX, "sending", "elsewhere:4242:abcd", now + timedelta(minutes=10))
    _claim(database_url, EMPTY, "sending", "died:77:beef", now - timedelta(seconds=1))

    status, out = report(config, "send", "--period", PERIOD)

    assert status == 0, out
    assert "1 sent" in out and f"{TAX}: being sent by elsewhere:4242" in out
    assert box.per_recipient() == {"registrator@kommun.example": 1}

    _claim(database_url, TAX, "data", "died:78:cafe", now - timedelta(seconds=1))
    status, out = report(config, "send", "--period", PERIOD)  # died after DATA: unknown

    assert status == 0 and "1 unknown" in out and "1 already sent" in out, out
    assert box.per_recipient() == {"registrator@kommun.example": 1}
    assert deliveries(database_url) == {"pending": 0, "sending": 0, "data": 0, "sent": 1,
                                       "failed": 0, "unknown": 1}


def test_before_any_harvest_preview_fails_naming_the_command_and_send_says_so(
        server: LoopbackServer, tmp_path: Path, database_url: str,
        mailbox: tuple[StallingMailbox, int]) -> None:
    box, port = mailbox
    url = server.route("/catalog.ttl", CATALOG.encode(), content_type="text/turtle")
    config = write_config(tmp_path, [{"name": "exempel", "type": "dcat", "url": url}],
                          agencies=TWO, database=database_url,
                          smtp={"host": "127.0.0.1", "port": port, "sender": SENDER})
    assert run("--config", str(config), "db", "upgrade")[0] == 0

    status, out, err = run("--config", str(config), "report", "preview", "--agency", TAX,
                           "--out", str(tmp_path / "preview"))

    assert status == 1 and out == "" and "run `dcatwatch harvest` first" in err
    status, out = report(config, "send", "--period", PERIOD)
    assert status == 0 and "2 skipped (nothing harvested yet: run `dcatwatch harvest`)" in out
    assert box.received == []
    assert sql(config, "SELECT count(*) FROM national_score") == [(0,)]  # no empty snapshot
