"""What an outbound answer asks of the retry: `Retry-After` as seconds or as an HTTP date."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from app.lib import outbound, retries


def _asking(value: str) -> outbound.Answer:
    return outbound.Answer(503, headers={"retry-after": value})


def test_retry_after_in_seconds_or_as_a_date() -> None:
    assert _asking("120").asked_wait == 120
    in_a_minute = format_datetime(datetime.now(UTC) + timedelta(seconds=60), usegmt=True)
    assert 55 <= (_asking(in_a_minute).asked_wait or 0) <= 60
    an_hour_ago = format_datetime(datetime.now(UTC) - timedelta(hours=1), usegmt=True)
    assert _asking(an_hour_ago).asked_wait == 0
    assert _asking("soon").asked_wait is None
    assert _asking("\N{SUPERSCRIPT TWO}").asked_wait is None  # a digit to `isdigit`, no number to `float`
    assert outbound.Answer(503).asked_wait is None


def test_an_asked_wait_lengthens_the_schedule_within_its_longest_wait() -> None:
    assert retries.retry_delay(1, 10) == 10
    assert retries.retry_delay(1, 10, asked=120) == 120
    assert retries.retry_delay(3, 10, asked=120) == 360, "the schedule's own wait is longer"
    assert retries.retry_delay(1, 10, asked=10**9) == retries.MAX_RETRY_SECONDS
