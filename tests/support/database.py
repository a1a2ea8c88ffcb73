"""What the app sends its database, seen from a test in the same process."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

# The list the running block records into, in the test's context and the tasks it starts (a request through the
# ASGI transport runs in the test's task; SQLAlchemy's greenlets take their caller's context).
_recording: ContextVar[list[str] | None] = ContextVar("statements_recording", default=None)


@contextmanager
def statements_sent() -> Iterator[list[str]]:
    """Every statement the block, and the tasks it starts, send on this process's engines, in order, as sent.

    Every engine, not `alchemy_config()`'s: a test that rebuilds the configuration (a pool of its own, another
    role) leaves the session's app on the engine it started with, and a listener on the new one saw none of
    that app's statements. The block's own statements alone: the suite's in-process worker goes on with earlier
    tests' jobs meanwhile (CI once counted a screenshot job's read as the list's). So a task started before the
    block (the report writer's flusher, a worker's job) is not heard even when it works for the block."""
    sent: list[str] = []

    def record(_connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if _recording.get() is sent:
            sent.append(statement)

    token = _recording.set(sent)
    event.listen(Engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(Engine, "before_cursor_execute", record)
        _recording.reset(token)
