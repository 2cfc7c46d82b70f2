"""Every table of the store, imported in one place (for create_all and Alembic)."""

from dcatwatch.store import (
    daemon_models,
    models,
    report_models,
    score_models,
    validation_models,
)

__all__ = ["daemon_models", "models", "report_models", "score_models", "validation_models"]
