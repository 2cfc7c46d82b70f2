"""One validation run over the store: the service ``dcatwatch validate`` and the daemon call.

For the current datasets (and data services) of one source, or of all sources:

1. **metadata**: DCAT-AP-SE rules on each stored description and service; the source's
   findings are replaced;
2. **links**: every accessURL, downloadURL and endpointURL that is due is probed;
3. **data**: every tabular distribution whose file is due is validated on a bounded copy;

then the result is assembled from the store, so URLs not due this time report their latest
check. :meth:`ValidationResult.to_dict` is the ``validate --json`` document.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from dcatwatch.config import Settings, ValidationSettings
from dcatwatch.dcat import namespaces as ns
from dcatwatch.dcat.mapper import Mapper
from dcatwatch.dcat.model import Dataset
from dcatwatch.dcat.parse import graph_from_ntriples
from dcatwatch.dcat.records import load_service
from dcatwatch.dcat.terms import iri
from dcatwatch.http.client import HttpClient
from dcatwatch.store.core import Store
from dcatwatch.store.validation_models import DataCheck, LinkCheck
from dcatwatch.validators import links as link_checks
from dcatwatch.validators.data import DataTarget, check_data, target
from dcatwatch.validators.metadata import Finding, check_graph, check_service
from dcatwatch.validators.shacl import shacl_findings

DISTRIBUTION = iri(ns.DCAT, "distribution")
Progress = Callable[[str, int, int], None]  # (stage: metadata | links | data, done, total)


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


@dataclass(slots=True)
class _Scope:
    """What one run looks at, read from the store."""

    distributions: list[_Dist] = field(default_factory=list)
    services: list[tuple[str, str, list[str]]] = field(default_factory=list)  # iri, source, urls
    findings: list[tuple[str, str | None, Finding]] = field(default_factory=list)

    def urls(self) -> list[str]:
        found = [u for d in self.distributions for u in (*d.download_urls, *d.access_urls)]
        return found + [u for _, _, urls in self.services for u in urls]


@dataclass(slots=True)
class ValidationResult:
    """The outcome of one run (``validate --json``)."""

    distributions: list[dict[str, Any]]
    data_services: list[dict[str, Any]]
    metadata: list[dict[str, Any]]
    summary: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"distributions": self.distributions, "data_services": self.data_services,
                "metadata": self.metadata, "summary": self.summary}


def validate(store: Store, settings: Settings, client: HttpClient, *, source: str | None = None,
             progress: Progress | None = None,
             metrics: link_checks.LinkMetrics | None = None,
             link_pool: link_checks.LinkWorkers | None = None) -> ValidationResult:
    """Validate the current records of ``source`` (None: every source) with the
    ``[validation]`` settings; see the module doc.

    ``progress(stage, done, total)`` is called as the run advances; ``metrics`` (the daemon's
    instruments) hears how the link checks go; ``link_pool`` (the daemon's, shared by the
    validations running at once) checks the hosts, else a pool of ``[validation] workers``
    threads of this run's own.
    """
    checks = settings.validation
    started = time.monotonic()
    with store.write() as unit:
        run_id = unit.checks.start_run(source, now())
    try:
        scope = _read_scope(store, source, checks, progress)
        if checks.metadata or checks.shacl:
            _store_findings(store, source, scope)
        checked = link_checks.check_links(
            store, client, scope.urls(), workers=checks.workers, timeout=checks.link_timeout,
            recheck_hours=checks.recheck_hours, now=now, progress=progress,
            confirm_after_hours=checks.confirm_after_hours, host_failures=checks.host_failures,
            metrics=metrics, pool=link_pool)
        validated = check_data(store, client, [d.target for d in scope.distributions], checks,
                               now=now, progress=progress) if checks.data else 0
        result = _assemble(store, scope, checked, validated)
    except BaseException:
        with store.write() as unit:
            unit.checks.finish_run(run_id, "failed", now())
        raise
    result.summary["duration_s"] = round(time.monotonic() - started, 3)
    with store.write() as unit:
        unit.checks.finish_run(run_id, "ok", now(), result.summary)
    return result


DESCRIPTIONS_BATCH = 1000  # stored descriptions read (and mapped) at a time


def _read_scope(store: Store, source: str | None, settings: ValidationSettings,
                progress: Progress | None) -> _Scope:
    """The current distributions and services of ``source`` with their metadata findings.

    Descriptions are read :data:`DESCRIPTIONS_BATCH` at a time (by id), so a large store is
    never held unpacked in memory at once.
    """
    scope = _Scope()
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
            scope.findings += [(row.source, None, f) for f in check_service(service, seen)]
        if progress:
            progress("metadata", count, total)
    return scope


def _read_dataset(scope: _Scope, source: str, description: str, settings: ValidationSettings,
                  seen: set[str]) -> None:
    graph = graph_from_ntriples(description)
    root = description.split(" ", 1)[0]
    dataset: Dataset = Mapper(graph, url="", source=source).dataset(root)
    # the mapper names blank distributions; pair its distributions with their nodes, in order
    nodes = [obj for p, obj in graph.subjects[root] if p == DISTRIBUTION and obj in graph.subjects]
    names = {node: dist.iri for node, dist in zip(nodes, dataset.distributions, strict=True)}
    for dist in dataset.distributions:
        scope.distributions.append(_Dist(dist.iri, dataset.iri, source, list(dist.access_urls),
                                         list(dist.download_urls), target(dist)))
    if settings.metadata:
        names[root] = dataset.iri
        scope.findings += [(source, dataset.iri, finding)
                           for finding in check_graph(graph, [root], names, seen)]
    if settings.shacl:
        scope.findings += [(source, dataset.iri, finding) for finding in
                           shacl_findings(description, f"{dataset.iri} (blank node)")]


def _store_findings(store: Store, source: str | None, scope: _Scope) -> None:
    """Replace the findings of ``source`` with the run's, written a batch at a time."""
    stamp = now()
    with store.write() as unit:
        unit.findings.replace(source, [])
        for start in range(0, len(scope.findings), DESCRIPTIONS_BATCH):
            unit.findings.add([
                {"source": src, "dataset_iri": dataset, "subject": f.subject,
                 "record": f.record, "code": f.code, "severity": f.severity,
                 "property": f.property, "value": f.value, "found_at": stamp}
                for src, dataset, f in scope.findings[start:start + DESCRIPTIONS_BATCH]])


