"""The SHACL part of a validation run: check what changed, in batches per source, keep the
verdicts, and give every current dataset's SHACL findings to the run.

Only descriptions whose verdict does not hold any more are checked (a new or changed
description, or other shapes, background or engine: :meth:`ShaclChecks.due`), :data:`BATCH`
of one source at a time in one graph (:func:`dcatwatch.validators.shacl.check`); each batch's
verdicts are written in one short transaction. The findings of the datasets not checked
this time are read back from their stored verdicts, so the run's findings (which replace
the source's) always hold every current dataset's. It runs in the validation pool
(``dcatwatch validate``, the daemon's validation job), never in a harvest. A batch the
engine refuses is checked description by description; one it refuses alone stays unchecked
(its compliance unknown), and the run goes on.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from dcatwatch.store.core import Store, Unit
from dcatwatch.validators import shacl
from dcatwatch.validators.metadata import Finding

BATCH = 500  # descriptions validated in one graph
log = logging.getLogger(__name__)
FindingRows = Callable[[list[tuple[str, str | None, Finding]]], None]


@dataclass(slots=True)
class ShaclSummary:
    """What one run did: descriptions checked now, verdicts reused, and how many comply of
    those checked now."""

    checked: int = 0
    reused: int = 0
    conforming: int = 0
    unchecked: int = 0  # the engine refused them: no verdict, compliance unknown

    def to_dict(self) -> dict[str, int]:
        return {"checked": self.checked, "reused": self.reused, "conforming": self.conforming,
                "unchecked": self.unchecked}


def run(store: Store, source: str | None, services: Mapping[str, Iterable[str]],
        add: FindingRows, progress: Callable[[str, int, int], None] | None = None,
        ) -> ShaclSummary:
    """Check the due descriptions of ``source`` (None: every source) and give the SHACL
    findings of all its current datasets to ``add``; ``services``: the data service IRIs of
    each source (typed as such in its batches)."""
    fingerprint = shacl.fingerprint()
    summary = ShaclSummary()
    for rows in _pages(store, lambda unit, after: unit.shacl.due(
            source, fingerprint, after=after, limit=BATCH), lambda row: row.id):
        by_source: dict[str, list[shacl.Description]] = {}
        hashes = {}
        for row in rows:
            by_source.setdefault(row.source, []).append(
                shacl.Description(row.id, row.iri, row.description))
            hashes[row.id] = row.content_hash
        stamp = datetime.now(UTC)
        saved = []
        for name, descriptions in by_source.items():
            verdicts = _check(descriptions, services.get(name, ()))
            for description in descriptions:
                verdict = verdicts.get(description.key)
                if verdict is None:
                    summary.unchecked += 1
                    continue
                summary.conforming += verdict.conforms
                saved.append({"dataset_id": description.key,
                              "content_hash": hashes[description.key], "shapes": fingerprint,
                              "conforms": verdict.conforms, "checked_at": stamp,
                              "findings": _dumps(verdict.findings)})
        with store.write() as unit:
            unit.shacl.save(saved)
        summary.checked += len(saved)
        if progress:
            progress("shacl", summary.checked, summary.checked)
    for stored in _pages(store, lambda unit, after: unit.shacl.findings(
            source, fingerprint, after=after, limit=BATCH), lambda row: row.dataset_id):
        summary.reused += len(stored)
        add([(row.source, row.iri, finding) for row in stored
             for finding in _loads(row.findings, row.iri)])
    summary.reused -= summary.checked
    return summary


def _pages(store: Store, read: Callable[[Unit, int], list[Any]],
           key: Callable[[Any], int]) -> Iterator[list[Any]]:
    """The rows ``read`` gives, a batch at a time, each batch read after the ``key`` of the
    last row before it (in its own read unit, so the caller may write between batches)."""
    after = 0
    while True:
        with store.read() as unit:
            rows = read(unit, after)
        if not rows:
            return
        yield rows
        after = key(rows[-1])


def _check(descriptions: list[shacl.Description],
           services: Iterable[str]) -> dict[int | str, shacl.Verdict]:
    """The verdicts of a batch; when the engine refuses it, of each description alone, and
    none for a description it refuses alone (left unchecked: checked again next run)."""
    try:
        return shacl.check(descriptions, services)
    except Exception as error:  # the engines' errors share no base class
        if len(descriptions) == 1:
            log.warning("SHACL check of %s failed, left unchecked: %s", descriptions[0].iri,
                        error)
            return {}
    found: dict[int | str, shacl.Verdict] = {}
    for description in descriptions:
        found.update(_check([description], services))
    return found


def _dumps(findings: list[Finding]) -> str:
    return json.dumps([f.to_row() for f in findings], ensure_ascii=False, separators=(",", ":"))


def _loads(text: str, dataset: str) -> list[Finding]:
    return [Finding.from_row(row, dataset) for row in json.loads(text)]
