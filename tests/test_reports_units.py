"""Report building blocks without a store: periods, wording, fixes tried on one dataset, the
e-mail's headers."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from urllib.parse import parse_qs, urlsplit

import pytest

from dcatwatch.config import Language, ReportsSettings, SmtpSettings
from dcatwatch.dcat.model import Dataset, Distribution
from dcatwatch.errors import ConfigError
from dcatwatch.reports.fixes import RULES, Trier
from dcatwatch.reports.period import Period
from dcatwatch.reports.render import Rendered, build_message, message_id
from dcatwatch.reports.smtp import SmtpSender
from dcatwatch.reports.texts import Texts


def test_periods() -> None:
    assert str(Period.parse("2026-01").previous()) == "2025-12"
    assert Period.parse("2026-03") > Period.parse("2025-12")
    with pytest.raises(ConfigError, match="YYYY-MM"):
        Period.parse("2026-13")


def test_numbers_and_plurals_per_language() -> None:
    sv, en = Texts("sv"), Texts("en")
    assert sv.number(1234.56) == "1\u00a0234,6" and en.number(1234.56) == "1,234.6"
    assert sv.signed(5) == "+5,0" and sv.signed(-2.5) == "\u22122,5" and sv.signed(0) == "0,0"
    assert sv.percent(0.5) == "50\u00a0%" and en.percent(0.5) == "50%"
    assert sv.plural("summary.datasets", 1) == "1 datamängd"
    assert en.plural("summary.datasets", 3) == "3 datasets"
    assert sv.month(Period(2026, 5)) == "maj 2026"


def test_every_fix_has_texts_in_both_languages() -> None:
    for language in ("sv", "en"):
        texts = Texts(language)
        for rule in RULES:
            assert texts.plural(f"fixes.{rule.id}.problem", 2)
            assert texts(f"fixes.{rule.id}.action")


def test_fix_gains_come_from_rescoring_the_changed_dataset() -> None:
    pdf = Distribution("https://x.example/d/1", access_urls=["https://x.example/a.pdf"],
                       formats=["application/pdf"])
    trier = Trier({}, {})
    trial = trier.trial(Dataset("https://x.example/d", distributions=[pdf]))
    gains = {rule.id: trier.gain(rule, trial) for rule in RULES}
    assert gains["add_csv"] is not None and gains["add_csv"].level == 1
    assert gains["license"] is not None and gains["license"].mqa == 30  # licence + list
    assert gains["keyword"] is not None and gains["keyword"].mqa == 30
    assert gains["add_distribution"] is None  # it has one
    assert gains["format"] is None  # it has a format


def test_smtp_login_needs_the_password_variable() -> None:
    settings = SmtpSettings(username="rapporter", password_env="NO_SUCH_VARIABLE_SET")
    with pytest.raises(ConfigError, match="smtp.password_env"):
        SmtpSender(settings, ReportsSettings(), environ={})


def message(language: Language, reply_to: str | None, agency: str = "2021000001"
            ) -> EmailMessage:
    """A report e-mail from dcatwatch@granskning.example with the catalogue's opt-out subject."""
    rendered = Rendered("Rapport", "Text\n", "<p>HTML</p>\n",
                        Texts(language)("mail.unsubscribe", agency=agency))
    return build_message(rendered, sender="dcatwatch@granskning.example",
                         recipient="registrator@myndighet.example",
                         msgid="<id@granskning.example>", language=language, reply_to=reply_to,
                         date=datetime(2026, 5, 1, tzinfo=UTC))


def test_the_message_id_is_in_the_senders_domain_with_or_without_a_display_name() -> None:
    period = Period.parse("2026-10")
    assert message_id("2021005448", period, "Öppna data <rapporter@digg.se>") == \
        message_id("2021005448", period, "rapporter@digg.se") == \
        "<dcatwatch-report.2026-10.2021005448@digg.se>"
    assert message_id("a/b", period, "dcatwatch").endswith(".a_b@dcatwatch.invalid>")


def test_list_unsubscribe_mails_the_reply_to_address_in_swedish() -> None:
    sent = message("sv", "Rapporter <rapporter+svar@granskning.example>")
    assert sent["List-Unsubscribe"] == (
        "<mailto:rapporter+svar@granskning.example"
        "?subject=Avbest%C3%A4ll%20m%C3%A5nadsrapporterna%20%282021000001%29>")
    assert "List-Unsubscribe-Post" not in sent and "List-Id" not in sent


def test_list_unsubscribe_falls_back_to_the_sender_in_english() -> None:
    assert message("en", None)["List-Unsubscribe"] == (
        "<mailto:dcatwatch@granskning.example"
        "?subject=Unsubscribe%20from%20the%20monthly%20reports%20%282021000001%29>")


def test_list_unsubscribe_is_one_unfolded_line_that_decodes_to_the_subject() -> None:
    address = "opt-out@a-rather-long-domain-name.granskning.example"
    raw = message("sv", address, agency="a&b=c d").as_bytes()
    [line] = [line for line in raw.split(b"\r\n") if line.startswith(b"List-Unsubscribe:")]
    assert len(line) > 78 and b"=?" not in line  # not folded, no encoded words
    uri = urlsplit(line.decode("ascii").removeprefix("List-Unsubscribe: ")[1:-1])
    assert (uri.scheme, uri.path) == ("mailto", address)
    assert parse_qs(uri.query) == {"subject": ["Avbeställ månadsrapporterna (a&b=c d)"]}
