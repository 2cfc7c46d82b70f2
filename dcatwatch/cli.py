"""The ``dcatwatch`` command: a thin layer over the same service functions the daemon calls.

Exit status: 0 success, 1 a run failed or the store cannot be used (read-only, full,
locked, another schema: one line naming the database and what to do), 2 bad usage, an
unknown source or agency ("did you mean …") or bad configuration. Output into a pipe that
closes early (``| head``) ends the command quietly, exit status 0.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dcatwatch import __version__
from dcatwatch.errors import ConfigError, StoreFault, UsageError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    from dcatwatch.logs import configure as configure_logging

    default_level = "info" if getattr(args, "handler", None) is _serve else "warning"
    configure_logging(args.log_level or default_level)
    if not hasattr(args, "handler"):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        status = int(args.handler(args))
        sys.stdout.flush()  # a closed pipe shows here, not at the interpreter's exit
        return status
    except BrokenPipeError:
        if not _stdout_closed():
            raise
        _silence_stdout()
        return EXIT_OK
    except UsageError as exc:
        print(f"dcatwatch: {exc.code}: {exc.message}", file=sys.stderr)
        return EXIT_USAGE
    except ConfigError as exc:
        print(f"dcatwatch: configuration error: {exc.message}", file=sys.stderr)
        return EXIT_USAGE
    except StoreFault as exc:
        return _store_fault(exc)
    except Exception as exc:
        from dcatwatch.store.db import fault_of

        fault = fault_of(exc)  # a database error the engine classified (read-only, full …)
        if fault is None:
            raise
        return _store_fault(fault)
    except KeyboardInterrupt:
        print("dcatwatch: interrupted", file=sys.stderr)
        return 130


def _stdout_closed() -> bool:
    """Whether standard output is a pipe whose reader went away (``| head`` had enough),
    as opposed to a broken socket elsewhere, which stays a bug to show."""
    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & select.POLLERR for _fd, events in poller.poll(0))
    except (OSError, ValueError, AttributeError):  # not a file (captured output)
        return False


def _silence_stdout() -> None:
    """Point standard output at /dev/null, so the interpreter's final flush of what is
    still buffered does not fail again (the recipe of Python's signal documentation)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def _store_fault(fault: StoreFault) -> int:
    print(f"dcatwatch: {fault.code}: {fault.message}", file=sys.stderr)
    return EXIT_FAILED


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dcatwatch", description="Harvest, validate and score DCAT-AP(-SE) catalogues.")
    parser.add_argument("--config", metavar="FILE",
                        help="configuration file (default: $DCATWATCH_CONFIG, ./dcatwatch.toml)")
    parser.add_argument("--log-level", default=None,
                        choices=["debug", "info", "warning", "error"],
                        help="log verbosity (default: info for serve, else warning)")
    parser.add_argument("--version", action="version", version=f"dcatwatch {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    harvest = commands.add_parser("harvest", help="harvest sources now")
    harvest.add_argument("sources", nargs="*", metavar="SOURCE",
                         help="source names (default: every enabled source)")
    harvest.add_argument("--json", action="store_true", help="print the results as JSON")
    harvest.add_argument("--confirm-removals", metavar="SOURCE",
                         help="remove the datasets the mass-deletion guard held for SOURCE")
    harvest.set_defaults(handler=_harvest)

    validate = commands.add_parser("validate", help="check links, data and metadata now")
    validate.add_argument("--source", metavar="S", help="only this source's distributions")
    validate.add_argument("--json", action="store_true", help="print the results as JSON")
    validate.set_defaults(handler=_validate)

    scores = commands.add_parser("scores", help="per-agency and national scores")
    scores.add_argument("--json", action="store_true", help="print the scores as JSON")
    scores.add_argument("--sort", choices=["index", "api", "datasets", "name"], default="index",
                        help="table order (default: API-document index, best first)")
    scores.add_argument("--full", action="store_true",
                        help="rescore every dataset, not only the changed ones")
    scores.add_argument("--snapshot", action="store_true",
                        help="also record the figures in the score history")
    scores.set_defaults(handler=_scores)

    explain = commands.add_parser("explain", help="why a dataset got its level and points")
    explain.add_argument("iri", metavar="DATASET_IRI")
    explain.add_argument("--json", action="store_true", help="print the explanation as JSON")
    explain.set_defaults(handler=_explain)

    datasets = commands.add_parser("datasets", help="list the current datasets")
    datasets.add_argument("--agency", metavar="A", help="only this agency's ('-': unattributed)")
    datasets.add_argument("--source", metavar="S", help="only this source's")
    datasets.add_argument("--level", metavar="L",
                          help="only this level: 0-3 or unknown, document_only, "
                               "machine_readable, api; 'none' for not yet scored")
    datasets.add_argument("--json", action="store_true", help="print the datasets as JSON")
    datasets.set_defaults(handler=_datasets)

    serve = commands.add_parser("serve", help="run the daemon (scheduler and /metrics)")
    serve.add_argument("--demo", action="store_true",
                       help="serve bundled example catalogues on loopback and watch them")
    serve.add_argument("--demo-dir", type=Path, metavar="DIR",
                       help="keep the demo's store and configuration here, also after it "
                            "stops (default: $XDG_STATE_HOME/dcatwatch-demo, else "
                            "~/.local/state/dcatwatch-demo)")
    serve.add_argument("--concurrency", type=int, metavar="N",
                       help="jobs this worker runs at once (backend = \"postgres\"; default: "
                            "[queue] concurrency)")
    serve.set_defaults(handler=_serve)

    sources = commands.add_parser(
        "sources", help="each source: last run and result, next run, datasets, held removals")
    sources.add_argument("--json", action="store_true", help="print the sources as JSON")
    sources.set_defaults(handler=_sources)

    runs = commands.add_parser("runs", help="recent runs of every kind (and which worker)")
    runs.add_argument("--source", metavar="S", help="only this source (or agency, for reports)")
    runs.add_argument("--since", metavar="ISO", help="only runs started at or after this time")
    runs.add_argument("--kind", choices=RUN_KINDS, help="only runs of this kind")
    runs.add_argument("--status", metavar="STATUS",
                      help="only runs in this state (e.g. running, failed, ok, sent)")
    runs.add_argument("--limit", type=_positive, default=50, metavar="N",
                      help="at most N runs, newest first (default: 50)")
    runs.add_argument("--json", action="store_true", help="print the runs as JSON")
    runs.set_defaults(handler=_runs)

    report = commands.add_parser("report", help="agency quality reports")
    report_commands = report.add_subparsers(title="report commands", metavar="COMMAND")
    preview = report_commands.add_parser("preview", help="write one agency's report to files")
    preview.add_argument("--agency", required=True, metavar="ID")
    preview.add_argument("--out", required=True, metavar="DIR", type=Path)
    preview.add_argument("--period", metavar="YYYY-MM", help="default: the current month")
    preview.add_argument("--json", action="store_true", help="print the files written as JSON")
    preview.set_defaults(handler=_report_preview)
    send = report_commands.add_parser("send", help="e-mail the reports that are due")
    send.add_argument("--agency", metavar="ID", help="only this agency")
    send.add_argument("--period", metavar="YYYY-MM", help="default: the current month")
    send.add_argument("--json", action="store_true", help="print the outcome as JSON")
    send.set_defaults(handler=_report_send)
    resend = report_commands.add_parser(
        "resend", help="e-mail one report again on purpose (e.g. a delivery left unknown)")
    resend.add_argument("--agency", required=True, metavar="ID")
    resend.add_argument("--period", required=True, metavar="YYYY-MM")
    resend.add_argument("--json", action="store_true", help="print the outcome as JSON")
    resend.set_defaults(handler=_report_resend)

    coverage = commands.add_parser(
        "coverage", help="which datasets dataportal.se has and lacks, per agency")
    coverage.add_argument("--agency", metavar="ID", help="only this agency")
    coverage.add_argument("--json", action="store_true", help="print the comparison as JSON")
    coverage.set_defaults(handler=_coverage)

    agencies = commands.add_parser("agencies", help="the agency registry")
    agency_commands = agencies.add_subparsers(title="agencies commands", metavar="COMMAND")
    importer = agency_commands.add_parser("import", help="import registry agencies from CSV")
    importer.add_argument("file", metavar="FILE.csv", type=Path)
    importer.add_argument("--json", action="store_true", help="print the outcome as JSON")
    importer.set_defaults(handler=_agencies_import)

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(title="db commands", metavar="COMMAND")
    upgrade = db_commands.add_parser("upgrade", help="apply pending schema migrations")
    upgrade.set_defaults(handler=_db_upgrade)

    config = commands.add_parser("config", help="configuration")
    config_commands = config.add_subparsers(title="config commands", metavar="COMMAND")
    check = config_commands.add_parser(
        "check", help="validate the configuration; print warnings (a cron that never fires, "
        "allowed_networks with public addresses, the [smtp] defaults, unknown DCATWATCH_* "
        "variables)")
    check.add_argument("--strict", action="store_true",
                       help="exit 2 when there are warnings, too")
    check.add_argument("--json", action="store_true", help="print the outcome as JSON")
    check.set_defaults(handler=_config_check)
    docs = config_commands.add_parser("docs", help="print the configuration reference")
    docs.set_defaults(handler=_config_docs)
    return parser


RUN_KINDS = ("harvest", "validation", "scoring", "report")


def _positive(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"expected a number of 1 or more, got {value!r}")
    return int(value)


def _settings(args: argparse.Namespace, *, warn: bool = True) -> Any:
    """The configuration; with ``warn``, a warning on stderr for each ``DCATWATCH_*``
    variable that sets nothing (`config check` lists them with its other warnings)."""
    from dcatwatch import config

    settings = config.load(config.config_path(args.config))
    if warn:
        for warning in config.unknown_environment(settings):
            print(f"dcatwatch: warning: {warning}", file=sys.stderr)
    return settings


def _known_source(settings: Any, name: str, option: str = "--source") -> None:
    """Refuse a source the configuration does not have, suggesting the closest."""
    from dcatwatch.names import unknown

    names = [s.name for s in settings.sources]
    if name not in names:
        raise UsageError(option, unknown("source", name, names))


def _known_agency(settings: Any, store: Any, agency_id: str, option: str = "--agency") -> None:
    """Refuse an agency neither the configuration nor the store knows, suggesting the
    closest id (or the id of the agency of that name)."""
    from dcatwatch.names import closest, unknown

    with store.read() as unit:
        rows = unit.agencies.listed()
    ids = {row.id for row in rows} | {a.id for a in settings.agencies}
    if agency_id in ids:
        return
    names = {row.name: row.id for row in rows if row.name}
    names.update({a.name: a.id for a in settings.agencies})
    by_name = closest(agency_id, names)
    if by_name is not None and closest(agency_id, ids) is None:
        raise UsageError(option, f"unknown agency {agency_id!r}; did you mean "
                         f"{names[by_name]!r} ({by_name})?")
    raise UsageError(option, unknown("agency", agency_id, ids))


def _store(settings: Any) -> Any:
    from dcatwatch.store.core import Store

    return Store.open(settings.database.url)


def _harvest(args: argparse.Namespace) -> int:
    from dcatwatch.cli_output import HarvestProgress, harvest_table
    from dcatwatch.harvester.run import confirm_removals, harvest

    if args.confirm_removals and args.sources:
        print(f"dcatwatch: harvest --confirm-removals {args.confirm_removals} harvests nothing "
              f"and takes no SOURCE arguments (got: {' '.join(args.sources)}); confirm, then "
              "harvest in a second command", file=sys.stderr)
        return EXIT_USAGE
    settings = _settings(args)
    store = _store(settings)
    if args.confirm_removals:
        _known_source(settings, args.confirm_removals, "--confirm-removals")
        removed = confirm_removals(store, args.confirm_removals)
        if args.json:
            print(json.dumps({"source": args.confirm_removals, "removed": removed}))
        else:
            print(f"{args.confirm_removals}: {removed} held datasets removed")
        return EXIT_OK
    for name in args.sources:
        _known_source(settings, name, "SOURCE")
    with HarvestProgress(enabled=sys.stderr.isatty()) as progress:
        results = harvest(store, settings, args.sources or None, progress=progress.update)
    shown = [r.to_dict() for r in results]
    if args.json:
        print(json.dumps(shown, ensure_ascii=False, indent=2))
    else:
        print(harvest_table(shown))
    return EXIT_FAILED if any(r.status == "failed" for r in results) else EXIT_OK


def _validate(args: argparse.Namespace) -> int:
    from dcatwatch.cli_output import ValidationProgress, validation_summary
    from dcatwatch.http.client import HttpClient
    from dcatwatch.validators.service import recover_abandoned, validate

    settings = _settings(args)
    if args.source:
        _known_source(settings, args.source)
    store = _store(settings)
    abandoned = recover_abandoned(store)  # left running by a killed process: redone here
    redo = list(dict.fromkeys(s for s in abandoned if args.source and s != args.source))
    if abandoned:
        print(f"dcatwatch: {len(abandoned)} validation run(s) left running by a stopped "
              "process are marked failed (interrupted) and done again", file=sys.stderr)
    with HttpClient(settings.http) as client, \
            ValidationProgress(enabled=sys.stderr.isatty(),
                               interval=settings.validation.progress_seconds) as progress:
        for source in [None] if None in redo else redo:
            validate(store, settings, client, source=source, progress=progress.update).close()
        result = validate(store, settings, client, source=args.source, progress=progress.update)
    try:
        if args.json:  # written a row at a time: a national run has hundreds of thousands
            result.write_json(sys.stdout)
        else:
            print(validation_summary(result.summary, result.distributions(), result.metadata()))
    finally:
        result.close()
    return EXIT_OK


def _scores(args: argparse.Namespace) -> int:
    from dcatwatch.cli_output import scores_table
    from dcatwatch.scoring.service import score

    run = score(_store(_settings(args)), full=args.full, snapshot=args.snapshot)
    if args.json:
        print(json.dumps(run.scores.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(scores_table(run.scores, args.sort))
    return EXIT_OK


def _explain(args: argparse.Namespace) -> int:
    from dcatwatch.cli_output import explanation
    from dcatwatch.scoring.service import explain, score

    store = _store(_settings(args))
    score(store, snapshot=False)
    found = explain(store, args.iri)
    if not found:
        print(f"dcatwatch: no harvested dataset has the IRI {args.iri}", file=sys.stderr)
        return EXIT_FAILED
    if args.json:
        print(json.dumps(found, ensure_ascii=False, indent=2))
    else:
        print(explanation(args.iri, found))
    return EXIT_OK


def _datasets(args: argparse.Namespace) -> int:
    from dcatwatch.cli_output import datasets_table
    from dcatwatch.dcat.classify import LEVEL_NAMES

    names = {name: level for level, name in LEVEL_NAMES.items()}
    level: int | None | str = "any"
    if args.level is not None:
        wanted = args.level.strip().lower()
        if wanted == "none":
            level = None
        elif wanted in names:
            level = names[wanted]
        elif wanted.isdigit() and int(wanted) in LEVEL_NAMES:
            level = int(wanted)
        else:
            print(f"dcatwatch: --level {args.level}: expected 0-3, "
                  f"{', '.join(LEVEL_NAMES.values())} or none", file=sys.stderr)
            return EXIT_USAGE
    from dcatwatch.scoring.service import score

    settings = _settings(args)
    if args.source:
        _known_source(settings, args.source)
    store = _store(settings)
    if args.agency not in (None, "-"):
        _known_agency(settings, store, args.agency)
    score(store, snapshot=False)  # levels as `scores` and `explain` give them
    with store.read() as unit:
        rows = unit.datasets.listing(agency=args.agency, source=args.source, level=level)
    shown = [{"iri": row.iri, "title": row.title, "agency": row.agency_id,
              "source": row.source, "level": row.level,
              "level_name": None if row.level is None else LEVEL_NAMES[row.level],
              "mqa_points": row.mqa_points} for row in rows]
    if args.json:
        print(json.dumps(shown, ensure_ascii=False, indent=2))
    else:
        print(datasets_table(shown))
    return EXIT_OK


def _serve(args: argparse.Namespace) -> int:
    from dcatwatch import config
    from dcatwatch.schedules.serve import serve

    needs_no_file = args.demo and not args.config and not config.config_path().exists()
    settings = config.load(None) if needs_no_file else _settings(args)
    if args.concurrency is not None and args.concurrency < 1:
        print("dcatwatch: serve --concurrency needs a number of 1 or more", file=sys.stderr)
        return EXIT_USAGE
    if settings.queue.backend == "postgres" and not args.demo:
        try:
            from dcatwatch.queue.worker import serve_worker
        except ImportError as exc:
            print(f"dcatwatch: queue.backend = 'postgres' needs the 'postgresql' extra "
                  f"(pip install 'dcatwatch[postgresql]'): {exc}", file=sys.stderr)
            return EXIT_USAGE

        return serve_worker(settings, args.concurrency)
    return serve(settings, demo=args.demo, demo_dir=args.demo_dir)


def _runs(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from dcatwatch.cli_output import runs_table

    since = None
    if args.since:
        try:
            since = datetime.fromisoformat(args.since)
        except ValueError:
            print(f"dcatwatch: runs --since {args.since!r} is not an ISO 8601 time "
                  "(e.g. 2026-12-04T10:00:00Z)", file=sys.stderr)
            return EXIT_USAGE
        since = since.replace(tzinfo=UTC) if since.tzinfo is None else since
    settings = _settings(args)
    with _store(settings) as store:
        with store.read() as unit:
            rows = unit.queue.list_runs(args.source, since, args.limit, args.kind, args.status)
        if args.source and not rows:
            _known_run_owner(settings, store, args.source)
    if args.json:
        print(json.dumps([r.to_dict() for r in rows], ensure_ascii=False, indent=2))
    else:
        print(runs_table([r.to_dict() for r in rows]))
    return EXIT_OK


def _known_run_owner(settings: Any, store: Any, name: str) -> None:
    """Refuse ``runs --source NAME`` when NAME is neither a source (configured or in the
    store) nor an agency: an empty list would look like "no runs"."""
    from dcatwatch.names import unknown

    with store.read() as unit:
        known = {row.name for row in unit.sources.overview()}
        known |= {row.id for row in unit.agencies.listed()}
    known |= {s.name for s in settings.sources} | {a.id for a in settings.agencies}
    if name not in known:
        raise UsageError("--source", unknown("source or agency", name, known))


def _sources(args: argparse.Namespace) -> int:
    from dcatwatch.cli_output import sources_table

    settings = _settings(args)
    with _store(settings) as store:
        shown = _source_overview(settings, store)
    if args.json:
        print(json.dumps(shown, ensure_ascii=False, indent=2))
    else:
        print(sources_table(shown))
    return EXIT_OK


def _source_overview(settings: Any, store: Any) -> list[dict[str, Any]]:
    """Each configured source with its state in the store: the ``sources --json`` objects."""
    from datetime import UTC, datetime

    from dcatwatch.cron import crontab
    from dcatwatch.store.queue import as_utc, first_error

    with store.read() as unit:
        stored = {row.name: row for row in unit.sources.overview()}
    now = datetime.now(UTC)

    def iso(moment: Any) -> str | None:
        if isinstance(moment, str):  # SQLite hands back text
            moment = datetime.fromisoformat(moment)
        return None if moment is None else as_utc(moment).isoformat(timespec="seconds")

    shown = []
    for source in settings.sources:
        row = stored.get(source.name)
        next_run = row.next_run_at if row is not None else None
        if next_run is None and source.enabled:  # not yet scheduled by a daemon: the cron
            next_run = crontab(source.schedule).get_next_fire_time(None, now)
        shown.append({
            "source": source.name, "type": source.type, "url": source.url,
            "enabled": source.enabled, "schedule": source.schedule,
            "last_status": row.last_status if row else None,
            "last_attempt_at": iso(row.last_attempt_at) if row else None,
            "last_success_at": iso(row.last_success_at) if row else None,
            "last_error": first_error(row.errors) if row else None,
            "next_run_at": iso(next_run) if source.enabled else None,
            "datasets": row.datasets if row else 0,
            "held_removals": row.held if row else 0})
    return shown


def _report_preview(args: argparse.Namespace) -> int:
    from dcatwatch.reports.service import NothingToReport, preview

    settings = _settings(args)
    store = _store(settings)
    _known_agency(settings, store, args.agency)
    try:
        written = preview(settings, store, args.agency, args.out, args.period)
    except NothingToReport as exc:
        print(f"dcatwatch: {exc.message}", file=sys.stderr)
        return EXIT_FAILED
    if args.json:
        print(json.dumps({"agency": args.agency, "files": [str(p) for p in written]},
                         ensure_ascii=False, indent=2))
    else:
        for path in written:
            print(path)
    return EXIT_OK


def _report_send(args: argparse.Namespace) -> int:
    from dcatwatch.reports.service import send

    settings = _settings(args)
    store = _store(settings)
    if args.agency:
        _known_agency(settings, store, args.agency)
    result = send(settings, store, args.agency, args.period)
    print(json.dumps(result.to_dict(), ensure_ascii=False, indent=2) if args.json
          else result.summary())
    return EXIT_FAILED if result.failed or result.new_unknown else EXIT_OK


def _report_resend(args: argparse.Namespace) -> int:
    from dcatwatch.reports.service import resend

    settings = _settings(args)
    store = _store(settings)
    _known_agency(settings, store, args.agency)
    result = resend(settings, store, args.agency, args.period)
    print(json.dumps(result.to_dict(), ensure_ascii=False, indent=2) if args.json
          else result.summary())
    return EXIT_OK if result.sent else EXIT_FAILED


def _coverage(args: argparse.Namespace) -> int:
    from dcatwatch.cli_output import coverage_table
    from dcatwatch.registry.coverage import agency_coverage, portal_coverage

    settings = _settings(args)
    store = _store(settings)
    if args.agency:
        _known_agency(settings, store, args.agency)
        found = agency_coverage(store, args.agency)
        results = [found] if found else []
    else:
        results = portal_coverage(store)
    if args.json:
        print(json.dumps([c.to_dict() for c in results], ensure_ascii=False, indent=2))
    else:
        print(coverage_table(results) if results else
              "no agency is harvested both directly and through a dataportal source")
    return EXIT_OK


def _agencies_import(args: argparse.Namespace) -> int:
    from dcatwatch.registry.importer import import_agencies

    settings = _settings(args)
    with _store(settings) as store:
        result = import_agencies(store, args.file)
    print(json.dumps(result.to_dict(), ensure_ascii=False, indent=2) if args.json
          else result.summary())
    return EXIT_FAILED if result.errors else EXIT_OK


def _db_upgrade(args: argparse.Namespace) -> int:
    from dcatwatch.store.core import StoreError
    from dcatwatch.store.db import cannot_open, current_revision, make_engine, upgrade

    settings = _settings(args)
    engine = make_engine(settings.database.url)
    try:
        current_revision(engine)  # reach the database before Alembic starts
    except StoreError as exc:
        raise cannot_open(settings.database.url, exc) from None
    before, after = upgrade(engine)
    print(f"database schema: {before or 'empty'} -> {after}")
    if settings.queue.backend == "postgres":
        from dcatwatch.queue.app import install_schema

        created = install_schema(settings)
        print(f"job queue schema (procrastinate): {'created' if created else 'present'}")
    return EXIT_OK


def _config_check(args: argparse.Namespace) -> int:
    from dcatwatch.config import warnings

    settings = _settings(args, warn=False)  # crons are parsed as `serve` parses them
    found = warnings(settings)
    refused = bool(found) and args.strict
    if args.json:
        print(json.dumps({"ok": not refused, "sources": len(settings.sources),
                          "agencies": len(settings.agencies), "warnings": found},
                         ensure_ascii=False, indent=2))
        return EXIT_USAGE if refused else EXIT_OK
    for warning in found:
        print(f"dcatwatch: warning: {warning}", file=sys.stderr)
    counts = f"{len(settings.sources)} sources, {len(settings.agencies)} agencies"
    if refused:
        print(f"configuration refused (--strict): {len(found)} warnings; {counts}")
        return EXIT_USAGE
    print(f"configuration OK: {counts}" + (f", {len(found)} warnings" if found else ""))
    return EXIT_OK


def _config_docs(_args: argparse.Namespace) -> int:
    from dcatwatch.config_docs import reference

    print(reference())
    return EXIT_OK
