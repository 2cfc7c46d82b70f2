"""Datasets and their distributions: change detection writes, current-dataset reads."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import LargeBinary, Row, bindparam, delete, func, insert, select, update

from dcatwatch.dcat.model import DatasetEntry
from dcatwatch.store.db import chunks
from dcatwatch.store.repository import Repository
from dcatwatch.store.tables import DATASETS, DISTRIBUTIONS, RUNS, SCORES

ANY_LEVEL = "any"

# the harvest writes descriptions packed as it holds them, past PackedText's packing
_PACKED = bindparam("packed", type_=LargeBinary)
_CURRENT = DATASETS.c.removed_at.is_(None)


@dataclass(slots=True, frozen=True)
class Stored:
    """What change detection needs of a stored dataset."""

    id: int
    content_hash: str
    removed: bool
    held: bool
    agency_id: str | None
    held_at: datetime | None = None  # when the mass-deletion guard first held its removal
    seen_at: datetime | None = None  # last_seen_at: when a run last listed it


@dataclass(slots=True, frozen=True)
class Totals:
    """A source's current datasets, their agencies and distributions, and how many of its
    datasets have no agency."""

    datasets: int
    agencies: int
    distributions: int
    unattributed: int = 0


class Datasets(Repository):
    """Datasets and their distributions: change detection writes, current-dataset reads."""

    def existing(self, source: str, iris: Sequence[str] | None = None) -> dict[str, Stored]:
        """The dataset rows of ``source`` (removed ones too) with the IRIs ``iris`` (None:
        every row), by IRI."""
        c = DATASETS.c
        query = select(c.id, c.iri, c.content_hash, c.removed_at, c.removal_held_at,
                       c.agency_id, c.last_seen_at).where(c.source == source)
        parts = [None] if iris is None else chunks(iris)
        found: dict[str, Stored] = {}
        for part in parts:
            rows = self.connection.execute(query if part is None else
                                           query.where(c.iri.in_(list(part))))
            found.update((iri, Stored(row_id, digest, removed is not None, held is not None,
                                      agency, held, seen))
                         for row_id, iri, digest, removed, held, agency, seen in rows)
        return found

    def unlisted(self, source: str, seen_at: datetime) -> tuple[int, list[Stored]]:
        """How many current (not removed) datasets ``source`` has, and those of them a run
        at ``seen_at`` did not list (their ``last_seen_at`` is another time: the run wrote
        it on every dataset it listed)."""
        c = DATASETS.c
        current = int(self.connection.execute(
            select(func.count()).where(c.source == source, _CURRENT)).scalar_one())
        rows = self.connection.execute(
            select(c.id, c.content_hash, c.removal_held_at, c.agency_id)
            .where(c.source == source, _CURRENT,
                   c.last_seen_at.is_(None) | (c.last_seen_at != seen_at)))
        missing = [Stored(row_id, digest, False, held is not None, agency, held)
                   for row_id, digest, held, agency in rows]
        return current, missing

    def has_current(self, source: str) -> bool:
        """Whether ``source`` has a dataset that is not removed."""
        return self.connection.execute(
            select(DATASETS.c.id).where(DATASETS.c.source == source, _CURRENT).limit(1)
        ).first() is not None

    def any_held(self, source: str) -> bool:
        """Whether a removal of ``source``'s datasets is held (and not yet confirmed)."""
        # held rows are few: asking only for them lets the store use ix_dataset_held
        removed = self.connection.execute(
            select(DATASETS.c.removed_at).where(DATASETS.c.source == source,
                                                DATASETS.c.removal_held_at.is_not(None)))
        return any(value is None for (value,) in removed)

    def insert_new(self, source: str, at: datetime,
                   entries: Sequence[tuple[DatasetEntry, str | None]]) -> None:
        """Insert new datasets (each with its agency id) and their distributions."""
        statement = insert(DATASETS).values(description=_PACKED).returning(DATASETS.c.id,
                                                                           DATASETS.c.iri)
        for batch in chunks(entries):
            rows = [{"source": source, "iri": entry.iri, "first_seen_at": at,
                     **_values(entry, agency, at)} for entry, agency in batch]
            ids = dict((iri, row_id) for row_id, iri in self.connection.execute(statement, rows))
            self._insert_distributions(source, [(ids[entry.iri], entry) for entry, _ in batch])

    def update_changed(self, source: str, at: datetime,
                       changed: Sequence[tuple[int, DatasetEntry, str | None]]) -> None:
        """Rewrite changed (or revived) datasets and replace their distributions."""
        statement = update(DATASETS).where(DATASETS.c.id == bindparam("row_id")) \
            .values(description=_PACKED)
        for batch in chunks(changed):
            self.connection.execute(statement, [{"row_id": row_id, **_values(entry, agency, at)}
                                                for row_id, entry, agency in batch])
            self.connection.execute(delete(DISTRIBUTIONS).where(
                DISTRIBUTIONS.c.dataset_id.in_([row_id for row_id, *_ in batch])))
            self._insert_distributions(source, [(row_id, entry) for row_id, entry, _ in batch])

    def mark_seen(self, ids: Sequence[int], at: datetime) -> None:
        """Datasets read again unchanged: seen now, any held removal lifted."""
        self._set(ids, last_seen_at=at, removal_held_at=None)

    def move(self, moves: Iterable[tuple[int, str | None]]) -> None:
        """Give datasets (id, agency id) another agency."""
        rows = [{"row_id": row_id, "agency_id": agency} for row_id, agency in moves]
        if rows:
            self.connection.execute(update(DATASETS).where(DATASETS.c.id == bindparam("row_id")),
                                    rows)

    def remove(self, ids: Sequence[int], at: datetime) -> None:
        """Mark datasets removed."""
        self._set(ids, removed_at=at, removal_held_at=None)

    def hold(self, ids: Sequence[int], at: datetime) -> None:
        """Hold the removal of datasets (the mass-deletion guard)."""
        self._set(ids, removal_held_at=at)

    def runs_missing_since(self, source: str, since: Collection[datetime]) -> dict[datetime, int]:
        """For each hold time in ``since``: how many successful (``ok``) runs of ``source``
        finished at or after it. A run that listed a held dataset lifted its hold, so these
        are the runs that missed the datasets held then (the one that held them included)."""
        return {at: self.connection.execute(
            select(func.count()).select_from(RUNS).where(
                RUNS.c.source == source, RUNS.c.status == "ok", RUNS.c.finished_at >= at)
        ).scalar_one() for at in set(since)}

    def held_since(self, source: str) -> datetime | None:
        """When the oldest held removal of ``source``'s current datasets was first held."""
        return self.connection.execute(
            select(func.min(DATASETS.c.removal_held_at)).where(
                DATASETS.c.source == source, _CURRENT)).scalar()

    def confirm_held(self, source: str, at: datetime) -> int:
        """Remove the held datasets of ``source``; returns how many."""
        return self.connection.execute(
            update(DATASETS).where(DATASETS.c.source == source,
                                   DATASETS.c.removal_held_at.is_not(None), _CURRENT)
            .values(removed_at=at, removal_held_at=None)).rowcount

    def retire(self, source: str, at: datetime) -> None:
        """Mark every current dataset of ``source`` removed (the source is gone)."""
        self.connection.execute(update(DATASETS).where(DATASETS.c.source == source, _CURRENT)
                                .values(removed_at=at, removal_held_at=None))

    def counts(self, source: str) -> Totals:
        """How many current datasets ``source`` has, of how many agencies, with how many
        distributions."""
        datasets, agencies, attributed = self.connection.execute(
            select(func.count(), func.count(DATASETS.c.agency_id.distinct()),
                   func.count(DATASETS.c.agency_id))
            .where(DATASETS.c.source == source, _CURRENT)).one()
        distributions = self.connection.execute(
            select(func.count()).select_from(DISTRIBUTIONS.join(DATASETS))
            .where(DATASETS.c.source == source, _CURRENT)).scalar_one()
        return Totals(datasets, agencies, distributions, datasets - attributed)

    def _insert_distributions(self, source: str,
                              entries: Sequence[tuple[int, DatasetEntry]]) -> None:
        rows = [{"dataset_id": row_id, "source": source, "iri": link.iri,
                 "access_url": link.access_url, "download_url": link.download_url,
                 "format": link.format} for row_id, entry in entries
                for link in entry.distributions]
        if rows:
            self.connection.execute(insert(DISTRIBUTIONS), rows)

    def _set(self, ids: Sequence[int], **values: Any) -> None:
        for part in chunks(ids):
            self.connection.execute(update(DATASETS).where(DATASETS.c.id.in_(part))
                                    .values(**values))

    def current_of_agencies(self, agencies: Collection[str] | None) -> list[Any]:
        """Current datasets with an agency (of ``agencies``; None: any), by agency and IRI:
        (agency_id, source, iri, title, description)."""
        current = DATASETS.c.removed_at.is_(None) & DATASETS.c.agency_id.is_not(None)
        if agencies is not None:
            current &= DATASETS.c.agency_id.in_(list(agencies))
        return list(self.connection.execute(
            select(DATASETS.c.agency_id, DATASETS.c.source, DATASETS.c.iri, DATASETS.c.title,
                   DATASETS.c.description).where(current)
            .order_by(DATASETS.c.agency_id, DATASETS.c.iri)))

    def current_descriptions(self, source: str | None = None, *, after: int = 0,
                             limit: int | None = None) -> list[Row[Any]]:
        """``id``, ``source`` and ``description`` of the current datasets (of ``source``;
        None: every source), in the order they were first stored; with ``limit``, at most
        that many with an id above ``after`` (read a large store a batch at a time)."""
        query = select(DATASETS.c.id, DATASETS.c.source, DATASETS.c.description).where(
            DATASETS.c.removed_at.is_(None), DATASETS.c.id > after).order_by(DATASETS.c.id)
        if source is not None:
            query = query.where(DATASETS.c.source == source)
        if limit is not None:
            query = query.limit(limit)
        return list(self.connection.execute(query))

    def listing(self, *, agency: str | None = None, source: str | None = None,
                level: int | None | str = ANY_LEVEL) -> list[Row[Any]]:
        """Current datasets with their score, by agency, IRI and source: ``iri``, ``title``,
        ``agency_id``, ``source``, ``level`` and ``mqa_points`` (None: not scored yet).
        ``agency`` ``"-"`` picks the unattributed ones; ``level`` None the unscored ones."""
        query = (select(DATASETS.c.iri, DATASETS.c.title, DATASETS.c.agency_id,
                        DATASETS.c.source, SCORES.c.level, SCORES.c.mqa_points)
                 .select_from(DATASETS.outerjoin(SCORES, SCORES.c.dataset_id == DATASETS.c.id))
                 .where(_CURRENT))
        if agency == "-":
            query = query.where(DATASETS.c.agency_id.is_(None))
        elif agency is not None:
            query = query.where(DATASETS.c.agency_id == agency)
        if source is not None:
            query = query.where(DATASETS.c.source == source)
        if level is None:
            query = query.where(SCORES.c.level.is_(None))
        elif level != ANY_LEVEL:
            query = query.where(SCORES.c.level == level)
        return list(self.connection.execute(query.order_by(
            DATASETS.c.agency_id, DATASETS.c.iri, DATASETS.c.source)))

    def current_of_iri(self, iri: str) -> list[Row[Any]]:
        """``id``, ``source``, ``title`` and ``description`` of the current copies of the
        dataset ``iri`` (one per source holding it), by source."""
        return list(self.connection.execute(
            select(DATASETS.c.id, DATASETS.c.source, DATASETS.c.title, DATASETS.c.description)
            .where(DATASETS.c.iri == iri, _CURRENT).order_by(DATASETS.c.source)))

    def link_urls(self, source: str) -> list[str]:
        """The accessURL and downloadURL of the current datasets' distributions of
        ``source`` as harvested (the link engine is fed these before the validation runs)."""
        query = (select(DISTRIBUTIONS.c.access_url, DISTRIBUTIONS.c.download_url)
                 .select_from(DISTRIBUTIONS.join(DATASETS))
                 .where(DATASETS.c.source == source, _CURRENT))
        urls: dict[str, None] = {}
        for access, download in self.connection.execute(query):
            for url in (download, access):
                if url:
                    urls[url] = None
        return list(urls)

    def count_current(self, source: str | None = None) -> int:
        """How many current datasets ``source`` (None: every source) has."""
        query = select(func.count()).select_from(DATASETS).where(_CURRENT)
        if source is not None:
            query = query.where(DATASETS.c.source == source)
        return int(self.connection.execute(query).scalar_one())

    def descriptions(self, ids: Sequence[int]) -> dict[int, str]:
        """The stored descriptions of datasets, by id."""
        found: dict[int, str] = {}
        for part in chunks(ids):
            query = select(DATASETS.c.id, DATASETS.c.description).where(DATASETS.c.id.in_(part))
            found.update((row.id, row.description) for row in self.connection.execute(query))
        return found

    def unattributed(self) -> dict[str, int]:
        """How many current datasets of each source have no agency (sources with any)."""
        return dict(self.connection.execute(  # type: ignore[arg-type]
            select(DATASETS.c.source, func.count())
            .where(DATASETS.c.agency_id.is_(None), _CURRENT).group_by(DATASETS.c.source)).all())

    def held_removals(self) -> dict[str, int]:
        """How many current datasets of each source the mass-deletion guard holds."""
        return dict(self.connection.execute(  # type: ignore[arg-type]
            select(DATASETS.c.source, func.count())
            .where(DATASETS.c.removal_held_at.is_not(None), DATASETS.c.removed_at.is_(None))
            .group_by(DATASETS.c.source)).all())


def _values(entry: DatasetEntry, agency: str | None, at: datetime) -> dict[str, Any]:
    """The columns of a dataset that was added or changed at ``at``."""
    return {"agency_id": agency, "title": entry.title, "content_hash": entry.digest,
            "packed": entry.packed, "last_seen_at": at, "changed_at": at, "removed_at": None,
            "removal_held_at": None}
