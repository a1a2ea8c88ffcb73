"""A real arq worker for tests, running in the test's event loop against the test Redis."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from arq.constants import job_key_prefix
from arq.jobs import deserialize_job
from arq.worker import Worker

from app.lib.queue import QUEUES, deserialize
from app.lib.redis import get_redis, stop
from tests.support.environment import environment
from workers.main import worker_settings

FINISH_SECONDS = 60.0
CHECK_SECONDS = 0.05
# The bounded wait for a report's number in its submission's answer, for the tests that read the number there:
# the default 500 ms ran out in loaded CI runs, and the answer said `trackingId: null`, as the contract allows.
PATIENT_NUMBERING = {"LANTERN_TRACKING_WAIT_MS": "10000"}


@asynccontextmanager
async def running_worker(**overrides: object) -> AsyncIterator[Worker]:
    options = {**worker_settings(), "handle_signals": False, **overrides}
    worker = Worker(**options)  # type: ignore[arg-type]
    task = asyncio.create_task(worker.async_run())
    try:
        with environment(LANTERN_TRACKING_WAIT_MS=None):  # the default wait: a worker will answer
            yield worker
    finally:
        await _finish_running_jobs(worker)
        await stop(task)
        with contextlib.suppress(asyncio.CancelledError):
            await worker.close()


async def _finish_running_jobs(worker: Worker) -> None:
    """Stop taking jobs, as the worker's own SIGTERM handling does, and let the running ones finish.

    Stopping cancels whatever still runs. A job cancelled inside a transaction can leave its SQLite
    connection holding the write lock, and every later test then waits on "database is locked"."""
    worker.allow_pick_jobs = False
    idle_checks = 0
    for _ in range(int(FINISH_SECONDS / CHECK_SECONDS)):
        # Two idle checks in a row: a poll that began before the flag may still start the jobs it read.
        idle_checks = idle_checks + 1 if all(task.done() for task in worker.tasks.values()) else 0
        if idle_checks == 2:
            return
        await asyncio.sleep(CHECK_SECONDS)


async def queued_jobs(function: str, naming: str = "") -> list[str]:
    """The ids of the jobs of `function` waiting in any queue, due or deferred; with `naming`, only those whose id
    holds it (a worker's sweeper queues other tests' pending work of the suite's database too)."""
    redis = get_redis()
    found = []
    for queue in QUEUES:
        for job_id in await redis.zrange(queue, 0, -1):
            if naming not in job_id.decode():
                continue
            data = await redis.get(job_key_prefix + job_id.decode())
            if data and deserialize_job(data, deserializer=deserialize).function == function:
                found.append(job_id.decode())
    return found


async def lose_jobs(job_ids: list[str]) -> None:
    """The queue loses the jobs, as a Redis restart without persistence does."""
    redis = get_redis()
    for job_id in job_ids:
        assert await redis.delete(job_key_prefix + job_id) == 1
        for queue in QUEUES:
            await redis.zrem(queue, job_id)