def _assemble(store: Store, scope: _Scope, checked: int, validated: int) -> ValidationResult:
    with store.read() as unit:
        checks = unit.checks.history(scope.urls())
        data = unit.checks.data_checks(d.target.url for d in scope.distributions if d.target.url)
    distributions = [_distribution(d, checks, data) for d in scope.distributions]
    verdicts = Counter(checks[url].verdict for url in dict.fromkeys(scope.urls())
                       if url in checks)
    services = [{"uri": uri, "source": src, "url": urls[0] if urls else None,
                 **_link_fields(checks.get(urls[0]) if urls else None),
                 "links": [_link(url, "endpointURL", checks.get(url)) for url in urls]}
                for uri, src, urls in scope.services]
    metadata = [{"source": src, "dataset": dataset, **f.to_dict()}
                for src, dataset, f in scope.findings]
    return ValidationResult(distributions, services, metadata,
                            _summary(distributions, services, scope, checked, validated,
                                     verdicts))


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


def _summary(distributions: list[dict[str, Any]], services: list[dict[str, Any]], scope: _Scope,
             checked: int, validated: int, verdicts: Counter[str]) -> dict[str, Any]:
    severities = Counter(f.severity for _, _, f in scope.findings)
    return {
        "distributions": len(distributions),
        "checked": sum(d["reachable"] is not None for d in distributions),
        "reachable": sum(d["reachable"] is True for d in distributions),
        "unreachable": sum(d["reachable"] is False for d in distributions),
        # of the unreachable: confirmed broken (reported), failing unconfirmed, inconclusive
        "broken": sum(d["verdict"] == "broken" for d in distributions),
        "failing": sum(d["verdict"] == "failing" for d in distributions),
        "inconclusive": sum(d["verdict"] == "inconclusive" for d in distributions),
        "tabular": sum(d["tabular"] for d in distributions),
        "valid": sum(d["valid"] is True for d in distributions),
        "invalid": sum(d["valid"] is False for d in distributions),
        "skipped": sum(d["valid"] is None for d in distributions),
        "sampled": sum(bool(d["sampled"]) for d in distributions),
        "data_services": len(services),
        "data_services_reachable": sum(s["reachable"] is True for s in services),
        "urls_checked": checked,
        "link_verdicts": {verdict: verdicts.get(verdict, 0)
                          for verdict in link_checks.VERDICTS},  # distinct URLs in scope
        "files_checked": validated,
        "metadata": {severity: severities.get(severity, 0)
                     for severity in ("error", "warning", "info")},
    }

