"""The daemon's link engine in its own process, against real loopback hosts: the checks are
stored by the child and each URL asked once; a data download here waits for its host's turn
in the child's lane; the child's figures reach this process's instruments; a store error
comes back as a store error; a child that dies fails its callers and is started again."""

from __future__ import annotations

import os
import signal
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from dcatwatch.config import HttpSettings, Settings, ValidationSettings
from dcatwatch.http.client import HttpClient
from dcatwatch.metrics import Instruments
from dcatwatch.store.core import Store, StoreError
from dcatwatch.validators.data import DataTarget, check_data
from dcatwatch.validators.linkprocess import LinkProcess
from tests.test_link_engine import Host, in_threads

NOW = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
HTTP = HttpSettings(allowed_networks=["127.0.0.0/8"], min_delay=0.05)


def settings_for(path: Path, **http: object) -> Settings:
    return Settings(database={"url": f"sqlite:///{path}"},
                    http=HTTP.model_copy(update=http),
                    validation=ValidationSettings(recheck_hours=0, link_timeout=5, workers=4))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(f"sqlite:///{tmp_path}/links.db") as opened:
        yield opened


def test_checks_are_stored_by_the_child_once_per_url_with_figures_here(
        tmp_path: Path, store: Store) -> None:
    host = Host("127.0.0.2", delay=0.01)
    instruments = Instruments(CollectorRegistry())
    progress: list[tuple[str, int, int]] = []
    try:
        urls = [host.url(f"/f/{n}.csv") for n in range(20)]
        with LinkProcess(settings_for(tmp_path / "links.db"), instruments) as links:
            links.feed(urls[:10])
            in_threads(links.check, [urls, urls[::-1], urls[5:]])
            assert links.check(urls, lambda *step: progress.append(step)) == 20
            time.sleep(0.7)  # one report of the child's figures
        assert host.paths() == Counter({f"/f/{n}.csv": 2 for n in range(20)})
        assert host.most_at_once() == 1 and min(host.gaps()) >= 0.05 - 0.002
        with store.read() as unit:
            rows = unit.checks.history(urls)
        assert len(rows) == 20 and {row.verdict for row in rows.values()} == {"ok"}
        assert progress[0] == ("links", 0, 20) and progress[-1] == ("links", 20, 20)
        assert instruments.link_checks.labels("ok")._value.get() == 40
        assert instruments.http_requests.labels("2xx")._value.get() == 40
        assert instruments.link_round_duration._value.get() > 0
    finally:
        host.close()


def test_a_download_here_waits_for_its_hosts_turn_in_the_child(
        tmp_path: Path, store: Store) -> None:
    host = Host("127.0.0.2", delay=0.03)
    settings = settings_for(tmp_path / "links.db", min_delay=0.1)
    try:
        links_urls = [host.url(f"/link/{n}.csv") for n in range(6)]
        files = [DataTarget(host.url(f"/data/{n}.csv"), "csv") for n in range(6)]
        with LinkProcess(settings) as lanes, HttpClient(settings.http) as client:
            data = threading.Thread(target=check_data, args=(store, client, files,
                                                             settings.validation),
                                    kwargs={"now": lambda: NOW, "lanes": lanes})
            data.start()
            lanes.check(links_urls)
            data.join(30)
        assert sum(host.paths().values()) == 12
        assert host.most_at_once() == 1
        assert min(host.gaps()) >= 0.1 - 0.002
        with store.read() as unit:
            assert len(unit.checks.data_checks([f.url for f in files])) == 6
    finally:
        host.close()


def test_a_store_error_in_the_child_is_a_store_error_here(tmp_path: Path) -> None:
    host = Host("127.0.0.2")
    database = tmp_path / "links.db"
    Store.open(f"sqlite:///{database}").close()
    try:
        with LinkProcess(settings_for(database)) as links:
            links.check([host.url("/ok.csv")])
            with sqlite3.connect(database) as broken:  # the child's writes now fail
                broken.execute("ALTER TABLE link_check RENAME TO link_check_gone")
            with pytest.raises(StoreError) as raised:
                links.check([host.url("/other.csv")])
            assert "link_check" in str(raised.value)
    finally:
        host.close()


def test_a_child_that_dies_fails_its_callers_and_is_started_again(tmp_path: Path) -> None:
    host = Host("127.0.0.2", delay=0.2)
    try:
        with LinkProcess(settings_for(tmp_path / "links.db")) as links:
            urls = [host.url(f"/slow/{n}.csv") for n in range(50)]
            errors: list[BaseException] = []

            def check() -> None:
                try:
                    links.check(urls)
                except RuntimeError as exc:
                    errors.append(exc)
            waiting = threading.Thread(target=check)
            waiting.start()
            time.sleep(1.0)
            assert links._process is not None and links._process.pid is not None
            os.kill(links._process.pid, signal.SIGKILL)
            waiting.join(10)
            assert not waiting.is_alive()
            assert len(errors) == 1 and "ended (exit code -9)" in str(errors[0])
            assert links.check([host.url("/after.csv")]) == 1  # a new child
        assert host.paths()["/after.csv"] == 1
    finally:
        host.close()


def test_the_child_ends_with_its_parent_and_ignores_terminal_signals(tmp_path: Path) -> None:
    with LinkProcess(settings_for(tmp_path / "links.db")) as links:
        assert links._process is not None
        child = links._process
        assert child.pid is not None
        os.kill(child.pid, signal.SIGINT)
        os.kill(child.pid, signal.SIGTERM)
        time.sleep(0.3)
        assert child.is_alive()
        with open(f"/proc/{child.pid}/comm", encoding="ascii") as comm:
            assert comm.read().strip() == "dcatwatch-links"
    assert not child.is_alive() and child.exitcode == 0
