"""Report settings: the ``[reports]`` section of the configuration, with defaults.

The section is optional; every field has a default, so a configuration without it works.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Literal

from dcatwatch.config import ReportsSettings

Language = Literal["sv", "en"]
DEFAULTS = ReportsSettings()  # the settings table is the one source of defaults


@dataclass(frozen=True, slots=True)
class ReportOptions:
    """What a report shows and how delivery retries; meanings and defaults are the
    ``[reports]`` section's (:class:`dcatwatch.config.ReportsSettings`)."""

    language: Language = DEFAULTS.language
    top_fixes: int = DEFAULTS.top_fixes
    datasets_per_fix: int = DEFAULTS.datasets_per_fix
    dataset_rows: int = DEFAULTS.dataset_rows
    history_months: int = DEFAULTS.history_months
    max_attempts: int = DEFAULTS.max_attempts
    retries: int = DEFAULTS.retries
    retry_backoff: float = DEFAULTS.retry_backoff
    reply_to: str | None = DEFAULTS.reply_to

    @classmethod
    def from_settings(cls, settings: Any) -> ReportOptions:
        """Read ``settings.reports`` if the configuration has that section, else defaults."""
        section = getattr(settings, "reports", None)
        if section is None:
            return cls()
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in section.model_dump().items() if k in names})
