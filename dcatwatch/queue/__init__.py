"""The queue backend (``[queue] backend = "postgres"``): every ``dcatwatch serve`` is a
procrastinate worker sharing the work through the PostgreSQL store.

* :mod:`.tasks`: the one thin module that calls the services (harvest one source, validate
  one source, score, send one agency's report) — the only place their signatures matter.
* :mod:`.app`: the procrastinate app, its task definitions, the periodic dispatcher (due
  harvests from ``source_schedule``, the link re-check and report crons) and the stalled-job
  recovery.
* :mod:`.worker`: ``serve`` as a worker: metrics per replica, SIGTERM with a grace.
* :mod:`.metrics`: the queue's depth and age, and the replica label on process counters.
"""
