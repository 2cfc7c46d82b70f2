"""Metrics of a queue worker: the queue as the store sees it, and this replica's counters.

Store-derived families (sources, agencies, the queue) are the same on every replica, so
Prometheus may take any one (``max by``); process counters differ per replica and carry
``replica="HOST-PID"`` so that ``sum without (replica)`` adds them up.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from dcatwatch.store.core import Store, StoreError

log = logging.getLogger(__name__)


class ReplicaCollector(Collector):
    """The families of ``inner`` with a ``replica`` label on every sample."""

    def __init__(self, inner: CollectorRegistry, replica: str) -> None:
        self.inner = inner
        self.replica = replica

    def collect(self) -> Iterator[Metric]:
        for family in self.inner.collect():
            copy = Metric(family.name, family.documentation, family.type, family.unit)
            copy.samples = [s._replace(labels={**s.labels, "replica": self.replica})
                            for s in family.samples]
            yield copy


class QueueCollector(Collector):
    """``dcatwatch_queue_jobs{task,state}``, ``dcatwatch_queue_oldest_waiting_seconds{task}``
    and ``dcatwatch_queue_stalled_jobs``, read from the job table at scrape time."""

    def __init__(self, store: Store, stalled_after: float) -> None:
        self.store = store
        self.stalled_after = stalled_after

    def collect(self) -> Iterator[Metric]:
        from dcatwatch.queue.app import PREFIX, TASKS

        try:
            with self.store.read() as unit:
                depth = {d.task: d for d in unit.queue.queue_depth()}
                stalled = unit.queue.stalled_jobs(self.stalled_after)
        except StoreError as exc:
            log.warning("cannot read the job queue: %s", exc)
            return
        jobs = GaugeMetricFamily("dcatwatch_queue_jobs", "Jobs in the queue by task and "
                                 "state (waiting: due, not started; running).",
                                 labels=["task", "state"])
        oldest = GaugeMetricFamily("dcatwatch_queue_oldest_waiting_seconds", "Age of the "
                                   "oldest due job not yet started, by task (0: none waits).",
                                   labels=["task"])
        names = sorted({PREFIX + t for t in TASKS} | set(depth))
        for name in names:
            task = name.removeprefix(PREFIX)
            d = depth.get(name)
            jobs.add_metric([task, "waiting"], d.waiting if d else 0)
            jobs.add_metric([task, "running"], d.running if d else 0)
            oldest.add_metric([task], d.oldest_waiting_s if d else 0.0)
        yield jobs
        yield oldest
        yield GaugeMetricFamily("dcatwatch_queue_stalled_jobs", "Running jobs whose worker "
                                "sent no heartbeat within [queue] stalled_after (about to be "
                                "retried).", value=stalled)
