"""One validation run over the store: the service ``dcatwatch validate`` and the daemon call.

For the current datasets (and data services) of one source, or of all sources:

1. **metadata**: DCAT-AP-SE rules on each stored description and service, and the DCAT-AP
   SHACL shapes on the descriptions that changed (:mod:`dcatwatch.validators.shacl_run`);
   the source's findings are replaced;
2. **links**: every accessURL, downloadURL and endpointURL that is due is probed;
3. **data**: every tabular distribution whose file is due is validated on a bounded copy;

then the result is assembled from the store, so URLs not due this time report their latest
check. Nothing is held per dataset but what the checks need (the distributions' URLs and
data targets): findings are staged on disk until they are written, and the result's rows
(:meth:`ValidationResult.distributions`, :meth:`ValidationResult.metadata`) are read back a
batch at a time when someone asks for them; the summary is counted the same way.
:meth:`ValidationResult.write_json` writes the ``validate --json`` document as it goes.
"""

from __future__ import annotations

import json
import os
import pickle
import socket
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any

from dcatwatch.config import Settings, ValidationSettings
from dcatwatch.dcat.mapper import DISTRIBUTION_LINKS, Mapper
from dcatwatch.dcat.model import Dataset
from dcatwatch.dcat.parse import graph_from_ntriples
from dcatwatch.dcat.records import load_service
from dcatwatch.http.client import HttpClient
from dcatwatch.store.checks import INTERRUPTED_MESSAGE
from dcatwatch.store.core import Store, StoreError, describe
from dcatwatch.store.validation_models import DataCheck, LinkCheck
from dcatwatch.validators import links as link_checks
from dcatwatch.validators import shacl_run
from dcatwatch.validators.data import DataTarget, check_data, target
from dcatwatch.validators.linkengine import EngineSettings, LinkChecker, LinkEngine
from dcatwatch.validators.metadata import Finding, check_graph, check_service

Progress = Callable[[str, int, int], None]  # (stage: metadata | shacl | links | data, done, total)


def now() -> datetime:
    """The current time in UTC (timezone-aware, as the store keeps it)."""
    return datetime.now(UTC)


@dataclass(slots=True)
class _Dist:
    """One current distribution: where it comes from and what the data check does with it."""

    iri: str
    dataset: str
    source: str
    access_urls: list[str]
    download_urls: list[str]
    target: DataTarget


FindingRow = tuple[str, str | None, Finding]  # source, dataset IRI, finding


class FindingSpool:
    """A run's metadata findings, pickled to a temporary file :data:`BATCH` at a time
    (a national run finds hundreds of thousands); read back in order, a batch at a time."""

    def __init__(self) -> None:
        self.severities: Counter[str] = Counter()
        self._buffer: list[FindingRow] = []
        self._file: IO[bytes] | None = None
        self._chunks = 0

    def extend(self, rows: list[FindingRow]) -> None:
        self.severities.update(f.severity for _, _, f in rows)
        self._buffer += rows
        if len(self._buffer) >= BATCH:
            if self._file is None:
                self._file = tempfile.TemporaryFile(prefix="dcatwatch-findings-")
            self._file.seek(0, 2)
            pickle.dump(self._buffer, self._file, pickle.HIGHEST_PROTOCOL)
            self._chunks += 1
            self._buffer = []

    def batches(self) -> Iterator[list[FindingRow]]:
        if self._file is not None:
            self._file.seek(0)
            for _ in range(self._chunks):
                yield pickle.load(self._file)
        if self._buffer:
            yield list(self._buffer)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


@dataclass(slots=True)
class _Scope:
    """What one run looks at, read from the store."""

    distributions: list[_Dist] = field(default_factory=list)
    services: list[tuple[str, str, list[str]]] = field(default_factory=list)  # iri, source, urls
    findings: FindingSpool = field(default_factory=FindingSpool)

    def urls(self) -> list[str]:
        found = [u for d in self.distributions for u in (*d.download_urls, *d.access_urls)]
        return found + [u for _, _, urls in self.services for u in urls]


