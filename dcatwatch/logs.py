"""Structured logging: JSON lines for machines, readable lines for people.

:func:`configure` installs one stderr handler on the root logger: one JSON object per line
when stderr is not a terminal (a service's journal, a container log), ``time level logger:
message key=value …`` on a terminal. Every line carries the context known where it was
logged: the fields bound with :func:`log_context` / :func:`bind` (``source``, ``run_id``,
``job``) and the ``extra`` a call passes (``code``, ``url``, ``agency``, ``summary``); a
field bound to None is left out. Context lives in a
:class:`~contextvars.ContextVar`, so each harvest thread has its own.

    with log_context(source="skatteverket"):
        bind(run_id=42)
        log.warning("page failed", extra={"code": "fetch.timeout", "url": url})
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, TextIO

FIELDS = ("source", "run_id", "job", "code", "url", "agency", "summary")
_CONTEXT: ContextVar[Mapping[str, Any]] = ContextVar("dcatwatch_log_context",
                                                     default=MappingProxyType({}))


@contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Add ``fields`` to every line logged in this block (in this thread or task)."""
    token = _CONTEXT.set({**_CONTEXT.get(), **fields})
    try:
        yield
    finally:
        _CONTEXT.reset(token)


def bind(**fields: Any) -> None:
    """Add ``fields`` to the current context until the enclosing :func:`log_context` ends."""
    _CONTEXT.set({**_CONTEXT.get(), **fields})


class ContextFilter(logging.Filter):
    """Copies the bound context onto each record (``record.context``); never drops one."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = {k: v for k, v in _CONTEXT.get().items() if v is not None}
        for name in FIELDS:
            value = record.__dict__.get(name)
            if value is not None:
                context[name] = value
        record.context = context
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, context, exception."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **getattr(record, "context", {}),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """``HH:MM:SS LEVEL logger: message key=value …`` for a terminal."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        context = getattr(record, "context", {})
        if not context:
            return text
        head, newline, trace = text.partition("\n")
        pairs = " ".join(f"{key}={value}" for key, value in context.items())
        return f"{head}  [{pairs}]{newline}{trace}"


def configure(level: str = "warning", stream: TextIO | None = None,
              json_lines: bool | None = None) -> logging.Handler:
    """Log to ``stream`` (stderr) at ``level``: JSON lines unless it is a terminal."""
    stream = stream or sys.stderr
    if json_lines is None:
        json_lines = not stream.isatty()
    handler = logging.StreamHandler(stream)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter() if json_lines else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    return handler
