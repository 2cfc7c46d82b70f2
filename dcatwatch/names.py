"""Names an operator types (sources, agencies, settings): "did you mean" for a misspelt one."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

SHOWN = 8  # known names listed when none is close


def closest(name: str, known: Iterable[str]) -> str | None:
    """The known name most like ``name`` (difflib's ratio of at least 0.6), if any."""
    found = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return found[0] if found else None


def unknown(kind: str, name: str, known: Iterable[str]) -> str:
    """``unknown source 'dataportl'; did you mean 'dataportal'?``, else the known names."""
    names = sorted(set(known))
    match = closest(name, names)
    if match is not None:
        return f"unknown {kind} {name!r}; did you mean {match!r}?"
    if not names:
        return f"unknown {kind} {name!r} (none is known)"
    more = f" and {len(names) - SHOWN} more" if len(names) > SHOWN else ""
    return f"unknown {kind} {name!r} (known: {', '.join(names[:SHOWN])}{more})"
