"""The two ceilings the ingest benchmark compares Lantern's widget submit against, served by the same granian
settings: `validate` only decodes and validates BugPin's body with Lantern's own schema; `insert` also
stores it with one raw asyncpg INSERT in its own durable transaction (what one request per commit allows).

Served as `granian --factory bench.ceilings:create_app`, configured by BENCH_CEILING_DATABASE_URL.
"""

from __future__ import annotations

import os
from typing import Any
from uuid import uuid4

import asyncpg
import msgspec
from litestar import Litestar, Request, get, post
from litestar.status_codes import HTTP_201_CREATED

from app.domain.reports.models import Priority
from app.domain.reports.schemas import WidgetSubmission
from app.lib.runtime import settle_heap
from app.lib.schema import decode_json

TABLE = """
CREATE TABLE IF NOT EXISTS ceiling_report (
    id uuid PRIMARY KEY,
    api_key text NOT NULL,
    title text NOT NULL,
    description text,
    priority text NOT NULL,
    page_url text,
    metadata jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
)
"""
INSERT = (
    "INSERT INTO ceiling_report (id, api_key, title, description, priority, page_url, metadata)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7)"
)
POOL_SIZE = 20


def create_app() -> Litestar:
    pool: list[asyncpg.Pool] = []

    async def connect() -> None:
        url = os.environ["BENCH_CEILING_DATABASE_URL"]
        pool.append(await asyncpg.create_pool(url, min_size=POOL_SIZE, max_size=POOL_SIZE))
        async with pool[0].acquire() as connection:
            await connection.execute(TABLE)

    async def disconnect() -> None:
        await pool[0].close()

    @get("/health")
    async def health() -> dict[str, bool]:
        return {"success": True}

    @post("/validate", status_code=HTTP_201_CREATED)
    async def validate(request: Request[Any, Any, Any]) -> dict[str, Any]:
        submission = decode_json(await request.body(), WidgetSubmission)
        return {"success": True, "reportId": str(uuid4()), "title": submission.title}

    @post("/insert", status_code=HTTP_201_CREATED)
    async def insert(request: Request[Any, Any, Any]) -> dict[str, Any]:
        submission = decode_json(await request.body(), WidgetSubmission)
        report_id = uuid4()
        await pool[0].execute(
            INSERT,
            report_id,
            request.headers.get("x-api-key", ""),
            submission.title,
            submission.description,
            (submission.priority or Priority.MEDIUM).value,  # null is the default, as in ingest
            submission.metadata.url,
            msgspec.json.encode(submission.metadata).decode(),
        )
        return {"success": True, "reportId": str(report_id)}

    return Litestar(
        route_handlers=[health, validate, insert],
        on_startup=[connect, settle_heap],
        on_shutdown=[disconnect],
        logging_config=None,
    )
