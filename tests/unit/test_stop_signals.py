"""`run`'s handler of Ctrl-C and SIGTERM: it runs in the main thread between two of its steps, wherever it was."""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

import pytest

from app.cli import _stop_on_signals

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
LOCK_TYPES = (type(threading.Lock()), type(threading.RLock()))
ACQUIRING = {"acquire", "__enter__"}


@contextmanager
def _installed() -> Iterator[None]:
    """`run`'s handlers, and pytest's own again afterwards."""
    saved = {number: signal.getsignal(number) for number in STOP_SIGNALS}
    try:
        _stop_on_signals()
        yield
    finally:
        for number, handler in saved.items():
            signal.signal(number, handler)


def _locks_taken_by(call: object) -> list[str]:
    """The locks the call acquires, as the profiler sees them (a lock's acquire is a C call on the lock)."""
    taken: list[str] = []

    def watch(_frame: FrameType, event: str, callee: object) -> None:
        owner = getattr(callee, "__self__", None)
        if event == "c_call" and isinstance(owner, LOCK_TYPES) and getattr(callee, "__name__", "") in ACQUIRING:
            taken.append(f"{type(owner).__name__}.{getattr(callee, '__name__', '?')}")

    sys.setprofile(watch)
    try:
        assert callable(call)
        call()
    except SystemExit:
        pass
    finally:
        sys.setprofile(None)
    return taken


def test_the_stop_handler_takes_no_lock() -> None:
    """It set a `threading.Event`: when the main thread held that event's lock as the signal came (waiting on
    the event), or the handler did as a second signal came (make passes on a SIGTERM its process group got),
    the handler waited on the lock for good, and `run` hung with all its children serving."""
    with _installed():
        handler = signal.getsignal(signal.SIGTERM)
        assert callable(handler)
        assert _locks_taken_by(lambda: handler(signal.SIGTERM, None)) == []


@pytest.mark.parametrize("number", STOP_SIGNALS)
def test_the_first_signal_leaves_the_running_step_and_ignores_the_next(number: signal.Signals) -> None:
    with _installed():
        handler = signal.getsignal(number)
        assert callable(handler)
        with pytest.raises(SystemExit) as leaving:
            handler(number, None)
        assert leaving.value.code == 0
        assert [signal.getsignal(other) for other in STOP_SIGNALS] == [signal.SIG_IGN, signal.SIG_IGN]
