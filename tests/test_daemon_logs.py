"""Structured logs: JSON lines off a terminal, readable lines on one, context per thread."""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Iterator

import pytest

from dcatwatch.logs import bind, configure, log_context

log = logging.getLogger("dcatwatch.test")


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def test_json_lines_carry_the_context(restore_logging: None) -> None:
    stream = io.StringIO()  # not a terminal
    configure("info", stream)
    with log_context(source="exempel"):
        log.info("harvest started")
        bind(run_id=7)
        log.warning("page failed", extra={"code": "fetch.timeout", "url": "http://x/"})
    log.info("outside")
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("broken")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["message"] for line in lines] == ["harvest started", "page failed",
                                                   "outside", "broken"]
    assert lines[0]["source"] == "exempel" and "run_id" not in lines[0]
    assert {k: lines[1][k] for k in ("level", "logger", "source", "run_id", "code", "url")} == {
        "level": "warning", "logger": "dcatwatch.test", "source": "exempel", "run_id": 7,
        "code": "fetch.timeout", "url": "http://x/"}
    assert "source" not in lines[2] and lines[2]["time"].endswith("+00:00")
    assert "ValueError: boom" in lines[3]["exception"]


def test_a_terminal_gets_readable_lines(restore_logging: None) -> None:
    stream = _Terminal()
    configure("info", stream)
    with log_context(source="exempel", run_id=3):
        log.info("harvest ok")
    log.debug("hidden")
    [line] = stream.getvalue().splitlines()
    assert line.endswith("INFO dcatwatch.test: harvest ok  [source=exempel run_id=3]")


def test_each_thread_has_its_own_context(restore_logging: None) -> None:
    stream = io.StringIO()
    configure("info", stream)

    def harvest(name: str) -> None:
        with log_context(source=name):
            log.info("done")

    with log_context(job="dispatcher"):
        threads = [threading.Thread(target=harvest, args=(n,)) for n in ("a", "b")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert sorted(line["source"] for line in lines) == ["a", "b"]
    assert not any("job" in line for line in lines)  # a new thread starts with no context


def test_structured_extras_and_unbound_fields(restore_logging: None) -> None:
    stream = io.StringIO()
    configure("info", stream)
    with log_context(source="exempel", run_id=4), log_context(source=None, job="scoring"):
        log.info("validated", extra={"summary": {"distributions": 3, "invalid": 1}})
    [line] = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert line["summary"] == {"distributions": 3, "invalid": 1}
    assert (line["job"], line["run_id"], "source" in line) == ("scoring", 4, False)
