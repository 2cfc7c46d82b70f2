"""Every table of the store, imported in one place (for create_all and Alembic), and the
SQLAlchemy Table of each model under one name that the services' queries share."""

from dcatwatch.store import daemon_models, models, report_models, score_models, validation_models

SOURCES = models.Source.__table__  # type: ignore[attr-defined]
RUNS = models.HarvestRun.__table__  # type: ignore[attr-defined]
AGENCIES = models.Agency.__table__  # type: ignore[attr-defined]
DATASETS = models.Dataset.__table__  # type: ignore[attr-defined]
DISTRIBUTIONS = models.Distribution.__table__  # type: ignore[attr-defined]
SERVICES = models.DataService.__table__  # type: ignore[attr-defined]
HTTP_CACHE = models.HttpCache.__table__  # type: ignore[attr-defined]
SCORES = score_models.DatasetScore.__table__  # type: ignore[attr-defined]
AGENCY_SNAPSHOTS = score_models.AgencyScoreSnapshot.__table__  # type: ignore[attr-defined]
NATIONAL_SNAPSHOTS = score_models.NationalScoreSnapshot.__table__  # type: ignore[attr-defined]
LINKS = validation_models.LinkCheck.__table__  # type: ignore[attr-defined]
DATA = validation_models.DataCheck.__table__  # type: ignore[attr-defined]
FINDINGS = validation_models.MetadataFinding.__table__  # type: ignore[attr-defined]
VALIDATION_RUNS = validation_models.ValidationRun.__table__  # type: ignore[attr-defined]
DELIVERIES = report_models.ReportDelivery.__table__  # type: ignore[attr-defined]
SCHEDULES = daemon_models.SourceSchedule.__table__  # type: ignore[attr-defined]
