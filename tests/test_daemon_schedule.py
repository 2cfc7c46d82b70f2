"""The daemon's parts in-process: cron semantics, schedule state in the store, recovery,
coalescing, options and readiness."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert, select

from dcatwatch.config import DaemonSettings, ReportsSettings, Settings, SourceSettings
from dcatwatch.cron import crontab, fire_times_between, next_after
from dcatwatch.errors import ConfigError
from dcatwatch.http.client import HttpClient
from dcatwatch.metrics import Instruments, new_registry
from dcatwatch.schedules import state
from dcatwatch.schedules.active import ActiveWork
from dcatwatch.schedules.checks import Checks, Scoring
from dcatwatch.schedules.daemon import Daemon
from dcatwatch.schedules.pending import Pending
from dcatwatch.schedules.store_watch import StoreWatch
from dcatwatch.store.core import Store
from dcatwatch.store.db import open_store
from dcatwatch.store.tables import RUNS, SCHEDULES, SOURCES
from dcatwatch.validators.linkengine import link_engine

UTC_NOON = datetime(2026, 6, 13, 12, 0, tzinfo=UTC)  # a Saturday in summer (UTC+2 in Sweden)


@pytest.fixture
def engine(database_url: str) -> Engine:
    return open_store(database_url)


def _sources(engine: Engine, *names: str) -> None:
    with engine.begin() as conn:
        for name in names:
            conn.execute(insert(SOURCES).values(name=name, type="dcat", url="http://x/",
                                                      schedule="0 5 * * *", enabled=True,
                                                      datasets=0))


def test_cron_is_crontab_in_stockholm_time() -> None:
    daily = crontab("0 5 * * *")
    assert next_after(daily, UTC_NOON) == datetime(2026, 6, 14, 3, 0, tzinfo=UTC)  # CEST
    winter = datetime(2026, 12, 12, 12, 0, tzinfo=UTC)
    assert next_after(daily, winter) == datetime(2026, 12, 13, 4, 0, tzinfo=UTC)  # CET
    # crontab weekdays: 0 and 7 are Sunday, 1-5 Monday to Friday (APScheduler 3 differs)
    assert next_after(crontab("0 5 * * 0"), UTC_NOON).weekday() == 6
    assert next_after(crontab("0 5 * * 7"), UTC_NOON).weekday() == 6
    assert next_after(crontab("0 5 * * 1-5"), UTC_NOON).weekday() == 0
    assert next_after(crontab("0 5 * * */2"), UTC_NOON).weekday() == 6  # sun, tue, thu, sat
    assert next_after(crontab("0 5 * * sat"), UTC_NOON).weekday() == 5
    fire = next_after(daily, UTC_NOON)
    assert next_after(daily, fire) == fire + timedelta(days=1)  # strictly after
    with pytest.raises(ValueError, match="0–7"):
        crontab("0 5 * * 8")
    with pytest.raises(ValueError):
        crontab("61 5 * * *")


def test_cron_fires_on_either_restricted_day_and_refuses_what_is_not_cron() -> None:
    # cron: the 1st of the month or a Monday (APScheduler alone: only a Monday the 1st)
    either = crontab("0 5 1 * mon")
    fires, moment = [], datetime(2026, 5, 30, 12, 0, tzinfo=UTC)
    for _ in range(4):
        moment = next_after(either, moment)
        fires.append(moment.date().isoformat())
    assert fires == ["2026-06-01", "2026-06-08", "2026-06-15", "2026-06-22"]
    assert fire_times_between(either, datetime(2026, 6, 23, tzinfo=UTC),
                              datetime(2026, 7, 7, tzinfo=UTC)) == 3  # 29 June, 1 and 6 July
    assert next_after(crontab("0 5 1 * *"), UTC_NOON).day == 1
    for expression, reason in [("0 5 * * mon#2", "not cron"), ("0 5 * * 1#2", "not cron"),
                               ("0 5 L * *", "not cron"), ("0 5 15W * *", "not cron"),
                               ("0 5 last * *", "not cron"), ("0 5 * * 5L", "day name"),
                               ("0 5 * * monday", "day name")]:
        with pytest.raises(ValueError, match=reason):
            crontab(expression)


def test_fire_times_between_counts_what_was_missed() -> None:
    hourly = crontab("0 * * * *")
    assert fire_times_between(hourly, UTC_NOON, UTC_NOON + timedelta(hours=5)) == 5
    assert fire_times_between(hourly, UTC_NOON, UTC_NOON + timedelta(minutes=59)) == 0
    assert fire_times_between(crontab("* * * * *"), UTC_NOON, UTC_NOON + timedelta(days=7),
                              cap=100) == 100


def test_new_sources_are_due_at_once_and_runs_move_them_on(engine: Engine) -> None:
    _sources(engine, "a", "b", "c")
    daily = crontab("0 5 * * *")
    with Store(engine).write() as unit:
        unit.schedules.sync({"a": "0 5 * * *", "b": "0 5 * * *", "c": "0 5 * * *"},
                            UTC_NOON, lambda _name: next_after(daily, UTC_NOON))
        assert [d.source for d in state.due(unit, UTC_NOON, set(), 10)] == ["a", "b", "c"]
        assert [d.source for d in state.due(unit, UTC_NOON, {"b"}, 10)] == ["a", "c"]
        assert len(state.due(unit, UTC_NOON, set(), 2)) == 2
        unit.schedules.set_next_run("a", next_after(daily, UTC_NOON))
        [b, _c] = state.due(unit, UTC_NOON, set(), 10)
        assert (b.source, b.due_at) == ("b", UTC_NOON)
        # a failed run is retried by a time, unless it is due sooner anyway
        unit.schedules.retry_by("a", UTC_NOON + timedelta(hours=1))
        unit.schedules.retry_by("a", UTC_NOON + timedelta(hours=3))
        [a] = state.due(unit, UTC_NOON + timedelta(hours=2), {"b", "c"}, 10)
        assert a.due_at == UTC_NOON + timedelta(hours=1)


def test_sync_follows_the_configuration(engine: Engine) -> None:
    _sources(engine, "a", "b")
    daily = crontab("0 5 * * *")
    later = UTC_NOON + timedelta(days=1)
    with Store(engine).write() as unit:
        unit.schedules.sync({"a": "0 5 * * *", "b": "0 5 * * *"}, UTC_NOON,
                            lambda _name: next_after(daily, UTC_NOON))
        unit.schedules.set_next_run("a", later)
        unit.schedules.set_next_run("b", later)
        unit.schedules.sync({"a": "0 6 * * *"}, UTC_NOON,
                            lambda _name: next_after(crontab("0 6 * * *"), UTC_NOON))
    with engine.connect() as conn:
        rows = {r.source: (r.schedule, state.as_utc(r.next_run_at))
                for r in conn.execute(select(SCHEDULES))}
    assert rows == {"a": ("0 6 * * *", datetime(2026, 6, 14, 4, 0, tzinfo=UTC))}


def test_runs_left_running_are_marked_failed_and_retried_at_once(engine: Engine) -> None:
    _sources(engine, "a", "b")
    with Store(engine).write() as unit:
        unit.schedules.sync({"a": "0 5 * * *", "b": "0 5 * * *"}, UTC_NOON,
                            lambda _name: UTC_NOON)
        unit.schedules.set_next_run("a", UTC_NOON + timedelta(days=1))
        unit.schedules.set_next_run("b", UTC_NOON + timedelta(days=1))
    with engine.begin() as conn:
        for source, status in (("a", "running"), ("b", "ok")):
            conn.execute(insert(RUNS).values(source=source, started_at=UTC_NOON,
                                                   status=status, errors="[]"))
    restart = UTC_NOON + timedelta(minutes=5)
    with Store(engine).write() as unit:
        assert state.recover_interrupted(unit, restart) == ["a"]
        assert state.recover_interrupted(unit, restart) == []
        [due] = state.due(unit, restart, set(), 10)
    with engine.connect() as conn:
        runs = {r.source: r for r in conn.execute(select(RUNS))}
        sources = {r.name: r.last_status for r in conn.execute(select(SOURCES))}
    assert runs["a"].status == "failed" and runs["b"].status == "ok"
    assert json.loads(runs["a"].errors)[0]["code"] == "run.internal"
    assert sources == {"a": "failed", "b": None}
    assert (due.source, due.due_at) == ("a", restart)


def test_scoring_requests_merge_while_queued_and_run_once_more_after_a_running_one(
        tmp_path: Path) -> None:
    store = Store(open_store(f"sqlite:///{tmp_path}/s.db"))
    work = ActiveWork()
    scoring = Scoring(store, work, StoreWatch(store, Instruments(new_registry())), Pending(),
                      threading.Event())
    runs: list[int] = []
    entered, release = threading.Event(), threading.Event()

    def scored() -> None:  # after each real scoring run, in the scoring thread
        runs.append(len(runs))
        entered.set()
        release.wait(5)

    scoring.scored = scored
    try:
        scoring.request()
        assert entered.wait(5)
        assert work.wait_idle(0) == ["scoring"]
        for _ in range(5):  # the first queues one more run, the others merge into it
            scoring.request()
        release.set()
        scoring.pool.shutdown(wait=True)  # after the queued run
        assert runs == [0, 1]
    finally:
        release.set()
        scoring.pool.shutdown(wait=True)
        store.close()


def test_a_validation_asked_again_while_it_runs_runs_once_more_after(tmp_path: Path) -> None:
    settings = Settings(database={"url": f"sqlite:///{tmp_path}/s.db"})
    store = Store(open_store(settings.database.url))
    instruments, work = Instruments(new_registry()), ActiveWork()
    client, links = HttpClient(settings.http), link_engine(settings, instruments)
    entered, release = threading.Semaphore(0), threading.Event()

    def validated() -> None:  # at the end of each real validation of every source
        entered.release()
        release.wait(5)

    checks = Checks(settings, store, instruments, client, links, work,
                    StoreWatch(store, instruments), Pending(), validated)
    try:
        checks.request(None)
        assert entered.acquire(timeout=5)
        assert checks.active() == {None}
        assert work.wait_idle(0) == ["validation (every source)"]
        for _ in range(3):  # merged into one more run after this one
            checks.request(None)
        release.set()
        assert entered.acquire(timeout=5)  # the second run
        assert not entered.acquire(timeout=0.5)  # and no third
        checks.pool.shutdown(wait=True)
        assert work.wait_idle(0) == [] and checks.active() == set()
    finally:
        release.set()
        checks.pool.shutdown(wait=True)
        links.stop()
        client.close()
        store.close()


def test_active_work_reports_what_outlives_the_grace() -> None:
    work = ActiveWork()
    done = threading.Event()

    def slow() -> None:
        with work.track("harvest slow"):
            done.wait(5)

    thread = threading.Thread(target=slow)
    thread.start()
    time.sleep(0.05)
    assert work.wait_idle(0.1) == ["harvest slow"]
    done.set()
    thread.join(5)
    assert work.wait_idle(0.1) == []

def test_the_daemon_takes_its_section_of_the_configuration(tmp_path: Path) -> None:
    chosen = Settings.model_validate({
        "daemon": {"max_concurrent_harvests": 2, "max_concurrent_checks": 3,
                   "shutdown_grace": 5.0},
        "reports": {"schedule": "0 8 2 * *"}})
    daemon = Daemon(chosen, Store(open_store(f"sqlite:///{tmp_path}/s.db")),
                    Instruments(new_registry()))
    try:
        assert daemon.options is chosen.daemon
        assert (daemon.options.max_concurrent_harvests, daemon.options.shutdown_grace,
                daemon.settings.reports.schedule, daemon.options.misfire_grace) == (
                    2, 5.0, "0 8 2 * *", DaemonSettings().misfire_grace)
        assert daemon.harvests.pool._max_workers == 2
        assert daemon.checks.pool._max_workers == 3  # the checks' own pool, beside the harvests
        # the link checks of every validation go to one engine of [validation] in_flight
        assert daemon.links.settings.in_flight == chosen.validation.in_flight
        assert DaemonSettings().max_concurrent_checks == 2  # more only slow the harvests
    finally:
        daemon.close()


def test_bad_crons_name_their_key(tmp_path: Path) -> None:
    # the configuration refuses these crons when it is loaded; settings built past that
    # check (model_construct/model_copy do not validate) are still refused by the daemon
    source = SourceSettings(name="a", type="dcat", url="http://x/").model_copy(
        update={"schedule": "0 5 * * 9"})
    settings = Settings().model_copy(update={"sources": [source]})
    engine = open_store(f"sqlite:///{tmp_path}/s.db")
    with pytest.raises(ConfigError, match=r"sources\[0\] \(a\)\.schedule"):
        Daemon(settings, Store(engine), Instruments(new_registry()))
    reports = ReportsSettings().model_copy(update={"schedule": "0 5 32 * *"})
    with pytest.raises(ConfigError, match=r"reports\.schedule"):
        daemon = Daemon(Settings().model_copy(update={"reports": reports}), Store(engine),
                        Instruments(new_registry()))
        try:
            daemon.prepare()
        finally:
            daemon.close()


def test_work_a_store_failure_left_undone_is_kept_until_taken() -> None:
    pending = Pending()
    assert not pending.any()
    early, late = datetime(2026, 1, 1, 3, tzinfo=UTC), datetime(2026, 1, 1, 4, tzinfo=UTC)
    pending.retry("a", late)
    pending.retry("a", early)  # the sooner retry wins
    pending.lose_harvest("a")
    pending.lose_validation(None)
    assert pending.any()
    taken = pending.take()
    assert not pending.any()
    assert (taken.retries, taken.harvests, taken.validations, taken.scoring) == (
        {"a": early}, {"a"}, {None}, False)
    pending.retry("a", late)
    pending.rescore()
    pending.put_back(taken)  # the flush failed: nothing is dropped
    again = pending.take()
    assert (again.retries, again.harvests, again.validations, again.scoring) == (
        {"a": early}, {"a"}, {None}, True)


def test_readiness_needs_a_running_scheduler(tmp_path: Path) -> None:
    engine = open_store(f"sqlite:///{tmp_path}/s.db")
    daemon = Daemon(Settings(), Store(engine), Instruments(new_registry()))
    try:
        assert daemon.readiness() == "scheduler not running"
        daemon.watch.failed("OperationalError: attempt to write a readonly database")
        assert daemon.readiness().startswith(
            "store not writable (OperationalError: attempt to write a readonly database)")
        daemon.watch_store()  # the write probe succeeds: ready again, as far as the store goes
        assert daemon.readiness() == "scheduler not running"
        daemon.stopping.set()
        assert daemon.readiness() == "shutting down"
    finally:
        daemon.close()
