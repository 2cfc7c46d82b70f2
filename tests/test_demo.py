"""`dcatwatch serve --demo` as a new user meets it: it harvests the bundled catalogues (a
dataportal.se-like dump among them), logs where it keeps its store, and that store and the
printed configuration stay usable after it stops."""

from __future__ import annotations

import json
import re
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import run, write_config
from tests.test_daemon import LEVELS, Daemon, daemons, free_port  # noqa: F401 - a fixture

__all__ = ["daemons"]


def test_serve_demo_harvests_the_bundled_catalogues_and_keeps_its_directory(
        tmp_path: Path, daemons: list[Daemon], monkeypatch: pytest.MonkeyPatch) -> None:
    state = tmp_path / "state"
    monkeypatch.setenv("XDG_STATE_HOME", str(state))  # the daemon's default demo directory
    port = free_port()
    config = write_config(tmp_path, [], server={"host": "127.0.0.1", "port": port})
    demo = Daemon(config, port, "--demo")
    daemons.append(demo)
    samples = demo.wait_for(lambda s: sum(  # 12 datasets harvested and scored, each once
        v for (name, _), v in s.items() if name == "dcatwatch_agency_datasets") == 12 and sum(
        v for (name, _), v in s.items() if name == "dcatwatch_source_datasets") == 15)
    assert sum(1 for name, _ in samples if name == "dcatwatch_agency_info") == 5
    assert [v for (name, _), v in samples.items() if name == "dcatwatch_source_up"] == [1] * 4
    levels = {dict(labels)["level"] for (name, labels), v in samples.items()
              if name == "dcatwatch_agency_datasets" and v}
    assert levels == set(LEVELS)  # APIs, files, documents and one unclassifiable

    # the banner is a log record (JSON lines: stderr is no terminal), not a stray line
    lines = demo.output().splitlines()
    records = [json.loads(line) for line in lines if line.startswith("{")]
    assert len(records) == len(lines), [line for line in lines if not line.startswith("{")]
    [banner] = [r for r in records if "try: dcatwatch --config" in r["message"]]
    written = re.search(r"try: dcatwatch --config (\S+) scores", banner["message"])
    assert written
    directory = state / "dcatwatch-demo"
    assert Path(written.group(1)) == directory / "dcatwatch.toml"
    assert str(directory) in banner["message"]
    # issue 23: the first validation round of a fresh demo fails nowhere (its dataportal-like
    # source lists the agencies' URLs again, validated at the same time as theirs)
    validations = _validations(written.group(1), sources=4)
    assert {run["status"] for run in validations} == {"ok"}, validations
    assert demo.stop(signal.SIGTERM)[0] == 0, demo.output()

    # after the stop: the printed configuration still works
    assert (directory / "dcatwatch.toml").exists()
    status, out, err = run("--config", written.group(1), "scores", "--json")
    assert status == 0, err
    scores = json.loads(out)
    assert len(scores["agencies"]) == 5 and scores["national"]["datasets"] == 12
    status, out, err = run("--config", written.group(1), "coverage", "--json")
    assert status == 0, err
    coverage = {c["agency"]: c for c in json.loads(out)}
    assert set(coverage) == {"2021009991", "2120009999"}
    status, out, err = run("--config", written.group(1), "datasets", "--json")
    assert status == 0 and len(json.loads(out)) == 15, err


def _validations(config: str, sources: int, wait: float = 90.0) -> list[dict[str, Any]]:
    """The validation runs once every source has one and none is running."""
    deadline = time.monotonic() + wait
    while True:
        status, out, err = run("--config", config, "runs", "--json")
        assert status == 0, err
        runs = [r for r in json.loads(out) if r["kind"] == "validation"]
        done = {r["source"] for r in runs if r["status"] != "running"}
        if len(done) >= sources and all(r["status"] != "running" for r in runs):
            return runs
        assert time.monotonic() < deadline, runs
        time.sleep(0.5)
