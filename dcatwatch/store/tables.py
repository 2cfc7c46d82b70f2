"""The SQLAlchemy Table of each SQLModel class under one name that the repositories' queries
share. A table's module is imported when one of its names is first used, so a harvest does
not pay for building the scoring, validation and report models; :func:`load_all` imports
every one (for create_all and Alembic)."""

from __future__ import annotations

from importlib import import_module
from typing import Any

_MODELS = {  # name -> (module in dcatwatch.store, SQLModel class)
    "SOURCES": ("models", "Source"),
    "RUNS": ("models", "HarvestRun"),
    "AGENCIES": ("models", "Agency"),
    "DATASETS": ("models", "Dataset"),
    "DISTRIBUTIONS": ("models", "Distribution"),
    "SERVICES": ("models", "DataService"),
    "HTTP_CACHE": ("models", "HttpCache"),
    "JSONLD_CONTEXTS": ("models", "JsonLdContext"),
    "SCORES": ("score_models", "DatasetScore"),
    "SCORE_LINKS": ("score_models", "DatasetScoreLink"),
    "AGENCY_SNAPSHOTS": ("score_models", "AgencyScoreSnapshot"),
    "NATIONAL_SNAPSHOTS": ("score_models", "NationalScoreSnapshot"),
    "LINKS": ("validation_models", "LinkCheck"),
    "DATA": ("validation_models", "DataCheck"),
    "FINDINGS": ("validation_models", "MetadataFinding"),
    "SHACL_CHECKS": ("validation_models", "ShaclCheck"),
    "VALIDATION_RUNS": ("validation_models", "ValidationRun"),
    "DELIVERIES": ("report_models", "ReportDelivery"),
    "REPORT_PROGRESS": ("report_models", "ReportProgress"),
    "SCHEDULES": ("daemon_models", "SourceSchedule"),
    "LEASES": ("lease_models", "HostLease"),
}


def __getattr__(name: str) -> Any:
    if name not in _MODELS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, model = _MODELS[name]
    table = getattr(import_module(f"dcatwatch.store.{module}"), model).__table__
    globals()[name] = table
    return table


def load_all() -> None:
    """Import every model module, so SQLModel's metadata holds every table."""
    for module in dict.fromkeys(module for module, _ in _MODELS.values()):
        import_module(f"dcatwatch.store.{module}")
