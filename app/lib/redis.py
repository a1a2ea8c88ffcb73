"""The Redis connection of this process (sessions, cache, limiter, queue)."""

from __future__ import annotations

from functools import cache

from redis.asyncio import Redis

from app.settings import get_settings


class RedisNotConfiguredError(RuntimeError):
    """REDIS_URL is unset in a process that needs Redis: `lantern run` starts an embedded one."""


def redis_url() -> str:
    url = get_settings().redis_url
    if url is None:
        msg = "REDIS_URL is not set; `python -m app.cli run` starts an embedded Redis and sets it"
        raise RedisNotConfiguredError(msg)
    return url


@cache
def get_redis() -> Redis:
    return Redis.from_url(  # type: ignore[no-any-return]  # redis-py 5 types from_url loosely
        redis_url(), socket_connect_timeout=2, socket_timeout=5, health_check_interval=30
    )