@dataclass(slots=True)
class ValidationResult:
    """The outcome of one run: its summary, and its rows read from the store on request."""

    summary: dict[str, Any]
    _store: Store
    _scope: _Scope

    def distributions(self) -> Iterator[dict[str, Any]]:
        """Each distribution with its link and data checks, read a batch at a time."""
        return _distributions(self._store, self._scope)

    def data_services(self) -> list[dict[str, Any]]:
        """Each data service with the checks of its endpoints."""
        return _data_services(self._store, self._scope)

    def metadata(self) -> Iterator[dict[str, Any]]:
        for batch in self._scope.findings.batches():
            yield from ({"source": src, "dataset": dataset, **f.to_dict()}
                        for src, dataset, f in batch)

    def to_dict(self) -> dict[str, Any]:
        """The ``validate --json`` document, whole (see :meth:`write_json`)."""
        return {"distributions": list(self.distributions()),
                "data_services": self.data_services(), "metadata": list(self.metadata()),
                "summary": self.summary}

    def write_json(self, out: IO[str]) -> None:
        """Write the ``validate --json`` document to ``out`` a row at a time."""
        out.write("{")
        sections = (("distributions", self.distributions()),
                    ("data_services", self.data_services()), ("metadata", self.metadata()))
        for name, rows in sections:
            out.write(f'\n  "{name}": [')
            for n, row in enumerate(rows):
                out.write(("," if n else "") + "\n    " + json.dumps(row, ensure_ascii=False))
            out.write("\n  ],")
        out.write('\n  "summary": ' + json.dumps(self.summary, ensure_ascii=False, indent=2)
                  .replace("\n", "\n  ") + "\n}\n")

    def close(self) -> None:
        """Delete the staged findings (the rows can no longer be read)."""
        self._scope.findings.close()


def validate(store: Store, settings: Settings, client: HttpClient, *, source: str | None = None,
             progress: Progress | None = None,
             metrics: link_checks.LinkMetrics | None = None,
             link_engine: LinkChecker | None = None) -> ValidationResult:
    """Validate the current records of ``source`` (None: every source) with the
    ``[validation]`` settings; see the module doc.

    ``progress(stage, done, total)`` is called as the run advances; ``metrics`` (the daemon's
    instruments) hears how the link checks go; ``link_engine`` (the process's, shared by the
    validations running at once) checks the links and paces the data downloads, else an
    engine of this run's own.
    """
    checks = settings.validation
    started = time.monotonic()
    with store.write() as unit:
        run_id = unit.checks.start_run(source, now(), process_name())
    scope: _Scope | None = None
    try:
        scope = _read_scope(store, source, checks, progress)
        compliance = _shacl(store, source, scope, progress) if checks.shacl else None
        if checks.metadata or checks.shacl:
            _store_findings(store, source, scope)
        with ExitStack() as stack:
            engine: LinkChecker = link_engine or stack.enter_context(LinkEngine(
                store, EngineSettings.of(client.settings, checks), now=now, metrics=metrics,
                on_response=client.on_response))
            checked = engine.check(scope.urls(), progress)
            validated = check_data(store, client, [d.target for d in scope.distributions],
                                   checks, now=now, progress=progress,
                                   lanes=engine) if checks.data else 0
        result = ValidationResult(_summary(store, scope, checked, validated), store, scope)
        if compliance is not None:
            result.summary["shacl"] = compliance.to_dict()
    except BaseException as exc:
        if scope is not None:
            scope.findings.close()
        _fail_run(store, run_id, exc)
        raise
    result.summary["duration_s"] = round(time.monotonic() - started, 3)
    with store.write() as unit:
        unit.checks.finish_run(run_id, "ok", now(), result.summary)
    return result


def process_name() -> str:
    """This process as validation runs name it (host-pid, as queue workers are named)."""
    return f"{socket.gethostname()}-{os.getpid()}"


def _fail_run(store: Store, run_id: int, exc: BaseException) -> None:
    """Mark run ``run_id`` failed with why (shown by ``dcatwatch runs``); when the store
    itself fails, the run stays ``running`` and is marked interrupted when it is back."""
    if isinstance(exc, StoreError):
        error = {"code": "run.internal", "message": f"the store failed: {describe(exc)}"}
    elif isinstance(exc, KeyboardInterrupt):
        error = {"code": "run.internal", "message": INTERRUPTED_MESSAGE}
    else:
        error = {"code": "run.internal", "message": f"{type(exc).__name__}: {exc}"}
    try:
        with store.write() as unit:
            unit.checks.finish_run(run_id, "failed", now(), {"error": error})
    except StoreError:
        pass  # recover_interrupted marks it (daemon start, store watch, the next validate)


def recover_abandoned(store: Store) -> list[str | None]:
    """Mark failed (interrupted) the validation runs left ``running`` by a process of this
    host that no longer exists (a killed ``validate`` or daemon); the source of each (None:
    a run of every source), to be validated again."""
    host = socket.gethostname()
    with store.read() as unit:
        running = unit.checks.running_runs()
    dead = [run_id for run_id, worker in running if _dead(worker, host)]
    if not dead:
        return []
    with store.write() as unit:
        return unit.checks.recover_interrupted(now(), ids=dead)


def _dead(worker: str | None, host: str) -> bool:
    """Whether ``worker`` (host-pid) names a process of ``host`` that is gone."""
    name, _, pid = (worker or "").rpartition("-")
    if name != host or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


