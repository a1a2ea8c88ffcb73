"""Enqueueing background jobs on arq, with a safe serializer (msgpack, never pickle) on both sides."""

from __future__ import annotations

from functools import partial
from typing import Any

import msgpack
from arq import ArqRedis, create_pool
from arq.connections import RedisSettings

from app.lib.redis import redis_url
from tenants.context import require_tenant

serialize = msgpack.packb
deserialize = partial(msgpack.unpackb, raw=False)

_pool: ArqRedis | None = None


def redis_settings() -> RedisSettings:
    return RedisSettings.from_dsn(redis_url())


async def queue() -> ArqRedis:
    global _pool  # noqa: PLW0603 - one pool per process, made inside the running loop
    if _pool is None:
        _pool = await create_pool(redis_settings(), job_serializer=serialize, job_deserializer=deserialize)
    return _pool


async def enqueue_for_tenant(function: str, **kwargs: Any) -> None:
    """Enqueue a job that runs in the tenant in context: the tenant travels with the job."""
    await (await queue()).enqueue_job(function, organization_id=str(require_tenant()), **kwargs)
