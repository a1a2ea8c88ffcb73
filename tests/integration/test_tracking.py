"""Tracking IDs are never lost: gapless per project, in submission order, whatever happens to the queue.

Real parts only: the ASGI app in-process, a real arq worker (in this loop, or a separate process that is
killed), the test Redis and database. On PostgreSQL runs Redis is a shared server: only our own database
number is ever flushed.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from uuid import UUID

import msgspec
import pytest
from arq.constants import default_queue_name, in_progress_key_prefix, retry_key_prefix
from sqlalchemy import func, select

from app.domain.reports.ingest import report_from_api
from app.domain.reports.models import Report
from app.domain.reports.schemas import ApiReport
from app.domain.reports.services import TrackingService, numbering_lock
from app.lib.database import alchemy_config
from app.lib.queue import job_queue
from app.lib.redis import get_redis
from tenants.context import tenant_scope
from tests.support.clients import ApiClient, Tenant, TenantFactory
from tests.support.database import statements_sent
from tests.support.environment import environment
from tests.support.locks import older_transactions_ended
from tests.support.processes import worker_process
from tests.support.server import free_port
from tests.support.worker import running_worker

PROJECTS = 5
PER_PROJECT = 100
CONCURRENCY = 50
SETTLE_SECONDS = 120
# The sweeper takes reports unnumbered for a second, not the production 5 (its cron runs every 10 s).
SWEEP_SOON = {"LANTERN_SWEEP_AFTER_SECONDS": "1"}

REPORT = {
    "title": "結帳按鈕無回應",
    "description": "在行動版 Safari 上點擊「立即付款」沒有反應",
    "severity": "high",
    "category": "bug",
    "metadata": {"page": "/checkout"},
}


async def _projects(tenant: Tenant, count: int = PROJECTS) -> list[dict[str, Any]]:
    return [await tenant.create_project(f"Site {i}", trackingPrefix=f"TR{'ABCDEFGHIJ'[i]}") for i in range(count)]


async def _submit(client: ApiClient, projects: Sequence[dict[str, Any]], per_project: int) -> list[dict[str, Any]]:
    """`per_project` reports to every project, interleaved, CONCURRENCY at a time; returns the 201 bodies."""
    gate = asyncio.Semaphore(CONCURRENCY)

    async def submit(project: dict[str, Any], index: int) -> dict[str, Any]:
        async with gate:
            response = await client.post(
                "/api/v1/reports",
                json={**REPORT, "title": f"{REPORT['title']} #{index}"},
                headers={"X-API-Key": project["apiKey"]},
            )
        assert response.status_code == 201, response.text
        return response.json()["data"]  # type: ignore[no-any-return]

    return list(await asyncio.gather(*(submit(project, index) for index in range(per_project) for project in projects)))


async def _rows(tenant: Tenant, project_id: str) -> list[tuple[int | None, str | None]]:
    """(number, tracking id) of the project's reports in submission order (created_at, then id)."""
    async with alchemy_config().get_session() as session, session.begin():
        with tenant_scope(UUID(tenant.organization_id)):
            rows = await session.execute(
                select(Report.number, Report.tracking_id)
                .where(Report.project_id == UUID(project_id))
                .order_by(Report.created_at, Report.id),
            )
            return [(number, tracking_id) for number, tracking_id in rows.all()]


async def _number(tenant: Tenant, project: dict[str, Any]) -> list[tuple[UUID, str]]:
    """What the project's numbering job does, here in the test."""
    async with alchemy_config().get_session() as session:
        with tenant_scope(UUID(tenant.organization_id)):
            return await TrackingService(session).assign(UUID(project["id"]))


async def _settle(tenant: Tenant, projects: Sequence[dict[str, Any]], seconds: float = SETTLE_SECONDS) -> None:
    """Wait until every report of the projects has a number (bounded; the sweeper may be the one)."""
    for _ in range(int(seconds / 0.2)):
        rows = [row for project in projects for row in await _rows(tenant, project["id"])]
        if all(number is not None for number, _id in rows):
            return
        await asyncio.sleep(0.2)
    msg = "reports were left without a tracking number"
    raise AssertionError(msg)


