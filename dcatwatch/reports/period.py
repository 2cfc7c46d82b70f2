"""Report periods: calendar months named ``YYYY-MM`` (Europe/Stockholm time)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from dcatwatch.errors import ConfigError

STOCKHOLM = ZoneInfo("Europe/Stockholm")
_PERIOD_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


@dataclass(frozen=True, slots=True, order=True)
class Period:
    """One calendar month."""

    year: int
    month: int

    @classmethod
    def parse(cls, text: str | None, now: datetime | None = None) -> Period:
        """``YYYY-MM``; None means the current month in Stockholm."""
        if text is None:
            today = (now or datetime.now(STOCKHOLM)).astimezone(STOCKHOLM)
            return cls(today.year, today.month)
        match = _PERIOD_RE.match(text)
        if not match:
            raise ConfigError("--period", f"must be YYYY-MM, got {text!r}")
        return cls(int(match[1]), int(match[2]))

    @classmethod
    def of(cls, moment: datetime) -> Period:
        """The month a moment falls in (naive datetimes are UTC, as the store keeps them)."""
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=ZoneInfo("UTC"))
        local = moment.astimezone(STOCKHOLM)
        return cls(local.year, local.month)

    def previous(self) -> Period:
        """The month before."""
        return Period(self.year - 1, 12) if self.month == 1 else Period(self.year, self.month - 1)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"
