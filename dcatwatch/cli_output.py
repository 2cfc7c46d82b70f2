"""What the command line prints for people: tables and a progress display on terminals."""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from types import TracebackType
from typing import Any

from dcatwatch.dcat import labels
from dcatwatch.errors import CATALOGUE
from dcatwatch.scoring.mqa import SCALE


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


class ValidationProgress:
    """Validation progress on stderr: a bar per stage (tqdm) when it is a terminal; otherwise
    a log line every ``interval`` seconds (stage, done / total, per second, ETA) through the
    logging setup (:mod:`dcatwatch.logs`), from a small thread, so a stage waiting on a slow
    host still shows it is alive."""

    def __init__(self, enabled: bool, interval: float = 10.0) -> None:
        self.enabled = enabled
        self.interval = interval
        self.bar: Any = None
        self.stage = ""
        self._state: tuple[str, int, int, float] | None = None  # stage, done, total, started
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> ValidationProgress:
        if not self.enabled:
            PROGRESS_LOG.setLevel(logging.INFO)  # shown at the command's default level too
            self._thread = threading.Thread(target=self._tick, name="validate-progress",
                                            daemon=True)
            self._thread.start()
        return self

    def update(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            with self._lock:
                if self._state is None or self._state[0] != stage:
                    self._state = (stage, done, total, time.monotonic())
                else:
                    self._state = (stage, done, total, self._state[3])
            return
        if stage != self.stage or self.bar is None:
            from tqdm import tqdm

            if self.bar is not None:
                self.bar.close()
            self.stage = stage
            self.bar = tqdm(total=total, desc=stage, file=sys.stderr, leave=False)
        self.bar.n = done
        self.bar.refresh()

    def _tick(self) -> None:
        while not self._stop.wait(self.interval):
            with self._lock:
                state = self._state
            if state is not None:
                PROGRESS_LOG.info(progress_line(*state[:3], time.monotonic() - state[3]))

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self.bar is not None:
            self.bar.close()


PROGRESS_LOG = logging.getLogger("dcatwatch.progress")


def progress_line(stage: str, done: int, total: int, elapsed: float) -> str:
    """``links: 120/400 checked, 2.1/s, ETA 2m13s`` (ETA unknown until something is done)."""
    rate = done / elapsed if elapsed > 0 else 0.0
    eta = f"{_duration((total - done) / rate)}" if rate > 0 else "unknown"
    return f"{stage}: {done}/{total} checked, {rate:.1f}/s, ETA {eta}"


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


def validation_summary(summary: dict[str, Any], distributions: Iterable[dict[str, Any]],
                       metadata: Iterable[dict[str, Any]], shown: int = 10) -> str:
    """Validation results for people: the counts, then what failed and what to fix (the
    rows are read once; only what is shown of them is kept). A failing file linked from
    several distributions is shown once; metadata findings come errors first."""
    tabular_skipped = 0
    failed: dict[str, dict[str, list[Any]]] = {"unreachable": {}, "invalid data": {}}
    urls: dict[str, set[str]] = {title: set() for title in failed}  # failing, each once
    for d in distributions:
        tabular_skipped += d["tabular"] and d["valid"] is None
        for title, failing in (("unreachable", d["reachable"] is False),
                               ("invalid data", d["valid"] is False)):
            if not failing:
                continue
            urls[title].add(d["url"])  # a file linked from several distributions: once
            if d["url"] in failed[title]:
                failed[title][d["url"]][1] += 1
            elif len(failed[title]) < shown:
                failed[title][d["url"]] = [d, 1]
    out = [f"distributions: {summary['distributions']} · links checked {summary['checked']} "
           f"(reachable {summary['reachable']}, unreachable {summary['unreachable']}: broken "
           f"{summary.get('broken', 0)}, failing unconfirmed {summary.get('failing', 0)}, "
           f"inconclusive {summary.get('inconclusive', 0)}) · "
           f"tabular {summary['tabular']} (valid {summary['valid']}, invalid "
           f"{summary['invalid']}, not validated {tabular_skipped}, sampled "
           f"{summary['sampled']}) · not tabular {summary['distributions'] - summary['tabular']}",
           f"data services: {summary['data_services']} (reachable "
           f"{summary['data_services_reachable']}) · metadata findings: "
           + ", ".join(f"{count} {severity}" for severity, count in summary["metadata"].items())]
    for title, rows in failed.items():
        if rows:
            out.append(f"\n{title}:")
            for row, linked in rows.values():
                errors = "; ".join(_data_error(e) for e in row["errors"][:3])
                verdict = f" {row['verdict']}" if row.get("verdict") else ""
                shared = f" ({linked} distributions)" if linked > 1 else ""
                out.append(f"  {row['url']} [{row['http_status'] or '-'}{verdict}]{shared} "
                           f"{errors}".rstrip())
            if len(urls[title]) > shown:
                out.append(f"  … and {len(urls[title]) - shown} more (see --json)")
    by_code: dict[str, list[dict[str, Any]]] = {}  # the first EXAMPLES of each code
    found = Counter[str]()
    for finding in metadata:
        found[finding["code"]] += 1
        examples = by_code.setdefault(finding["code"], [])
        if len(examples) < EXAMPLES:
            examples.append(finding)
    if by_code:
        out.append("\nmetadata:")
        for code, items in sorted(by_code.items(), key=lambda kv: (
                SEVERITY_ORDER.get(kv[1][0]["severity"], len(SEVERITY_ORDER)), -found[kv[0]],
                kv[0])):
            out.append(f"  {items[0]['severity']} {code} ({found[code]}×): "
                       f"{items[0]['hint']['en']}")
            out += [f"    e.g. {_where(item)}" for item in items]
            if found[code] > EXAMPLES:
                out.append(f"    … and {found[code] - EXAMPLES} more (see --json)")
    return "\n".join(out)


def _data_error(error: dict[str, Any]) -> str:
    """``extra-cell (row 3, field namn)``, leaving out what the error has not."""
    where = [f"{key} {error[key]}" for key in ("row", "field") if error.get(key) is not None]
    return error["type"] + (f" ({', '.join(where)})" if where else "")


EXAMPLES = 3  # findings named under each code of validate's metadata findings
SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}  # mandatory properties' errors first


