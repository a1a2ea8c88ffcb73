"""Telling a waiting request its report's tracking ID as soon as the worker assigns it.

The worker pushes each new tracking ID onto a short-lived Redis list named after the tenant and report;
the request that stored the report blocks on that list for a bounded time (default 500 ms).

The wait is for people submitting one report and reading its ID. Under a flood (a broken deploy sending
thousands of reports a minute) nobody reads them, and waiting would only hold connections open: once
`MAX_WAITING` requests of a process are waiting, the next answers at once with `trackingId: null` (the
report is numbered all the same, moments later).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import cast
from uuid import UUID

from redis.asyncio import Redis

ANNOUNCEMENT_TTL_SECONDS = 30
MAX_WAITING = 8

_waiting = 0


def _key(organization_id: UUID, report_id: UUID) -> str:
    return f"lantern:{organization_id}:tracking:{report_id}"


async def announce(redis: Redis, organization_id: UUID, assigned: Iterable[tuple[UUID, str]]) -> None:
    async with redis.pipeline(transaction=False) as pipeline:
        for report_id, tracking_id in assigned:
            key = _key(organization_id, report_id)
            pipeline.lpush(key, tracking_id)
            pipeline.expire(key, ANNOUNCEMENT_TTL_SECONDS)
        await pipeline.execute()


async def wait_for(redis: Redis, organization_id: UUID, report_id: UUID, timeout_ms: int) -> str | None:
    """The tracking ID if it is assigned within `timeout_ms`, else None (it shows on the report later)."""
    global _waiting  # noqa: PLW0603 - one count per process: every request runs on its one event loop
    if timeout_ms <= 0 or _waiting >= MAX_WAITING:
        return None
    # redis-py types the timeout as int; the server takes fractional seconds (Redis >= 6).
    blpop = cast("Callable[..., Awaitable[list[bytes] | None]]", redis.blpop)
    _waiting += 1
    try:
        popped = await blpop([_key(organization_id, report_id)], timeout=timeout_ms / 1000)
    finally:
        _waiting -= 1
    if popped is None:
        return None
    _key_name, value = popped
    return value.decode() if isinstance(value, bytes) else str(value)
