"""The ``dcatwatch`` command: a thin layer over the same service functions the daemon calls.

Exit status: 0 success, 1 a run failed, 2 bad usage or bad configuration.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from typing import Any

from dcatwatch import __version__
from dcatwatch.errors import ConfigError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
Command = Callable[[argparse.Namespace], int]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not hasattr(args, "handler"):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return int(args.handler(args))
    except ConfigError as exc:
        print(f"dcatwatch: configuration error: {exc.message}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("dcatwatch: interrupted", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dcatwatch", description="Harvest, validate and score DCAT-AP(-SE) catalogues.")
    parser.add_argument("--config", metavar="FILE",
                        help="configuration file (default: $DCATWATCH_CONFIG, ./dcatwatch.toml)")
    parser.add_argument("--log-level", default="warning",
                        choices=["debug", "info", "warning", "error"], help="log verbosity")
    parser.add_argument("--version", action="version", version=f"dcatwatch {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    harvest = commands.add_parser("harvest", help="harvest sources now")
    harvest.add_argument("sources", nargs="*", metavar="SOURCE",
                         help="source names (default: every enabled source)")
    harvest.add_argument("--json", action="store_true", help="print the results as JSON")
    harvest.add_argument("--confirm-removals", metavar="SOURCE",
                         help="remove the datasets the mass-deletion guard held for SOURCE")
    harvest.set_defaults(handler=_harvest)

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

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(title="db commands", metavar="COMMAND")
    upgrade = db_commands.add_parser("upgrade", help="apply pending schema migrations")
    upgrade.set_defaults(handler=_db_upgrade)

    config = commands.add_parser("config", help="configuration")
    config_commands = config.add_subparsers(title="config commands", metavar="COMMAND")
    check = config_commands.add_parser("check", help="validate the configuration")
    check.set_defaults(handler=_config_check)
    docs = config_commands.add_parser("docs", help="print the configuration reference")
    docs.set_defaults(handler=_config_docs)
    return parser


def _settings(args: argparse.Namespace) -> Any:
    from dcatwatch import config

    return config.load(config.config_path(args.config))


def _engine(settings: Any) -> Any:
    from dcatwatch.store.db import open_store

    return open_store(settings.database.url)


def _harvest(args: argparse.Namespace) -> int:
    from dcatwatch.cli_output import HarvestProgress, harvest_table
    from dcatwatch.harvester.run import confirm_removals, harvest

    settings = _settings(args)
    engine = _engine(settings)
    if args.confirm_removals:
        settings.source(args.confirm_removals)
        removed = confirm_removals(engine, args.confirm_removals)
        print(f"{args.confirm_removals}: {removed} held datasets removed")
        return EXIT_OK
    for name in args.sources:
        settings.source(name)
    with HarvestProgress(enabled=sys.stderr.isatty()) as progress:
        results = harvest(settings, engine, args.sources or None, progress=progress.update)
    if args.json:
        print(json.dumps([r.to_dict() for r in results], ensure_ascii=False, indent=2))
    else:
        print(harvest_table(results))
    return EXIT_FAILED if any(r.status == "failed" for r in results) else EXIT_OK


def _scores(args: argparse.Namespace) -> int:
    from dcatwatch.cli_output import scores_table
    from dcatwatch.scoring.service import score

    engine = _engine(_settings(args))
    run = score(engine, full=args.full, snapshot=args.snapshot)
    if args.json:
        print(json.dumps(run.scores.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(scores_table(run.scores, args.sort))
    return EXIT_OK


def _explain(args: argparse.Namespace) -> int:
    from dcatwatch.cli_output import explanation
    from dcatwatch.scoring.service import explain, score

    engine = _engine(_settings(args))
    score(engine, snapshot=False)
    found = explain(engine, args.iri)
    if not found:
        print(f"dcatwatch: no harvested dataset has the IRI {args.iri}", file=sys.stderr)
        return EXIT_FAILED
    if args.json:
        print(json.dumps(found, ensure_ascii=False, indent=2))
    else:
        print(explanation(args.iri, found))
    return EXIT_OK


def _db_upgrade(args: argparse.Namespace) -> int:
    from dcatwatch.store.db import make_engine, upgrade

    settings = _settings(args)
    before, after = upgrade(make_engine(settings.database.url))
    print(f"database schema: {before or 'empty'} -> {after}")
    return EXIT_OK


def _config_check(args: argparse.Namespace) -> int:
    settings = _settings(args)
    print(f"configuration OK: {len(settings.sources)} sources, {len(settings.agencies)} agencies")
    return EXIT_OK


def _config_docs(_args: argparse.Namespace) -> int:
    from dcatwatch.config_docs import reference

    print(reference())
    return EXIT_OK
