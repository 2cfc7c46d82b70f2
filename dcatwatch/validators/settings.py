"""The knobs of a validation run: the ``[validation]`` section of the configuration."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from dcatwatch.config import ValidationSection

DEFAULTS = ValidationSection()  # the settings table is the one source of defaults


@dataclass(frozen=True, slots=True)
class ValidationSettings:
    """Limits and switches of link, data and metadata checks; meanings and defaults are the
    ``[validation]`` section's (:class:`dcatwatch.config.ValidationSection`)."""

    recheck_hours: float = DEFAULTS.recheck_hours
    workers: int = DEFAULTS.workers
    link_timeout: float = DEFAULTS.link_timeout
    data: bool = DEFAULTS.data
    data_timeout: float = DEFAULTS.data_timeout
    sample_bytes: int = DEFAULTS.sample_bytes
    max_file_bytes: int = DEFAULTS.max_file_bytes
    row_limit: int = DEFAULTS.row_limit
    error_limit: int = DEFAULTS.error_limit
    examples: int = DEFAULTS.examples
    missing_values: tuple[str, ...] = tuple(DEFAULTS.missing_values)
    metadata: bool = DEFAULTS.metadata
    shacl: bool = DEFAULTS.shacl

    @classmethod
    def of(cls, settings: Any) -> ValidationSettings:
        """These settings from a ValidationSettings, an object with a ``validation`` section
        (the application :class:`~dcatwatch.config.Settings`), or defaults."""
        if isinstance(settings, cls):
            return settings
        section = getattr(settings, "validation", None)
        if section is None:
            return cls()
        values = section.model_dump() if hasattr(section, "model_dump") else vars(section)
        known = {f.name for f in fields(cls)}
        chosen = {k: v for k, v in values.items() if k in known}
        if "missing_values" in chosen:
            chosen["missing_values"] = tuple(chosen["missing_values"])
        return cls(**chosen)
