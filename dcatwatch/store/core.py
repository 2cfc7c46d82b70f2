"""The one way into the database: :class:`Store` opens it, :meth:`Store.write` and
:meth:`Store.read` hand out a :class:`Unit`, one transaction on one connection with the
repositories bound to it.

Services call repositories with whole units of work (``unit.runs.start(source)``,
``unit.datasets.apply(batch)``, ``unit.scores.latest(agency)``); no module outside ``store/``
writes SQL, builds ``select()``/``insert()`` or holds a cursor. A :meth:`Store.write` unit on
SQLite begins with ``BEGIN IMMEDIATE``, so two writers wait for each other instead of failing
half-way; a :meth:`Store.read` unit takes no write lock, so a scrape never waits for a harvest.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from functools import cached_property
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError as StoreError  # what a failing store raises

from dcatwatch.store.db import fault_of, open_store, url_of

if TYPE_CHECKING:
    from dcatwatch.store.agencies import Agencies
    from dcatwatch.store.checks import Checks
    from dcatwatch.store.contexts import JsonLdContexts
    from dcatwatch.store.datasets import Datasets
    from dcatwatch.store.findings import Findings
    from dcatwatch.store.leases import Leases
    from dcatwatch.store.outbox import Outbox
    from dcatwatch.store.progress import Progress
    from dcatwatch.store.queue import Queue
    from dcatwatch.store.runs import Runs
    from dcatwatch.store.schedules import Schedules
    from dcatwatch.store.scores import Scores
    from dcatwatch.store.services import Services
    from dcatwatch.store.shacl_checks import ShaclChecks
    from dcatwatch.store.sources import Sources
    from dcatwatch.store.statistics import Statistics


class Store:
    """The database at one URL, with a current schema (see :func:`.db.ready`)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, url: str) -> Store:
        """Open the store at ``url``; an empty database gets the current schema."""
        return cls(open_store(url))

    @property
    def url(self) -> str:
        """The URL the store was opened with (password included: never print it)."""
        return url_of(self.engine)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def write(self) -> Iterator[Unit]:
        """One write transaction: committed when the block ends, rolled back if it raises."""
        with self.engine.connect() as connection:
            connection = connection.execution_options(dcatwatch_write=True)
            with connection.begin():
                yield Unit(connection)

    @contextmanager
    def read(self) -> Iterator[Unit]:
        """One read-only transaction (a consistent view; never takes a write lock)."""
        with self.engine.connect() as connection, connection.begin():
            yield Unit(connection)

    def unreachable(self) -> str | None:
        """None when the database answers a query, else the kind of error."""
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except StoreError as exc:
            return type(exc).__name__
        return None

    def source_lock(self, source: str) -> AbstractContextManager[bool]:
        """The lock on harvesting ``source`` (see :mod:`.locks`): yields False, holding
        nothing, when another process holds it."""
        from dcatwatch.store.locks import source_lock

        return source_lock(self.engine, source)
    def unwritable(self) -> str | None:
        """None when a write commits, else the error (a write probe: a read-only, full or
        unreachable database fails it). It rewrites the one row of ``alembic_version``
        with its own value, so it changes nothing."""
        try:
            with self.write() as unit:
                unit.connection.execute(text(
                    "UPDATE alembic_version SET version_num = version_num"))
        except StoreError as exc:
            fault = fault_of(exc)
            if fault is not None and fault.code == "store.locked":
                return None  # busy with another writer's long transaction: writable, not down
            return describe(exc)
        return None

    def close(self) -> None:
        """Release the pooled connections."""
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def describe(exc: BaseException) -> str:
    """A one-line account of a store error: its kind and the driver's first line."""
    detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return f"{type(exc).__name__}: {detail[0]}" if detail else type(exc).__name__


class Unit:
    """One transaction on one connection; each repository is bound to it."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    @cached_property
    def sources(self) -> Sources:
        from dcatwatch.store.sources import Sources

        return Sources(self.connection)

    @cached_property
    def runs(self) -> Runs:
        from dcatwatch.store.runs import Runs

        return Runs(self.connection)

    @cached_property
    def datasets(self) -> Datasets:
        from dcatwatch.store.datasets import Datasets

        return Datasets(self.connection)

    @cached_property
    def services(self) -> Services:
        from dcatwatch.store.services import Services

        return Services(self.connection)

    @cached_property
    def agencies(self) -> Agencies:
        from dcatwatch.store.agencies import Agencies

        return Agencies(self.connection)

    @cached_property
    def checks(self) -> Checks:
        from dcatwatch.store.checks import Checks

        return Checks(self.connection)

    @cached_property
    def findings(self) -> Findings:
        from dcatwatch.store.findings import Findings

        return Findings(self.connection)

    @cached_property
    def shacl(self) -> ShaclChecks:
        from dcatwatch.store.shacl_checks import ShaclChecks

        return ShaclChecks(self.connection)

    @cached_property
    def scores(self) -> Scores:
        from dcatwatch.store.scores import Scores

        return Scores(self.connection)

    @cached_property
    def outbox(self) -> Outbox:
        from dcatwatch.store.outbox import Outbox

        return Outbox(self.connection)

    @cached_property
    def progress(self) -> Progress:
        from dcatwatch.store.progress import Progress

        return Progress(self.connection)

    @cached_property
    def queue(self) -> Queue:
        from dcatwatch.store.queue import Queue

        return Queue(self.connection)

    @cached_property
    def schedules(self) -> Schedules:
        from dcatwatch.store.schedules import Schedules

        return Schedules(self.connection)

    @cached_property
    def leases(self) -> Leases:
        from dcatwatch.store.leases import Leases

        return Leases(self.connection)

    @cached_property
    def contexts(self) -> JsonLdContexts:
        from dcatwatch.store.contexts import JsonLdContexts

        return JsonLdContexts(self.connection)

    @cached_property
    def statistics(self) -> Statistics:
        from dcatwatch.store.statistics import Statistics

        return Statistics(self.connection)
