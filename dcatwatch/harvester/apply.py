"""Change detection: applying one run's records to the store, in the caller's transaction.

Datasets are matched by (source, IRI) and compared by description hash: added (new or
revived), updated (hash differs: distributions replaced), unchanged. Datasets the source no
longer lists are removed (``removed_at``) only when the run was complete, and only when the
mass-deletion guard agrees: a run that lists no dataset at all, or would remove more than
``threshold`` of the source's current datasets, holds the removals (``removal_held_at``)
until the next run misses the same datasets again, or an operator confirms.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, delete, insert, select, update

from dcatwatch.dcat import records
from dcatwatch.dcat.model import Agent, DataService, DatasetEntry, ParsedCatalog, best_text
from dcatwatch.store.upsert import chunks
from dcatwatch.store.tables import DATASETS, DISTRIBUTIONS, SERVICES


AgencyOf = Callable[[Agent | None], str | None]
BATCH = 1000


@dataclass(slots=True)
class Changes:
    """What applying a run changed."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    held_removals: int = 0


def apply_datasets(conn: Connection, source: str, parsed: ParsedCatalog, agency_of: AgencyOf,
                   now: datetime, *, complete: bool, threshold: float) -> Changes:
    """Write ``parsed``'s datasets for ``source`` and return the counts."""
    changes = Changes()
    existing = {row.iri: row for row in conn.execute(
        select(DATASETS.c.id, DATASETS.c.iri, DATASETS.c.content_hash, DATASETS.c.removed_at,
               DATASETS.c.removal_held_at, DATASETS.c.agency_id)
        .where(DATASETS.c.source == source))}
    new_entries, changed, unchanged_ids, moved = [], [], [], []
    for entry in parsed.entries:
        row = existing.get(entry.iri)
        if row is None:
            new_entries.append(entry)
        elif row.removed_at is not None or row.content_hash != entry.digest:
            changed.append((row.id, entry, row.removed_at is not None))
        else:
            unchanged_ids.append(row.id)
            agency = agency_of(entry.publisher)
            if agency != row.agency_id:  # the registry's aliases changed
                moved.append({"row_id": row.id, "v_agency": agency})
    revived = sum(1 for *_, was_removed in changed if was_removed)
    changes.added = len(new_entries) + revived
    changes.updated = len(changed) - revived
    changes.unchanged = len(unchanged_ids)
    _insert_new(conn, new_entries, source, agency_of, now)
    _update_changed(conn, changed, source, agency_of, now)
    if unchanged_ids:
        conn.execute(update(DATASETS).where(DATASETS.c.id == bindparam("row_id"))
                     .values(last_seen_at=now, removal_held_at=None),
                     [{"row_id": i} for i in unchanged_ids])
    if moved:
        conn.execute(update(DATASETS).where(DATASETS.c.id == bindparam("row_id"))
                     .values(agency_id=bindparam("v_agency")), moved)
    listed = {e.iri for e in parsed.entries}
    missing = [row for iri, row in existing.items() if iri not in listed and row.removed_at is None]
    if complete and missing:
        _remove(conn, missing, len(existing) - sum(1 for r in existing.values() if r.removed_at),
                len(listed), threshold, now, changes)
    return changes


def _dataset_row(entry: DatasetEntry, source: str, agency_of: AgencyOf,
                 now: datetime) -> dict[str, object]:
    return {
        "source": source, "iri": entry.iri, "agency_id": agency_of(entry.publisher),
        "title": entry.title, "content_hash": entry.digest, "description": entry.description,
        "first_seen_at": now, "last_seen_at": now, "changed_at": now, "removed_at": None,
        "removal_held_at": None,
    }


def _insert_new(conn: Connection, entries: list[DatasetEntry], source: str,
                agency_of: AgencyOf, now: datetime) -> None:
    """Insert new datasets a batch at a time (descriptions are unpacked one batch at once)."""
    for start in range(0, len(entries), BATCH):
        batch = entries[start:start + BATCH]
        conn.execute(insert(DATASETS), [_dataset_row(e, source, agency_of, now) for e in batch])
    if not entries:
        return
    by_iri = {e.iri: e for e in entries}
    ids = conn.execute(select(DATASETS.c.id, DATASETS.c.iri).where(
        DATASETS.c.source == source, DATASETS.c.first_seen_at == now))
    _insert_distributions(conn, [(row_id, by_iri[iri]) for row_id, iri in ids if iri in by_iri],
                          source)


