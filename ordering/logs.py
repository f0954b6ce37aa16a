"""Logs: one JSON object per line, the same from web workers, the scheduler and the CLI.

Every line has ``time``, ``level``, ``logger`` and ``message``; lines written while a request is
served also carry its ``correlationId``, ``organisationId``, ``clientName``, ``method`` and
``route`` (bound by the HTTP layer with ``bind``), and the access line its ``status`` and
``durationMs``. The level is ``LOG_LEVEL`` (default ``INFO``). Nothing here opens a connection:
gunicorn's master imports it (``ordering.http.gunicorn_config``) before it forks.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from datetime import UTC, date, datetime, time
from typing import Any

DEFAULT_LEVEL = "INFO"
QUIET_LOGGERS = {"apscheduler": "WARNING", "werkzeug": "WARNING", "urllib3": "WARNING"}
_context: ContextVar[Mapping[str, Any] | None] = ContextVar("log_context", default=None)
# Fields read when a line is written (the HTTP layer adds the request's: correlation id, caller).
context_providers: list[Callable[[], Mapping[str, Any]]] = []
_process: dict[str, str] = {}


# What every LogRecord has of its own; anything else on a record came in ``extra``.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message", "asctime", "taskName"}


class JsonLogFormatter(logging.Formatter):
    """``{"time", "level", "logger", "message", ...extra, ...the bound context}``, with
    ``exc_info`` and ``stack_info`` when the record has them. Built by hand: a line is written
    for every request and every change, and a general JSON formatter cost several times this."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname, "logger": record.name, "message": record.getMessage()}
        for key, value in record.__dict__.items():
            if key not in _RECORD_ATTRIBUTES:
                entry[key] = value
        for fields in (_context.get() or {}, *(provide() for provide in context_providers)):
            for key, value in fields.items():
                if value is not None:
                    entry.setdefault(key, value)
        if "kind" in _process:
            entry.setdefault("process", _process["kind"])
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=_plain)


def _plain(value: Any) -> Any:
    """What JSON has no type for: datetimes as ISO 8601, anything else as its text."""
    return value.isoformat() if isinstance(value, datetime | date | time) else str(value)


def bind(**fields: Any) -> None:
    """Add fields to every line this thread (or task) logs until ``clear``."""
    _context.set({**(_context.get() or {}), **{k: v for k, v in fields.items() if v is not None}})


def clear() -> None:
    _context.set(None)


def level_from_environment(environ: Mapping[str, str] | None = None) -> str:
    level = (environ if environ is not None else os.environ).get("LOG_LEVEL", DEFAULT_LEVEL).upper()
    return level if level in logging.getLevelNamesMapping() else DEFAULT_LEVEL


def configure_logging(process: str, level: str | None = None) -> None:
    """JSON lines on stderr from the root logger; once per process (gunicorn may have done it).
    ``process`` (web, scheduler, cli) is written on every line."""
    _process["kind"] = process
    root = logging.getLogger()
    root.setLevel(level or level_from_environment())
    for name, quiet in QUIET_LOGGERS.items():
        logging.getLogger(name).setLevel(quiet)
    if any(isinstance(h.formatter, JsonLogFormatter) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLogFormatter())
    root.addHandler(handler)


def gunicorn_logconfig(level: str | None = None) -> dict[str, Any]:
    """gunicorn's ``logconfig_dict``: its own lines in the same JSON; its access log is off, the
    service writes the access line itself (with route, organisation and correlation id)."""
    chosen = level or level_from_environment()
    _process.setdefault("kind", "web")
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": f"{__name__}.JsonLogFormatter"}},
        "handlers": {"json": {"class": "logging.StreamHandler", "formatter": "json",
                              "stream": "ext://sys.stderr"},
                     "discard": {"class": "logging.NullHandler"}},
        "root": {"level": chosen, "handlers": ["json"]},
        "loggers": {
            "gunicorn.error": {"level": chosen, "handlers": ["json"], "propagate": False},
            "gunicorn.access": {"level": "CRITICAL", "handlers": ["discard"], "propagate": False},
            **{name: {"level": quiet} for name, quiet in QUIET_LOGGERS.items()},
        },
    }
