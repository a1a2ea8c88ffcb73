"""Rate limits that hold across every web process: each check is one atomic Redis script call, and the
checks of all the requests arriving in one turn of the event loop share one round trip (a pipeline).

Two algorithms, each a Lua script that reads Redis' own clock (`TIME`), so all processes share one clock:
- a sliding log (a sorted set of request times) for "N per window" limits — exact: the 11th request in
  any 60 s is refused, with memory bounded by N per bucket (N ≤ 10,000);
- GCRA (one "theoretical arrival time" per bucket) for an average rate with bursts — BugHerd's admin
  policy of 60/min with bursts of 10 — in constant memory.

When Redis cannot be reached or refuses writes, the same policies run in this process (limits then hold per
process), the fallback is logged and counted, and Redis is tried again a second later, then twice as long
after each failure in a row (`RedisHealth`, shared with ingest).
"""

from __future__ import annotations

import math
import time
import uuid
from collections import deque
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from app.lib.redis import RedisHealth, ScriptBatch, redis_unavailable

logger = structlog.get_logger()


_SLIDING_LOG = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit, window, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
local allowed = 0
if count + math.max(cost, 1) <= limit then
    allowed = 1
    if cost > 0 then
        redis.call('ZADD', KEYS[1], now, ARGV[4])
        count = count + cost
        redis.call('PEXPIRE', KEYS[1], window)
    end
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local reset = window
if oldest[2] then reset = tonumber(oldest[2]) + window - now end
return {allowed, limit - count, reset, now}
"""

_GCRA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - interval * burst
if now < allow_at then
    return {0, 0, tat - now, now, allow_at - now}
end
redis.call('SET', KEYS[1], new_tat, 'PX', math.max(1, math.ceil(new_tat - now)))
return {1, math.floor((now - allow_at) / interval), new_tat - now, now, 0}
"""


class Algorithm(StrEnum):
    SLIDING_LOG = "sliding_log"
    GCRA = "gcra"


@dataclass(frozen=True, slots=True)
class Policy:
    """`limit` requests per `window_seconds`; for GCRA, `limit` per window on average with `burst` at once."""

    name: str
    limit: int
    window_seconds: int
    algorithm: Algorithm = Algorithm.SLIDING_LOG
    burst: int = 0


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_at: int  # Unix time (seconds) when the bucket has room again
    retry_after: int  # seconds, at least 1, when refused

    def headers(self) -> dict[str, str]:
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(max(self.remaining, 0)),
            "X-RateLimit-Reset": str(self.reset_at),
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.retry_after)
        return headers


def _decision(  # noqa: PLR0913 - one argument per field of the decision
    policy: Policy,
    *,
    allowed: bool,
    remaining: int,
    reset_ms: float,
    now_ms: float,
    retry_ms: float,
) -> Decision:
    return Decision(
        allowed=allowed,
        limit=policy.burst if policy.algorithm is Algorithm.GCRA else policy.limit,
        remaining=remaining,
        reset_at=math.ceil((now_ms + max(reset_ms, 0)) / 1000),
        retry_after=max(1, math.ceil(retry_ms / 1000)),
    )


class Limiter:
    """Checks buckets in Redis, falling back to this process while Redis is unavailable."""

    def __init__(self, redis: Redis, health: RedisHealth | None = None) -> None:
        self.redis = redis
        self.health = health or RedisHealth()
        self.sliding_log = redis.register_script(_SLIDING_LOG)
        self.gcra = redis.register_script(_GCRA)
        self.scripts = ScriptBatch(redis)
        self.local = LocalLimiter()
        self.fallbacks = 0

    async def hit(self, policy: Policy, bucket: str, *, cost: int = 1) -> Decision:
        """Count one request in `bucket` under `policy`; with cost 0, only ask whether one would pass."""
        if self.health.available:
            try:
                decision = await self._hit_redis(policy, f"lantern:rl:{policy.name}:{bucket}", cost)
            except (RedisError, OSError) as error:
                if not redis_unavailable(error):
                    raise
                self.health.failed()
                self.fallbacks += 1
                logger.warning("rate limiter: Redis unreachable, limiting in this process", fallbacks=self.fallbacks)
            else:
                self.health.answered()
                return decision
        return self.local.hit(policy, bucket, cost=cost)

    async def _hit_redis(self, policy: Policy, key: str, cost: int) -> Decision:
        window_ms = policy.window_seconds * 1000
        if policy.algorithm is Algorithm.GCRA:
            result: list[Any] = await self.scripts.call(self.gcra, [key], [window_ms / policy.limit, policy.burst])
            allowed, remaining, reset_ms, now_ms, retry_ms = (float(value) for value in result)
        else:
            result = await self.scripts.call(self.sliding_log, [key], [policy.limit, window_ms, cost, uuid.uuid4().hex])
            allowed, remaining, reset_ms, now_ms = (float(value) for value in result)
            retry_ms = reset_ms
        return _decision(
            policy,
            allowed=bool(allowed),
            remaining=int(remaining),
            reset_ms=reset_ms,
            now_ms=now_ms,
            retry_ms=retry_ms,
        )


class LocalLimiter:
    """The same two algorithms in this process's memory: the fallback while Redis is down."""

    def __init__(self) -> None:
        self.logs: dict[str, deque[float]] = {}
        self.arrivals: dict[str, float] = {}

    def hit(self, policy: Policy, bucket: str, *, cost: int = 1) -> Decision:
        now_ms = time.time() * 1000
        key = f"{policy.name}:{bucket}"
        if policy.algorithm is Algorithm.GCRA:
            return self._gcra(policy, key, now_ms)
        return self._sliding_log(policy, key, now_ms, cost)

    def _sliding_log(self, policy: Policy, key: str, now_ms: float, cost: int) -> Decision:
        window_ms = policy.window_seconds * 1000
        log = self.logs.setdefault(key, deque())
        while log and log[0] <= now_ms - window_ms:
            log.popleft()
        allowed = len(log) + max(cost, 1) <= policy.limit
        if allowed and cost:
            log.append(now_ms)
        reset_ms = (log[0] + window_ms - now_ms) if log else window_ms
        return _decision(
            policy,
            allowed=allowed,
            remaining=policy.limit - len(log),
            reset_ms=reset_ms,
            now_ms=now_ms,
            retry_ms=reset_ms,
        )

    def _gcra(self, policy: Policy, key: str, now_ms: float) -> Decision:
        interval = policy.window_seconds * 1000 / policy.limit
        tat = max(self.arrivals.get(key, now_ms), now_ms)
        new_tat = tat + interval
        allow_at = new_tat - interval * policy.burst
        if now_ms < allow_at:
            return _decision(
                policy, allowed=False, remaining=0, reset_ms=tat - now_ms, now_ms=now_ms, retry_ms=allow_at - now_ms
            )
        self.arrivals[key] = new_tat
        remaining = int((now_ms - allow_at) // interval)
        return _decision(
            policy, allowed=True, remaining=remaining, reset_ms=new_tat - now_ms, now_ms=now_ms, retry_ms=0
        )
