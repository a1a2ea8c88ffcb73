"""Structured logs: one JSON object per line on stdout, with the request id and tenant id bound by the
middleware. The libraries' own records (granian's, arq's job lines) are written as the same JSON objects,
configured by `logging.json`, and so is every other line a process writes (any logger's record, a warning, an
uncaught exception), so that a log pipeline reads one format."""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
from pathlib import Path
from types import TracebackType
from typing import Any

import structlog

from app.lib.redis import caused_by_redis_going_away

# granian is started with this file (`--log-config`), arq with the same configuration (`--custom-log-dict`).
LIBRARY_LOGGING_FILE = Path(__file__).with_name("logging.json")
LIBRARY_LOGGING: dict[str, Any] = json.loads(LIBRARY_LOGGING_FILE.read_text())

# arq's lines for the start and end of a periodic job's run ("  0.01s → cron:sweep…"), and for its health record
_ROUTINE = re.compile(r"\s*[\d.]+s [→←] cron:|recording health: ")
# The secrets an address can carry (app/lib/security.py's prefixes; not imported: that module hashes a password
# when imported, and this one is imported by granian's main process): an organization token sent where a widget
# key goes (`/api/v1/widget/config/lt_org_…`, answered 404), an invitation's or a password reset's token. A
# reader of the logs could use one written whole; its prefix is kept, to tell what was sent.
_SECRET = re.compile(r"(lt_(?:org|inv|pwr)_)[A-Za-z0-9_-]+")
REDACTED = "[redacted]"


def configure_logging(level: str) -> None:
    root = logging.getLogger()
    if not root.handlers:  # granian and the worker (workers/__main__.py) gave it logging.json's already
        handler = logging.StreamHandler()
        handler.setFormatter(json_formatter())
        root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("arq").setLevel(level)
    # Python writes these as plain text of many lines: a worker's crash was a traceback in the JSON log.
    logging.captureWarnings(capture=True)
    sys.excepthook = _log_uncaught
    threading.excepthook = _log_uncaught_in_thread
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            _secrets_redacted,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(),
        cache_logger_on_first_use=True,
    )


def json_formatter() -> logging.Formatter:
    """A library's record as a JSON line like ours: its message as the event, with its logger, level, time
    and exception."""
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.stdlib.add_logger_name,
            structlog.stdlib.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            _unpadded,
            structlog.processors.format_exc_info,
            _secrets_redacted,
            structlog.processors.JSONRenderer(),
        ],
    )


class RoutineAtDebug(logging.Filter):
    """The sweeps run every few seconds and mostly find nothing, and the worker records its health every 10 s:
    arq's lines for these were nearly all of an idle instance's log. They are written at DEBUG; a failing
    sweep still logs its error."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO or not _ROUTINE.match(record.getMessage()):
            return True
        record.levelno, record.levelname = logging.DEBUG, logging.getLevelName(logging.DEBUG)
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


class RedisGoneInOneLine(logging.Filter):
    """A job that failed because Redis went away (restarted, say) is logged by arq with its traceback: lines of the
    client's insides, written while the worker meets the same error and stops with one line that says so. The
    job's line stays, its error named in it, without the traceback; any other failure keeps its own."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if error is not None and caused_by_redis_going_away(error):
            record.msg, record.args = f"{record.getMessage()} ({error!r})", None
            record.exc_info = record.exc_text = None
        return True


def _unpadded(_logger: object, _method: str, event: structlog.typing.EventDict) -> structlog.typing.EventDict:
    """arq pads its job lines into columns, which a JSON field does not need."""
    event["event"] = str(event["event"]).strip()
    return event


def _secrets_redacted(_logger: object, _method: str, event: structlog.typing.EventDict) -> structlog.typing.EventDict:
    """Every text of the line (a request's path, an exception's message) with its secrets' characters left out."""
    for name, value in event.items():
        if isinstance(value, str) and "lt_" in value:
            event[name] = _SECRET.sub(rf"\1{REDACTED}", value)
    return event


def _log_uncaught(kind: type[BaseException], error: BaseException, traceback: TracebackType | None) -> None:
    """An exception that ends the process, as a JSON line, where Python prints a plain-text traceback."""
    logging.getLogger("lantern").critical("uncaught exception", exc_info=(kind, error, traceback))


def _log_uncaught_in_thread(uncaught: threading.ExceptHookArgs) -> None:
    if uncaught.exc_value is not None:  # None: the thread's SystemExit, which Python ignores too
        _log_uncaught(uncaught.exc_type, uncaught.exc_value, uncaught.exc_traceback)
