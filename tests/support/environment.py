"""Settings for one test: environment variables set (or, given None, unset) and read afresh, then restored."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from app.settings import reset_settings


def _apply(values: Mapping[str, str | None]) -> None:
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@contextmanager
def environment(**values: str | None) -> Iterator[None]:
    """Settings for this process (and for worker processes started meanwhile), restored afterwards."""
    saved = {name: os.environ.get(name) for name in values}
    _apply(values)
    reset_settings()
    try:
        yield
    finally:
        _apply(saved)
        reset_settings()
