"""What the app sends its database, seen from a test in the same process."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from app.lib.database import alchemy_config


@contextmanager
def statements_sent() -> Iterator[list[str]]:
    """Every statement the app's engine sends while the block runs, in order, as sent."""
    sent: list[str] = []

    def record(_connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(statement)

    engine = alchemy_config().get_engine().sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)
