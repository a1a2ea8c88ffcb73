"""What the app sends its database, seen from a test in the same process."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine


@contextmanager
def statements_sent() -> Iterator[list[str]]:
    """Every statement this process's engines send while the block runs, in order, as sent.

    Every engine, not `alchemy_config()`'s: a test that rebuilds the configuration (a pool of its own, another
    role) leaves the session's app on the engine it started with, and a listener on the new one saw none of
    that app's statements."""
    sent: list[str] = []

    def record(_connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(Engine, "before_cursor_execute", record)
