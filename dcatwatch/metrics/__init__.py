"""Prometheus exposition of the daemon.

* :mod:`~dcatwatch.metrics.instruments`: in-process counters and histograms (runs, durations,
  HTTP requests, datasets processed, e-mails, missed runs); reset when the process restarts.
* :mod:`~dcatwatch.metrics.store_collector`: per-source and per-agency state read from the
  store at scrape time, so it survives restarts and removed sources disappear.
* :mod:`~dcatwatch.metrics.server`: the HTTP endpoints ``/metrics``, ``/healthz``, ``/readyz``.

Every family is named ``dcatwatch_…`` in base units (seconds, ratios 0–1); only
``dcatwatch_agency_info`` carries agency names.
"""

from dcatwatch.metrics.instruments import Instruments, new_registry
from dcatwatch.metrics.server import MetricsServer
from dcatwatch.metrics.store_collector import StoreCollector

__all__ = ["Instruments", "MetricsServer", "StoreCollector", "new_registry"]