DESCRIPTIONS_BATCH = 1000  # stored descriptions read (and mapped) at a time
BATCH = 1000  # findings staged, and result rows read, at a time


def _read_scope(store: Store, source: str | None, settings: ValidationSettings,
                progress: Progress | None) -> _Scope:
    """The current distributions and services of ``source`` with their metadata findings.

    Descriptions are read :data:`DESCRIPTIONS_BATCH` at a time (by id), so a large store is
    never held unpacked in memory at once.
    """
    scope = _Scope()
    try:
        _read_records(store, source, settings, progress, scope)
    except BaseException:
        scope.findings.close()
        raise
    return scope


def _read_records(store: Store, source: str | None, settings: ValidationSettings,
                  progress: Progress | None, scope: _Scope) -> None:
    with store.read() as unit:
        datasets = unit.datasets.count_current(source)
        service_rows = unit.services.current_records(source)
    total = datasets + len(service_rows)
    seen: set[str] = set()
    count, after = 0, 0
    while True:
        with store.read() as unit:
            rows = unit.datasets.current_descriptions(source, after=after,
                                                      limit=DESCRIPTIONS_BATCH)
        if not rows:
            break
        after = rows[-1].id
        for row in rows:
            _read_dataset(scope, row.source, row.description, settings, seen)
            count += 1
            if progress:
                progress("metadata", count, total)
        del rows
    for count, row in enumerate(service_rows, count + 1):
        service = load_service(row.record)
        scope.services.append((service.iri, row.source, list(service.endpoint_urls)))
        if settings.metadata:
            scope.findings.extend([(row.source, None, f) for f in check_service(service, seen)])
        if progress:
            progress("metadata", count, total)


def _read_dataset(scope: _Scope, source: str, description: str, settings: ValidationSettings,
                  seen: set[str]) -> None:
    graph = graph_from_ntriples(description)
    root = description.split(" ", 1)[0]
    dataset: Dataset = Mapper(graph, url="", source=source).dataset(root)
    # the mapper names blank distributions; pair its distributions with their nodes, in order
    # (under dcat:distribution or a tolerated dct:distribution, as the mapper reads them)
    nodes = [obj for p, obj in graph.subjects[root]
             if p in DISTRIBUTION_LINKS and obj in graph.subjects]
    names = {node: dist.iri for node, dist in zip(nodes, dataset.distributions, strict=True)}
    for dist in dataset.distributions:
        scope.distributions.append(_Dist(dist.iri, dataset.iri, source, list(dist.access_urls),
                                         list(dist.download_urls), target(dist)))
    if settings.metadata:
        names[root] = dataset.iri
        scope.findings.extend([(source, dataset.iri, finding)
                               for finding in check_graph(graph, [root], names, seen)])


def _shacl(store: Store, source: str | None, scope: _Scope,
           progress: Progress | None) -> shacl_run.ShaclSummary:
    """The DCAT-AP SHACL checks of the descriptions that changed, in batches per source
    (:mod:`dcatwatch.validators.shacl_run`); every current dataset's SHACL findings join
    the run's."""
    services: dict[str, list[str]] = {}
    for service, name, _ in scope.services:
        services.setdefault(name, []).append(service)
    return shacl_run.run(store, source, services, scope.findings.extend, progress)


def _store_findings(store: Store, source: str | None, scope: _Scope) -> None:
    """Replace the findings of ``source`` with the run's, written a batch at a time, one
    packed row per dataset of a batch."""
    stamp = now()
    with store.write() as unit:
        unit.findings.replace(source, [])
        for batch in scope.findings.batches():
            grouped: dict[tuple[str, str | None], list[list[str | None]]] = {}
            for src, dataset, finding in batch:
                grouped.setdefault((src, dataset), []).append(finding.to_row())
            unit.findings.add([
                {"source": src, "dataset_iri": dataset, "found_at": stamp,
                 "findings": json.dumps(rows, ensure_ascii=False, separators=(",", ":"))}
                for (src, dataset), rows in grouped.items()])


def _distributions(store: Store, scope: _Scope) -> Iterator[dict[str, Any]]:
    """The rows of :meth:`ValidationResult.distributions`, read :data:`BATCH` at a time."""
    for start in range(0, len(scope.distributions), BATCH):
        batch = scope.distributions[start:start + BATCH]
        with store.read() as unit:
            checks = unit.checks.history(u for d in batch
                                         for u in (*d.download_urls, *d.access_urls))
            data = unit.checks.data_checks(d.target.url for d in batch if d.target.url)
        yield from (_distribution(d, checks, data) for d in batch)