def _where(finding: dict[str, Any]) -> str:
    """Which dataset (and title) and record a metadata finding is about, and its value."""
    dataset, subject = finding.get("dataset"), finding["subject"]
    title = f" ({finding['title']!r})" if finding.get("title") else ""
    where = f"dataset <{dataset}>{title}" if dataset else f"<{subject}>"
    if dataset and subject != dataset:
        where += f", {finding['record']} <{subject}>"
    return where + (f": {finding['value']!r}" if finding.get("value") is not None else "")


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


def cut(text: str | None, width: int) -> str:
    """``text`` in at most ``width`` characters, a cut marked with … (``--json`` has it
    whole); None as empty."""
    text = " ".join((text or "").split())
    return text if len(text) <= width else text[:width - 1] + "…"


ERROR_WIDTH = 80  # characters of an error a table row shows


def runs_table(runs: Sequence[dict[str, Any]]) -> str:
    """Recent runs (their ``runs --json`` objects) for people: one row each."""
    if not runs:
        return "no run matches"
    columns = ("source", "kind", "status", "scheduled_for", "started_at", "finished_at",
               "worker")
    rows = [tuple(r[c] or "" for c in columns) + (cut(r["error"], ERROR_WIDTH),)
            for r in runs]
    return table(columns + ("error",), rows)


