"""Helpers for tests: write a configuration file, run the command line in-process, find the
system tools some tests need."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn

import pytest

from dcatwatch.cli import main
from dcatwatch.http.client import HttpClient
from dcatwatch.store.core import Store
from dcatwatch.validators.linkengine import EngineSettings, LinkEngine
from dcatwatch.validators.links import LinkMetrics


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    return str(value)


def write_config(directory: Path, sources: list[dict[str, Any]], *,
                 agencies: list[dict[str, Any]] | None = None,
                 database: str | None = None, **sections: dict[str, Any]) -> Path:
    """A dcatwatch.toml in ``directory`` harvesting ``sources`` into a SQLite file there."""
    lines = ["[database]", f"url = {toml_value(database or f'sqlite:///{directory}/dcatwatch.db')}",
             "[http]"]
    http = {"allow_private_networks": True, "min_delay": 0, "retries": 0} | sections.pop("http", {})
    lines += [f"{key} = {toml_value(value)}" for key, value in http.items()]
    for name, values in sections.items():
        lines.append(f"[{name}]")
        lines += [f"{k} = {toml_value(v)}" for k, v in values.items()]
    for table, items in (("sources", sources), ("agencies", agencies or [])):
        for item in items:
            lines.append(f"[[{table}]]")
            lines += [f"{k} = {toml_value(v)}" for k, v in item.items()]
    path = directory / "dcatwatch.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run(*args: str) -> tuple[int, str, str]:
    """Run ``dcatwatch ARGS`` in this process; returns (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main(list(args))
        except SystemExit as exc:  # argparse usage errors
            status = int(exc.code or 0)
    return status, out.getvalue(), err.getvalue()


def harvest_json(config: Path, *sources: str) -> tuple[int, list[dict[str, Any]]]:
    """Run ``harvest --json`` and parse its output."""
    status, out, err = run("--config", str(config), "harvest", "--json", *sources)
    assert out, f"no output; stderr: {err}"
    return status, json.loads(out)


def sql(config: Path, query: str) -> list[tuple[Any, ...]]:
    """Rows of ``query`` against the database a test configuration points at."""
    import tomllib

    from sqlalchemy import create_engine, text

    url = tomllib.loads(config.read_text(encoding="utf-8"))["database"]["url"]
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(query))]
    finally:
        engine.dispose()



def stored_findings(config: Path) -> list[tuple[str | None, str]]:
    """(dataset IRI, code) of every metadata finding stored (packed rows unpacked), sorted."""
    import tomllib

    from dcatwatch.store.core import Store

    url = tomllib.loads(config.read_text(encoding="utf-8"))["database"]["url"]
    with Store.open(url) as store, store.read() as unit:
        rows = unit.findings.stored()
    return sorted(((row.dataset_iri, finding[0]) for row in rows
                   for finding in json.loads(row.findings)), key=lambda f: (f[0] or "", f[1]))


def check_links(store: Store, client: HttpClient, urls: Iterable[str], *, workers: int,
                timeout: float, recheck_hours: float, now: Callable[[], datetime],
                confirm_after_hours: float = 6.0, host_failures: int = 3,
                metrics: LinkMetrics | None = None) -> int:
    """One link round in a link engine of its own, with ``client``'s ``[http]`` settings and
    ``workers`` requests in flight at most; how many URLs were due."""
    settings = EngineSettings(client.settings, workers, timeout, recheck_hours,
                              confirm_after_hours, host_failures)
    with LinkEngine(store, settings, now=now, metrics=metrics,
                    on_response=client.on_response) as engine:
        return engine.check(urls)


def unavailable(reason: str) -> NoReturn:
    """Skip a test whose system tool or privilege this machine lacks; fail it in CI, whose
    .ci/run installs every such tool."""
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def system_tool(name: str, package: str) -> str:
    """The path of the program ``name`` (Debian package ``package``), else :func:`unavailable`."""
    found = shutil.which(name)
    if found is None:
        unavailable(f"{name} not found (apt-get install {package})")
    return found
