"""`make bench`: every benchmark in one bounded run, traffic only to 127.0.0.1, against PostgreSQL and Redis
(BENCH_DATABASE_URL, BENCH_REDIS_URL; defaults: the local servers, Redis database 8). Writes
bench/results/latest.json and docs/BENCHMARKS.md. `python -m bench ingest tracking` runs only those parts.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import platform
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import asyncpg

from bench import ingest, limiter, report, screenshots, stack, tracking, triage

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "latest.json"
DOCUMENT = ROOT / "docs" / "BENCHMARKS.md"
INGEST_SECONDS = int(os.environ.get("BENCH_INGEST_SECONDS") or 15)
PACKAGES = ("litestar", "granian", "sqlalchemy", "advanced-alchemy", "asyncpg", "redis", "arq", "msgspec", "pillow")


def _postgres_version() -> str:
    async def read() -> str:
        connection = await asyncpg.connect(stack.postgres_url().replace("+asyncpg", ""))
        try:
            return str(await connection.fetchval("SHOW server_version"))
        finally:
            await connection.close()

    return asyncio.run(read())


def _machine() -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "postgresql": _postgres_version(),
        "packages": {name: version(name) for name in PACKAGES},
    }


PARTS: dict[str, Callable[[], dict[str, Any]]] = {
    "ingest": lambda: ingest.run(INGEST_SECONDS),
    "tracking": tracking.run,
    "triage": triage.run,
    "limiter": lambda: asyncio.run(limiter.measure(stack.redis_url())),
    "screenshots": screenshots.results,
}


def main(parts: list[str]) -> None:
    logging.getLogger("httpx").setLevel(logging.WARNING)
    chosen = parts or list(PARTS)
    results: dict[str, Any] = {"date": datetime.now(UTC).isoformat(timespec="seconds"), "machine": _machine()}
    if RESULTS.exists() and parts:
        results = {**json.loads(RESULTS.read_text()), **results}
    for name in chosen:
        print(f"== {name}", file=sys.stderr, flush=True)
        started = time.perf_counter()
        results[name] = PARTS[name]()
        print(f"== {name}: {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
        _write(results)  # after every part: a failure later keeps what was measured


def _write(results: dict[str, Any]) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False, default=str) + "\n")
    DOCUMENT.write_text(report.markdown(results))


if __name__ == "__main__":
    main(sys.argv[1:])
