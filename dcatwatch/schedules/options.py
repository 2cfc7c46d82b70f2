"""The daemon's options: ``[daemon]`` and ``[reports] schedule`` of the configuration.

Read through :func:`daemon_options`, which falls back to the defaults below for a section
or key the configuration does not define.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from dcatwatch.config import Settings


@dataclass(frozen=True, slots=True)
class DaemonOptions:
    """How the daemon schedules and stops (defaults are the proposed config defaults)."""

    max_concurrent_harvests: int = 4  # harvests running at once (the thread pool's size)
    shutdown_grace: float = 25.0  # seconds SIGTERM waits for running work, then exits
    misfire_grace: float = 300.0  # seconds a scheduler job may start late before it is missed
    retry_failed_after: float = 3600.0  # seconds before a failed source is tried again; 0: cron
    link_recheck: str = "0 3 * * 0"  # cron: re-check every link (Sundays 03:00)
    reports_schedule: str = "0 7 * * *"  # cron: queue the month's reports, retry unsent ones


def daemon_options(settings: Settings) -> DaemonOptions:
    """The options in ``settings`` (``[daemon]``, ``[reports] schedule``), else defaults."""
    sections: dict[str, Any] = settings.model_dump(include={"daemon", "reports"})
    values = {f.name: sections.get("daemon", {}).get(f.name) for f in fields(DaemonOptions)}
    values["reports_schedule"] = sections.get("reports", {}).get("schedule")
    return DaemonOptions(**{k: v for k, v in values.items() if v is not None})
