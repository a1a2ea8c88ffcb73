"""Enqueueing background jobs on arq, with a safe serializer (msgpack, never pickle) on both sides.

A job is written exactly as arq's `enqueue_job` writes it (the job under `arq:job:{id}`, unless that key or
the job's result exists, and its id in the queue's sorted set), but by one script call instead of arq's
three round trips (WATCH, EXISTS, MULTI/EXEC), and the enqueues of one event-loop turn share one pipeline
(`ScriptBatch`): when a group commit stores a batch of reports, all its requests wake in the same turn and
each asks for its screenshot's processing.
"""

from __future__ import annotations

from functools import cache, partial
from typing import Any
from uuid import uuid4

import msgpack
from arq.connections import RedisSettings
from arq.constants import default_queue_name, expires_extra_ms, job_key_prefix, result_key_prefix
from arq.jobs import serialize_job
from arq.utils import timestamp_ms
from redis.asyncio import Redis

from app.lib.redis import ScriptBatch, get_redis, redis_url
from tenants.context import require_tenant

serialize = msgpack.packb
deserialize = partial(msgpack.unpackb, raw=False)

# KEYS: the job's key, its result's key, the queue; ARGV: expiry (ms), the job, its score, its id.
_ENQUEUE = """
if redis.call('EXISTS', KEYS[1], KEYS[2]) > 0 then return 0 end
redis.call('PSETEX', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[4])
return 1
"""


def redis_settings() -> RedisSettings:
    return RedisSettings.from_dsn(redis_url())


class JobQueue:
    """arq's default queue, as the worker reads it (`workers/main.py`)."""

    def __init__(self, redis: Redis) -> None:
        self.script = redis.register_script(_ENQUEUE)
        self.scripts = ScriptBatch(redis)

    async def enqueue(self, function: str, job_id: str | None = None, **kwargs: Any) -> bool:
        """Queue `function(**kwargs)` to run now; False when a job with this id is queued or has run."""
        job_id = job_id or uuid4().hex
        enqueued_ms = timestamp_ms()
        job = serialize_job(function, (), kwargs, None, enqueued_ms, serializer=serialize)
        keys = [job_key_prefix + job_id, result_key_prefix + job_id, default_queue_name]
        return bool(await self.scripts.call(self.script, keys, [expires_extra_ms, job, enqueued_ms, job_id]))


@cache
def job_queue() -> JobQueue:
    """This process's queue, on its Redis connection."""
    return JobQueue(get_redis())


async def enqueue_for_tenant(function: str, *, _job_id: str | None = None, **kwargs: Any) -> bool:
    """Enqueue a job that runs in the tenant in context: the tenant travels with the job."""
    return await job_queue().enqueue(function, _job_id, organization_id=str(require_tenant()), **kwargs)
