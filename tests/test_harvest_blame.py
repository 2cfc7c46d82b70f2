"""Whose failure a failed harvest is: the monitor's own outage (a real temporary DNS failure
inside a loopback-only network namespace, ``unshare -rn``) is stored with its cause and blame,
shown to operators in ``harvest --json``, and never reaches the agency's report as the
agency's problem ("not checked this time" instead); a host name that does not exist (the real
NXDOMAIN of a reserved ``.invalid`` name) is the agency's and is reported. Skips cleanly where
``unshare`` is not permitted or no resolver answers NXDOMAIN."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.helpers import harvest_json
from tests.servers import LoopbackServer
from tests.test_link_blame import ROOT, needs_nxdomain, needs_unshare
from tests.test_reports import CATALOG, scores
from tests.test_reports_catalogue import (
    catalogue_source,
    configure,
    flat,
    harvest,
    preview,
    section,
)

UNRESOLVABLE = "http://data.dcatwatch-test.example/catalog.ttl"  # no resolver in the namespace
NO_SUCH_HOST = "http://data.dcatwatch-test.invalid/catalog.ttl"  # RFC 6761: never resolves


def harvest_in_namespace(config: Path) -> list[dict[str, Any]]:
    """``dcatwatch harvest --json`` in a new network namespace: no resolver, no route out."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        ["unshare", "-rn", sys.executable, "-m", "dcatwatch", "--config", str(config),
         "harvest", "--json", "exempel"],
        capture_output=True, text=True, timeout=240, env=env, cwd=ROOT)
    assert done.stdout, done.stderr
    return json.loads(done.stdout)


def harvested_then_moved(server: LoopbackServer, tmp_path: Path, url: str) -> Path:
    """A catalogue harvested well in April, whose source then points at ``url``."""
    source = catalogue_source(server, CATALOG)
    config = configure(tmp_path, [source])
    harvest(config, "ok")
    with sqlite3.connect(tmp_path / "dcatwatch.db") as db:
        db.execute("UPDATE harvest_run SET started_at = '2026-04-20 03:00:00.000000', "
                   "finished_at = '2026-04-20 03:00:05.000000'")
        db.execute("UPDATE source SET last_success_at = '2026-04-20 03:00:05.000000'")
    return configure(tmp_path, [{**source, "url": url}])


@needs_unshare
def test_the_monitors_own_dns_failure_is_not_checked_this_time_never_the_agencys_problem(
        server: LoopbackServer, tmp_path: Path) -> None:
    config = harvested_then_moved(server, tmp_path, UNRESOLVABLE)

    [result] = harvest_in_namespace(config)

    assert result["status"] == "failed"
    [error] = result["errors"]
    assert error["code"] == "fetch.connection"  # the code stays; cause and blame are added
    assert error["cause"] == "dns_temporary" and error["blame"] == "monitor", error
    with sqlite3.connect(tmp_path / "dcatwatch.db") as db:
        [(stored,)] = db.execute("SELECT errors FROM harvest_run WHERE status = 'failed'")
    assert json.loads(stored)[0]["blame"] == "monitor"
    scores(config)

    text, html = preview(config, tmp_path / "sv")
    mine = flat(section(text, "ER KATALOG", "METADATAKVALITET"))
    assert "Vi kunde inte kontrollera katalogen den här gången" in mine, mine
    assert "misslyckades" not in mine and "Det här behöver ni rätta" not in mine, mine
    assert "Vi kunde inte ansluta till servern" not in mine
    assert "Senast läst utan fel" not in mine  # no "failed since …"
    for raw in ("Errno", "Temporary failure", "Name or service", "getaddrinfo"):
        assert raw not in text and raw not in html
    body = flat(section(html, ">Er katalog</h2>", "<h2"))
    assert "Vi kunde inte kontrollera katalogen" in body and 'class="down"' not in body

    configure(tmp_path, [{"name": "exempel", "type": "dcat", "url": UNRESOLVABLE}],
              language="en")
    text, _ = preview(config, tmp_path / "en")
    mine = flat(section(text, "YOUR CATALOGUE", "METADATA QUALITY"))
    assert "We could not check the catalogue this time" in mine, mine
    assert "failed" not in mine and "What to fix" not in mine, mine


@needs_nxdomain
def test_a_host_name_that_does_not_exist_is_the_agencys_problem(
        server: LoopbackServer, tmp_path: Path) -> None:
    config = harvested_then_moved(server, tmp_path, NO_SUCH_HOST)

    _, [result] = harvest_json(config, "exempel")

    assert result["status"] == "failed"
    [error] = result["errors"]
    assert error["code"] == "fetch.connection"
    assert error["cause"] == "no_such_host" and error["blame"] == "agency", error
    scores(config)

    text, _ = preview(config, tmp_path / "sv")
    mine = flat(section(text, "ER KATALOG", "METADATAKVALITET"))
    assert "misslyckades: katalogen gick inte att läsa" in mine, mine
    assert "Senast läst utan fel 2026-04-20." in mine
    assert "Det här behöver ni rätta: 1. Vi kunde inte ansluta till servern" in mine, mine
    assert "kontrollera katalogen den här gången" not in mine
