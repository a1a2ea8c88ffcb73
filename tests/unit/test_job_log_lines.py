"""arq's line for a failed job, as the worker writes it (logging.json's `jobs` handler): a job that failed because
Redis went away is one line naming its error, not a traceback of the client's insides; any other keeps its own."""

from __future__ import annotations

import importlib
import io
import json
import logging
from typing import Any
from uuid import uuid4

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ReadOnlyError, WatchError

from app.lib.logging import LIBRARY_LOGGING, json_formatter


def failed_job_line(error: BaseException) -> dict[str, Any]:
    """The line arq writes when a job raises `error`, through a handler made as logging.json makes the worker's
    `jobs` handler (its formatter and filters), on a logger of its own: the process' logging stays as it is."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(json_formatter())
    for name in LIBRARY_LOGGING["handlers"]["jobs"]["filters"]:
        module, _, made_by = LIBRARY_LOGGING["filters"][name]["()"].rpartition(".")
        handler.addFilter(getattr(importlib.import_module(module), made_by)())
    logger = logging.getLogger(f"arq.jobs-test-{uuid4().hex}")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        raise error
    except type(error):
        logger.exception("%6.2fs ! %s failed, %s: %s", 0.5, "cron:sweep", type(error).__name__, error)
    finally:
        logger.removeHandler(handler)
    return json.loads(stream.getvalue())


def lost_connection() -> WatchError:
    """What arq raises for a watched key when the connection is lost (in the lost connection's handling)."""
    error = WatchError("Watched variable changed.")
    error.__context__ = RedisConnectionError("Connection closed by server.")
    return error


@pytest.mark.parametrize(
    "error",
    [RedisConnectionError("Error 111 connecting to 127.0.0.1:6390."), ReadOnlyError("READONLY"), lost_connection()],
    ids=["unreachable", "refusing-writes", "lost-while-watching"],
)
def test_a_job_failed_by_redis_going_away_is_one_line_naming_its_error(error: BaseException) -> None:
    line = failed_job_line(error)
    assert "exception" not in line
    assert "Traceback" not in json.dumps(line)
    assert line["event"].startswith("0.50s ! cron:sweep failed")
    assert repr(error) in line["event"]


def test_any_other_failure_keeps_its_traceback() -> None:
    line = failed_job_line(OSError(28, "No space left on device"))
    assert line["exception"].startswith("Traceback (most recent call last)")
    assert "No space left on device" in line["exception"]
