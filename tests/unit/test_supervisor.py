"""`make run`'s supervisor gives up on a child that dies five times within a minute (`app/lib/supervisor.py`)."""

from __future__ import annotations

import subprocess

import pytest

from app.lib import supervisor
from app.lib.supervisor import DEATH_WINDOW_SECONDS, MAX_DEATHS_IN_WINDOW, Child, GaveUpError


def _never_started() -> subprocess.Popen[bytes]:
    raise AssertionError("not started here")


def test_a_child_is_given_up_on_at_its_fifth_death_within_a_minute(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(supervisor.time, "monotonic", lambda: now[0])
    child = Child("The worker", _never_started)
    for _ in range(MAX_DEATHS_IN_WINDOW - 1):
        now[0] += 3
        child.died()
    now[0] += 3
    with pytest.raises(GaveUpError):
        child.died()


def test_deaths_further_apart_than_a_minute_are_not_counted_together(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(supervisor.time, "monotonic", lambda: now[0])
    child = Child("Redis", _never_started)
    for _ in range(3 * MAX_DEATHS_IN_WINDOW):
        now[0] += DEATH_WINDOW_SECONDS / (MAX_DEATHS_IN_WINDOW - 1)
        child.died()
    assert len(child.deaths) == MAX_DEATHS_IN_WINDOW - 1  # those of the last minute
