"""The daemon (``dcatwatch serve``): scheduling harvests, checks, scoring and reports.

* :mod:`~dcatwatch.schedules.serve`: ``serve()``, the process: store, metrics server, daemon.
* :mod:`~dcatwatch.schedules.daemon`: the daemon's parts composed, its jobs, signals (the
  map of the parts below).
* :mod:`~dcatwatch.schedules.scheduler`: APScheduler with the daemon's habits.
* :mod:`~dcatwatch.schedules.harvests`: the harvest pool: due sources started, retries.
* :mod:`~dcatwatch.schedules.checks`: validations and scoring runs, beside the harvests.
* :mod:`~dcatwatch.schedules.store_watch`: whether the store can be written.
* :mod:`~dcatwatch.schedules.pending`: work a store failure left undone.
* :mod:`~dcatwatch.schedules.recovery`: interrupted runs marked failed, their work redone.
* :mod:`~dcatwatch.schedules.active`: what runs now, for a shutdown to wait for.
* :mod:`~dcatwatch.schedules.state`: which sources are due, kept in the store.
* :mod:`~dcatwatch.schedules.jobs`: the work itself, over the services the CLI calls.

Cron parsing is :mod:`dcatwatch.cron` (the configuration checks crons with it too).
"""