def _link_fields(check: LinkCheck | None) -> dict[str, Any]:
    """``verdict``: ok | failing (the agency's, unconfirmed) | broken (confirmed) |
    inconclusive (the monitor could not ask); None: not checked."""
    return {"http_status": check.status if check else None,
            "reachable": check.reachable if check else None,
            "verdict": check.verdict if check else None}


def _link(url: str, kind: str, check: LinkCheck | None) -> dict[str, Any]:
    if check is None:
        return {"url": url, "kind": kind, "http_status": None, "reachable": None,
                "verdict": None, "blame": None}
    return {"url": url, "kind": kind, "http_status": check.status, "reachable": check.reachable,
            "verdict": check.verdict, "blame": check.blame, "error_code": check.error_code,
            "cause": check.cause,
            "reason": check.reason, "content_type": check.content_type,
            "final_url": check.final_url, "elapsed_s": check.elapsed_s,
            "consecutive_failures": check.consecutive_failures,
            "first_failure_at": _iso(check.first_failure_at),
            "agency_failure_at": _iso(check.agency_failure_at),
            "last_success_at": _iso(check.last_success_at),
            "last_checked_at": _iso(check.last_checked_at)}


def _iso(stamp: datetime | None) -> str | None:
    return stamp.isoformat() if stamp else None


def _distribution(dist: _Dist, checks: dict[str, LinkCheck],
                  data: dict[str, DataCheck]) -> dict[str, Any]:
    url = dist.target.url
    row = data.get(url) if url and dist.target.format else None
    return {
        "uri": dist.iri, "dataset": dist.dataset, "source": dist.source, "url": url,
        **_link_fields(checks.get(url) if url else None),
        "tabular": dist.target.format is not None,
        "format": row.format if row else dist.target.format,
        "valid": row.valid if row else None,
        "sampled": row.sampled if row else False,
        "errors": json.loads(row.examples) if row else [],
        "error_count": row.error_count if row else 0,
        "error_types": json.loads(row.error_types) if row else {},
        "rows_checked": row.rows_checked if row else 0,
        "bytes_read": row.bytes_read if row else 0,
        "reason": (row.reason if row else dist.target.reason) or None,
        "links": [_link(u, "downloadURL", checks.get(u)) for u in dist.download_urls]
        + [_link(u, "accessURL", checks.get(u)) for u in dist.access_urls],
    }


def _summary(store: Store, scope: _Scope, checked: int, validated: int) -> dict[str, Any]:
    """The run's counts, from its rows read a batch at a time."""
    counts: Counter[str] = Counter()
    verdicts: Counter[str] = Counter()  # of distinct URLs in scope
    counted: set[str] = set()
    for d in _distributions(store, scope):
        counts["distributions"] += 1
        counts["checked"] += d["reachable"] is not None
        counts["reachable"] += d["reachable"] is True
        counts["unreachable"] += d["reachable"] is False
        # of the unreachable: confirmed broken (reported), failing unconfirmed, inconclusive
        counts[str(d["verdict"])] += 1
        counts["tabular"] += d["tabular"]
        counts["valid"] += d["valid"] is True
        counts["invalid"] += d["valid"] is False
        counts["skipped"] += d["valid"] is None
        counts["sampled"] += bool(d["sampled"])
        for link in d["links"]:
            if link["url"] not in counted:
                counted.add(link["url"])
                if link["verdict"] is not None:
                    verdicts[link["verdict"]] += 1
    services = _data_services(store, scope)
    for service in services:
        for link in service["links"]:
            if link["url"] not in counted:
                counted.add(link["url"])
                if link["verdict"] is not None:
                    verdicts[link["verdict"]] += 1
    severities = scope.findings.severities
    return {
        **{name: counts[name] for name in (
            "distributions", "checked", "reachable", "unreachable", "broken", "failing",
            "inconclusive", "tabular", "valid", "invalid", "skipped", "sampled")},
        "data_services": len(scope.services),
        "data_services_reachable": sum(s["reachable"] is True for s in services),
        "urls_checked": checked,
        "link_verdicts": {verdict: verdicts.get(verdict, 0)
                          for verdict in link_checks.VERDICTS},  # distinct URLs in scope
        "files_checked": validated,
        "metadata": {severity: severities.get(severity, 0)
                     for severity in ("error", "warning", "info")},
    }


def _data_services(store: Store, scope: _Scope) -> list[dict[str, Any]]:
    """The rows of :meth:`ValidationResult.data_services` (a source has few services)."""
    if not scope.services:
        return []
    with store.read() as unit:
        checks = unit.checks.history(u for _, _, urls in scope.services for u in urls)
    return [{"uri": uri, "source": src, "url": urls[0] if urls else None,
             **_link_fields(checks.get(urls[0]) if urls else None),
             "links": [_link(url, "endpointURL", checks.get(url)) for url in urls]}
            for uri, src, urls in scope.services]
