"""Link and data checks and validation runs: the tables ``link_check``, ``data_check`` and
``validation_run``. Which URL is due and what counts as reachable are the validators' rules;
these methods only read and write the rows they are given."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, Table, func, insert, select, update

from dcatwatch.dcat.classify import LinkInfo
from dcatwatch.store import upsert
from dcatwatch.store.db import chunks
from dcatwatch.store.repository import Repository
from dcatwatch.store.tables import DATA, LINKS, VALIDATION_RUNS
from dcatwatch.store.validation_models import DataCheck, LinkCheck

SCORED_VERDICTS = ("ok", "broken")  # the verdicts scoring reads; any other: as if unchecked
DATA_DEFAULTS = {"reason": "", "error_types": "{}", "examples": "[]", "tabular": False,
                 "sampled": False, "bytes_read": 0, "rows_checked": 0, "error_count": 0}
INTERRUPTED_MESSAGE = ("the run was interrupted (process stopped or killed, or the database "
                       "lost)")


class Checks(Repository):
    """Link and data checks and validation runs."""

    # validation runs

    def start_run(self, source: str | None, at: datetime, worker: str | None = None) -> int:
        """Record a validation run of ``source`` (None: every source) as running in the
        process ``worker`` (host-pid); its id."""
        result = self.connection.execute(insert(VALIDATION_RUNS).values(
            source=source, started_at=at, status="running", summary="{}", worker=worker))
        return int(result.inserted_primary_key[0])

    def running_runs(self) -> list[tuple[int, str | None]]:
        """The validation runs marked ``running``: (id, worker)."""
        query = select(VALIDATION_RUNS.c.id, VALIDATION_RUNS.c.worker).where(
            VALIDATION_RUNS.c.status == "running")
        return [(row.id, row.worker) for row in self.connection.execute(query)]

    def finish_run(self, run_id: int, status: str, at: datetime,
                   summary: Mapping[str, Any] | None = None) -> None:
        """Mark run ``run_id`` ``status`` (ok | failed), with its summary when given."""
        values: dict[str, Any] = {"status": status, "finished_at": at}
        if summary is not None:
            values["summary"] = json.dumps(summary)
        self.connection.execute(update(VALIDATION_RUNS).where(VALIDATION_RUNS.c.id == run_id)
                                .values(values))

    def recover_interrupted(self, now: datetime, sources: Iterable[str | None] | None = None,
                            ids: Iterable[int] | None = None) -> list[str | None]:
        """Mark validation runs left ``running`` failed at ``now`` with an "interrupted"
        summary (of ``sources``, None for a run of every source; or those of ``ids``;
        default: every run left running); the source of each (None: a run of every source)."""
        query = select(VALIDATION_RUNS.c.id, VALIDATION_RUNS.c.source).where(
            VALIDATION_RUNS.c.status == "running")
        if ids is not None:
            query = query.where(VALIDATION_RUNS.c.id.in_(list(ids)))
        rows = list(self.connection.execute(query))
        if sources is not None:
            wanted = set(sources)
            rows = [row for row in rows if row.source in wanted]
        if rows:
            self.connection.execute(
                update(VALIDATION_RUNS).where(VALIDATION_RUNS.c.id.in_([r.id for r in rows]))
                .values(status="failed", finished_at=now, summary=json.dumps(
                    {"error": {"code": "run.internal", "message": INTERRUPTED_MESSAGE}})))
        return [row.source for row in rows]

    # link checks

    def recent_links(self, urls: Sequence[str], since: datetime,
                     confirm_before: datetime | None = None) -> set[str]:
        """The URLs among ``urls`` last checked after ``since``, but not those whose latest
        check was inconclusive, nor (given ``confirm_before``) those failing unconfirmed
        since before ``confirm_before``."""
        found: set[str] = set()
        for part in chunks(urls):
            query = select(LINKS.c.url).where(
                LINKS.c.url.in_(part), LINKS.c.last_checked_at > since,
                LINKS.c.verdict != "inconclusive")
            if confirm_before is not None:
                query = query.where(~((LINKS.c.verdict == "failing")
                                      & (LINKS.c.agency_failure_at <= confirm_before)))
            found.update(self.connection.execute(query).scalars())
        return found

    def link_histories(self, urls: Sequence[str]) -> dict[str, Row[Any]]:
        """``first_failure_at``, ``consecutive_failures``, ``last_success_at``,
        ``agency_failure_at`` and ``verdict`` of the stored checks among ``urls``, by URL."""
        found = {}
        for part in chunks(urls):
            query = select(LINKS.c.url, LINKS.c.first_failure_at, LINKS.c.consecutive_failures,
                           LINKS.c.last_success_at, LINKS.c.agency_failure_at,
                           LINKS.c.verdict).where(LINKS.c.url.in_(part))
            found.update((row.url, row) for row in self.connection.execute(query))
        return found

    def save_links(self, rows: Sequence[dict[str, Any]]) -> None:
        """Write the link-check ``rows`` (all with the same columns), each inserted or
        overwriting the stored row of its url: two validations recording one URL at the
        same moment (two sources list it; two workers) both succeed, the later one wins.
        A URL given twice is written once, as its last row says."""
        if rows:
            latest = list({row["url"]: row for row in rows}.values())
            self.connection.execute(_upsert(self.connection, LINKS, latest[0]), latest)

    def link_infos(self, urls: Iterable[str] | None = None) -> dict[str, LinkInfo]:
        """The latest check of each URL (of ``urls``, or every checked URL) as scoring
        reads it: a failure is known only once confirmed (verdict ``broken``); a failing
        unconfirmed or inconclusive check is unknown, as if the URL were unchecked."""
        query = select(LINKS.c.url, LINKS.c.status, LINKS.c.content_type, LINKS.c.reachable,
                       LINKS.c.verdict)
        if urls is None:
            rows: Iterable[Any] = self.connection.execute(query)
        else:
            rows = (row for part in chunks(list(dict.fromkeys(urls)))
                    for row in self.connection.execute(query.where(LINKS.c.url.in_(part))))
        return {row.url: LinkInfo(row.status, row.content_type, row.reachable)
                if row.verdict in SCORED_VERDICTS else LinkInfo() for row in rows}

    def history(self, urls: Iterable[str]) -> dict[str, LinkCheck]:
        """The stored checks of ``urls`` as :class:`LinkCheck` rows, by URL."""
        return {row.url: LinkCheck.model_validate(row._mapping)
                for row in self._rows(LINKS, urls)}

    def unreachable(self, urls: Sequence[str], codes: Iterable[str]) -> dict[str, str]:
        """The URLs among ``urls`` whose latest link check failed with one of the error
        ``codes``, with the check's reason."""
        found = {}
        for part in chunks(urls):
            query = select(LINKS.c.url, LINKS.c.reason).where(
                LINKS.c.url.in_(part), LINKS.c.error_code.in_(list(codes)))
            found.update((row.url, row.reason) for row in self.connection.execute(query))
        return found

    def last_link_check(self) -> datetime | None:
        """When a link was last checked (None: never)."""
        return self.connection.execute(select(func.max(LINKS.c.last_checked_at))).scalar()

    # data checks

    def data_checks(self, urls: Iterable[str]) -> dict[str, DataCheck]:
        """The stored data checks of ``urls``, by URL."""
        return {row.url: DataCheck.model_validate(row._mapping)
                for row in self._rows(DATA, urls)}

    def save_data(self, url: str, values: Mapping[str, Any]) -> None:
        """Write the data check of ``url``: insert it, or overwrite ``values`` of the stored
        row (another validation may have inserted it a moment ago)."""
        row = DATA_DEFAULTS | {"url": url, **values}  # the defaults only for a new row
        self.connection.execute(_upsert(self.connection, DATA, values), [row])

    def _rows(self, table: Any, urls: Iterable[str]) -> Iterator[Row[Any]]:
        for part in chunks(list(dict.fromkeys(urls))):
            yield from self.connection.execute(select(table).where(table.c.url.in_(part)))


def _upsert(connection: Connection, table: Table, columns: Iterable[str]) -> Any:
    """INSERT into ``table`` that overwrites ``columns`` (not url) on a url conflict."""
    statement = upsert.insert(connection, table)
    return statement.on_conflict_do_update(
        index_elements=[table.c.url],
        set_={name: statement.excluded[name] for name in columns if name != "url"})
