"""SmtpSender's reconnects within one run, against a real SMTP server on loopback (aiosmtpd):
a temporary refusal (4xx) or an unreachable server is tried ``[reports] retries`` more times
after a doubling pause; a permanent refusal (5xx) is not; nor is a message whose DATA was
sent without an answer (it may have been delivered)."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from dcatwatch.config import ReportsSettings, SmtpSettings
from dcatwatch.reports.smtp import DeliveryError, DeliveryUnknown, SmtpSender

MESSAGE = b"Subject: test\r\n\r\nhej\r\n"
RECIPIENT = "oppnadata@myndighet.example"


class Server:
    """Answers RCPT with ``rcpt_replies`` in turn (then 250), and DATA after ``data_delay``;
    counts the RCPT and DATA commands it was sent."""

    def __init__(self) -> None:
        self.rcpt_replies: list[str] = []
        self.data_delay = 0.0
        self.rcpts = self.datas = 0
        self.delivered: list[bytes] = []

    async def handle_RCPT(self, _server: Any, _session: Any, envelope: Any, address: str,
                          _options: Any) -> str:
        self.rcpts += 1
        if self.rcpt_replies:
            return self.rcpt_replies.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        self.datas += 1
        await asyncio.sleep(self.data_delay)
        self.delivered.append(envelope.content)
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server() -> Iterator[tuple[Server, int]]:
    handler, port = Server(), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


def sender(port: int, timeout: float = 5.0) -> SmtpSender:
    return SmtpSender(SmtpSettings(host="127.0.0.1", port=port, timeout=timeout),
                      ReportsSettings(retries=2, retry_backoff=0.1))


def test_a_temporary_refusal_is_tried_again(server: tuple[Server, int]) -> None:
    handler, port = server
    handler.rcpt_replies = ["451 4.3.0 try again later"]
    with sender(port) as smtp:
        started = time.monotonic()
        smtp.send(RECIPIENT, MESSAGE)
    assert time.monotonic() - started >= 0.1 and handler.rcpts == 2
    assert len(handler.delivered) == 1


def test_a_refusal_that_lasts_fails_after_every_attempt(server: tuple[Server, int]) -> None:
    handler, port = server
    handler.rcpt_replies = ["451 4.3.0 try again later"] * 5
    with sender(port) as smtp, pytest.raises(DeliveryError) as failed:
        started = time.monotonic()
        smtp.send(RECIPIENT, MESSAGE)
    assert time.monotonic() - started >= 0.3  # 0.1 s, then 0.2 s
    assert handler.rcpts == 3 and not handler.delivered
    assert "451" in str(failed.value) and not failed.value.session


def test_a_permanent_refusal_is_not_tried_again(server: tuple[Server, int]) -> None:
    handler, port = server
    handler.rcpt_replies = ["550 5.1.1 no such mailbox"]
    with sender(port) as smtp, pytest.raises(DeliveryError) as failed:
        smtp.send(RECIPIENT, MESSAGE)
    assert handler.rcpts == 1 and "550" in str(failed.value)


def test_an_unreachable_server_is_tried_again_then_named() -> None:
    port = free_port()  # nothing listens here
    with sender(port) as smtp, pytest.raises(DeliveryError) as failed:
        started = time.monotonic()
        smtp.send(RECIPIENT, MESSAGE)
    assert time.monotonic() - started >= 0.3
    assert str(failed.value).startswith(
        f"report.smtp_unreachable: cannot reach the SMTP server 127.0.0.1:{port}")
    assert failed.value.session and type(failed.value) is DeliveryError


def test_no_answer_after_data_is_unknown_and_not_sent_again(server: tuple[Server, int]) -> None:
    handler, port = server
    handler.data_delay = 2.0
    with sender(port, timeout=0.5) as smtp, pytest.raises(DeliveryUnknown):
        smtp.send(RECIPIENT, MESSAGE)
    assert handler.rcpts == 1 and handler.datas == 1
