"""Logs: one JSON object per line, the same from web workers, the scheduler and the CLI.

Every line has ``time``, ``level``, ``logger`` and ``message``; lines written while a request is
served also carry its ``correlationId``, ``organisationId``, ``clientName``, ``method`` and
``route`` (bound by the HTTP layer with ``bind``), and the access line its ``status`` and
``durationMs``. The level is ``LOG_LEVEL`` (default ``INFO``). Nothing here opens a connection:
gunicorn's master imports it (``ordering.http.gunicorn_config``) before it forks.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from pythonjsonlogger.json import JsonFormatter

DEFAULT_LEVEL = "INFO"
QUIET_LOGGERS = {"apscheduler": "WARNING", "werkzeug": "WARNING", "urllib3": "WARNING"}
_context: ContextVar[Mapping[str, Any] | None] = ContextVar("log_context", default=None)
# Fields read when a line is written (the HTTP layer adds the request's: correlation id, caller).
context_providers: list[Callable[[], Mapping[str, Any]]] = []
_process: dict[str, str] = {}


class JsonLogFormatter(JsonFormatter):
    """``{"time", "level", "logger", "message", ...the bound context, ...extra}``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger"})
        kwargs.setdefault("json_ensure_ascii", False)
        super().__init__("%(levelname)s %(name)s %(message)s", *args, **kwargs)

    def add_fields(self, log_data: dict[str, Any], record: logging.LogRecord,
                   message_dict: dict[str, Any]) -> None:
        log_data["time"] = datetime.fromtimestamp(record.created, UTC).isoformat(
            timespec="milliseconds").replace("+00:00", "Z")
        super().add_fields(log_data, record, message_dict)
        for fields in (_context.get() or {}, *(provide() for provide in context_providers)):
            for key, value in fields.items():
                if value is not None:
                    log_data.setdefault(key, value)
        if "kind" in _process:
            log_data.setdefault("process", _process["kind"])


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
