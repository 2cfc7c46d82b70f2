"""One harvest of a source at a time: a second one, from another process, does nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import FIXTURES, ROOT
from tests.helpers import harvest_json, sql, write_config
from tests.servers import LoopbackServer, Stalling

CATALOG = (FIXTURES / "agency-catalog.ttl").read_bytes()


def test_a_second_harvest_of_a_running_source_does_nothing_and_says_so(
        server: LoopbackServer, tmp_path: Path, database_url: str) -> None:
    stalling = Stalling(CATALOG)
    url = server.handle("/catalog.ttl", stalling)
    config = write_config(tmp_path, [{"name": "exempel", "type": "dcat", "url": url}],
                          database=database_url)
    first = subprocess.Popen([sys.executable, "-m", "dcatwatch", "--config", str(config),
                              "harvest", "--json"], cwd=ROOT, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        assert stalling.started.wait(30), first.stderr and first.stderr.read()

        status, [second] = harvest_json(config)

        stalling.released.set()
        out, err = first.communicate(timeout=60)
    finally:
        stalling.released.set()
        first.kill() if first.poll() is None else None
    assert status == 1 and second["status"] == "failed"
    assert [e["code"] for e in second["errors"]] == ["run.busy"]
    assert first.returncode == 0, err
    assert [(r["status"], r["added"]) for r in json.loads(out)] == [("ok", 3)]
    # the busy harvest left no run and did not touch the source's state
    assert sql(config, "SELECT status FROM harvest_run") == [("ok",)]
    assert sql(config, "SELECT last_status FROM source") == [("ok",)]

    server.route("/catalog.ttl", CATALOG, content_type="text/turtle")
    status, [again] = harvest_json(config)  # the lock went with the first harvest
    assert status == 0 and (again["status"], again["unchanged"]) == ("ok", 3)
