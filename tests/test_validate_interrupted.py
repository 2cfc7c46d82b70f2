"""``dcatwatch validate`` stopped: Ctrl-C ends it with one line and exit status 130, its run
marked failed (interrupted); a run left ``running`` by a killed ``validate`` is marked failed
and done again by the next ``validate``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.helpers import harvest_json, sql, write_config
from tests.servers import LoopbackServer, Response
from tests.test_daemon_pool import catalogue

DATASETS = 1500  # the metadata stage takes a while


def _cli(config: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "dcatwatch", "--config", str(config),
                             "validate"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=os.environ | {"PYTHONUNBUFFERED": "1"})


def _wait_running(config: Path, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while sql(config, "SELECT status FROM validation_run") != [("running",)]:
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.02)


def _harvested(server: LoopbackServer, tmp_path: Path, datasets: int, **sections: dict) -> Path:
    server.route("/catalog.ttl", catalogue(server.url(""), datasets),
                 content_type="text/turtle")
    config = write_config(tmp_path, [{"name": "stor", "type": "dcat",
                                      "url": server.url("/catalog.ttl")}], **sections)
    status, [result] = harvest_json(config)
    assert status == 0, result
    return config


def test_ctrl_c_in_the_metadata_stage_fails_the_run_cleanly(
        server: LoopbackServer, tmp_path: Path) -> None:
    config = _harvested(server, tmp_path, DATASETS, validation={"data": False})
    process = _cli(config)
    _wait_running(config, process)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert err.strip().splitlines()[-1] == "dcatwatch: interrupted", err
    assert "Traceback" not in err and "UnboundLocalError" not in err
    [(status, summary)] = sql(config, "SELECT status, summary FROM validation_run")
    assert status == "failed"
    assert "interrupted" in json.loads(summary)["error"]["message"]


def test_validate_redoes_a_run_a_killed_validate_left_running(
        server: LoopbackServer, tmp_path: Path) -> None:
    config = _harvested(server, tmp_path, 30, validation={"data": False, "link_timeout": 30})
    slow = True

    def link(_request: object) -> Response:
        return Response(200, b"a,b\n1,2\n", {"Content-Type": "text/csv"},
                        delay=5.0 if slow else 0.0)
    for i in range(30):
        server.handle(f"/files/d{i}.csv", link)
    process = _cli(config)
    _wait_running(config, process)
    deadline = time.monotonic() + 60
    while not any(r.path.startswith("/files/") for r in server.requests):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    process.kill()
    process.communicate(timeout=30)
    assert sql(config, "SELECT status FROM validation_run") == [("running",)]

    slow = False
    again = _cli(config)
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    assert "left running by a stopped process" in err
    rows = sql(config, "SELECT status, summary FROM validation_run ORDER BY id")
    assert [status for status, _ in rows] == ["failed", "ok"]
    assert "interrupted" in json.loads(rows[0][1])["error"]["message"]
    assert sql(config, "SELECT count(*) FROM link_check WHERE reachable") == [(30,)]
    listed = subprocess.run([sys.executable, "-m", "dcatwatch", "--config", str(config),
                             "runs"], capture_output=True, text=True, check=True).stdout
    assert "interrupted" in listed  # the error column names why
