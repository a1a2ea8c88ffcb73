"""The job dashboard: an organization's managers see its background work, and only its own; the instance's
operators see every organization's.

Real parts: the app in-process, the test Redis holding arq's real queue, a real worker in this loop where
work must get done, real images (one that processes, one that fails) and a real webhook receiver.
"""

from __future__ import annotations

import asyncio
import io
import itertools
import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from arq.constants import in_progress_key_prefix
from PIL import Image

from app.lib.fair_share import OUTBOUND_SHARE
from app.lib.queue import OUTBOUND_QUEUE, POSTPONED
from app.lib.redis import get_redis
from app.seed import create_admin
from tests.integration.test_webhooks import create_webhook, ping
from tests.support.clients import PASSWORD, ApiClient, Tenant, TenantFactory
from tests.support.environment import environment
from tests.support.isolation import member_of
from tests.support.processes import worker_process
from tests.support.receiver import HangingReceiver, Receiver
from tests.support.worker import running_worker

JOBS = "/api/v1/jobs"
DEADLINE_SECONDS = 60.0
BROKEN_PNG = b"\x89PNG\r\n\x1a\n" + b"not really an image" * 8


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), "teal").save(buffer, "PNG")
    return buffer.getvalue()


def _data(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()["data"]


def kind(overview: dict[str, Any], name: str) -> dict[str, Any]:
    return next(summary for summary in overview["kinds"] if summary["kind"] == name)


async def submit_with_screenshot(tenant: Tenant, api_key: str, image: bytes) -> str:
    headers = {"X-API-Key": api_key}
    upload = await tenant.client.post("/api/v1/upload/screenshot", files={"file": ("shot.png", image)}, headers=headers)
    assert upload.status_code == 201, upload.text
    body = {"title": "The cart is empty", "screenshot_url": upload.json()["key"]}
    return str(_data(await tenant.client.post("/api/v1/reports", json=body, headers=headers), 201)["id"])


async def settled(client: ApiClient, query: str = "") -> dict[str, Any]:
    """The dashboard once nothing of the organization is pending any more (polled)."""
    overview: dict[str, Any] = {}
    for _ in range(int(DEADLINE_SECONDS / 0.1)):
        overview = _data(await client.get(f"{JOBS}{query}"))
        if not any(summary["pending"] for summary in overview["kinds"]):
            return overview
        await asyncio.sleep(0.1)
    msg = f"work still pending after {DEADLINE_SECONDS} s: {overview['kinds']}"
    raise AssertionError(msg)


async def test_an_organization_sees_its_pending_work_and_nothing_of_anothers(tenants: TenantFactory) -> None:
    async with tenants.create("Busy") as busy, tenants.create("Idle") as idle:
        project = await busy.create_project("Shop", trackingPrefix="SHOP")
        for _ in range(2):
            await submit_with_screenshot(busy, project["apiKey"], png())
        # An upload no report took yet waits for its report, not for the worker: it is no pending work.
        upload = {"file": ("shot.png", png())}
        headers = {"X-API-Key": project["apiKey"]}
        assert (await busy.client.post("/api/v1/upload/screenshot", files=upload, headers=headers)).status_code == 201

        mine = _data(await busy.client.get(JOBS))
        assert mine["scope"] == "organization"
        assert mine["organizations"] is None
        assert (kind(mine, "screenshot")["pending"], kind(mine, "trackingId")["pending"]) == (2, 2)
        queued = {entry["function"]: entry for entry in mine["queue"]["functions"]}
        assert queued["process_screenshot"]["queued"] == 2, mine["queue"]
        assert queued["assign_tracking_ids"]["queued"] >= 1, mine["queue"]
        assert mine["queue"]["queued"] >= 3
        # JSON:API mode, as on every item: it answered the envelope.
        document = await busy.client.get(JOBS, headers={"Accept": "application/vnd.api+json"})
        assert document.headers["content-type"].startswith("application/vnd.api+json"), document.text
        resource = document.json()["data"]
        assert (resource["type"], resource["id"]) == ("jobOverview", "organization")
        assert resource["attributes"]["kinds"] == mine["kinds"]

        theirs = _data(await idle.client.get(JOBS))
        assert [summary["pending"] for summary in theirs["kinds"]] == [0, 0, 0, 0, 0]
        assert theirs["queue"] == {
            "queued": 0,
            "scheduled": 0,
            "waiting": 0,
            "running": 0,
            "retrying": 0,
            "functions": [],
            "truncated": False,
        }


async def test_outbound_jobs_over_the_organizations_share_wait_for_a_free_slot(
    tenants: TenantFactory, worker: Any
) -> None:
    """An organization runs at most its share of outbound jobs at once; the others are postponed until a slot is
    free. The dashboard showed them as scheduled, as it shows retries waiting for their time: a manager could not
    tell deliveries held back behind the organization's own hung receivers from deliveries that had failed."""
    over = 5
    settings = {"LANTERN_ALLOW_PRIVATE_TARGETS": "1", "LANTERN_OUTBOUND_TIMEOUT_SECONDS": "120"}
    with environment(**settings):
        async with HangingReceiver() as hanging, tenants.create() as tenant:
            hook = await create_webhook(tenant, hanging.url)
            for _ in range(OUTBOUND_SHARE + over):
                await ping(tenant, hook["id"])
            await hanging.holding(OUTBOUND_SHARE, DEADLINE_SECONDS)
            await _postponed(over)
            queue = await _queue_holding(tenant.client, running=OUTBOUND_SHARE, waiting=over)
            page = await _page_holding(tenant.client, running=OUTBOUND_SHARE, waiting=over)
            # Its later retries must not outlive the test.
            assert (await tenant.client.delete(f"/api/v1/webhooks/{hook['id']}")).status_code == 204
            document = (await tenant.client.get("/schema/openapi.json")).json()

    assert (queue.get("waiting"), queue["queued"], queue["scheduled"], queue["retrying"]) == (over, 0, 0, 0), queue
    [deliveries] = queue["functions"]
    assert (deliveries["function"], deliveries.get("waiting")) == ("deliver_webhook", over), queue
    assert f"<dt>Waiting for a free slot</dt><dd>{over}</dd>" in page
    documented = document["components"]["schemas"]["QueueNow"]["properties"]
    assert "waiting for a free slot" in documented["waiting"]["description"], documented


async def _postponed(count: int) -> None:
    """Once `count` outbound jobs have been postponed (their first run found no free slot): the dashboard read
    before may still count one of them as due under its first id."""
    redis = get_redis()
    for _ in range(int(DEADLINE_SECONDS / 0.05)):
        queued = [job_id.decode() for job_id in await redis.zrange(OUTBOUND_QUEUE, 0, -1)]
        if len({job_id.partition(POSTPONED)[0] for job_id in queued if POSTPONED in job_id}) >= count:
            return
        await asyncio.sleep(0.05)
    msg = f"fewer than {count} outbound jobs were postponed"
    raise AssertionError(msg)


def _not_running(queue: dict[str, Any]) -> int:
    return int(queue["queued"] + queue["scheduled"] + queue.get("waiting", 0))


async def _queue_holding(client: ApiClient, *, running: int, waiting: int) -> dict[str, Any]:
    """The queue once it holds this many of the organization's jobs running and this many waiting for a slot,
    and none other (polled: a postponed job runs a moment before it is postponed again, and on a loaded machine
    one may be due, or tried again, before its worker takes it)."""
    queue: dict[str, Any] = {}
    for _ in range(int(DEADLINE_SECONDS / 0.1)):
        queue = _data(await client.get(JOBS))["queue"]
        if (queue["running"], queue.get("waiting"), _not_running(queue)) == (running, waiting, waiting):
            return queue
        await asyncio.sleep(0.1)
    msg = f"the queue did not hold {running} running jobs and {waiting} waiting ones: {queue}"
    raise AssertionError(msg)


async def _page_holding(client: ApiClient, *, running: int, waiting: int) -> str:
    """The admin UI's job page once it counts as many running jobs, and as many waiting ones and no other, as the
    queue holds."""
    page = ""
    for _ in range(int(DEADLINE_SECONDS / 0.1)):
        response = await client.get("/ui/jobs")
        assert response.status_code == 200, response.text
        page = response.text
        counted = {name: int(count) for name, count in re.findall(r"<dt>([^<]+)</dt><dd>(\d+)</dd>", page)}
        others = sum(counted.get(name, 0) for name in ("Queued", "Scheduled"))
        if (counted.get("Running"), counted.get("Waiting for a free slot"), others) == (running, waiting, 0):
            return page
        await asyncio.sleep(0.1)
    msg = f"the job page did not count {running} running jobs and {waiting} waiting ones"
    raise AssertionError(msg)


async def test_a_killed_workers_jobs_are_not_running_once_their_work_is_done(tenants: TenantFactory) -> None:
    """A worker killed with SIGKILL held its jobs' claims until arq let go of them (100 s for images): the
    dashboard showed them running long after the sweeper had their work done by another worker."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop")
        image = io.BytesIO()
        Image.effect_mandelbrot((1920, 1080), (-2.0, -1.0, 1.0, 1.0), 40).convert("RGB").save(image, "PNG")
        for _ in range(16):
            await submit_with_screenshot(tenant, project["apiKey"], image.getvalue())
        redis = get_redis()
        claims: list[bytes] = []
        # A worker killed as it ran one; another worker may have had the job it was seen with (a worker of the
        # suite's own takes the same queue), so it is started again, a few times at most, until it died holding one.
        for _ in range(3):
            claims = await _killed_while_running_one(redis)
            if claims:
                break
        assert claims, "the worker ran no screenshot before it was killed"
        # Its successor takes over a run after 15 s (5 s of image work and its margin).
        async with worker_process(env={"LANTERN_SCREENSHOT_TIMEOUT_SECONDS": "5"}):
            overview = await settled(tenant.client)
            assert await redis.exists(*claims), "the killed worker's claims expired: nothing left to check"
        assert overview["queue"]["running"] == 0, overview["queue"]


async def _killed_while_running_one(redis: Any) -> list[bytes]:
    """The claims a worker killed with SIGKILL held when it died. They last its jobs' timeout and arq's 10 s: ten
    minutes, so that they are still there however slowly its successor does their work on a busy machine."""
    async with worker_process(env={"LANTERN_SCREENSHOT_TIMEOUT_SECONDS": "600"}) as killed:
        for _ in range(int(DEADLINE_SECONDS / 0.02)):
            if await _screenshot_claims(redis):
                break
            await asyncio.sleep(0.02)
        killed.kill()
        # Those it held when it died: a claim seen before the kill may have been of a job it finished since.
        return await _screenshot_claims(redis)


async def _screenshot_claims(redis: Any) -> list[bytes]:
    return [key async for key in redis.scan_iter(match=f"{in_progress_key_prefix}screenshot:*")]


async def test_done_failed_and_retried_work_is_counted_hour_by_hour(tenants: TenantFactory) -> None:
    settings = {"LANTERN_ALLOW_PRIVATE_TARGETS": "1", "LANTERN_OUTBOUND_RETRY_SECONDS": "0.2"}
    async with tenants.create() as tenant, Receiver(statuses=[500, 200]) as receiver:
        with environment(**settings):
            project = await tenant.create_project("Shop", trackingPrefix="SHOP")
            webhook = {"url": receiver.url, "events": ["report.created"]}
            _data(await tenant.client.post("/api/v1/webhooks", json=webhook), 201)
            async with running_worker():
                await submit_with_screenshot(tenant, project["apiKey"], png())
                # This worker also retries, as often, the deliveries earlier tests left to hosts that do not
                # resolve: the queue they share is a noisy neighbour's, so the bound is wide.
                await receiver.wait_for(2, timeout=90)  # a 500, then the retry's 200
                await submit_with_screenshot(tenant, project["apiKey"], BROKEN_PNG)
                await receiver.wait_for(3, timeout=90)
                overview = await settled(tenant.client, "?hours=6")

    summaries = {summary["kind"]: summary for summary in overview["kinds"]}
    outcomes = {name: (s["pending"], s["done"], s["failed"], s["retries"]) for name, s in summaries.items()}
    assert outcomes == {
        "screenshot": (0, 1, 1, 0),
        "attachmentImage": (0, 0, 0, 0),
        "webhookDelivery": (0, 2, 0, 1),
        "githubIssue": (0, 0, 0, 0),
        "trackingId": (0, 2, 0, 0),
    }
    for summary in summaries.values():
        hours = [datetime.fromisoformat(hour["hour"]) for hour in summary["hourly"]]
        assert len(hours) == 7, "every hour of the window, the current one included"
        assert all(later - earlier == timedelta(hours=1) for earlier, later in itertools.pairwise(hours))
        assert hours[-1] <= datetime.now(UTC) < hours[-1] + timedelta(hours=2)
        assert sum(hour["done"] for hour in summary["hourly"]) == summary["done"]
        assert sum(hour["failed"] for hour in summary["hourly"]) == summary["failed"]


async def test_every_organization_is_shown_to_operators_only(tenants: TenantFactory, app: Any) -> None:
    async with tenants.create("Busy") as busy:
        project = await busy.create_project("Shop", trackingPrefix="SHOP")
        await submit_with_screenshot(busy, project["apiKey"], png())

        refused = await busy.client.get(f"{JOBS}?scope=instance")
        assert (refused.status_code, refused.json()["error"]) == (403, "FORBIDDEN")
        token = (await busy.create_token())["token"]
        async with ApiClient.for_app(app, headers={"Authorization": f"Bearer {token}"}) as program:
            assert (await program.get(f"{JOBS}?scope=instance")).status_code == 403
            assert (await program.get(JOBS)).status_code == 200

        email = f"operator-{secrets.token_hex(4)}@example.com"
        await create_admin(email=email, password=PASSWORD, organization_name="Operations", name="Ops", operator=True)
        async with ApiClient.for_app(app) as operator:
            login = await operator.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
            assert login.status_code == 200, login.text
            everyone = _data(await operator.get(f"{JOBS}?scope=instance"))
            own = _data(await operator.get(JOBS))

    assert everyone["scope"] == "instance"
    rows = {row["organizationId"]: row for row in everyone["organizations"]}
    assert rows[busy.organization_id]["pending"] >= 2  # its screenshot and its report's number
    assert rows[busy.organization_id]["name"] == "Busy"
    assert kind(everyone, "screenshot")["pending"] >= 1
    assert own["organizations"] is None
    assert kind(own, "screenshot")["pending"] == 0  # the operator's own organization has no work


async def test_members_are_refused_and_the_window_is_checked(tenants: TenantFactory, app: Any) -> None:
    async with tenants.create() as tenant:
        async with member_of(tenant, app) as member:
            assert (await member.get(JOBS)).status_code == 403
        for hours in ("0", "169", "many"):
            refused = await tenant.client.get(f"{JOBS}?hours={hours}")
            assert (refused.status_code, refused.json()["error"]) == (400, "VALIDATION_ERROR"), refused.text
            assert [detail["field"] for detail in refused.json()["details"]] == ["hours"]
        refused = await tenant.client.get(f"{JOBS}?scope=everything")
        assert refused.status_code == 400, refused.text
        # Named as sent: it said `view`, the handler's own name for it, found nowhere in the request or document.
        assert [detail["field"] for detail in refused.json()["details"]] == ["scope"]
        assert len(_data(await tenant.client.get(f"{JOBS}?hours=168"))["kinds"][0]["hourly"]) == 169
