"""Change detection: applying one run's records to the store, in the caller's transaction.

Datasets are matched by (source, IRI) and compared by description hash: added (new or
revived), updated (hash differs: distributions replaced), unchanged. Datasets the source no
longer lists are removed (``removed_at``) only when the run was complete, and only when the
mass-deletion guard agrees: a run that lists no dataset at all, or would remove more than
``threshold`` of the source's current datasets, holds the removals (``removal_held_at``)
until the next run misses the same datasets again, or an operator confirms.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dcatwatch.dcat import records
from dcatwatch.dcat.model import Agent, DataService, DatasetEntry, ParsedCatalog, best_text
from dcatwatch.store.sql import Store, chunks, placeholders

AgencyOf = Callable[[Agent | None], str | None]
BATCH = 1000  # rows per executemany


@dataclass(slots=True)
class Changes:
    """What applying a run changed."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    held_removals: int = 0


@dataclass(slots=True)
class _Existing:
    id: int
    content_hash: str
    removed: bool
    held: bool
    agency_id: str | None


def apply_datasets(store: Store, source: str, parsed: ParsedCatalog, agency_of: AgencyOf,
                   now: datetime, *, complete: bool, threshold: float) -> Changes:
    """Write ``parsed``'s datasets for ``source`` and return the counts."""
    changes = Changes()
    existing = {iri: _Existing(row_id, digest, removed is not None, held is not None, agency)
                for row_id, iri, digest, removed, held, agency in store.all(
                    "SELECT id, iri, content_hash, removed_at, removal_held_at, agency_id "
                    "FROM dataset WHERE source = ?", (source,))}
    new_entries, changed, unchanged, moved = [], [], [], []
    for entry in parsed.entries:
        row = existing.get(entry.iri)
        if row is None:
            new_entries.append(entry)
        elif row.removed or row.content_hash != entry.digest:
            changed.append((row.id, entry, row.removed))
        else:
            unchanged.append(row)
            agency = agency_of(entry.publisher)
            if agency != row.agency_id:  # the registry's aliases changed
                moved.append((agency, row.id))
    revived = sum(1 for *_, was_removed in changed if was_removed)
    changes.added = len(new_entries) + revived
    changes.updated = len(changed) - revived
    changes.unchanged = len(unchanged)
    stamp = store.time(now)
    _insert_new(store, new_entries, source, agency_of, stamp)
    _update_changed(store, changed, source, agency_of, stamp)
    store.executemany("UPDATE dataset SET last_seen_at = ?, removal_held_at = NULL WHERE id = ?",
                      [(stamp, row.id) for row in unchanged])
    if moved:
        store.executemany("UPDATE dataset SET agency_id = ? WHERE id = ?", moved)
    listed = {e.iri for e in parsed.entries}
    missing = [row for iri, row in existing.items() if iri not in listed and not row.removed]
    if complete and missing:
        current = sum(1 for row in existing.values() if not row.removed)
        _remove(store, missing, current, len(listed), threshold, stamp, changes)
    return changes


DATASET_COLUMNS = ("agency_id", "title", "content_hash", "description", "last_seen_at",
                   "changed_at", "removed_at", "removal_held_at")


def _dataset_values(entry: DatasetEntry, agency_of: AgencyOf, stamp: Any) -> tuple[Any, ...]:
    """The :data:`DATASET_COLUMNS` of a dataset that was added or changed at ``stamp``."""
    return (agency_of(entry.publisher), entry.title, entry.digest, entry.packed, stamp, stamp,
            None, None)


def _insert_new(store: Store, entries: list[DatasetEntry], source: str, agency_of: AgencyOf,
                stamp: Any) -> None:
    """Insert new datasets and their distributions, a batch at a time."""
    statement = (f"INSERT INTO dataset (source, iri, first_seen_at, {', '.join(DATASET_COLUMNS)})"
                 f" VALUES (?, ?, ?, {placeholders(len(DATASET_COLUMNS))})")
    for start in range(0, len(entries), BATCH):
        batch = entries[start:start + BATCH]
        store.executemany(statement, [(source, e.iri, stamp, *_dataset_values(e, agency_of, stamp))
                                      for e in batch])
        by_iri = {e.iri: e for e in batch}
        ids = store.all(f"SELECT id, iri FROM dataset WHERE source = ? "
                        f"AND iri IN ({placeholders(len(by_iri))})", (source, *by_iri))
        _insert_distributions(store, [(row_id, by_iri[iri]) for row_id, iri in ids], source)


