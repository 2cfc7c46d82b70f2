"""The store collector: per-source and per-agency state, read from the store at scrape time.

Because the state is read at scrape time, it survives restarts and a source removed from the
configuration disappears from ``/metrics``. Per source (enabled sources only): up, last
success and last attempt (0 = never), current datasets, held removals, current datasets with
no agency (unattributed: counted in no agency's figures), and for a source whose last run
failed, whose failure it was (``blame``: the monitor's own DNS or route, the agency, or
unknown), so an outage of the monitor's network is told apart from the agencies' (and
``dcatwatch_monitor_network_down`` says when the latest harvests all failed for the monitor's
own reasons: see :func:`monitor_network_down`). Runs marked interrupted in the last hour, by
whichever process marked them. Per agency: the
figures of the latest score snapshot (what ``dcatwatch scores --json`` prints), named from
the agency table as the scores name them; snapshots are immutable, so the agency families are
built once per snapshot and reused until the next one. An agency without datasets has no index and no MQA points, so it has no sample
in those two families. When the store cannot be read, ``dcatwatch_store_up`` is 0 and the
store's families are left out of that scrape.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily, Metric
from prometheus_client.registry import Collector

from dcatwatch.errors import Blame, failure_blame
from dcatwatch.store.core import Store, StoreError, Unit

log = logging.getLogger(__name__)
LEVELS = ("api", "machine_readable", "document_only", "unknown")
UP_STATUSES = frozenset({"ok", "partial"})
INTERRUPTED_WINDOW = timedelta(hours=1)  # dcatwatch_runs_interrupted_recent counts this far back


def timestamp(moment: datetime | None) -> float:
    """Seconds since the epoch; 0 for never. The store's naive datetimes are UTC."""
    if moment is None:
        return 0.0
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


