"""Each organization's share of the outbound queue's worker slots.

Deliveries, GitHub issues and e-mails wait on other servers. One organization whose receivers answer slowly or
not at all (a broken deploy sending a report a second to a hung endpoint) filled every slot of the outbound
worker, and every other organization's deliveries waited behind its backlog. At most `OUTBOUND_SHARE` of an
organization's outbound jobs now run at once, across every worker process; a job over its organization's share
is queued again a little later, under an id made from its own, instead of holding a slot while it waits.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache
from typing import Any

import structlog
from redis.commands.core import AsyncScript
from redis.exceptions import RedisError

from app.lib.queue import POSTPONED, job_queue
from app.lib.redis import cancel_requested, stop

# Half the slots of one worker process (workers/main.py's OUTBOUND_JOBS_AT_ONCE): the other half stays free
# for the other organizations while one floods.
OUTBOUND_SHARE = 10
logger = structlog.get_logger()

# A slot is held for this long, and held again this long every RENEW_SECONDS while its job runs: a slot whose
# worker was killed (SIGKILL, a lost node) is free again within the lease. It was held for arq's job timeout
# (310 s), and a worker killed while running an organization's ten outbound jobs stopped all its deliveries,
# GitHub issues and e-mails for five minutes.
SLOT_LEASE_MS = 15_000
RENEW_SECONDS = 5.0
# A job postponed for the nth time comes back after FIRST * 2**(n-1) seconds, at most MAX: a backlog of
# thousands waits without being picked up every poll.
POSTPONE_FIRST_SECONDS = 0.5
POSTPONE_MAX_SECONDS = 10.0

# Both scripts time leases by Redis' own clock (`TIME`), as the rate limiter's do: the set's scores are compared by
# every worker process with every other's. Timed by each worker's clock, a worker whose clock ran an hour behind
# took slots that the others saw as long expired and dropped (its organization ran more than its share), and one
# an hour ahead, killed, left its jobs' slots held for an hour.
# KEYS: the organization's running jobs (a sorted set by expiry); ARGV: the lease (ms), the share, the job's id.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
"""
# KEYS: the same; ARGV: the lease (ms), the job's id.
_RENEW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
"""


def _running_key(organization_id: str) -> str:
    return f"lantern:outbound:running:{organization_id}"


@cache
def _take_script() -> AsyncScript:
    return job_queue().redis.register_script(_TAKE)


@cache
def _renew_script() -> AsyncScript:
    return job_queue().redis.register_script(_RENEW)


@asynccontextmanager
async def outbound_slot(organization_id: str, job_id: str) -> AsyncIterator[bool]:
    """Whether one of the organization's slots is this job's; a slot taken is held while the job runs, and given
    back on leaving."""
    key = _running_key(organization_id)
    taken = bool(await _take_script()(keys=[key], args=[SLOT_LEASE_MS, OUTBOUND_SHARE, job_id]))
    if not taken:
        yield False
        return
    holding = asyncio.create_task(_hold(key, job_id))
    try:
        yield True
    finally:
        try:
            await stop(holding)
        finally:  # the slot is given back even when the job is cancelled meanwhile
            await job_queue().redis.zrem(key, job_id)


async def _hold(key: str, job_id: str) -> None:
    """Renew the slot's lease until cancelled (counted again if it lapsed meanwhile: the job runs all the same); a
    renewal Redis misses is tried again at the next one."""
    while not cancel_requested():  # a cancellation lost in a renewal's read would hold the job's end for ever
        await asyncio.sleep(RENEW_SECONDS)
        try:
            await _renew_script()(keys=[key], args=[SLOT_LEASE_MS, job_id])
        except (RedisError, OSError) as error:
            logger.warning("outbound slot not renewed", job_id=job_id, error=repr(error))


async def postpone(function: str, job_id: str, kwargs: dict[str, Any]) -> None:
    """Queue the job again a little later, under its own id marked with how often it was postponed (the
    sweepers' `JobQueue.waiting` reads it as the job's own)."""
    own_id, _, times = job_id.partition(POSTPONED)
    postponed = int(times or 0) + 1
    wait = min(POSTPONE_MAX_SECONDS, POSTPONE_FIRST_SECONDS * 2 ** (postponed - 1))
    wait *= random.uniform(0.8, 1.2)  # noqa: S311 - spreading a backlog's returns, not a secret
    await job_queue().enqueue(function, f"{own_id}{POSTPONED}{postponed}", defer_seconds=wait, **kwargs)
