"""Report building blocks without a store: periods, wording, fixes tried on one dataset."""

from __future__ import annotations

import pytest

from dcatwatch.config import SmtpSettings
from dcatwatch.dcat.model import Dataset, Distribution
from dcatwatch.errors import ConfigError
from dcatwatch.reports.fixes import RULES, Trier
from dcatwatch.reports.options import ReportOptions
from dcatwatch.reports.period import Period
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
        SmtpSender(settings, ReportOptions(), environ={})