async def _assert_gapless_in_order(tenant: Tenant, projects: Sequence[dict[str, Any]], per_project: int) -> None:
    """Per project: numbers 1..N exactly once each, following submission order, and `PREFIX-N` ids."""
    await _settle(tenant, projects)
    for project in projects:
        rows = await _rows(tenant, project["id"])
        assert [number for number, _id in rows] == list(range(1, per_project + 1))
        assert [tracking_id for _number, tracking_id in rows] == [
            f"{project['trackingPrefix']}-{n}" for n in range(1, per_project + 1)
        ]


async def test_500_concurrent_submissions_are_gapless_in_submission_order(
    tenants: TenantFactory, anonymous: ApiClient, worker: Any
) -> None:
    async with tenants.create() as tenant:
        projects = await _projects(tenant)
        await _submit(anonymous, projects, PER_PROJECT)
        await _assert_gapless_in_order(tenant, projects, PER_PROJECT)


async def test_a_slow_ingest_keeps_its_place_in_submission_order(
    tenants: TenantFactory, anonymous: ApiClient, worker: Any
) -> None:
    """A report stamped first but committed last (a slow request) still gets the first number."""
    async with tenants.create() as tenant:
        (project,) = await _projects(tenant, count=1)
        project_id = UUID(project["id"])
        async with alchemy_config().get_session() as session:
            with tenant_scope(UUID(tenant.organization_id)):
                # ingest.accept's steps, with a pause between the stamp (flush) and the commit.
                await TrackingService(session).hold_for_append(project_id)
                session.add(report_from_api(project_id, msgspec.convert(REPORT, ApiReport)))
                await session.flush()
                later = asyncio.create_task(
                    anonymous.post("/api/v1/reports", json=REPORT, headers={"X-API-Key": project["apiKey"]})
                )
                await asyncio.sleep(1.5)  # the later report is stored and its job runs meanwhile
                await session.commit()
        assert (await later).status_code == 201
        await _assert_gapless_in_order(tenant, [project], 2)


@pytest.mark.postgres
async def test_submissions_are_stored_while_a_numbering_batch_holds_the_project(
    tenants: TenantFactory, anonymous: ApiClient, worker: Any
) -> None:
    """Ingest takes no numbering lock: it neither waits for a batch in progress nor holds one up."""
    async with tenants.create() as tenant:
        (project,) = await _projects(tenant, count=1)
        async with alchemy_config().get_session() as session, session.begin():
            # What a numbering batch holds for as long as it runs.
            await session.execute(select(func.pg_advisory_xact_lock(numbering_lock(UUID(project["id"])))))
            with environment(LANTERN_TRACKING_WAIT_MS="0"):
                # Bounded only so that a regression fails instead of hanging: the ingest used to wait here.
                await asyncio.wait_for(_submit(anonymous, [project], 20), timeout=60)
            assert await _rows(tenant, project["id"]) == [(None, None)] * 20
        await _assert_gapless_in_order(tenant, [project], 20)


@pytest.mark.postgres
async def test_a_report_committed_under_an_older_transaction_is_numbered_when_that_one_ends(
    tenants: TenantFactory, anonymous: ApiClient, worker: Any
) -> None:
    """Its job cannot number it at first (an older transaction might still store an earlier report); the
    job looks again, so the report is numbered without the sweeper (turned off here)."""
    with environment(LANTERN_SWEEP_AFTER_SECONDS="3600", LANTERN_TRACKING_WAIT_MS="0"):
        async with tenants.create() as tenant, tenants.create() as other:
            (project,) = await _projects(tenant, count=1)
            (elsewhere,) = await _projects(other, count=1)
            async with alchemy_config().get_session() as session:
                with tenant_scope(UUID(other.organization_id)):
                    # The older transaction: another tenant's write, open while our report is stored.
                    session.add(report_from_api(UUID(elsewhere["id"]), msgspec.convert(REPORT, ApiReport)))
                    await session.flush()
                    response = await anonymous.post(
                        "/api/v1/reports", json=REPORT, headers={"X-API-Key": project["apiKey"]}
                    )
                    assert response.status_code == 201, response.text
                    await asyncio.sleep(0.1)
                    await session.commit()
            await _assert_gapless_in_order(tenant, [project], 1)


