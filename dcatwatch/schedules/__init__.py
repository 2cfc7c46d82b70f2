"""The daemon (``dcatwatch serve``): scheduling harvests, checks, scoring and reports.

* :mod:`~dcatwatch.schedules.serve`: ``serve()``, the process: store, metrics server, daemon.
* :mod:`~dcatwatch.schedules.daemon`: the scheduler, the harvest pool, signals.
* :mod:`~dcatwatch.schedules.pending`: work a store failure left undone.
* :mod:`~dcatwatch.schedules.active`: what runs now, for a shutdown to wait for.
* :mod:`~dcatwatch.schedules.state`: which sources are due, kept in the store.
* :mod:`~dcatwatch.schedules.jobs`: the work itself, over the services the CLI calls.

Cron parsing is :mod:`dcatwatch.cron` (the configuration checks crons with it too).
"""
