"""Each organization's share of the outbound slots, held by worker processes whose clocks disagree.

Real parts: the test Redis, and a separate Python process taking a slot through `outbound_slot` with its clock
set an hour off (its `time.time`, before anything reads it), as a worker on a node whose clock drifted.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import pytest

from app.lib.fair_share import OUTBOUND_SHARE, SLOT_LEASE_MS, outbound_slot
from app.lib.redis import get_redis
from tests.support.processes import ROOT

START_SECONDS = 30.0
HOUR_SECONDS = 3600.0
# A process whose clock is `skew` seconds off holds one of the organization's slots until it is killed.
SKEWED_HOLDER = """
import asyncio, sys, time

real_time = time.time
time.time = lambda: real_time() + float(sys.argv[1])

from app.lib.fair_share import outbound_slot


async def hold() -> None:
    async with outbound_slot(sys.argv[2], sys.argv[3]) as taken:
        print("taken" if taken else "refused", flush=True)
        await asyncio.Event().wait()


asyncio.run(hold())
"""


@asynccontextmanager
async def skewed_holder(skew: float, organization_id: str, job_id: str) -> AsyncIterator[None]:
    """A process whose clock is `skew` seconds off, holding one of the organization's slots; killed on leaving,
    as a worker that dies (its slot is not given back)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", SKEWED_HOLDER, str(skew), organization_id, job_id,
        cwd=ROOT, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        answer = await asyncio.wait_for(process.stdout.readline(), START_SECONDS)
        assert answer == b"taken\n", answer
        yield
    finally:
        process.kill()
        await process.wait()


async def redis_now_ms() -> int:
    seconds, microseconds = await get_redis().time()
    return seconds * 1000 + microseconds // 1000


@pytest.mark.usefixtures("embedded_services")
@pytest.mark.parametrize("skew", [-HOUR_SECONDS, HOUR_SECONDS], ids=["an hour behind", "an hour ahead"])
async def test_a_slot_taken_by_a_worker_with_a_skewed_clock_counts_and_expires_on_redis_time(skew: float) -> None:
    """Leases were timed by each worker's clock: a slot taken by a worker an hour behind was dropped by the others
    as long expired (its organization ran one more than its share), and one taken by a worker an hour ahead would
    have been held an hour after that worker died."""
    organization_id = str(uuid.uuid4())
    key = f"lantern:outbound:running:{organization_id}"
    redis = get_redis()
    try:
        async with skewed_holder(skew, organization_id, "skewed-job"):
            before = await redis_now_ms()
            async with AsyncExitStack() as slots:
                taken = [
                    await slots.enter_async_context(outbound_slot(organization_id, f"job-{index}"))
                    for index in range(OUTBOUND_SHARE)
                ]
                expiry = await redis.zscore(key, "skewed-job")
                after = await redis_now_ms()
        assert taken.count(True) == OUTBOUND_SHARE - 1, "the skewed worker's slot was not counted"
        assert expiry is not None, "the skewed worker's slot was dropped"
        # Its lease ends SLOT_LEASE_MS after it was taken, by Redis' clock (taken before `before`, within the lease).
        assert before < expiry <= after + SLOT_LEASE_MS, (before, expiry, after)
        assert 0 < await redis.pttl(key) <= SLOT_LEASE_MS
    finally:
        await redis.delete(key)
