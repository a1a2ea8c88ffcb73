"""Tracking IDs under a burst: 10,000 concurrent widget submissions to 10 projects (of 10 organizations).

Per report: the time from the client sending it to the worker stamping its number (the row's updated_at,
same machine clock), p50/p99; then the gapless check: every project numbered exactly 1..N, in the order
its reports were stored.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from typing import Any

import asyncpg
import httpx

from bench.ingest import BUGPIN_EXAMPLE
from bench.load import CONNECTIONS
from bench.stack import Environment, seed_projects, serve, worker

REPORTS = 10_000
PROJECTS = 10
PORT = 8104
DEADLINE_SECONDS = 300


async def _submit_all(base_url: str, keys: list[str], count: int) -> dict[str, float]:
    """Send every report as fast as 64 connections carry them (as the ingest run); report id → send time.

    64 senders take the next report as soon as theirs is answered: the burst is limited by the server, not
    by a queue of 10,000 requests inside the HTTP client.
    """
    sent: dict[str, float] = {}
    remaining = iter(range(count))
    limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=120) as client:

        async def sender() -> None:
            for i in remaining:
                started = time.time()
                response = await client.post(
                    "/api/v1/widget/submit", json=BUGPIN_EXAMPLE, headers={"X-Api-Key": keys[i % len(keys)]}
                )
                if response.status_code != httpx.codes.CREATED:
                    msg = f"submission answered {response.status_code}: {response.text[:200]}"
                    raise RuntimeError(msg)
                sent[response.json()["reportId"]] = started

        await asyncio.gather(*(sender() for _ in range(CONNECTIONS)))
    return sent


async def _numbered(owner_url: str, project_ids: list[str], deadline: float) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(owner_url.replace("+asyncpg", ""))
    try:
        while time.monotonic() < deadline:
            pending = await connection.fetchval(
                "SELECT count(*) FROM report WHERE project_id = ANY($1::uuid[]) AND number IS NULL", project_ids
            )
            if pending == 0:
                break
            await asyncio.sleep(0.05)
        return await connection.fetch(
            "SELECT id::text AS id, project_id::text AS project_id, number, created_at, updated_at"
            " FROM report WHERE project_id = ANY($1::uuid[]) ORDER BY project_id, created_at, id",
            project_ids,
        )
    finally:
        await connection.close()


def _gapless(rows: list[asyncpg.Record], project_ids: list[str], per_project: int) -> dict[str, Any]:
    problems = []
    for project_id in project_ids:
        numbers = [row["number"] for row in rows if row["project_id"] == project_id]
        if numbers != list(range(1, per_project + 1)):
            problems.append(f"project {project_id}: numbers are not 1..{per_project} in stored order")
    return {"gapless_in_order": not problems, "problems": problems[:5]}


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def run(reports: int = REPORTS) -> dict[str, Any]:
    environment = Environment.postgres("lantern_bench_tracking")
    environment.activate()
    try:
        projects = asyncio.run(seed_projects(PROJECTS, 1))
        project_ids = [project.project_id for project in projects]
        with serve(environment, PORT) as base_url, worker(environment):
            started = time.monotonic()
            sent = asyncio.run(_submit_all(base_url, [project.api_key for project in projects], reports))
            submitted_seconds = time.monotonic() - started
            rows = asyncio.run(
                _numbered(environment.variables["DATABASE_OWNER_URL"], project_ids, started + DEADLINE_SECONDS)
            )
            all_numbered_seconds = time.monotonic() - started
    finally:
        environment.close()
    latencies = [(row["updated_at"].timestamp() - sent[row["id"]]) * 1000 for row in rows if row["number"]]
    return {
        "reports": reports,
        "projects": PROJECTS,
        "connections": CONNECTIONS,
        "submitted_seconds": submitted_seconds,
        "all_numbered_seconds": all_numbered_seconds,
        "numbered": len(latencies),
        "submit_to_id_p50_ms": statistics.median(latencies),
        "submit_to_id_p99_ms": _percentile(latencies, 0.99),
        "submit_to_id_max_ms": max(latencies),
        **_gapless(rows, project_ids, reports // PROJECTS),
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2, default=str))
