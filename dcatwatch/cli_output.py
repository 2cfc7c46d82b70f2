"""What the command line prints for people: tables and a progress display on terminals."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from types import TracebackType
from typing import Any

from dcatwatch.errors import CATALOGUE


class HarvestProgress:
    """A one-line progress display on stderr (tqdm) when it is a terminal; silent otherwise."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar: Any = None

    def __enter__(self) -> HarvestProgress:
        if self.enabled:
            from tqdm import tqdm

            self.bar = tqdm(total=None, file=sys.stderr, bar_format="{desc} [{elapsed}]",
                            leave=False)
        return self

    def update(self, source: str, message: str) -> None:
        if self.bar is not None:
            self.bar.set_description_str(f"{source}: {message}"[:100])

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self.bar is not None:
            self.bar.close()


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain-text table, numbers right-aligned."""
    cells = [[str(c) for c in headers]] + [[_cell(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    numeric = [all(isinstance(row[i], int | float) for row in rows) for i in range(len(headers))]
    lines = []
    for index, row in enumerate(cells):
        parts = [c.rjust(w) if numeric[i] else c.ljust(w)
                 for i, (c, w) in enumerate(zip(row, widths, strict=True))]
        lines.append("  ".join(parts).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _cell(value: object) -> str:
    return f"{value:.1f}" if isinstance(value, float) else str(value)


def harvest_table(results: Sequence[Any]) -> str:
    """The harvest results for people: one row per source, then each problem with its hint."""
    rows = [(r.source, r.status, r.datasets, r.distributions, r.data_services, r.agencies,
             r.added, r.updated, r.unchanged, r.removed, r.held_removals, r.pages, r.duration_s)
            for r in results]
    out = [table(("source", "status", "datasets", "distrib.", "services", "agencies", "added",
                  "updated", "unchanged", "removed", "held", "pages", "seconds"), rows)]
    for result in results:
        problems = _grouped(result.errors)
        if problems:
            out.append(f"\n{result.source}:")
            out.extend(problems)
    return "\n".join(out)


def _grouped(errors: Sequence[dict[str, Any]], shown: int = 3) -> list[str]:
    by_code: dict[str, list[dict[str, Any]]] = {}
    for error in errors:
        by_code.setdefault(error["code"], []).append(error)
    lines = []
    for code, items in by_code.items():
        entry = CATALOGUE[code]
        lines.append(f"  {entry.severity} {code} ({len(items)}×): {entry.title}. {entry.hint}")
        for item in items[:shown]:
            where = f" [{item['url']}]" if item.get("url") else ""
            lines.append(f"    - {item['message']}{where}")
        if len(items) > shown:
            lines.append(f"    … and {len(items) - shown} more (see --json)")
    return lines
