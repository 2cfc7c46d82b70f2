"""Runs always end: a `dcatwatch serve` killed (SIGKILL) while checking slow links leaves its
validation run `running`; the next start marks it failed (interrupted), counts it, and
redoes the validation."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest

from tests.helpers import sql, write_config
from tests.servers import LoopbackServer
from tests.test_daemon import Daemon, daemons, free_port, value  # noqa: F401 - fixture
from tests.test_daemon_pool import AGENCY, LinkHost, catalogue, link_host  # noqa: F401
from tests.test_store_outage import wait_rows

DATASETS = 20


@pytest.mark.slow
def test_sigkill_mid_validation_then_restart_redoes_it(
        server: LoopbackServer, link_host: LinkHost, tmp_path: Path,
        daemons: list[Daemon]) -> None:
    server.route("/catalog.ttl", catalogue(link_host.base, DATASETS),
                 content_type="text/turtle")
    port = free_port()
    config = write_config(
        tmp_path, [{"name": "stor", "type": "dcat", "url": server.url("/catalog.ttl")}],
        agencies=[{"id": AGENCY, "name": "Skatteverket"}],
        server={"host": "127.0.0.1", "port": port}, validation={"link_timeout": 10})
    killed = Daemon(config, port)
    daemons.append(killed)
    wait_rows(config, "SELECT status FROM validation_run", [("running",)], killed)
    deadline = time.monotonic() + 30
    while not link_host.hits:  # checking links now
        assert time.monotonic() < deadline, killed.output()
        time.sleep(0.1)
    assert killed.stop(signal.SIGKILL)[0] == -signal.SIGKILL
    assert sql(config, "SELECT status FROM validation_run") == [("running",)]
    assert sql(config, "SELECT count(*) FROM link_check WHERE reachable") != [(DATASETS,)]

    link_host.fast.set()
    restarted = Daemon(config, port)
    daemons.append(restarted)
    samples = restarted.wait_for(
        lambda s: value(s, "dcatwatch_runs_interrupted_total", kind="validation") == 1)
    assert value(samples, "dcatwatch_runs_interrupted_total", kind="harvest") == 0
    wait_rows(config, "SELECT status FROM validation_run ORDER BY id",
              [("failed",), ("ok",)], restarted)
    failed = json.loads(sql(config, "SELECT summary FROM validation_run ORDER BY id")[0][0])
    assert "interrupted" in failed["error"]["message"]
    assert sql(config, "SELECT count(*) FROM link_check WHERE reachable") == [(DATASETS,)]
    # the source was harvested once: the redone work is the validation, not the harvest
    assert sql(config, "SELECT status FROM harvest_run") == [("ok",)]
    assert restarted.stop()[0] == 0, restarted.output()
