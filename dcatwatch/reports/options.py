"""Report settings: the ``[reports]`` section of the configuration, with defaults.

The section is optional; every field has a default, so a configuration without it works.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Literal

Language = Literal["sv", "en"]


@dataclass(frozen=True, slots=True)
class ReportOptions:
    """What a report shows and how delivery retries."""

    language: Language = "sv"  # default report language; [[agencies]] language overrides it
    top_fixes: int = 5  # fixes shown in full; further fixes get one line each
    datasets_per_fix: int = 10  # datasets named under each fix ("… and 12 more")
    dataset_rows: int = 30  # datasets in the per-dataset evidence table (worst first)
    history_months: int = 12  # bars in the index-over-time chart
    max_attempts: int = 10  # SMTP attempts per report before it is left as failed
    retries: int = 2  # reconnects within one run after a transient SMTP error
    retry_backoff: float = 1.0  # seconds before the first reconnect (doubles)
    reply_to: str | None = None  # where agencies answer (questions, opting out)

    @classmethod
    def from_settings(cls, settings: Any) -> ReportOptions:
        """Read ``settings.reports`` if the configuration has that section, else defaults."""
        section = getattr(settings, "reports", None)
        if section is None:
            return cls()
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in section.model_dump().items() if k in names})
