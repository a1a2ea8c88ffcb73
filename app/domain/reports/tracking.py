"""Telling a waiting request its report's tracking ID as soon as the worker assigns it.

The worker pushes each new tracking ID onto a short-lived Redis list named after the tenant and report;
the request that stored the report blocks on that list for a bounded time (default 500 ms).

The wait is for people submitting one report and reading its ID. Under a flood (a broken deploy sending
thousands of reports a minute) nobody reads them, and waiting would only hold connections open and slow
every answer: while more than `CALM_SUBMISSIONS` submissions are in flight in a process, answers do not
wait and carry `trackingId: null` (the report is numbered all the same, moments later).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import cast
from uuid import UUID

from redis.asyncio import Redis

ANNOUNCEMENT_TTL_SECONDS = 30
CALM_SUBMISSIONS = 4

_in_flight = 0


def _key(organization_id: UUID, report_id: UUID) -> str:
    return f"lantern:{organization_id}:tracking:{report_id}"


async def announce(redis: Redis, organization_id: UUID, assigned: Iterable[tuple[UUID, str]]) -> None:
    async with redis.pipeline(transaction=False) as pipeline:
        for report_id, tracking_id in assigned:
            key = _key(organization_id, report_id)
            pipeline.lpush(key, tracking_id)
            pipeline.expire(key, ANNOUNCEMENT_TTL_SECONDS)
        await pipeline.execute()


@contextmanager
def submission_in_flight() -> Iterator[None]:
    """Count a submission from its arrival at ingest to its answer (see CALM_SUBMISSIONS)."""
    global _in_flight  # noqa: PLW0603 - one count per process: every request runs on its one event loop
    _in_flight += 1
    try:
        yield
    finally:
        _in_flight -= 1


async def wait_for(redis: Redis, organization_id: UUID, report_id: UUID, timeout_ms: int) -> str | None:
    """The tracking ID if it is assigned within `timeout_ms`, else None (it shows on the report later)."""
    if timeout_ms <= 0 or _in_flight > CALM_SUBMISSIONS:
        return None
    # redis-py types the timeout as int; the server takes fractional seconds (Redis >= 6).
    blpop = cast("Callable[..., Awaitable[list[bytes] | None]]", redis.blpop)
    popped = await blpop([_key(organization_id, report_id)], timeout=timeout_ms / 1000)
    if popped is None:
        return None
    _key_name, value = popped
    return value.decode() if isinstance(value, bytes) else str(value)