class StoreCollector(Collector):
    """Builds the store's metric families on every scrape (see the module doc)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._snapshot: tuple[datetime, list[Metric]] | None = None

    def collect(self) -> Iterator[Metric]:
        started = time.perf_counter()
        up = GaugeMetricFamily("dcatwatch_store_up", "1 if the store could be read for this "
                               "scrape, else 0 (store families are then missing).")
        try:
            with self.store.read() as unit:
                families = [*self._sources(unit), *self._scores(unit), _deliveries(unit),
                            _interrupted(unit)]
        except StoreError as exc:
            log.error("metrics: cannot read the store: %s", exc)
            families = []
            up.add_metric([], 0)
        else:
            up.add_metric([], 1)
        yield from families
        yield up
        yield GaugeMetricFamily("dcatwatch_store_read_duration_seconds",
                                "Time this scrape spent reading the store.",
                                value=time.perf_counter() - started)

    def _sources(self, unit: Unit) -> list[Metric]:
        up = GaugeMetricFamily("dcatwatch_source_up", "1 if the source's last harvest run "
                               "read its catalogue (ok or partial), 0 if it failed or none "
                               "finished yet.", labels=["source"])
        success = GaugeMetricFamily("dcatwatch_source_last_success_timestamp_seconds",
                                    "When the source was last harvested completely (0: never).",
                                    labels=["source"])
        attempt = GaugeMetricFamily("dcatwatch_source_last_attempt_timestamp_seconds",
                                    "When a harvest run of the source last started (0: never).",
                                    labels=["source"])
        datasets = GaugeMetricFamily("dcatwatch_source_datasets", "Current datasets of the "
                                     "source after its last run.", labels=["source"])
        held = GaugeMetricFamily("dcatwatch_source_held_removals", "Datasets whose removal the "
                                 "mass-deletion guard holds until confirmed.", labels=["source"])
        unattributed = GaugeMetricFamily("dcatwatch_source_unattributed_datasets", "Current "
                                         "datasets of the source with no agency (no publisher, "
                                         "none inherited, no source agency).",
                                         labels=["source"])
        services = GaugeMetricFamily("dcatwatch_source_unattributed_services", "Current data "
                                     "services of the source with no agency (no publisher, "
                                     "none inherited, no source agency).", labels=["source"])
        failing = GaugeMetricFamily("dcatwatch_source_failing", "1 for a source whose last "
                                    "harvest run failed, by whose failure: monitor (every error "
                                    "the monitor's own: its DNS or route), agency, unknown "
                                    "(timeouts, interrupted). No sample while it is up.",
                                    labels=["source", "blame"])
        held_counts = unit.datasets.held_removals()
        without_agency = unit.datasets.unattributed()
        services_without = unit.services.unattributed()
        rows = unit.sources.enabled_states()
        errors = unit.runs.latest_errors(
            [row.name for row in rows if row.last_status not in UP_STATUSES])
        attempts: list[tuple[float, Blame | None]] = []
        for row in rows:
            label = [row.name]
            is_up = row.last_status in UP_STATUSES
            up.add_metric(label, 1 if is_up else 0)
            success.add_metric(label, timestamp(row.last_success_at))
            attempt.add_metric(label, timestamp(row.last_attempt_at))
            datasets.add_metric(label, row.datasets or 0)
            held.add_metric(label, held_counts.get(row.name, 0))
            unattributed.add_metric(label, without_agency.get(row.name, 0))
            services.add_metric(label, services_without.get(row.name, 0))
            blame = failure_blame(errors[row.name]) if row.name in errors else None
            if blame is not None:  # a source never run has no failure to blame
                failing.add_metric([row.name, blame], 1)
            if row.last_attempt_at is not None:  # a first run still going counts neither way
                attempts.append((timestamp(row.last_attempt_at),
                                 None if is_up else blame or "unknown"))
        outage = GaugeMetricFamily("dcatwatch_monitor_network_down", "1 when the latest "
                                   "harvests all failed for the monitor's own reasons (its DNS "
                                   "or route: dcatwatch_source_failing{blame=\"monitor\"}), "
                                   "since the first of them none reached its server, and that "
                                   "is 2 sources or more (or the only one), else 0.",
                                   value=int(monitor_network_down(attempts)))
        return [up, success, attempt, datasets, held, unattributed, services, failing, outage]

    def _scores(self, unit: Unit) -> list[Metric]:
        latest = unit.scores.latest_national()
        if latest is None:
            return []
        national = [
            GaugeMetricFamily("dcatwatch_agencies_with_api_ratio", "Share of agencies with at "
                              "least one dataset available through an API.",
                              value=latest.agencies_with_api_share),
            GaugeMetricFamily("dcatwatch_scores_timestamp_seconds", "When the scores exposed "
                              "here were computed.", value=timestamp(latest.scored_at)),
        ]
        with self._lock:
            if self._snapshot is None or self._snapshot[0] != latest.scored_at:
                self._snapshot = (latest.scored_at, _agency_families(unit, latest.scored_at))
            agencies = self._snapshot[1]
        return [*national, *agencies]


def _deliveries(unit: Unit) -> Metric:
    """Report deliveries per outbox state (``unknown``: DATA sent, no reply; only
    ``report resend`` sends those again)."""
    from dcatwatch.store.outbox import STATES

    family = GaugeMetricFamily("dcatwatch_report_deliveries", "Report deliveries (one per "
                               "agency and month) by state; unknown = no reply after DATA, "
                               "sent again only by `report resend`.", labels=["state"])
    counts = unit.outbox.states(datetime.now(UTC))
    for state in STATES:
        family.add_metric([state], counts.get(state, 0))
    return family


def monitor_network_down(attempts: list[tuple[float, Blame | None]]) -> bool:
    """Whether the monitor itself cannot reach the sources, from each harvested source's
    latest attempt: (when it started, whose failure it was; None if it read its catalogue).

    True when two sources or more (the only one, if one was ever harvested) last failed for
    the monitor's own reasons, and no source reached its server (read its catalogue, or failed
    for its agency) since the first of those failures started. Timeouts and interrupted runs
    (blame ``unknown``) count neither way. One source whose own DNS fails while others are
    harvested is therefore not an outage of the monitor, nor is a failure the network has
    recovered from since."""
    failed = [started for started, blame in attempts if blame == "monitor"]
    if not failed or len(failed) < min(2, len(attempts)):
        return False
    since = min(failed)
    return not any(started >= since and blame in (None, "agency")
                   for started, blame in attempts)


def _interrupted(unit: Unit) -> Metric:
    """Runs marked interrupted in the last hour, whichever process marked them (the daemon's
    ``dcatwatch_runs_interrupted_total`` counts only its own)."""
    family = GaugeMetricFamily("dcatwatch_runs_interrupted_recent", "Harvest and validation "
                               "runs marked interrupted (a killed process, a lost database) in "
                               "the last hour, by any process, by kind.", labels=["kind"])
    for kind, count in unit.runs.interrupted_since(datetime.now(UTC) - INTERRUPTED_WINDOW
                                                   ).items():
        family.add_metric([kind], count)
    return family


def _agency_families(unit: Unit, scored_at: datetime) -> list[Metric]:
    """The per-agency families of the snapshot taken at ``scored_at``."""
    info = InfoMetricFamily("dcatwatch_agency", "The agency's name (value always 1).",
                            labels=["agency", "name"])
    datasets = GaugeMetricFamily("dcatwatch_agency_datasets", "The agency's current datasets "
                                 "by best channel level.", labels=["agency", "level"])
    api_share = GaugeMetricFamily("dcatwatch_agency_api_share_ratio", "Share of the agency's "
                                  "datasets available through an API.", labels=["agency"])
    document_share = GaugeMetricFamily("dcatwatch_agency_document_only_ratio", "Share of the "
                                       "agency's datasets published only as documents.",
                                       labels=["agency"])
    index = GaugeMetricFamily("dcatwatch_agency_api_document_index", "API–document index, "
                              "0–100 (100 × mean channel level / 3).", labels=["agency"])
    mqa = GaugeMetricFamily("dcatwatch_agency_mqa_points", "Mean MQA-predicted points of the "
                            "agency's datasets (405 scale).", labels=["agency"])
    rows = unit.scores.agency_snapshot(scored_at)
    for row in rows:
        agency = row.agency_id
        info.add_metric([agency, row.name], {})
        for level in LEVELS:
            datasets.add_metric([agency, level], getattr(row, level))
        api_share.add_metric([agency], row.api_share)
        document_share.add_metric([agency], row.document_only_share)
        if row.api_document_index is not None:
            index.add_metric([agency], row.api_document_index)
        if row.mqa_points is not None:
            mqa.add_metric([agency], row.mqa_points)
    return [info, datasets, api_share, document_share, index, mqa]
