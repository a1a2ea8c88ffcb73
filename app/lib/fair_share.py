"""Each organization's share of the outbound queue's worker slots.

Deliveries, GitHub issues and e-mails wait on other servers. One organization whose receivers answer slowly or
not at all (a broken deploy sending a report a second to a hung endpoint) filled every slot of the outbound
worker, and every other organization's deliveries waited behind its backlog. At most `OUTBOUND_SHARE` of an
organization's outbound jobs now run at once, across every worker process; a job over its organization's share
is queued again a little later, under an id made from its own, instead of holding a slot while it waits.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache
from typing import Any

from arq.utils import timestamp_ms
from redis.commands.core import AsyncScript

from app.lib.queue import POSTPONED, job_queue

# Half the slots of one worker process (workers/main.py's OUTBOUND_JOBS_AT_ONCE): the other half stays free
# for the other organizations while one floods.
OUTBOUND_SHARE = 10
# A slot whose job's worker was killed is taken back after arq's own job timeout (workers/main.py).
_SLOT_EXPIRY_MS = 310_000
# A job postponed for the nth time comes back after FIRST * 2**(n-1) seconds, at most MAX: a backlog of
# thousands waits without being picked up every poll.
POSTPONE_FIRST_SECONDS = 0.5
POSTPONE_MAX_SECONDS = 10.0

# KEYS: the organization's running jobs (a sorted set by expiry); ARGV: now (ms), expiry (ms), share, job id.
_TAKE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[1] + ARGV[2], ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""


def _running_key(organization_id: str) -> str:
    return f"lantern:outbound:running:{organization_id}"


@cache
def _take_script() -> AsyncScript:
    return job_queue().redis.register_script(_TAKE)


@asynccontextmanager
async def outbound_slot(organization_id: str, job_id: str) -> AsyncIterator[bool]:
    """Whether one of the organization's slots is this job's; a slot taken is given back on leaving."""
    key = _running_key(organization_id)
    taken = bool(await _take_script()(keys=[key], args=[timestamp_ms(), _SLOT_EXPIRY_MS, OUTBOUND_SHARE, job_id]))
    try:
        yield taken
    finally:
        if taken:
            await job_queue().redis.zrem(key, job_id)


async def postpone(function: str, job_id: str, kwargs: dict[str, Any]) -> None:
    """Queue the job again a little later, under its own id marked with how often it was postponed (the
    sweepers' `JobQueue.waiting` reads it as the job's own)."""
    own_id, _, times = job_id.partition(POSTPONED)
    postponed = int(times or 0) + 1
    wait = min(POSTPONE_MAX_SECONDS, POSTPONE_FIRST_SECONDS * 2 ** (postponed - 1))
    wait *= random.uniform(0.8, 1.2)  # noqa: S311 - spreading a backlog's returns, not a secret
    await job_queue().enqueue(function, f"{own_id}{POSTPONED}{postponed}", defer_seconds=wait, **kwargs)