def _update_changed(conn: Connection, changed: list[tuple[int, DatasetEntry, bool]],
                    source: str, agency_of: AgencyOf, now: datetime) -> None:
    for start in range(0, len(changed), BATCH):
        batch = changed[start:start + BATCH]
        values = []
        for row_id, entry, _revived in batch:
            row = _dataset_row(entry, source, agency_of, now)
            del row["first_seen_at"], row["source"], row["iri"]
            values.append({"row_id": row_id, **{f"v_{k}": v for k, v in row.items()}})
        columns = {key[2:]: bindparam(key) for key in values[0] if key != "row_id"}
        conn.execute(update(DATASETS).where(DATASETS.c.id == bindparam("row_id"))
                     .values(columns), values)
        conn.execute(delete(DISTRIBUTIONS).where(
            DISTRIBUTIONS.c.dataset_id.in_([row_id for row_id, *_ in batch])))
        _insert_distributions(conn, [(row_id, entry) for row_id, entry, _ in batch], source)


def _insert_distributions(conn: Connection, entries: list[tuple[int, DatasetEntry]],
                          source: str) -> None:
    rows = [{"dataset_id": row_id, "source": source, "iri": link.iri,
             "access_url": link.access_url, "download_url": link.download_url,
             "format": link.format}
            for row_id, entry in entries for link in entry.distributions]
    if rows:
        conn.execute(insert(DISTRIBUTIONS), rows)


def _remove(conn: Connection, missing: list, current: int, listed: int, threshold: float,
            now: datetime, changes: Changes) -> None:
    """Remove the missing datasets, or hold them when the mass-deletion guard trips."""
    held_before = [row.id for row in missing if row.removal_held_at is not None]
    guard = listed == 0 or (current > 0 and len(missing) / current > threshold)
    if guard:
        confirm = held_before  # a second run missing the same datasets confirms them
        hold = [row.id for row in missing if row.removal_held_at is None]
    else:
        confirm, hold = [row.id for row in missing], []
    for part in chunks(confirm):
        conn.execute(update(DATASETS).where(DATASETS.c.id.in_(part))
                     .values(removed_at=now, removal_held_at=None))
    for part in chunks(hold):
        conn.execute(update(DATASETS).where(DATASETS.c.id.in_(part)).values(removal_held_at=now))
    changes.removed = len(confirm)
    changes.held_removals = len(hold)


def confirm_held(conn: Connection, source: str, now: datetime) -> int:
    """Remove the held datasets of ``source`` now (an operator's confirmation)."""
    result = conn.execute(update(DATASETS).where(DATASETS.c.source == source,
                                                 DATASETS.c.removal_held_at.is_not(None),
                                                 DATASETS.c.removed_at.is_(None))
                          .values(removed_at=now, removal_held_at=None))
    return result.rowcount or 0


def apply_services(conn: Connection, source: str, services: list[DataService],
                   agency_of: AgencyOf, now: datetime, *, complete: bool) -> None:
    """Upsert the source's data services; a complete run marks the unlisted ones removed."""
    existing = {row.iri: row.id for row in conn.execute(
        select(SERVICES.c.id, SERVICES.c.iri).where(SERVICES.c.source == source))}
    rows = [{"source": source, "iri": s.iri, "agency_id": agency_of(s.publisher),
             "title": best_text(s.title), "endpoint_url": (s.endpoint_urls or [None])[0],
             "record": records.dumps(s), "first_seen_at": now, "last_seen_at": now,
             "removed_at": None} for s in services]
    new = [r for r in rows if r["iri"] not in existing]
    old = [{"row_id": existing[str(r["iri"])], **{f"v_{k}": v for k, v in r.items()
                                                  if k != "first_seen_at"}}
           for r in rows if r["iri"] in existing]
    if new:
        conn.execute(insert(SERVICES), new)
    if old:
        columns = {key[2:]: bindparam(key) for key in old[0] if key != "row_id"}
        conn.execute(update(SERVICES).where(SERVICES.c.id == bindparam("row_id"))
                     .values(columns), old)
    listed = {s.iri for s in services}
    gone = [row_id for iri, row_id in existing.items() if iri not in listed]
    if complete and listed:
        for part in chunks(gone):
            conn.execute(update(SERVICES).where(SERVICES.c.id.in_(part),
                                                SERVICES.c.removed_at.is_(None))
                         .values(removed_at=now))
