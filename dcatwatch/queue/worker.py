"""``dcatwatch serve`` with ``[queue] backend = "postgres"``: one procrastinate worker.

Any number of these, on any number of machines, share the jobs of :mod:`.app`. Each serves
``/metrics`` (store-derived gauges, the same on every replica; its own counters labelled
``replica="HOST-PID"``; the queue's depth and age), ``/healthz`` and ``/readyz``.

SIGTERM or SIGINT: the worker stops fetching jobs and waits up to ``[daemon]
shutdown_grace`` for the running ones; jobs still running then are abandoned (the process
exits 0 without waiting for their threads; procrastinate alone would wait for sync jobs
forever). Their rows stay ``doing`` and the worker's row goes, so the next ``recover`` of
another worker retries them at once. A second signal exits at once.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from procrastinate.worker import Worker
from prometheus_client import CollectorRegistry

from dcatwatch.config import Settings
from dcatwatch.cron import next_after, setting_trigger
from dcatwatch.errors import ConfigError
from dcatwatch.harvester.run import sync_configuration
from dcatwatch.http.client import HttpClient
from dcatwatch.metrics import Instruments, MetricsServer, StoreCollector, new_registry
from dcatwatch.metrics.server import Route
from dcatwatch.queue.app import Jobs
from dcatwatch.queue.metrics import QueueCollector, ReplicaCollector
from dcatwatch.queue.tasks import Runtime
from dcatwatch.schedules.daemon import exit_now
from dcatwatch.store.core import Store
from dcatwatch.validators.linkengine import link_engine
from dcatwatch.web.app import web_routes

log = logging.getLogger(__name__)


def replica_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def serve_worker(settings: Settings, concurrency: int | None = None) -> int:
    """Run this process as a queue worker until SIGTERM/SIGINT; returns 0."""
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        logging.getLogger("procrastinate").setLevel(logging.WARNING)
    store = _open_store(settings)
    replica = replica_name()
    registry, instruments = _registries(settings, store, replica)
    jobs = Jobs(settings)
    client = HttpClient(settings.http, on_response=instruments.on_response)
    links = link_engine(settings, instruments, replica)
    jobs.runtime = Runtime(settings, store, client, instruments, replica, links)
    stopping = threading.Event()
    _prepare(settings, store)
    server = _listen(settings, registry, _readiness(store, stopping), web_routes(settings, store))
    host, port = server.address
    workers = concurrency or settings.queue.concurrency
    log.info("queue worker %s: %d jobs at a time; metrics on http://%s:%d/metrics", replica,
             workers, host, port)
    print(f"dcatwatch worker {replica} ready; metrics on http://{host}:{port}/metrics",
          file=sys.stderr, flush=True)
    options = _worker_options(settings, workers, replica)
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(_run(jobs, store, options, settings.daemon.shutdown_grace,
                                     stopping))
    finally:
        stopping.set()
    server.close()
    loop.close()
    links.stop()
    client.close()
    store.close()
    log.info("stopped")
    return 0


def _open_store(settings: Settings) -> Store:
    """The store, once its job-queue tables are known to be there."""
    store = Store.open(settings.database.url)
    with store.read() as unit:
        installed = unit.queue.procrastinate_installed()
    if not installed:
        raise ConfigError("queue.backend", "the job queue's tables are missing in "
                          "database.url: run `dcatwatch db upgrade` first")
    return store


def _registries(settings: Settings, store: Store, replica: str
                ) -> tuple[CollectorRegistry, Instruments]:
    """What /metrics serves, and this process's instruments (counters labelled
    ``replica``)."""
    registry = new_registry()
    own = CollectorRegistry(auto_describe=True)  # this process's counters, labelled below
    instruments = Instruments(own)
    registry.register(ReplicaCollector(own, replica))
    registry.register(StoreCollector(store))
    registry.register(QueueCollector(store, settings.queue.stalled_after))
    return registry, instruments


def _readiness(store: Store, stopping: threading.Event) -> Callable[[], str | None]:
    """/readyz: None when ready, else why not."""
    def readiness() -> str | None:
        if stopping.is_set():
            return "shutting down"
        problem = store.unreachable()
        return None if problem is None else f"store unreachable ({problem})"
    return readiness


def _listen(settings: Settings, registry: CollectorRegistry,
            readiness: Callable[[], str | None], pages: list[Route]) -> MetricsServer:
    """The metrics server with the web view's ``pages``, started on ``[server] host/port``."""
    try:
        server = MetricsServer(settings.server.host, settings.server.port, registry, readiness,
                               pages=pages)
    except OSError as exc:
        raise ConfigError("server.port", f"cannot listen on {settings.server.host}:"
                          f"{settings.server.port}: {exc.strerror or exc}") from None
    server.start()
    return server


def _worker_options(settings: Settings, workers: int, replica: str) -> dict[str, Any]:
    """procrastinate's :class:`Worker` options from ``[queue]`` and ``[daemon]``."""
    stalled = settings.queue.stalled_after
    return {
        "concurrency": workers, "name": replica,
        "shutdown_graceful_timeout": settings.daemon.shutdown_grace,
        "fetch_job_polling_interval": settings.queue.poll_interval,
        "update_heartbeat_interval": max(0.5, stalled / 4),
        "stalled_worker_timeout": stalled,
        "delete_jobs": "successful",
    }


async def _run(jobs: Jobs, store: Store, options: dict[str, Any], grace: float,
               stopping: threading.Event) -> None:
    """Work jobs until a signal stops the worker (see the module doc)."""
    async with jobs.app.open_async():
        await asyncio.to_thread(jobs.defer_startup_dispatch)
        worker = Worker(app=jobs.app, install_signal_handlers=False, **options)
        loop = asyncio.get_running_loop()

        def on_signal(signum: int) -> None:
            name = signal.Signals(signum).name
            if stopping.is_set():
                log.warning("second %s: exiting now", name)
                exit_now()
            log.info("%s: taking no new jobs; waiting up to %.0f s for running ones", name,
                     grace)
            stopping.set()
            worker.stop()
            timer = threading.Timer(grace, _abandon, (jobs, store, grace, worker))
            timer.daemon = True
            timer.start()

        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, on_signal, signum)
        await worker.run()


def _abandon(jobs: Jobs, store: Store, grace: float, worker: Worker) -> None:
    """The grace is over: leave the jobs still running to another worker."""
    with jobs.active_changed:
        if not jobs.active_changed.wait_for(lambda: not jobs.active, 0.2):
            log.warning("shutdown grace of %.0f s is over; abandoning %d job(s) (another "
                        "worker runs them again)", grace, jobs.active)
            if worker.worker_id is not None:  # their jobs are retried at once
                _forget(store, worker.worker_id)
            exit_now()


def _forget(store: Store, worker_id: int) -> None:
    with store.write() as unit:
        unit.queue.forget_worker(worker_id)


def _prepare(settings: Settings, store: Store) -> None:
    """Sync the configuration (conflict-free) and the schedules (one worker at a time)."""
    now = datetime.now(UTC)
    sync_configuration(store, settings)
    triggers = {s.name: setting_trigger(f"sources[{i}] ({s.name}).schedule", s.schedule)
                for i, s in enumerate(settings.sources) if s.enabled}
    with store.write() as unit:
        unit.queue.lock_schedules()
        unit.schedules.sync({s.name: s.schedule for s in settings.sources if s.enabled}, now,
                            lambda name: next_after(triggers[name], now))
