"""The rate limiter's cost, as ratios from one run: `python bench/limiter.py` (bounded: a few seconds).

1. CPU per check: `Limiter.hit` (one EVALSHA of the sliding-log script) on this process's CPU clock, one
   check at a time and with 64 in flight (as under load, where the checks of one loop turn share a pipeline).
2. The same Litestar endpoint with and without a limiter check per request, driven in-process.
Uses REDIS_URL when set, else an embedded redis-server. Prints one JSON object.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Any, cast

import httpx
from litestar import Litestar, Request, post
from redis.asyncio import Redis

from app.lib.embedded_redis import EmbeddedRedis
from app.lib.ratelimit import Limiter, Policy

CHECKS = 5000
IN_FLIGHT = 64
REQUESTS = 3000
POLICY = Policy(name="bench", limit=1_000_000, window_seconds=60)


async def cpu_per_check(limiter: Limiter) -> dict[str, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    for i in range(CHECKS):
        await limiter.hit(POLICY, f"bucket-{i % 50}")
    sequential_cpu, sequential_wall = time.process_time() - cpu, time.perf_counter() - wall
    gate = asyncio.Semaphore(IN_FLIGHT)

    async def check(i: int) -> None:
        async with gate:
            await limiter.hit(POLICY, f"bucket-{i % 50}")

    cpu = time.process_time()
    await asyncio.gather(*(check(i) for i in range(CHECKS)))
    return {
        "cpu_ms_per_check": sequential_cpu * 1000 / CHECKS,
        "wall_ms_per_check": sequential_wall * 1000 / CHECKS,
        "cpu_ms_per_check_64_in_flight": (time.process_time() - cpu) * 1000 / CHECKS,
    }


def endpoint_app(limiter: Limiter | None) -> Litestar:
    @post("/submit", status_code=201)
    async def submit(request: Request[Any, Any, Any], data: dict[str, Any]) -> dict[str, Any]:
        if limiter is not None:
            await limiter.hit(POLICY, f"project:{request.client.host if request.client else '-'}")
        return {"success": True, "title": data.get("title")}

    return Litestar(route_handlers=[submit])


async def requests_per_second(app: Litestar) -> float:
    body = {"title": "Checkout broken", "metadata": {"url": "https://example.com"}}
    # httpx types an ASGI app loosely; Litestar's own signature is the narrower, typed one.
    transport = httpx.ASGITransport(app=cast("Any", app))
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        started = time.perf_counter()
        for _ in range(REQUESTS):
            await client.post("/submit", json=body)
        return REQUESTS / (time.perf_counter() - started)


async def measure(url: str) -> dict[str, Any]:
    redis = Redis.from_url(url)
    limiter = Limiter(redis)
    await limiter.hit(POLICY, "warm-up")
    checks = await cpu_per_check(limiter)
    bare = await requests_per_second(endpoint_app(None))
    limited = await requests_per_second(endpoint_app(limiter))
    await redis.aclose()
    return {
        "benchmark": "limiter",
        **{name: round(value, 4) for name, value in checks.items()},
        "bare_requests_per_second": round(bare, 1),
        "limited_requests_per_second": round(limited, 1),
        "limited_to_bare_ratio": round(limited / bare, 3),
        "target_cpu_ms_per_check": 0.1,
    }


def main() -> None:
    logging.getLogger("httpx").setLevel(logging.WARNING)
    url = os.environ.get("REDIS_URL")
    embedded = None
    if url is None:
        embedded = EmbeddedRedis(Path(tempfile.mkdtemp()) / "redis", persistent=False)
        url = embedded.start()
    try:
        print(json.dumps(asyncio.run(measure(url)), indent=2))
    finally:
        if embedded is not None:
            embedded.stop()


if __name__ == "__main__":
    main()
