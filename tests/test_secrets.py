"""Secrets are never stored or printed: a source URL with a user name or password is refused
(use [sources.auth]); a URL with userinfo met while fetching is left out of every message."""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path

from tests.conftest import FIXTURES
from tests.helpers import harvest_json, run, write_config
from tests.servers import LoopbackServer

CATALOG = (FIXTURES / "agency-catalog.ttl").read_bytes()
SECRET = "s3cret-Pa55"


def dcatwatch(config: Path, *args: str, env: dict[str, str] | None = None
              ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dcatwatch", "--log-level", "debug",
                           "--config", str(config), *args], capture_output=True, text=True,
                          timeout=120, env=env)


def _stored_bytes(directory: Path) -> bytes:
    """Every byte of the SQLite database (and its WAL) in ``directory``."""
    return b"".join(path.read_bytes() for path in sorted(directory.glob("dcatwatch.db*")))


def test_a_source_url_with_credentials_is_refused(server: LoopbackServer,
                                                  tmp_path: Path) -> None:
    server.route("/c.ttl", CATALOG, content_type="text/turtle")
    clean = {"name": "src", "type": "dcat", "url": server.url("/c.ttl")}
    config = write_config(tmp_path, [clean])
    assert harvest_json(config)[0] == 0  # the store exists and knows the source
    secret_url = server.url("/c.ttl").replace("http://", f"http://harvester:{SECRET}@")
    config = write_config(tmp_path, [clean | {"url": secret_url}])
    for command in (("config", "check"), ("harvest", "--json"), ("harvest",), ("serve",)):
        done = dcatwatch(config, *command)
        assert done.returncode == 2, command
        assert done.stdout == ""
        assert SECRET not in done.stderr and "harvester" not in done.stderr
        line = done.stderr.strip()
        assert "\n" not in line and "Traceback" not in line
        assert line.startswith("dcatwatch: configuration error: sources[0] (src).url: ")
        assert "http://***@127.0.0.1:" in line
        assert "[sources.auth] username and password_env" in line
    assert len(server.requests) == 1  # only the clean harvest fetched anything
    assert SECRET.encode() not in _stored_bytes(tmp_path)


def test_credentials_belong_in_auth_and_are_never_stored(server: LoopbackServer,
                                                         tmp_path: Path) -> None:
    server.route("/c.ttl", CATALOG, content_type="text/turtle")
    config = write_config(tmp_path, [{"name": "src", "type": "dcat", "url": server.url("/c.ttl"),
                                      "auth": {"username": "harvester",
                                               "password_env": "SRC_PASSWORD"}}])
    import os

    done = dcatwatch(config, "harvest", "--json", env=os.environ | {"SRC_PASSWORD": SECRET})
    assert done.returncode == 0, done.stderr
    sent = server.requests[-1].headers["authorization"]
    assert sent == "Basic " + base64.b64encode(f"harvester:{SECRET}".encode()).decode()
    assert SECRET not in done.stdout + done.stderr
    assert SECRET.encode() not in _stored_bytes(tmp_path)


def test_a_redirect_to_a_url_with_credentials_is_not_echoed(server: LoopbackServer,
                                                           tmp_path: Path) -> None:
    # the publisher's server redirects to a URL with userinfo, on a closed port
    target = f"http://harvester:{SECRET}@127.0.0.1:1/c.ttl"
    server.route("/c.ttl", status=302, headers={"Location": target})
    config = write_config(tmp_path, [{"name": "src", "type": "dcat",
                                      "url": server.url("/c.ttl")}])
    done = dcatwatch(config, "harvest", "--json")
    assert done.returncode == 1
    assert SECRET not in done.stdout and SECRET not in done.stderr  # JSON and debug logs
    assert "harvester" not in done.stdout
    assert "redirected to http://127.0.0.1:1/c.ttl" in done.stdout
    assert "fetch.connection" in done.stdout
    status, out, _ = run("--config", str(config), "harvest")
    assert status == 1 and SECRET not in out and "127.0.0.1:1" in out
    stored = _stored_bytes(tmp_path)
    assert b"fetch.connection" in stored  # the run and its error were stored …
    assert SECRET.encode() not in stored and b"harvester" not in stored  # … without it
