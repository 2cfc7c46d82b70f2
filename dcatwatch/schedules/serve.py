"""``dcatwatch serve`` with the local backend: one process around the
:class:`~dcatwatch.schedules.daemon.Daemon`, with its store and metrics server (and the
bundled example catalogues with ``--demo``)."""

from __future__ import annotations

import logging
from contextlib import ExitStack
from pathlib import Path

from dcatwatch.config import Settings
from dcatwatch.errors import ConfigError
from dcatwatch.metrics import Instruments, MetricsServer, StoreCollector, new_registry
from dcatwatch.schedules.daemon import Daemon, exit_now
from dcatwatch.store.core import Store
from dcatwatch.web.app import web_routes

log = logging.getLogger(__name__)


def serve(settings: Settings, demo: bool = False, demo_dir: Path | None = None) -> int:
    """Run the daemon until SIGTERM/SIGINT; returns the exit status (0).

    ``demo``: serve the bundled example catalogues on loopback and watch them instead of
    the configured sources, with a SQLite store in ``demo_dir`` (default:
    :func:`dcatwatch.demo.server.default_directory`), kept after the demo stops so that the
    configuration it writes there keeps working. Where it is, is logged on start.
    """
    if not demo:
        return _serve(settings)
    from dcatwatch.demo.server import DemoSite, default_directory, demo_settings, write_config

    with ExitStack() as stack:
        directory = demo_dir or default_directory()
        directory.mkdir(parents=True, exist_ok=True)
        site = stack.enter_context(DemoSite())
        chosen = demo_settings(settings, site.base_url, directory)
        config = write_config(chosen, directory)
        host, port = chosen.server.host, chosen.server.port
        log.info("dcatwatch demo: example catalogues at %s/, metrics at http://%s:%s/metrics; "
                 "store and configuration kept in %s; try: dcatwatch --config %s scores",
                 site.base_url, host, port, directory, config)
        return _serve(chosen)


def _serve(settings: Settings) -> int:
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        logging.getLogger("apscheduler").setLevel(logging.WARNING)  # a line per job run
    store = Store.open(settings.database.url)
    registry = new_registry()
    instruments = Instruments(registry)
    registry.register(StoreCollector(store))
    daemon = Daemon(settings, store, instruments)
    try:
        server = MetricsServer(settings.server.host, settings.server.port, registry,
                               daemon.readiness, pages=web_routes(settings, store))
    except OSError as exc:
        raise ConfigError("server.port", f"cannot listen on {settings.server.host}:"
                          f"{settings.server.port}: {exc.strerror or exc}") from None
    daemon.scoring.scored = server.warm  # render the new agency figures before Prometheus asks
    daemon.install_signals()
    server.start()  # /metrics answers, /readyz fails until the store is prepared
    host, port = server.address
    log.info("serving %d sources; metrics on http://%s:%d/metrics", len(daemon.harvests.sources),
             host, port)
    if not daemon.prepare():  # stopped while waiting for a writable store
        server.close()
        daemon.close()
        log.info("stopped")
        return 0
    daemon.run()
    abandoned = daemon.drain()
    server.close()
    if abandoned:
        log.warning("shutdown grace of %.0f s is over; abandoning %s (interrupted runs are "
                    "marked failed and retried at the next start)",
                    daemon.options.shutdown_grace, ", ".join(abandoned))
        exit_now()
    daemon.close()
    log.info("stopped")
    return 0
