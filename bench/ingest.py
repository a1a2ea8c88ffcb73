"""Ingest: Lantern's widget submit against two ceilings served the same way in the same run.

Lantern runs as in production (granian, one worker; the limiter on with a high limit; the arq worker
numbering every report). The ceilings (bench/ceilings.py) validate the same body, and validate plus one raw
durable insert. Ratios are Lantern's requests/s over each ceiling's.

Each server is warmed up first (connections, caches), then the database is analyzed, as autovacuum does on
any live database within its first minute: on a database created moments ago, PostgreSQL plans (and caches
the plans of) the numbering statements as if the report table were empty, and scans a tenant's reports per
row numbered, which would make the measurement about the first seconds of a new install.
"""

from __future__ import annotations

import asyncio
import io
import json
import time
from typing import Any

import asyncpg
from PIL import Image

from bench import load
from bench.stack import Environment, seed_projects, serve, worker

# BugPin's own example body for its widget submit.
BUGPIN_EXAMPLE: dict[str, Any] = {
    "title": "Button not working on checkout page",
    "description": "When I click the submit button, nothing happens.",
    "priority": "high",
    "reporterName": "John Doe",
    "reporterEmail": "john@example.com",
    "metadata": {
        "url": "https://example.com/checkout",
        "title": "Checkout - Example Store",
        "referrer": "https://example.com/cart",
        "browser": {"name": "Chrome", "version": "120.0.0", "userAgent": "Mozilla/5.0..."},
        "device": {"type": "desktop", "os": "macOS", "osVersion": "14.0"},
        "viewport": {"width": 1920, "height": 1080, "devicePixelRatio": 2, "orientation": "landscape"},
        "timestamp": "2024-01-15T10:30:00.000Z",
        "timezone": "America/New_York",
        "pageLoadTime": 1234,
        "consoleErrors": [
            {
                "type": "error",
                "message": "Uncaught TypeError: Cannot read property 'submit' of null",
                "source": "checkout.js",
                "line": 42,
                "timestamp": "2024-01-15T10:29:55.000Z",
            },
        ],
    },
}
PNG_BYTES = 250 * 1024
BOUNDARY = "lantern-bench-boundary"
LANTERN_PORT = 8101
CEILING_PORT = 8102
# The worker processes the PNG run's screenshots after it; the benchmark waits this long at most for it.
DRAIN_DEADLINE_SECONDS = 900


def screenshot_png(size: int = PNG_BYTES) -> bytes:
    """A PNG of about `size` bytes: a noisy 1280 x 720 frame, the weight of a real page capture."""
    width, height = 1280, 720
    noise = Image.effect_noise((width, height), 64).convert("RGB")
    for rows in range(height, 0, -8):
        buffer = io.BytesIO()
        noise.crop((0, 0, width, rows)).save(buffer, format="PNG", compress_level=6)
        if buffer.tell() <= size:
            return buffer.getvalue()
    msg = "could not make a PNG of that size"
    raise RuntimeError(msg)


def multipart(data: dict[str, Any], png: bytes) -> bytes:
    return b"".join(
        [
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="data"\r\n\r\n'.encode(),
            json.dumps(data).encode(),
            f'\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name="media"; filename="screenshot.png"\r\n'
            "Content-Type: image/png\r\n\r\n".encode(),
            png,
            f"\r\n--{BOUNDARY}--\r\n".encode(),
        ],
    )


async def analyze(owner_url: str) -> None:
    connection = await asyncpg.connect(owner_url)
    try:
        await connection.execute("ANALYZE")
    finally:
        await connection.close()


async def drain(owner_url: str) -> dict[str, Any]:
    """Wait until the worker has processed every screenshot (bounded); how long that took, and the outcome."""
    connection = await asyncpg.connect(owner_url)
    started = time.monotonic()
    try:
        while time.monotonic() - started < DRAIN_DEADLINE_SECONDS:
            if not await connection.fetchval("SELECT count(*) FROM screenshot WHERE status = 'pending'"):
                break
            await asyncio.sleep(0.5)
        statuses = dict(await connection.fetch("SELECT status, count(*) FROM screenshot GROUP BY status"))
    finally:
        await connection.close()
    return {"seconds": round(time.monotonic() - started, 1), "statuses": statuses}


def run(seconds: int) -> dict[str, Any]:
    environment = Environment.postgres()
    environment.activate()
    try:
        [project] = asyncio.run(seed_projects(1, 1))
        body = json.dumps(BUGPIN_EXAMPLE).encode()
        json_headers = {"Content-Type": "application/json", "X-Api-Key": project.api_key}
        owner_url = environment.variables["DATABASE_OWNER_URL"].replace("+asyncpg", "")
        ceiling_env = {"BENCH_CEILING_DATABASE_URL": owner_url}
        with serve(environment, CEILING_PORT, "bench.ceilings:create_app", ceiling_env) as ceilings:
            load.hammer(ceilings + "/insert", body, json_headers, 2)  # warm-up: connections, caches
            asyncio.run(analyze(owner_url))
            validate = load.hammer(ceilings + "/validate", body, json_headers, seconds)
            insert = load.hammer(ceilings + "/insert", body, json_headers, seconds)
        with serve(environment, LANTERN_PORT) as lantern, worker(environment):
            submit_url = lantern + "/api/v1/widget/submit"
            load.hammer(submit_url, body, json_headers, 2)
            asyncio.run(analyze(owner_url))
            submit = load.hammer(submit_url, body, json_headers, seconds)
            png = screenshot_png()
            upload_headers = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}", "X-Api-Key": project.api_key}
            upload = load.hammer(submit_url, multipart(BUGPIN_EXAMPLE, png), upload_headers, seconds)
            backlog = asyncio.run(drain(owner_url))
    finally:
        environment.close()
    return {
        "connections": load.CONNECTIONS,
        "seconds": seconds,
        "ceiling_validate": validate,
        "ceiling_insert": insert,
        "submit_json": submit,
        "submit_png": {**upload, "png_bytes": len(png), "backlog": backlog},
        "ratios": {
            "submit_vs_insert": submit["requests_per_second"] / insert["requests_per_second"],
            "submit_vs_validate": submit["requests_per_second"] / validate["requests_per_second"],
            "png_vs_insert": upload["requests_per_second"] / insert["requests_per_second"],
        },
    }


if __name__ == "__main__":
    print(json.dumps(run(10), indent=2))
