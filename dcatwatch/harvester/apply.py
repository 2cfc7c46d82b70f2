"""Change detection: applying one run's records to the store, in the caller's unit of work.

Datasets are matched by (source, IRI) and compared by description hash: added (new or
revived), updated (hash differs: distributions replaced), unchanged. Datasets the source no
longer lists are removed (``removed_at``) only when the run was complete, and only when the
mass-deletion guard agrees: a run that lists no dataset at all, or would remove more than
``threshold`` of the source's current datasets, holds the removals (``removal_held_at``)
until an operator confirms them, or the shrink has lasted ``hold_hours`` across at least
:data:`HOLD_RUNS` successful runs (:func:`removal_hold`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

from dcatwatch.dcat import records
from dcatwatch.dcat.model import Agent, DataService, DatasetEntry
from dcatwatch.dcat.model import best_text as preferred
from dcatwatch.store.core import Unit
from dcatwatch.store.datasets import Stored
from dcatwatch.store.runs import RunCounts

AgencyOf = Callable[[Agent | None], str | None]


BATCH = 1000  # datasets compared and written at a time
GROWN_TABLES = ("dataset", "distribution")  # what a harvest's writes grow
AFTER_LOAD = 0.1  # share of a table a harvest rewrote that makes its statistics stale
HOLD_RUNS = 3  # successful runs that must miss held datasets before they are removed


def removal_hold(guarded: bool, held_since: datetime | None, missed_runs: int, now: datetime,
                 hold_hours: float) -> datetime | None:
    """The deletion-safety rule for a dataset a complete run no longer lists: None removes it
    now; otherwise its removal is held, and the time returned is the earliest at which a run
    may remove it.

    ``guarded``: the mass-deletion guard tripped on this run; ``held_since``: when its
    removal was first held (None: not held yet); ``missed_runs``: the successful runs that
    missed it since, this one included. A held removal applies once it has been held for
    ``hold_hours`` and :data:`HOLD_RUNS` successful runs missed the dataset, so a burst of
    manual harvests or one bad day of a publisher's catalogue removes nothing.
    """
    if not guarded:
        return None
    since = held_since or now
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)  # SQLite hands times back without their zone
    due = since + timedelta(hours=hold_hours)
    if held_since is not None and missed_runs >= HOLD_RUNS and now >= due:
        return None
    return due


def apply_datasets(unit: Unit, source: str, entries: Iterable[DatasetEntry],
                   agency_of: AgencyOf, now: datetime, changes: RunCounts, *, complete: bool,
                   threshold: float, hold_hours: float = 72.0) -> None:
    """Write ``entries`` (a run's datasets) for ``source``, counting what changed in
    ``changes`` (added, updated, unchanged, removed, held_removals).

    The entries are compared and written :data:`BATCH` at a time, each batch against the
    stored rows of its own IRIs; nothing is kept for the whole run, so memory does not grow
    with the source. Every dataset listed gets ``now`` as its last sighting: once every
    batch is written, the current datasets seen at another time are those the source no
    longer lists, and an entry whose dataset was already seen ``now`` repeats an IRI
    listed before (the first is kept).
    """
    agency_of = _remembered(agency_of)
    batch: dict[str, DatasetEntry] = {}
    listed = added = revived = 0
    unanalyzed = 0  # datasets written (new, changed or seen) since the last ANALYZE
    for entry in entries:
        batch.setdefault(entry.iri, entry)
        if len(batch) >= BATCH:
            before = listed
            listed, added, revived = _apply_batch(unit, source, list(batch.values()),
                                                  agency_of, now, changes,
                                                  (listed, added, revived))
            batch = {}
            unanalyzed += listed - before
            # the next batches are planned from these statistics: refreshed as they double
            if unit.statistics.refresh(GROWN_TABLES, unanalyzed):
                unanalyzed = 0
    if batch:
        before = listed
        listed, added, revived = _apply_batch(unit, source, list(batch.values()), agency_of,
                                              now, changes, (listed, added, revived))
        unanalyzed += listed - before
    # the reads below and every later query: refreshed as autovacuum would after the commit
    unit.statistics.refresh(GROWN_TABLES, unanalyzed, share=AFTER_LOAD)
    if not complete:
        return
    current, missing = unit.datasets.unlisted(source, now)  # as written by the batches
    if missing:
        current -= added + revived  # as the run found them
        _remove(unit, source, missing, current, listed, threshold, hold_hours, now, changes)


def _apply_batch(unit: Unit, source: str, batch: list[DatasetEntry], agency_of: AgencyOf,
                 now: datetime, changes: RunCounts,
                 running: tuple[int, int, int]) -> tuple[int, int, int]:
    """Compare and write one batch; returns the run's running (listed, added, revived)
    counts, given them before the batch."""
    listed, added, revived = running
    existing = unit.datasets.existing(source, [entry.iri for entry in batch])
    new_entries, changed, unchanged, moved = [], [], [], []
    back = 0
    for entry in batch:
        row = existing.get(entry.iri)
        if row is not None and _same_instant(row.seen_at, now):
            continue  # listed earlier in this run (another batch): the first one counts
        listed += 1
        if row is None:
            new_entries.append((entry, agency_of(entry.publisher)))
        elif row.removed or row.content_hash != entry.digest:
            changed.append((row.id, entry, agency_of(entry.publisher)))
            back += row.removed
        else:
            unchanged.append(row.id)
            agency = agency_of(entry.publisher)
            if agency != row.agency_id:  # the registry's aliases changed
                moved.append((row.id, agency))
    changes.added += len(new_entries) + back
    changes.updated += len(changed) - back
    changes.unchanged += len(unchanged)
    unit.datasets.insert_new(source, now, new_entries)
    unit.datasets.update_changed(source, now, changed)
    unit.datasets.mark_seen(unchanged, now)
    unit.datasets.move(moved)
    return listed, added + len(new_entries), revived + back


def _same_instant(stored: datetime | None, now: datetime) -> bool:
    """Whether a stored time is ``now`` (SQLite hands times back without their zone: UTC)."""
    if stored is None:
        return False
    return (stored if stored.tzinfo else stored.replace(tzinfo=UTC)) == now


def _remembered(agency_of: AgencyOf) -> AgencyOf:
    """``agency_of`` answering again from memory for a publisher described the same way
    (a dump names a few hundred publishers for tens of thousands of datasets)."""
    known: dict[tuple[object, ...], str | None] = {}
    # the mapper builds one Agent per publisher node and a spool batch unpickles it once:
    # most calls are answered by the object itself (kept alive, so its id is not reused)
    seen: dict[int, tuple[Agent | None, str | None]] = {}

    def cached(agent: Agent | None) -> str | None:
        hit = seen.get(id(agent))
        if hit is not None and hit[0] is agent:
            return hit[1]
        key = () if agent is None else tuple(_frozen(getattr(agent, name))
                                             for name in agent.__slots__)
        if key not in known:
            known[key] = agency_of(agent)
        seen[id(agent)] = (agent, known[key])
        return known[key]

    return cached


def _frozen(value: object) -> object:
    if isinstance(value, dict):
        return tuple(value.items())
    return tuple(value) if isinstance(value, list) else value


def _remove(unit: Unit, source: str, missing: list[Stored], current: int, listed: int,
            threshold: float, hold_hours: float, now: datetime, changes: RunCounts) -> None:
    """Remove the missing datasets, or hold them (see :func:`removal_hold`)."""
    guard = listed == 0 or (current > 0 and len(missing) / current > threshold)
    runs = unit.datasets.runs_missing_since(
        source, [row.held_at for row in missing if row.held_at is not None]) if guard else {}
    confirm, hold = [], []
    for row in missing:
        missed = runs.get(row.held_at, 0) + 1 if row.held_at is not None else 1
        held = removal_hold(guard, row.held_at, missed, now, hold_hours)
        if held is None:
            confirm.append(row.id)
        elif row.held_at is None:
            hold.append(row.id)  # newly held: its hold starts now
        else:
            changes.held_removals += 1  # still held since row.held_at
    unit.datasets.remove(confirm, now)
    unit.datasets.hold(hold, now)
    changes.removed = len(confirm)
    changes.held_removals += len(hold)


def apply_services(unit: Unit, source: str, services: Iterable[DataService],
                   agency_of: AgencyOf, now: datetime, *, complete: bool,
                   datasets_listed: bool) -> int:
    """Upsert the source's data services, :data:`BATCH` at a time, each listed one seen
    ``now``; a complete run marks the unlisted ones removed, unless it listed neither a
    dataset nor a service (an emptied catalogue, whose datasets the mass-deletion guard
    holds). Returns how many services changed: added, described differently, removed or
    back (their ``changed_at`` is now)."""
    batch: dict[str, DataService] = {}
    listed = changed = 0
    for service in services:
        batch.setdefault(service.iri, service)
        if len(batch) >= BATCH:
            listed, changed = _apply_services(unit, source, list(batch.values()), agency_of,
                                              now, listed, changed)
            batch = {}
    if batch:
        listed, changed = _apply_services(unit, source, list(batch.values()), agency_of, now,
                                          listed, changed)
    if complete and (listed or datasets_listed):
        gone = unit.services.unlisted(source, now)
        unit.services.remove(gone, now)
        changed += len(gone)
    return changed


def _apply_services(unit: Unit, source: str, batch: list[DataService], agency_of: AgencyOf,
                    now: datetime, listed: int, changed: int) -> tuple[int, int]:
    """Upsert one batch; returns the running (listed, changed) counts."""
    existing = unit.services.existing(source, [service.iri for service in batch])
    new, known, different = [], [], []
    for service in batch:
        stored = existing.get(service.iri)
        if stored is not None and _same_instant(stored.seen_at, now):
            continue  # listed earlier in this run (another batch): the first one counts
        listed += 1
        record = records.dumps(service)
        values = {"agency_id": agency_of(service.publisher), "title": preferred(service.title),
                  "endpoint_url": (service.endpoint_urls or [None])[0], "record": record}
        if stored is None:
            new.append({"iri": service.iri, **values})
            continue
        known.append({"row_id": stored.id, **values})
        if stored.removed or stored.record != record:
            different.append(stored.id)
    unit.services.apply(source, now, new, known, different)
    return listed, changed + len(new) + len(different)
