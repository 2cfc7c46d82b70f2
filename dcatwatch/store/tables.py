"""Every table of the store, imported in one place (for create_all and Alembic)."""

from dcatwatch.store import models, report_models, score_models, validation_models

__all__ = ["models", "report_models", "score_models", "validation_models"]
