"""Tracking IDs under a burst: 10,000 widget submissions at once to 10 projects (of 10 organizations),
sent by one ApacheBench per project, about 64 connections in all.

Per report: the time from its storing (created_at) to the worker stamping its number (updated_at), both
stamped by this machine's clock, p50/p99; the time until the whole burst is numbered; then the gapless
check: every project numbered exactly 1..N, in the order its reports were stored.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import time
from typing import Any

import asyncpg

from bench import load
from bench.ingest import BUGPIN_EXAMPLE
from bench.load import CONNECTIONS
from bench.stack import Environment, seed_projects, serve, worker

REPORTS = int(os.environ.get("BENCH_TRACKING_REPORTS") or 10_000)
PROJECTS = 10
PORT = 8104
DEADLINE_SECONDS = 300


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
        numbered: list[asyncpg.Record] = await connection.fetch(
            "SELECT id::text AS id, project_id::text AS project_id, number, created_at, updated_at"
            " FROM report WHERE project_id = ANY($1::uuid[]) ORDER BY project_id, created_at, id",
            project_ids,
        )
    finally:
        await connection.close()
    return numbered


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
            keys = [project.api_key for project in projects]
            submitted = load.burst(
                base_url, "/api/v1/widget/submit", json.dumps(BUGPIN_EXAMPLE).encode(), keys, reports
            )
            submitted_seconds = time.monotonic() - started
            rows = asyncio.run(
                _numbered(environment.variables["DATABASE_OWNER_URL"], project_ids, started + DEADLINE_SECONDS)
            )
            all_numbered_seconds = time.monotonic() - started
    finally:
        environment.close()
    latencies = [(row["updated_at"] - row["created_at"]).total_seconds() * 1000 for row in rows if row["number"]]
    return {
        "reports": reports,
        "refused": submitted["refused"],
        "projects": PROJECTS,
        "connections": CONNECTIONS,
        "submitted_seconds": submitted_seconds,
        "all_numbered_seconds": all_numbered_seconds,
        "numbered": len(latencies),
        "stored_to_id_p50_ms": statistics.median(latencies),
        "stored_to_id_p99_ms": _percentile(latencies, 0.99),
        "stored_to_id_max_ms": max(latencies),
        **_gapless(rows, project_ids, reports // PROJECTS),
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2, default=str))
