"""The demo catalogues harvested, validated and scored into a fresh store, as a web view
test needs them: the figures of every page are compared with ``scores --json`` and
``explain --json`` of that store."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dcatwatch.config import ReportsSettings, Settings
from dcatwatch.demo.server import DemoSite, demo_settings, write_config
from dcatwatch.metrics import MetricsServer, new_registry
from dcatwatch.metrics.server import Request, Response
from dcatwatch.store.core import Store
from dcatwatch.web.app import WebView
from tests.helpers import run
from tests.webpage import Node, parse


@dataclass
class ScoredSite:
    """A scored store of the demo catalogues, its configuration and ``scores --json``."""

    config: Path
    store: Store
    scores: dict[str, Any]

    def server(self, port: int = 0) -> MetricsServer:
        """The metrics server with the web view mounted (not started)."""
        return MetricsServer("127.0.0.1", port, new_registry(), lambda: None,
                             pages=WebView(self.store, ReportsSettings()).routes)

    def explain(self, iri: str) -> list[dict[str, Any]]:
        """``explain IRI --json``."""
        status, out, err = run("--config", str(self.config), "explain", iri, "--json")
        assert status == 0, err
        return list(json.loads(out))

    def datasets(self) -> list[dict[str, Any]]:
        """``datasets --json``."""
        status, out, err = run("--config", str(self.config), "datasets", "--json")
        assert status == 0, err
        return list(json.loads(out))


def scored_demo(directory: Path) -> ScoredSite:
    """Harvest, validate and score (with a snapshot) the demo catalogues into
    ``directory``."""
    with DemoSite() as site:
        config = write_config(demo_settings(Settings(), site.base_url, directory), directory)
        for command in (["harvest"], ["validate"], ["scores", "--snapshot"]):
            status, _, err = run("--config", str(config), *command)
            assert status == 0, (command, err)
    status, out, err = run("--config", str(config), "scores", "--json")
    assert status == 0, err
    return ScoredSite(config, Store.open(f"sqlite:///{directory / 'dcatwatch.db'}"),
                      json.loads(out))


def page(server: MetricsServer, target: str) -> tuple[Response, Node]:
    """The answer to GET ``target`` (via the route table) and its parsed HTML."""
    response = server.respond(Request.of(target))
    return response, parse(response.body.decode())
