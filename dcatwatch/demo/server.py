"""The demo: bundled example catalogues served on loopback, and a configuration watching them.

``site/`` (package data) holds three small, fictional, Swedish-looking catalogues (Turtle and
RDF/XML; four agencies with APIs, files and documents, one link broken on purpose, one
CSV with a short row), a dataportal.se-like dump repeating part of their datasets (so
``coverage`` has something to compare) and the files, API answers and documents they point
to. The
placeholder ``DEMO_SITE`` in a text file is replaced by the server's address when served.
"""

from __future__ import annotations

import json
import mimetypes
import os
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, Self

from dcatwatch.config import Settings

PLACEHOLDER = b"DEMO_SITE"
SCHEDULE = "*/15 * * * *"  # often enough to see a second (conditional, unchanged) run
CONTENT_TYPES = {".ttl": "text/turtle", ".rdf": "application/rdf+xml",
                 ".geojson": "application/geo+json", ".csv": "text/csv; charset=utf-8",
                 ".json": "application/json"}
TEXT = frozenset({".ttl", ".rdf", ".json", ".geojson", ".csv"})


@dataclass(frozen=True, slots=True)
class DemoSource:
    name: str
    path: str
    type: str = "dcat"


SOURCES = (DemoSource("demokoping", "/catalogues/demokoping.ttl"),
           DemoSource("exempelverket", "/catalogues/exempelverket.rdf"),
           DemoSource("samlingskatalog", "/catalogues/samlingskatalog.ttl"),
           DemoSource("dataportal", "/catalogues/dataportal.rdf", "dataportal"))
AGENCIES = (
    {"id": "2120009999", "name": "Demoköpings kommun", "email": "oppnadata@demokoping.example.se"},
    {"id": "2021009991", "name": "Exempelverket", "email": "oppnadata@exempelverket.example.se"},
    {"id": "2021009992", "name": "Länsstyrelsen i Exempellän",
     "email": "geodata@exempellan.example.se"},
    {"id": "2021009993", "name": "Myndigheten för fiktiva data",
     "email": "registret@fiktiva.example.se"},
    {"id": "2021009994", "name": "Exempelinspektionen",  # in the registry, publishes nothing
     "email": "registrator@exempelinspektionen.example.se"},
)


def _walk(folder: Traversable, prefix: str = "") -> dict[str, Traversable]:
    found: dict[str, Traversable] = {}
    for entry in folder.iterdir():
        path = f"{prefix}/{entry.name}"
        if entry.is_dir():
            found |= _walk(entry, path)
        else:
            found[path] = entry
    return found


class DemoSite:
    """The bundled site on ``http://127.0.0.1:<free port>`` in a background thread."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.httpd = ThreadingHTTPServer((host, port), _handler(self))
        self.httpd.daemon_threads = True
        self.base_url = f"http://{host}:{self.httpd.server_address[1]}"
        self.pages = {path: self._body(path, entry) for path, entry
                      in _walk(files("dcatwatch.demo").joinpath("site")).items()}
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="demo-site",
                                        daemon=True)

    def _body(self, path: str, entry: Traversable) -> tuple[str, bytes]:
        suffix = Path(path).suffix
        body = entry.read_bytes()
        if suffix in TEXT:
            body = body.replace(PLACEHOLDER, self.base_url.encode())
        content_type = CONTENT_TYPES.get(suffix) or mimetypes.guess_type(path)[0]
        return content_type or "application/octet-stream", body

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _handler(site: DemoSite) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self, with_body: bool) -> None:
            path = self.path.split("?")[0]
            if path == "/":
                index = "\n".join(f"{site.base_url}{p}" for p in sorted(site.pages))
                content_type, body = "text/plain; charset=utf-8", index.encode() + b"\n"
            elif path in site.pages:
                content_type, body = site.pages[path]
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if with_body:
                self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802
            self._answer(with_body=True)

        def do_HEAD(self) -> None:  # noqa: N802
            self._answer(with_body=False)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    return Handler


def default_directory() -> Path:
    """Where the demo keeps its store and configuration unless told otherwise:
    ``$XDG_STATE_HOME/dcatwatch-demo`` (``~/.local/state/dcatwatch-demo`` without it); kept
    after the demo stops so that its printed ``--config`` keeps working."""
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "dcatwatch-demo"


def demo_settings(settings: Settings, base_url: str, directory: Path) -> Settings:
    """``settings`` watching the demo site instead of its sources, with the demo registry,
    a SQLite store in ``directory`` and loopback allowed."""
    data: dict[str, Any] = settings.model_dump(exclude={"sources", "agencies", "database"})
    data["database"] = {"url": f"sqlite:///{directory / 'dcatwatch.db'}"}
    data["http"] |= {"allow_private_networks": True, "min_delay": 0.0}
    data["sources"] = [{"name": s.name, "type": s.type, "url": base_url + s.path,
                        "schedule": SCHEDULE} for s in SOURCES]
    data["agencies"] = [dict(a) for a in AGENCIES]
    return Settings.model_validate(data)


def write_config(settings: Settings, directory: Path) -> Path:
    """Write the demo's configuration to ``directory/dcatwatch.toml`` (for the CLI)."""
    lines = ["# Written by `dcatwatch serve --demo`: the demo's store and sources.",
             "[database]", f"url = {json.dumps(settings.database.url)}",
             "[server]", f"host = {json.dumps(settings.server.host)}",
             f"port = {settings.server.port}",
             "[http]", "allow_private_networks = true", "min_delay = 0"]
    for source in settings.sources:
        lines += ["[[sources]]", f"name = {json.dumps(source.name)}",
                  f"type = {json.dumps(source.type)}",
                  f"url = {json.dumps(source.url)}", f"schedule = {json.dumps(source.schedule)}"]
    for agency in settings.agencies:
        lines += ["[[agencies]]", f"id = {json.dumps(agency.id)}",
                  f"name = {json.dumps(agency.name, ensure_ascii=False)}",
                  f"email = {json.dumps(agency.email)}"]
    path = directory / "dcatwatch.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
