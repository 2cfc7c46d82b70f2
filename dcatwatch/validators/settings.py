"""The knobs of a validation run: the ``[validation]`` section of the configuration."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

MB = 1 << 20


@dataclass(frozen=True, slots=True)
class ValidationSettings:
    """Limits and switches of link, data and metadata checks (defaults are production values)."""

    recheck_hours: float = 24.0  # a URL checked more recently than this is not asked again
    workers: int = 8  # URLs checked at the same time (one at a time per host: the client's gate)
    link_timeout: float = 20.0  # seconds a link check may wait for an answer
    data: bool = True  # validate the data of tabular distributions
    data_timeout: float = 120.0  # seconds one sample download may take
    sample_bytes: int = 10 * MB  # CSV/TSV: validate at most the first this many bytes
    max_file_bytes: int = 50 * MB  # XLSX/XLS/ODS/JSON: larger files are skipped, not validated
    row_limit: int = 10_000  # rows frictionless reads per file
    error_limit: int = 100  # frictionless stops after this many errors
    examples: int = 5  # error examples kept per file
    missing_values: tuple[str, ...] = ("", "..")  # cell values meaning "no value" (".." = SCB)
    metadata: bool = True  # check DCAT-AP-SE rules
    shacl: bool = False  # also validate with pyshacl against the shipped DCAT-AP 3.0.1 shapes

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