def _update_changed(store: Store, changed: list[tuple[int, DatasetEntry, bool]], source: str,
                    agency_of: AgencyOf, stamp: Any) -> None:
    statement = (f"UPDATE dataset SET {', '.join(f'{c} = ?' for c in DATASET_COLUMNS)} "
                 f"WHERE id = ?")
    for start in range(0, len(changed), BATCH):
        batch = changed[start:start + BATCH]
        store.executemany(statement, [(*_dataset_values(entry, agency_of, stamp), row_id)
                                      for row_id, entry, _revived in batch])
        ids = [row_id for row_id, *_ in batch]
        store.execute(f"DELETE FROM distribution WHERE dataset_id IN ({placeholders(len(ids))})",
                      ids)
        _insert_distributions(store, [(row_id, entry) for row_id, entry, _ in batch], source)


def _insert_distributions(store: Store, entries: list[tuple[int, DatasetEntry]],
                          source: str) -> None:
    store.executemany(
        "INSERT INTO distribution (dataset_id, source, iri, access_url, download_url, format) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [(row_id, source, link.iri, link.access_url, link.download_url, link.format)
         for row_id, entry in entries for link in entry.distributions])


def _remove(store: Store, missing: list[_Existing], current: int, listed: int,
            threshold: float, stamp: Any, changes: Changes) -> None:
    """Remove the missing datasets, or hold them when the mass-deletion guard trips."""
    guard = listed == 0 or (current > 0 and len(missing) / current > threshold)
    if guard:
        confirm = [row.id for row in missing if row.held]  # a second run missing them confirms
        hold = [row.id for row in missing if not row.held]
    else:
        confirm, hold = [row.id for row in missing], []
    _set_where_ids(store, "removed_at = ?, removal_held_at = NULL", (stamp,), confirm)
    _set_where_ids(store, "removal_held_at = ?", (stamp,), hold)
    changes.removed = len(confirm)
    changes.held_removals = len(hold)


def _set_where_ids(store: Store, assignments: str, values: tuple[Any, ...],
                   ids: Sequence[int], table: str = "dataset", extra: str = "") -> None:
    for part in chunks(ids):
        store.execute(f"UPDATE {table} SET {assignments} "
                      f"WHERE id IN ({placeholders(len(part))}){extra}",
                      (*values, *part))


def confirm_held(store: Store, source: str, now: datetime) -> int:
    """Remove the held datasets of ``source`` now (an operator's confirmation)."""
    return store.execute(
        "UPDATE dataset SET removed_at = ?, removal_held_at = NULL WHERE source = ? "
        "AND removal_held_at IS NOT NULL AND removed_at IS NULL", (store.time(now), source))


SERVICE_COLUMNS = ("agency_id", "title", "endpoint_url", "record", "last_seen_at", "removed_at")


def apply_services(store: Store, source: str, services: list[DataService],
                   agency_of: AgencyOf, now: datetime, *, complete: bool,
                   datasets_listed: bool) -> int:
    """Upsert the source's data services; a complete run marks the unlisted ones removed,
    unless it listed neither a dataset nor a service (an emptied catalogue, whose datasets
    the mass-deletion guard holds). Returns how many services changed: added, described
    differently, removed or back (their ``changed_at`` is now)."""
    stamp = store.time(now)
    existing = {iri: (row_id, record, removed is not None) for row_id, iri, record, removed
                in store.all("SELECT id, iri, record, removed_at FROM data_service "
                             "WHERE source = ?", (source,))}
    new, old, changed = [], [], []
    for service in services:
        record = records.dumps(service)
        values = (agency_of(service.publisher), best_text(service.title),
                  (service.endpoint_urls or [None])[0], record, stamp, None)
        known = existing.get(service.iri)
        if known is None:
            new.append((source, service.iri, stamp, stamp, *values))
            continue
        row_id, known_record, was_removed = known
        old.append((*values, row_id))
        if was_removed or known_record != record:
            changed.append(row_id)
    store.executemany(f"INSERT INTO data_service (source, iri, first_seen_at, changed_at, "
                      f"{', '.join(SERVICE_COLUMNS)}) "
                      f"VALUES (?, ?, ?, ?, {placeholders(len(SERVICE_COLUMNS))})", new)
    store.executemany(f"UPDATE data_service SET {', '.join(f'{c} = ?' for c in SERVICE_COLUMNS)}"
                      f" WHERE id = ?", old)
    _set_where_ids(store, "changed_at = ?", (stamp,), changed, table="data_service")
    listed = {s.iri for s in services}
    gone = [row_id for iri, (row_id, _, removed) in existing.items()
            if iri not in listed and not removed]
    if complete and (listed or datasets_listed):
        _set_where_ids(store, "removed_at = ?, changed_at = ?", (stamp, stamp), gone,
                       table="data_service")
    else:
        gone = []
    return len(new) + len(changed) + len(gone)