def sources_table(sources: Sequence[dict[str, Any]]) -> str:
    """The configured sources (their ``sources --json`` objects) for people: last run and
    its result, next run, datasets, held removals; then how to apply held removals."""
    if not sources:
        return "no source is configured"
    rows = [(s["source"], s["type"], s["last_status"] or "never run",
             _short_time(s["last_attempt_at"]), _short_time(s["last_success_at"]),
             _short_time(s["next_run_at"]) if s["enabled"] else "disabled",
             s["datasets"], s["held_removals"], cut(s["last_error"], ERROR_WIDTH // 2))
            for s in sources]
    out = [table(("source", "type", "last run", "attempted", "last success", "next run",
                  "datasets", "held", "error"), rows)]
    out += [f"\n{s['source']}: {s['held_removals']} removals held by the mass-deletion guard; "
            f"`dcatwatch harvest --confirm-removals {s['source']}` applies them"
            for s in sources if s["held_removals"]]
    return "\n".join(out)


def _short_time(moment: str | None) -> str:
    """``2026-12-07 05:00Z`` from an ISO time in UTC; ``–`` for none."""
    return "–" if moment is None else moment[:16].replace("T", " ") + "Z"


def harvest_table(results: Sequence[dict[str, Any]]) -> str:
    """The harvest results (their ``--json`` objects) for people: one row per source, then
    each problem with its hint."""
    columns = ("source", "status", "datasets", "distributions", "data_services", "agencies",
               "unattributed", "added", "updated", "unchanged", "removed", "held_removals",
               "pages", "duration_s")
    rows = [tuple(r[c] for c in columns) for r in results]
    out = [table(("source", "status", "datasets", "distrib.", "services", "agencies",
                  "no agency", "added", "updated", "unchanged", "removed", "held", "pages",
                  "seconds"), rows)]
    for result in results:
        problems = _grouped(result["errors"])
        if problems:
            out.append(f"\n{result['source']}:")
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


SORT_KEYS = {
    "index": lambda a: (-(a.api_document_index if a.api_document_index is not None else -1), a.id),
    "api": lambda a: (-a.api_share, a.id),
    "datasets": lambda a: (-a.datasets, a.id),
    "name": lambda a: (a.name.lower(), a.id),
}


def _percent(share: float) -> str:
    return f"{100 * share:.0f} %"


def scores_table(scores: Any, sort: str = "index") -> str:
    """Agencies as a table (sorted), then the national figures."""
    rows = [(a.id, a.name[:40] + (" (name derived by dcatwatch)" if a.name_derived else ""),
             a.datasets, a.api, a.machine_readable, a.document_only,
             a.unknown, _percent(a.api_share), _percent(a.document_only_share),
             "–" if a.api_document_index is None else f"{a.api_document_index:.1f}",
             "–" if a.mqa_points is None else f"{a.mqa_points:.0f} {a.mqa_band}")
            for a in sorted(scores.agencies, key=SORT_KEYS[sort])]
    out = [table(("agency", "name", "datasets", "api", "files", "documents", "unknown",
                  "api share", "doc share", "index", "MQA"), rows)]
    national = scores.national
    if national is not None:
        out.append(
            f"\nNational: {national.agencies} agencies, {national.agencies_with_api} with an API "
            f"({_percent(national.agencies_with_api_share)}); {national.datasets} datasets, "
            f"{_percent(national.api_share)} via API, {_percent(national.document_only_share)} "
            f"documents only."
            + (f" {national.unattributed} of the datasets name no publisher and count for no "
               f"agency (unattributed)." if national.unattributed else "")
            + (f" {national.unattributed_services} data services name no publisher and "
               f"belong to no agency." if national.unattributed_services else ""))
    return "\n".join(out)


def datasets_table(rows: Sequence[dict[str, Any]]) -> str:
    """Current datasets (their ``datasets --json`` objects) for people: one row each."""
    if not rows:
        return "no current dataset matches"
    shown = [(r["agency"] or "(unattributed)", r["source"],
              "–" if r["level"] is None else f"{r['level']} {r['level_name']}",
              (r["title"] or "")[:50], r["iri"]) for r in rows]
    return table(("agency", "source", "level", "title", "iri"), shown) \
        + f"\n\n{len(rows)} datasets"


def explanation(iri: str, found: list[dict[str, Any]]) -> str:
    """Level, evidence and MQA points of a dataset, per source holding it."""
    out = [iri]
    for item in found:
        agency = item["agency"] or "(unattributed)"
        out.append(f"\nsource {item['source']} · agency {agency} · {item['title'] or ''}"
                   + (" (removed)" if item["removed"] else ""))
        details = item["details"]
        if details is None:
            out.append("  not scored yet")
            continue
        level = details["classification"]
        strength = "strong" if level["strong"] else "weak"
        out.append(f"  level {level['level']} ({level['level_name']}, {strength} evidence)")
        out.extend(_evidence_lines(level["evidence"], "    "))
        for dist in level["distributions"]:
            codes = ", ".join(dist["codes"]) or "no format"
            out.append(f"  distribution {dist['iri']}: {dist['class']} [{codes}]")
            out.extend(_evidence_lines(dist["evidence"], "    "))
            out.extend(_finding_lines(dist.get("findings", []), "    "))
        mqa = details["mqa"]
        pending = _pending(mqa)
        out.append(f"  MQA-predicted: {mqa['points']:.0f} of {SCALE} ({mqa['band']}){pending}")
        for indicator in mqa["indicators"]:
            out.append(f"    {indicator['state']:<7} {indicator['points']:5.1f}/"
                       f"{indicator['max_points']:<3} {labels.indicator(indicator['id'], 'en')} "
                       f"({indicator['id']}, {indicator['property']})")
        for finding in item["shacl"]:  # why dcat_ap_compliance fails
            value = f" = {finding['value']}" if finding["value"] else ""
            out.append(f"      ! {finding['severity']} {finding['code']} {finding['subject']} "
                       f"{finding['property']}{value}: {finding['hint']['en']}")
    return "\n".join(out)


def _pending(mqa: dict[str, Any]) -> str:
    """``; up to N more once links are checked`` (or the SHACL check is done): what the
    indicators still unknown can add, and what they wait for."""
    if not mqa["unknown_points"]:
        return ""
    unknown = {i["id"] for i in mqa["indicators"] if i["state"] == "unknown"}
    waits = (["links are checked"] if unknown - {"dcat_ap_compliance"} else []) + (
        ["the DCAT-AP SHACL check is done"] if "dcat_ap_compliance" in unknown else [])
    return f"; up to {mqa['unknown_points']:.0f} more once {' and '.join(waits)}"


def _evidence_lines(evidence: list[dict[str, Any]], indent: str) -> list[str]:
    """``A3 <rule in words>: format = WMS <IRI> (WMS_SRVC)``: the property in words (its name
    beside them), every value (by its label where it has one, the raw value beside it),
    "missing" where there is none."""
    lines = []
    for e in evidence:
        notes = [e["detail"]] if e.get("detail") and e["detail"] != e["value"] else []
        notes += [] if e["strong"] else ["weak"]
        raw = e["value"]
        shown = labels.value(raw, "en", e["property"]) if raw else "missing"
        if raw and shown != raw:
            shown = f"{shown} <{raw}>"
        where = labels.prop(e["property"], "en")
        if where != e["property"]:
            where = f"{where} ({e['property']})"
        lines.append(f"{indent}{e['rule']} {labels.rule(e['rule'], 'en')}: "
                     f"{where} = {shown}" + (f" ({'; '.join(notes)})" if notes else ""))
    return lines


def _finding_lines(findings: list[dict[str, Any]], indent: str) -> list[str]:
    """``! code property = value: detail. Title. Hint`` for problems seen while classifying."""
    lines = []
    for f in findings:
        entry = CATALOGUE[f["code"]]
        lines.append(f"{indent}! {entry.severity} {f['code']} {f['property']} = "
                     f"{f['value'] or 'missing'}: {f['detail']}. {entry.title}. {entry.hint}")
    return lines


def coverage_table(results: Sequence[Any], shown: int = 5) -> str:
    """Per agency: matched datasets, those the portal lacks and those only the portal has."""
    rows = [(c.agency, len(c.matched), len(c.missing_on_portal), len(c.only_on_portal),
             "–" if c.portal_share is None else _percent(c.portal_share)) for c in results]
    out = [table(("agency", "on both", "missing on portal", "only on portal", "portal share"),
                 rows)]
    for coverage in results:
        for label, refs in (("missing on dataportal.se", coverage.missing_on_portal),
                            ("only on dataportal.se", coverage.only_on_portal)):
            if refs:
                out.append(f"\n{coverage.agency}: {label}:")
                out.extend(f"  {ref.iri}" + (f"  {ref.title}" if ref.title else "")
                           for ref in refs[:shown])
                if len(refs) > shown:
                    out.append(f"  … and {len(refs) - shown} more (see --json)")
    return "\n".join(out)
