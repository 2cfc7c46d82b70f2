"""The daemon's options: ``[daemon]`` and ``[reports] schedule`` of the configuration.

Read through :func:`daemon_options`, which falls back to the defaults below for a section
or key the configuration does not define.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from dcatwatch.config import DaemonSettings, ReportsSettings, Settings

DEFAULTS = DaemonSettings()  # the settings table is the one source of defaults


@dataclass(frozen=True, slots=True)
class DaemonOptions:
    """How the daemon schedules and stops; meanings and defaults are those of ``[daemon]``
    and ``[reports] schedule`` (:mod:`dcatwatch.config`)."""

    max_concurrent_harvests: int = DEFAULTS.max_concurrent_harvests
    shutdown_grace: float = DEFAULTS.shutdown_grace
    misfire_grace: float = DEFAULTS.misfire_grace
    retry_failed_after: float = DEFAULTS.retry_failed_after
    link_recheck: str = DEFAULTS.link_recheck
    reports_schedule: str = ReportsSettings().schedule


def daemon_options(settings: Settings) -> DaemonOptions:
    """The options in ``settings`` (``[daemon]``, ``[reports] schedule``), else defaults."""
    sections: dict[str, Any] = settings.model_dump(include={"daemon", "reports"})
    values = {f.name: sections.get("daemon", {}).get(f.name) for f in fields(DaemonOptions)}
    values["reports_schedule"] = sections.get("reports", {}).get("schedule")
    return DaemonOptions(**{k: v for k, v in values.items() if v is not None})