@pytest.mark.postgres
async def test_a_numbering_pass_is_two_statements_after_the_scope(tenants: TenantFactory, anonymous: ApiClient) -> None:
    """A flood runs many passes, and each statement is a round trip: the lock (with the pass's start) and
    one statement for the numbers, the counter and the held-back check. No worker runs here."""
    with environment(LANTERN_TRACKING_WAIT_MS="0"):
        async with tenants.create() as tenant:
            (project,) = await _projects(tenant, count=1)
            await _submit(anonymous, [project], 1)
            await older_transactions_ended()
            await _number(tenant, project)  # a new project's first pass also makes its counter
            await _submit(anonymous, [project], 30)
            await older_transactions_ended()
            with statements_sent() as statements:
                assigned = await _number(tenant, project)
            assert [tracking_id for _id, tracking_id in assigned] == [f"TRA-{n}" for n in range(2, 32)]
            assert len(statements) == 3, statements
            scope, lock, numbering = statements
            assert "set_config" in scope
            assert "pg_advisory_xact_lock" in lock
            assert numbering.lstrip().startswith("WITH")
            await _assert_gapless_in_order(tenant, [project], 31)


async def test_worker_process_killed_mid_run_and_restarted_loses_nothing(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    with environment(**SWEEP_SOON):
        async with tenants.create() as tenant, worker_process() as process:
            projects = await _projects(tenant)
            submitting = asyncio.create_task(_submit(anonymous, projects, PER_PROJECT))
            await _until_numbered(tenant, projects, at_least=50)
            process.kill()  # mid-run: jobs in flight die with their open transactions
            await asyncio.sleep(1)
            await process.restart()
            await submitting
            await _assert_gapless_in_order(tenant, projects, PER_PROJECT)


async def test_sigterm_lets_the_running_job_finish_without_spending_a_try(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    with environment(**SWEEP_SOON):
        async with tenants.create() as tenant:
            projects = await _projects(tenant, count=1)
            with environment(LANTERN_TRACKING_WAIT_MS="0"):
                await _submit(anonymous, projects, 1000)
            before = await _retry_keys()  # earlier tests' killed jobs leave theirs
            async with worker_process() as process:
                await _until_numbered(tenant, projects, at_least=1)  # a job is numbering the backlog
                process.terminate()
                log = process.output()
                # arq counts a job's tries under this key from its start until it is done; a try spent on a
                # cancelled job would leave it behind (and re-queue the job with one try fewer to go).
                spent = await _retry_keys() - before
                await process.restart()
                await _assert_gapless_in_order(tenant, projects, 1000)
                await _until_queue_empty()
            assert "will be run again" not in log, log  # arq's line for a job cancelled by the signal
            assert spent == set()


async def _retry_keys() -> set[bytes]:
    return {key async for key in get_redis().scan_iter(f"{retry_key_prefix}*")}


async def _until_queue_empty() -> None:
    """Let the worker run the now idle jobs (one per report) rather than leave them to the next test.

    Not counted: jobs due later (the crons) and jobs a killed worker left in progress (arq runs them again
    only when their in-progress key expires, minutes later).
    """
    redis = get_redis()
    for _ in range(SETTLE_SECONDS * 20):
        due = await redis.zrangebyscore(default_queue_name, "-inf", int(time.time() * 1000))
        stuck = [await redis.exists(in_progress_key_prefix + job_id.decode()) for job_id in due]
        if all(stuck):
            return
        await asyncio.sleep(0.05)
    msg = "the queue was not drained"
    raise AssertionError(msg)


async def _until_numbered(tenant: Tenant, projects: Sequence[dict[str, Any]], at_least: int) -> None:
    for _ in range(SETTLE_SECONDS * 20):
        rows = [row for project in projects for row in await _rows(tenant, project["id"])]
        if sum(number is not None for number, _id in rows) >= at_least:
            return
        await asyncio.sleep(0.05)
    msg = f"the worker did not number {at_least} reports"
    raise AssertionError(msg)


async def test_flushed_queue_with_reports_pending_is_recovered_by_the_sweeper(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    with environment(**SWEEP_SOON):
        async with tenants.create() as tenant:
            projects = await _projects(tenant)
            with environment(LANTERN_TRACKING_WAIT_MS="0"):  # no worker runs: nobody would answer
                accepted = await _submit(anonymous, projects, PER_PROJECT)
            assert all(data["trackingId"] is None for data in accepted)
            await _flush_our_redis()
            async with running_worker():
                await _assert_gapless_in_order(tenant, projects, PER_PROJECT)


async def _flush_our_redis() -> None:
    """FLUSHALL on the embedded Redis; on a shared server (TEST_REDIS_URL) only our own database."""
    redis = get_redis()
    if os.environ.get("TEST_REDIS_URL"):
        await redis.flushdb()
    else:
        await redis.flushall()
    assert await redis.dbsize() == 0


async def test_enqueue_failing_after_commit_answers_null_and_the_sweeper_numbers_it(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    with environment(**SWEEP_SOON):
        async with tenants.create() as tenant:
            (project,) = await _projects(tenant, count=1)
            # The queue's Redis is a closed port for this one request: its connection is made anew from REDIS_URL.
            with environment(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0"), _fresh_queue_pool():
                response = await anonymous.post(
                    "/api/v1/reports", json=REPORT, headers={"X-API-Key": project["apiKey"]}
                )
            assert response.status_code == 201, response.text
            assert response.json()["data"]["trackingId"] is None
            assert await _rows(tenant, project["id"]) == [(None, None)]
            async with running_worker():
                await _settle(tenant, [project], seconds=30)
            assert await _rows(tenant, project["id"]) == [(1, f"{project['trackingPrefix']}-1")]


@contextmanager
def _fresh_queue_pool() -> Iterator[None]:
    _forget_queue()
    try:
        yield
    finally:
        _forget_queue()


def _forget_queue() -> None:
    get_redis.cache_clear()
    job_queue.cache_clear()


async def test_idle_worker_answers_with_the_tracking_id_at_least_95_percent(
    tenants: TenantFactory, anonymous: ApiClient, worker: Any
) -> None:
    async with tenants.create() as tenant:
        (project,) = await _projects(tenant, count=1)
        answered = 0
        for _ in range(100):
            response = await anonymous.post("/api/v1/reports", json=REPORT, headers={"X-API-Key": project["apiKey"]})
            assert response.status_code == 201, response.text
            answered += response.json()["data"]["trackingId"] is not None
        print(f"trackingId in the 201 response: {answered}/100")  # noqa: T201 - the figure the issue asks for
        assert answered >= 95
        await _assert_gapless_in_order(tenant, [project], 100)


async def test_reports_arriving_while_the_projects_job_runs_are_numbered(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    """A backlog of three batches is being numbered when new reports for the project keep arriving."""
    async with tenants.create() as tenant:
        (project,) = await _projects(tenant, count=1)
        backlog, late = 1200, 100
        with environment(LANTERN_TRACKING_WAIT_MS="0"):
            await _submit(anonymous, [project], backlog)
        async with running_worker():
            arrived = await _submit(anonymous, [project], late)
            numbered = sum(number is not None for number, _id in await _rows(tenant, project["id"]))
            await _assert_gapless_in_order(tenant, [project], backlog + late)
            await _until_queue_empty()
        answered = sum(data["trackingId"] is not None for data in arrived)
        print(f"late reports answered with their ID: {answered}/{late}; numbered then: {numbered}")  # noqa: T201


async def test_the_worker_logs_each_job_line_once(tenants: TenantFactory, anonymous: ApiClient) -> None:
    """arq's lines come at INFO, the level of the worker's logs (the suite's own is WARNING)."""
    async with tenants.create() as tenant, worker_process({"LANTERN_LOG_LEVEL": "INFO"}) as process:
        (project,) = await _projects(tenant, count=1)
        response = await anonymous.post("/api/v1/reports", json=REPORT, headers={"X-API-Key": project["apiKey"]})
        assert response.status_code == 201, response.text
        await _settle(tenant, [project], seconds=30)
        await asyncio.sleep(0.5)  # the job's closing line follows its commit
        log = process.output()
    events = [json.loads(line)["event"] for line in log.splitlines() if line.startswith("{")]
    started = [event for event in events if ":assign_tracking_ids(" in event]
    finished = [event for event in events if ":assign_tracking_ids ●" in event]
    assert (len(started), len(finished)) == (1, 1), log
