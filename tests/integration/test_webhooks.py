"""Outgoing webhooks: an organization's managers register URLs, and Lantern POSTs signed events to them.

What is tested, with real parts only (the app in-process, a real arq worker in this loop, the test Redis and
database, and real HTTP receivers on 127.0.0.1 from `tests.support.receiver`):

- the API: create with Lantern's body and with BugHerd's, list, show, change, delete; the secret is shown
  only on creation and rotation; unknown or no events, non-http(s) URLs and private addresses (unless the
  operator allows them) and another organization's project are refused naming the field; members get 403
  and another organization gets 404 on every webhook route;
- the events: report.created (once the worker has numbered the report), report.updated, report.deleted,
  comment.created and report.screenshots_processed (once per report, when the worker is done with its
  screenshots, ready or failed), each delivered with its payload, headers and an HMAC-SHA256 signature checked
  here with the secret the API gave; a project's webhook hears only that project, an organization's webhooks
  never hear another organization, an inactive webhook hears nothing;
- delivery: a failed answer or an unreachable receiver is retried (same delivery id), 410 disables the
  webhook, a ping, a redelivery as a new delivery, and a rotated secret signing what follows.

Receivers listen on 127.0.0.1, so every test runs with LANTERN_ALLOW_PRIVATE_TARGETS=1 except the one that
checks the refusal; LANTERN_OUTBOUND_RETRY_SECONDS=0.2 makes retries come within a test's time.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import html
import json
import os
import re
import signal
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from arq.constants import default_queue_name, job_key_prefix
from arq.jobs import deserialize_job
from sqlalchemy import func, select, text, update

from app.domain.reports.models import Screenshot
from app.domain.reports.screenshots import ScreenshotService
from app.domain.webhooks.events import WebhookEvents
from app.domain.webhooks.models import Webhook, WebhookDelivery
from app.domain.webhooks.services import DeliveryService
from app.lib.fair_share import OUTBOUND_SHARE, POSTPONE_MAX_SECONDS, SLOT_LEASE_MS
from app.lib.queue import OUTBOUND_QUEUE, deserialize
from app.lib.redis import get_redis
from app.settings import get_settings
from tests.integration.test_concurrent_changes import until_waiting
from tests.integration.test_screenshots import screenshot_png, tenant_session
from tests.support.clients import ApiClient, Tenant, TenantFactory
from tests.support.environment import environment
from tests.support.isolation import member_of, owner_engine, png
from tests.support.locks import deletions, until_waiting_for
from tests.support.logs import json_lines
from tests.support.processes import worker_process
from tests.support.receiver import HangingReceiver, ReceivedRequest, Receiver
from tests.support.server import free_port
from tests.support.worker import queued_jobs
from workers.main import OUTBOUND_JOBS_AT_ONCE

WEBHOOKS = "/api/v1/webhooks"
ALL_EVENTS = ["report.created", "report.updated", "report.deleted", "comment.created"]
SCREENSHOTS_PROCESSED = "report.screenshots_processed"
DEADLINE_SECONDS = 15.0
WEBHOOK_FIELDS = {"id", "url", "events", "projectId", "active", "disabledReason", "createdAt", "updatedAt"}
DELIVERY_FIELDS = {
    "id", "webhookId", "event", "status", "attempts", "responseStatus", "error",
    "nextAttemptAt", "deliveredAt", "createdAt", "payload",
}  # fmt: skip
PRIVATE_URLS = [
    "http://127.0.0.1:9/x",
    "http://10.0.0.1/x",
    "http://[::1]/x",
    "http://localhost/x",
    "http://169.254.169.254/latest",
    # Other spellings of 127.0.0.1 that a connection accepts.
    "http://127.1/x",
    "http://2130706433/x",
    "http://0x7f000001/x",
    # IPv4 addresses inside IPv6 ones, which a NAT64 gateway or 6to4 relay reaches, and site-local IPv6.
    "http://[64:ff9b::a9fe:a9fe]/latest",
    "http://[64:ff9b::a00:1]/x",
    "http://[2002:7f00:1::]/x",
    "http://[::127.0.0.1]/x",
    "http://[fec0::1]/x",
]
REPORT = {"title": "Checkout button does nothing — 結帳", "description": "Clicking “Pay now” on Safari has no effect"}


@pytest.fixture(autouse=True)
def webhook_settings() -> Iterator[None]:
    """Receivers on 127.0.0.1 allowed, retries after 0.2 s (x6 per attempt); set before the worker starts."""
    with environment(LANTERN_ALLOW_PRIVATE_TARGETS="1", LANTERN_OUTBOUND_RETRY_SECONDS="0.2"):
        yield


# Helpers for the API


def _data(response: httpx.Response, status: int) -> Any:
    assert response.status_code == status, f"{response.request.method} {response.request.url}: {response.text}"
    body = response.json()
    assert body["success"] is True
    return body["data"]


def _refused(response: httpx.Response, status: int, error: str, field: str | None = None) -> None:
    assert response.status_code == status, f"{response.request.method} {response.request.url}: {response.text}"
    body = response.json()
    assert (body["success"], body["error"]) == (False, error), body
    if field is not None:
        assert field in [detail["field"] for detail in body["details"]], body


async def create_webhook(
    tenant: Tenant, url: str, events: list[str] | None = None, project_id: str | None = None
) -> dict[str, Any]:
    """A webhook made with Lantern's own body; the answer includes its `secret`."""
    body = {"url": url, "events": ALL_EVENTS if events is None else events, "projectId": project_id}
    created: dict[str, Any] = _data(await tenant.client.post(WEBHOOKS, json=body), 201)
    assert created["secret"].startswith("whsec_")
    return created


async def deliveries(tenant: Tenant, webhook_id: str) -> list[dict[str, Any]]:
    listed = _data(await tenant.client.get(f"{WEBHOOKS}/{webhook_id}/deliveries"), 200)
    assert isinstance(listed, list), listed
    return listed


async def wait_for_delivery(
    tenant: Tenant, webhook_id: str, delivery_id: str, status: str, within: float = DEADLINE_SECONDS
) -> dict[str, Any]:
    """The delivery once its status is `status` (polled up to `within` seconds)."""
    seen: dict[str, Any] | None = None
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        seen = next((d for d in await deliveries(tenant, webhook_id) if d["id"] == delivery_id), None)
        if seen is not None and seen["status"] == status:
            assert set(seen) >= DELIVERY_FIELDS, seen
            return seen
        await asyncio.sleep(0.05)
    msg = f"delivery {delivery_id} did not become {status!r} within {within} s; last seen: {seen}"
    raise AssertionError(msg)


async def ping(tenant: Tenant, webhook_id: str) -> dict[str, Any]:
    """A ping queued: its delivery, read again where `Location` says (the address its receiver's
    `X-Lantern-Delivery` names; ping and redeliver answered a 201 of no address)."""
    answer = await tenant.client.post(f"{WEBHOOKS}/{webhook_id}/ping")
    delivery: dict[str, Any] = _data(answer, 201)
    assert (delivery["event"], delivery["webhookId"]) == ("ping", webhook_id)
    assert answer.headers["location"].endswith(f"{WEBHOOKS}/{webhook_id}/deliveries/{delivery['id']}")
    assert _data(await tenant.client.get(answer.headers["location"]), 200)["id"] == delivery["id"]
    return delivery


def webhook_routes(webhook_id: str, delivery_id: str) -> list[tuple[str, str, Any]]:
    """(method, path, body) of every route that names a webhook."""
    base = f"{WEBHOOKS}/{webhook_id}"
    return [
        ("GET", base, None),
        ("PATCH", base, {"active": False, "url": "https://attacker.example.com/hook"}),
        ("POST", f"{base}/secret", None),
        ("POST", f"{base}/ping", None),
        ("GET", f"{base}/deliveries", None),
        ("GET", f"{base}/deliveries/{delivery_id}", None),
        ("POST", f"{base}/deliveries/{delivery_id}/redeliver", None),
        ("DELETE", base, None),
    ]


# Helpers for reports


async def submit_report(project: dict[str, Any], client: ApiClient, title: str = REPORT["title"]) -> str:
    """A report sent with the project's widget key; returns its id."""
    response = await client.post(
        "/api/v1/reports", json={**REPORT, "title": title}, headers={"X-API-Key": project["apiKey"]}
    )
    return str(_data(response, 201)["id"])


async def report_with_screenshots(project: dict[str, Any], client: ApiClient, *images: bytes) -> str:
    """A BugSpark report whose uploads are its screenshot and, a second one, its annotated copy; returns its id."""
    headers = {"X-API-Key": project["apiKey"]}
    keys = []
    for image in images:
        upload = await client.post("/api/v1/upload/screenshot", files={"file": ("shot.png", image)}, headers=headers)
        assert upload.status_code == 201, upload.text  # BugSpark's answer: the key alone, no envelope
        keys.append(upload.json()["key"])
    body = {**REPORT, **dict(zip(("screenshot_url", "annotated_screenshot_url"), keys, strict=False))}
    return str(_data(await client.post("/api/v1/reports", json=body, headers=headers), 201)["id"])


def damaged_png() -> bytes:
    """A PNG by its signature and header whose compressed image data is garbage: no decoder reads it."""
    data = png()
    start = data.index(b"IDAT") + len(b"IDAT")
    return data[:start] + bytes(byte ^ 0xFF for byte in data[start:-12]) + data[-12:]  # IEND, the last 12 bytes


async def shown_report(tenant: Tenant, report_id: str) -> dict[str, Any]:
    shown: dict[str, Any] = _data(await tenant.client.get(f"/api/v1/reports/{report_id}"), 200)
    return shown


async def numbered_report(tenant: Tenant, report_id: str) -> dict[str, Any]:
    """The report once the worker has given it a tracking ID (polled up to DEADLINE_SECONDS)."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        report = await shown_report(tenant, report_id)
        if report["trackingId"]:
            return report
        await asyncio.sleep(0.05)
    msg = f"report {report_id} was not numbered within {DEADLINE_SECONDS} s"
    raise AssertionError(msg)


# Helpers for what a receiver got


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """What X-Lantern-Signature must say: HMAC-SHA256, keyed by the secret, over `timestamp.body`."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def signed_body(request: ReceivedRequest, secret: str) -> dict[str, Any]:
    """The delivery's JSON body, after checking its headers and that `secret` signed exactly these bytes."""
    headers = request.headers
    assert (request.method, request.path) == ("POST", "/hook")
    assert headers["content-type"].split(";")[0].strip() == "application/json", headers
    assert headers["user-agent"].startswith("Lantern-Webhooks"), headers
    timestamp = headers["x-lantern-timestamp"]
    assert timestamp.isdigit(), headers
    assert abs(int(timestamp) - time.time()) < 300, headers
    assert headers["x-lantern-signature"] == signature(secret, timestamp, request.body), headers
    body: dict[str, Any] = request.json()
    assert body["id"] == headers["x-lantern-delivery"]
    assert body["event"] == headers["x-lantern-event"]
    datetime.fromisoformat(body["createdAt"])
    return body


def event_body(
    request: ReceivedRequest, secret: str, event: str, tenant: Tenant, project: dict[str, Any]
) -> dict[str, Any]:
    """A signed report or comment event of the tenant's project."""
    body = signed_body(request, secret)
    assert body["event"] == event
    assert (body["organizationId"], body["projectId"]) == (tenant.organization_id, project["id"])
    return body


# The API


async def test_create_in_both_dialects_then_list_show_change_and_delete(tenants: TenantFactory) -> None:
    async with tenants.create() as tenant:
        project = await tenant.create_project("Web Shop", trackingPrefix="WEB")
        native = await create_webhook(tenant, "https://hooks.example.com/lantern", ["report.created", "comment"])
        assert set(native) == WEBHOOK_FIELDS | {"secret"}
        assert native["url"] == "https://hooks.example.com/lantern"
        assert sorted(native["events"]) == ["comment.created", "report.created"]  # BugHerd's name, stored natively
        assert (native["projectId"], native["active"], native["disabledReason"]) == (None, True, None)
        bugherd_body = {
            "target_url": "https://hooks.example.com/bugherd",
            "event": "task_create",
            "project_id": project["id"],
        }
        bugherd = _data(await tenant.client.post(WEBHOOKS, json=bugherd_body), 201)
        assert bugherd["secret"].startswith("whsec_")
        assert bugherd["secret"] != native["secret"]
        assert (bugherd["url"], bugherd["events"], bugherd["projectId"]) == (
            "https://hooks.example.com/bugherd",
            ["report.created"],
            project["id"],
        )
        # A refused BugHerd body names its fields as it sent them, not as Lantern's own body calls them.
        for field, wrong in (("event", {"event": "task_bogus"}), ("target_url", {"target_url": "ftp://x.example"})):
            refused = await tenant.client.post(WEBHOOKS, json={**bugherd_body, **wrong})
            assert refused.status_code == 400, refused.text
            assert [detail["field"] for detail in refused.json()["details"]] == [field]
        # Its names in camelCase too, as every body's are taken: they were "not allowed".
        camel = {"targetUrl": "https://hooks.example.com/camel", "event": "task_create", "projectId": project["id"]}
        camel_hook = _data(await tenant.client.post(WEBHOOKS, json=camel), 201)
        assert (camel_hook["url"], camel_hook["events"]) == ("https://hooks.example.com/camel", ["report.created"])
        refused = await tenant.client.post(WEBHOOKS, json={**camel, "targetUrl": "ftp://x.example"})
        assert [detail["field"] for detail in refused.json()["details"]] == ["targetUrl"], refused.text
        mapped = await create_webhook(tenant, "https://hooks.example.com/all", ["task_update", "task_destroy"])
        assert sorted(mapped["events"]) == ["report.deleted", "report.updated"]

        listed = _data(await tenant.client.get(WEBHOOKS), 200)
        assert sorted(hook["id"] for hook in listed) == sorted(
            hook["id"] for hook in (native, bugherd, camel_hook, mapped)
        )
        assert all("secret" not in hook for hook in listed)
        shown = _data(await tenant.client.get(f"{WEBHOOKS}/{native['id']}"), 200)
        assert shown == {key: value for key, value in native.items() if key != "secret"}

        change = {"url": "https://hooks.example.com/v2", "events": ["report.deleted"], "projectId": project["id"]}
        changed = _data(await tenant.client.patch(f"{WEBHOOKS}/{native['id']}", json={**change, "active": False}), 200)
        assert "secret" not in changed
        assert (changed["url"], changed["events"], changed["projectId"], changed["active"]) == (
            "https://hooks.example.com/v2",
            ["report.deleted"],
            project["id"],
            False,
        )
        assert _data(await tenant.client.get(f"{WEBHOOKS}/{native['id']}"), 200) == changed
        unscoped = _data(await tenant.client.patch(f"{WEBHOOKS}/{native['id']}", json={"projectId": None}), 200)
        assert (unscoped["projectId"], unscoped["url"]) == (None, "https://hooks.example.com/v2")

        deleted = await tenant.client.delete(f"{WEBHOOKS}/{native['id']}")
        assert deleted.status_code == 204, deleted.text
        _refused(await tenant.client.get(f"{WEBHOOKS}/{native['id']}"), 404, "NOT_FOUND")
        remaining = _data(await tenant.client.get(WEBHOOKS), 200)
        assert sorted(hook["id"] for hook in remaining) == sorted([bugherd["id"], camel_hook["id"], mapped["id"]])


async def test_invalid_events_urls_and_projects_are_refused_naming_the_field(tenants: TenantFactory) -> None:
    async with tenants.create() as tenant, tenants.create("Other") as other:
        foreign = await other.create_project("Theirs", trackingPrefix="THR")
        url = "https://hooks.example.com/lantern"
        cases = [
            ({"url": url, "events": ["report.exploded"]}, "events[0]"),
            ({"url": url, "events": ["report.created", "nope"]}, "events[1]"),  # was `events`: which one?
            ({"target_url": url, "event": "nope"}, "event"),  # BugHerd's one event
            (
                {"data": {"type": "webhook", "attributes": {"url": url, "events": ["nope"]}}},
                "data.attributes.events[0]",
            ),
            ({"url": url, "events": []}, "events"),
            ({"url": "/relative/hook", "events": ["report.created"]}, "url"),
            ({"url": "ftp://hooks.example.com/x", "events": ["report.created"]}, "url"),
            ({"url": f"{url}\r\nX-Injected: 1", "events": ["report.created"]}, "url"),  # was stored and sent
            ({"url": "https://hooks.example.com/a b", "events": ["report.created"]}, "url"),
            ({"url": "https://[::1/x", "events": ["report.created"]}, "url"),  # a broken IPv6 host was a 500
            ({"target_url": "https://[::1/x", "event": "task_create"}, "target_url"),
            # A zone not written `%25…` (RFC 6874): taken where private targets are allowed, as here.
            ({"url": "http://[fe80::1%zz]/", "events": ["report.created"]}, "url"),
            # Spaces of other scripts, a line separator, and a zero-width space in the host (another host).
            *(
                ({"url": f"https://hooks.example.com/{unseen}x", "events": ["report.created"]}, "url")
                for unseen in ("\u00a0", "\u3000", "\u2028", "\u0085")
            ),
            ({"url": "https://hooks\u200b.example.com/x", "events": ["report.created"]}, "url"),
            ({"url": url, "events": ["report.created"], "projectId": foreign["id"]}, "projectId"),
            ({"url": url, "events": ["report.created"], "projectId": str(uuid.uuid4())}, "projectId"),
        ]
        for body, field in cases:
            _refused(await tenant.client.post(WEBHOOKS, json=body), 400, "VALIDATION_ERROR", field)
        # Each of BugHerd's fields beside ours is one field sent twice (it was our fields "not allowed", and
        # `event` required).
        both = {"target_url": url, "url": url, "event": "task_create", "events": ["report.created"]}
        twice = await tenant.client.post(WEBHOOKS, json=both)
        _refused(twice, 400, "VALIDATION_ERROR", "target_url")
        assert [detail["field"] for detail in twice.json()["details"]] == ["url", "target_url"], twice.text
        hook = await create_webhook(tenant, f" {url}\n", ["report.created"])  # pasted with a line's ends
        assert hook["url"] == url
        for change, field in (
            ({"events": ["report.deleted", "nope"]}, "events[1]"),
            ({"projectId": foreign["id"]}, "projectId"),
            ({"url": "https://[::1/x"}, "url"),
        ):
            _refused(await tenant.client.patch(f"{WEBHOOKS}/{hook['id']}", json=change), 400, "VALIDATION_ERROR", field)
        # Every field refused at once, each event too: a wrong target hid the others' refusals until it was fixed.
        wrong = {"url": "ftp://hooks.example.com/x", "events": ["zzz", "report.created", "yyy"]}
        several = [
            ("POST", WEBHOOKS, {**wrong, "projectId": foreign["id"]}, ["url", "events[0]", "events[2]", "projectId"]),
            ("POST", WEBHOOKS, {"target_url": "ftp://x.example", "event": "zzz"}, ["target_url", "event"]),
            (
                "PATCH",
                f"{WEBHOOKS}/{hook['id']}",
                {**wrong, "project_id": foreign["id"]},
                ["url", "events[0]", "events[2]", "project_id"],
            ),
        ]
        for method, path, body, fields in several:
            refused = await tenant.client.request(method, path, json=body)
            _refused(refused, 400, "VALIDATION_ERROR")
            assert [detail["field"] for detail in refused.json()["details"]] == fields, refused.text
        assert _data(await tenant.client.get(WEBHOOKS), 200) == [{k: v for k, v in hook.items() if k != "secret"}]
        assert _data(await other.client.get(WEBHOOKS), 200) == []


async def test_a_change_takes_bugherds_names_and_a_field_under_two_names_is_refused_naming_both(
    tenants: TenantFactory,
) -> None:
    """A change took BugHerd's `project_id` but refused its `target_url` and `event` as "not allowed", which a new
    webhook takes. A field sent under two of its names, in a change or a new webhook, is a 400 naming both as sent:
    a change's `target_url` beside `url`, and `event` beside `events` in either, were "not allowed"."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Web Shop", trackingPrefix="WEB")
        hook = await create_webhook(tenant, "https://hooks.example.com/lantern", ["report.created"])
        path = f"{WEBHOOKS}/{hook['id']}"
        bugherds = {"target_url": "https://hooks.example.com/bh", "event": "task_update", "project_id": project["id"]}
        changed = _data(await tenant.client.patch(path, json=bugherds), 200)
        assert (changed["url"], changed["events"], changed["projectId"]) == (
            "https://hooks.example.com/bh",
            ["report.updated"],
            project["id"],
        )
        camel = _data(await tenant.client.patch(path, json={"targetUrl": "https://hooks.example.com/camel"}), 200)
        assert (camel["url"], camel["events"]) == ("https://hooks.example.com/camel", ["report.updated"])
        # Refused as sent, in BugHerd's names.
        for change, field in (
            ({"target_url": "ftp://x.example"}, "target_url"),
            ({"targetUrl": 5}, "targetUrl"),
            ({"event": "nope"}, "event"),
            ({"event": ["task_create"]}, "event"),
        ):
            refused = await tenant.client.patch(path, json=change)
            _refused(refused, 400, "VALIDATION_ERROR")
            assert [detail["field"] for detail in refused.json()["details"]] == [field], refused.text

        url = "https://hooks.example.com/twice"
        document = {"data": {"type": "webhook", "id": hook["id"], "attributes": {"url": url, "target_url": url}}}
        twice = [
            ("PATCH", path, {"url": url, "target_url": url}, ["url", "target_url"]),
            ("PATCH", path, {"targetUrl": url, "target_url": url}, ["target_url", "targetUrl"]),
            ("PATCH", path, {"event": "comment", "events": ["comment"]}, ["events", "event"]),
            ("PATCH", path, document, ["data.attributes.url", "data.attributes.target_url"]),
            ("POST", WEBHOOKS, {"url": url, "events": ["task_create"], "event": "task_create"}, ["events", "event"]),
            ("POST", WEBHOOKS, {"url": url, "targetUrl": url, "events": ["task_create"]}, ["url", "targetUrl"]),
        ]
        for method, at, body, fields in twice:
            jsonapi = {"Content-Type": "application/vnd.api+json"} if "data" in body else None
            refused = await tenant.client.request(method, at, json=body, headers=jsonapi)
            _refused(refused, 400, "VALIDATION_ERROR")
            assert refused.json()["message"] == "One field was sent under two names: send one of the two."
            assert [detail["field"] for detail in refused.json()["details"]] == fields, refused.text
        assert _data(await tenant.client.get(WEBHOOKS), 200) == [camel]


async def test_private_addresses_are_refused_unless_the_operator_allows_them(tenants: TenantFactory) -> None:
    async with tenants.create() as tenant:
        with environment(LANTERN_ALLOW_PRIVATE_TARGETS=None):
            for url in PRIVATE_URLS:
                answer = await tenant.client.post(WEBHOOKS, json={"url": url, "events": ["report.created"]})
                _refused(answer, 400, "VALIDATION_ERROR", "url")
            public = await create_webhook(tenant, "https://93.184.215.14/hook", ["report.created"])
            moved = await tenant.client.patch(f"{WEBHOOKS}/{public['id']}", json={"url": "http://10.0.0.1/x"})
            _refused(moved, 400, "VALIDATION_ERROR", "url")
            assert _data(await tenant.client.get(f"{WEBHOOKS}/{public['id']}"), 200)["url"] == public["url"]
        with environment(LANTERN_ALLOW_PRIVATE_TARGETS="1"):
            allowed = await create_webhook(tenant, "http://127.0.0.1:9/x", ["report.created"])
        assert allowed["url"] == "http://127.0.0.1:9/x"


async def test_members_are_forbidden_every_webhook_route(tenants: TenantFactory, app: Any, worker: Any) -> None:
    async with tenants.create() as tenant, Receiver() as receiver:
        hook = await create_webhook(tenant, receiver.url)
        delivery = await ping(tenant, hook["id"])
        await receiver.wait_for(1)
        async with member_of(tenant, app) as member:
            answers = [
                await member.get(WEBHOOKS),
                await member.post(WEBHOOKS, json={"url": receiver.url, "events": ["report.created"]}),
            ]
            answers += [
                await member.request(method, path, json=body)
                for method, path, body in webhook_routes(hook["id"], delivery["id"])
            ]
        for answer in answers:
            assert answer.status_code == 403, f"{answer.request.method} {answer.request.url}: {answer.text}"
            assert answer.json()["success"] is False
        unchanged = _data(await tenant.client.get(f"{WEBHOOKS}/{hook['id']}"), 200)
        assert (unchanged["url"], unchanged["active"]) == (receiver.url, True)
        assert [h["id"] for h in _data(await tenant.client.get(WEBHOOKS), 200)] == [hook["id"]]
        assert [d["id"] for d in await deliveries(tenant, hook["id"])] == [delivery["id"]]
        assert len(receiver.requests) == 1


async def test_another_organizations_webhook_is_not_found(tenants: TenantFactory, worker: Any) -> None:
    async with tenants.create() as tenant, tenants.create("Other") as other, Receiver() as receiver:
        hook = await create_webhook(tenant, receiver.url)
        delivery = await ping(tenant, hook["id"])
        await wait_for_delivery(tenant, hook["id"], delivery["id"], "delivered")
        for method, path, body in webhook_routes(hook["id"], delivery["id"]):
            _refused(await other.client.request(method, path, json=body), 404, "NOT_FOUND")
        own = await create_webhook(other, "https://hooks.example.com/other", ["report.created"])
        borrowed = await other.client.post(f"{WEBHOOKS}/{own['id']}/deliveries/{delivery['id']}/redeliver")
        _refused(borrowed, 404, "NOT_FOUND")
        assert [h["id"] for h in _data(await other.client.get(WEBHOOKS), 200)] == [own["id"]]
        assert await deliveries(other, own["id"]) == []
        unchanged = _data(await tenant.client.get(f"{WEBHOOKS}/{hook['id']}"), 200)
        assert (unchanged["url"], unchanged["active"]) == (receiver.url, True)
        assert [d["id"] for d in await deliveries(tenant, hook["id"])] == [delivery["id"]]
        assert len(receiver.requests) == 1


# The events


async def test_report_created_is_delivered_with_the_numbered_report_and_signed(
    tenants: TenantFactory, anonymous: ApiClient, worker: Any
) -> None:
    async with tenants.create() as tenant, Receiver() as receiver:
        project = await tenant.create_project("Web Shop", trackingPrefix="WEB")
        hook = await create_webhook(tenant, receiver.url, ["report.created"])
        report_id = await submit_report(project, anonymous)
        [request] = await receiver.wait_for(1)
        body = event_body(request, hook["secret"], "report.created", tenant, project)
        assert set(body["data"]) == {"report"}
        sent = body["data"]["report"]
        assert (sent["id"], sent["trackingId"], sent["title"]) == (report_id, "WEB-1", REPORT["title"])
        assert sent == await shown_report(tenant, report_id)
        delivered = await wait_for_delivery(tenant, hook["id"], body["id"], "delivered")
        assert (delivered["webhookId"], delivered["event"]) == (hook["id"], "report.created")
        assert (delivered["attempts"], delivered["responseStatus"], delivered["error"]) == (1, 200, None)
        assert delivered["deliveredAt"] is not None
        assert delivered["payload"] == body


async def test_report_updated_and_deleted_are_delivered(
    tenants: TenantFactory, anonymous: ApiClient, worker: Any
) -> None:
    async with tenants.create() as tenant, Receiver() as receiver:
        project = await tenant.create_project("Web Shop", trackingPrefix="WEB")
        hook = await create_webhook(tenant, receiver.url, ["report.updated", "report.deleted"])
        report_id = await submit_report(project, anonymous)
        await numbered_report(tenant, report_id)
        change = {"severity": "critical", "tags": ["checkout"]}
        patched = _data(await tenant.client.patch(f"/api/v1/reports/{report_id}", json=change), 200)
        [updated] = await receiver.wait_for(1)
        body = event_body(updated, hook["secret"], "report.updated", tenant, project)
        assert body["data"]["report"] == await shown_report(tenant, report_id)
        assert (body["data"]["report"]["severity"], body["data"]["report"]["tags"]) == ("critical", ["checkout"])
        assert body["data"]["report"]["id"] == patched["id"]
        # What changed, as the report's history keeps it: a receiver need not keep the report to tell.
        assert body["data"]["changes"] == {"severity": ["medium", "critical"], "tags": [[], ["checkout"]]}

        for unchanged in ({}, change):  # changes nothing: nothing to announce
            _data(await tenant.client.patch(f"/api/v1/reports/{report_id}", json=unchanged), 200)
        last_seen = await shown_report(tenant, report_id)
        assert (await tenant.client.delete(f"/api/v1/reports/{report_id}")).status_code == 204
        requests = await receiver.wait_for(2)
        body = event_body(requests[1], hook["secret"], "report.deleted", tenant, project)
        assert body["data"] == {"report": last_seen}
        # Not subscribed to report.created: the two events are all it heard.
        assert [request.headers["x-lantern-event"] for request in requests] == ["report.updated", "report.deleted"]
        assert sorted(d["event"] for d in await deliveries(tenant, hook["id"])) == ["report.deleted", "report.updated"]


async def test_a_renamed_or_deleted_column_tells_of_each_report_it_moves_and_keeps_its_number(
    tenants: TenantFactory, anonymous: ApiClient, worker: Any
) -> None:
    """A BugHerd-style sync keeps columns by number (`status_id`) and hears of moves by webhook: a renamed
    column's reports are `report.updated`, so are a deleted one's (back to feedback), and a new column never
    takes a deleted one's number."""
    async with tenants.create() as tenant, Receiver() as receiver:
        project = await tenant.create_project("Web Shop", trackingPrefix="WEB")
        columns = f"/api/v1/projects/{project['id']}/columns"
        hook = await create_webhook(tenant, receiver.url, ["report.updated"])
        report_id = await submit_report(project, anonymous)
        await numbered_report(tenant, report_id)
        testing = _data(await tenant.client.post(columns, json={"name": "testing"}), 201)
        _data(await tenant.client.patch(f"/api/v1/reports/{report_id}", json={"status": "testing"}), 200)
        _data(await tenant.client.patch(f"{columns}/{testing['id']}", json={"name": "QA"}), 200)
        assert (await tenant.client.delete(f"{columns}/{testing['id']}")).status_code == 204
        bodies = [
            event_body(request, hook["secret"], "report.updated", tenant, project)
            for request in await receiver.wait_for(3)
        ]
        bodies.sort(key=lambda body: datetime.fromisoformat(body["createdAt"]))  # sent side by side: ordered by time
        assert [(body["data"]["report"]["status"], body["data"]["report"]["statusId"]) for body in bodies] == [
            ("testing", testing["statusId"]),
            ("QA", testing["statusId"]),
            ("new", None),
        ]
        moves = [{"status": ["new", "testing"]}, {"status": ["testing", "QA"]}, {"status": ["QA", "new"]}]
        assert [body["data"]["changes"] for body in bodies] == moves
        # Each move is in the report's history, by the person who renamed or deleted the column.
        history = _data(await tenant.client.get(f"/api/v1/reports/{report_id}/history"), 200)
        assert [(change["changes"], change["authorId"]) for change in history] == [
            (move, tenant.user_id) for move in moves
        ]
        later = _data(await tenant.client.post(columns, json={"name": "review"}), 201)
        assert later["statusId"] == testing["statusId"] + 1


async def test_screenshot_addresses_are_whole_in_the_api_and_in_payloads(
    tenants: TenantFactory, anonymous: ApiClient, worker: Any
) -> None:
    """A receiver elsewhere needs the instance's address; so does a client, which follows them as given (the API
    answered paths)."""
    async with tenants.create() as tenant, Receiver() as receiver:
        project = await tenant.create_project("Web Shop", trackingPrefix="WEB")
        hook = await create_webhook(tenant, receiver.url, ["report.updated"])
        headers = {"X-API-Key": project["apiKey"]}
        upload = await anonymous.post("/api/v1/upload/screenshot", files={"file": ("shot.png", png())}, headers=headers)
        assert upload.status_code == 201, upload.text  # BugSpark's answer: the key alone, no envelope
        body = {**REPORT, "screenshot_url": upload.json()["key"]}
        report_id = _data(await anonymous.post("/api/v1/reports", json=body, headers=headers), 201)["id"]
        deadline = time.monotonic() + DEADLINE_SECONDS
        while (shown := (await shown_report(tenant, report_id))["screenshots"][0])["status"] == "pending":
            assert time.monotonic() < deadline, "the worker did not process the screenshot"
            await asyncio.sleep(0.1)
        _data(await tenant.client.patch(f"/api/v1/reports/{report_id}", json={"severity": "critical"}), 200)
        [request] = await receiver.wait_for(1)
        [sent] = event_body(request, hook["secret"], "report.updated", tenant, project)["data"]["report"]["screenshots"]
        reports = get_settings().public_url + "/api/v1/reports/"
        assert shown["status"] == "ready"
        assert shown["url"].startswith(reports), shown
        assert shown["thumbnailUrl"].startswith(reports), shown
        assert (await tenant.client.get(shown["thumbnailUrl"])).headers["content-type"] == "image/webp"
        assert sent == shown


async def test_comment_created_carries_the_report_and_the_comment(
    tenants: TenantFactory, anonymous: ApiClient, worker: Any
) -> None:
    async with tenants.create() as tenant, Receiver() as receiver:
        project = await tenant.create_project("Web Shop", trackingPrefix="WEB")
        hook = await create_webhook(tenant, receiver.url, ["comment"])  # BugHerd's name for comment.created
        report_id = await submit_report(project, anonymous)
        report = await numbered_report(tenant, report_id)
        comment = _data(
            await tenant.client.post(f"/api/v1/reports/{report_id}/comments", json={"text": "Reproduced on iOS 18"}),
            201,
        )
        [request] = await receiver.wait_for(1)
        body = event_body(request, hook["secret"], "comment.created", tenant, project)
        assert body["data"]["report"] == report
        assert body["data"]["comment"] == comment
        assert set(comment) == {"id", "reportId", "authorId", "authorTokenId", "text", "createdAt", "internal"}
        assert (comment["reportId"], comment["authorId"], comment["authorTokenId"], comment["text"]) == (
            report_id,
            tenant.user_id,
            None,
            "Reproduced on iOS 18",
        )
        assert comment["internal"] is False  # a webhook is the team's: it hears internal notes too, marked


async def test_screenshots_processed_is_delivered_once_per_report_with_their_addresses_whole(
    tenants: TenantFactory, anonymous: ApiClient, worker: Any
) -> None:
    """A receiver heard of a report while its screenshot was pending, and had to ask again for its address. It
    hears once the worker is done with the report's screenshots: once, however many there are (BugSpark's
    screenshot and its annotated copy), each ready, with its addresses whole. A webhook that did not ask for it,
    and a report without a screenshot, make no such delivery."""
    async with tenants.create() as tenant, Receiver() as receiver, Receiver() as others:
        project = await tenant.create_project("Web Shop", trackingPrefix="WEB")
        hook = await create_webhook(tenant, receiver.url, [SCREENSHOTS_PROCESSED])
        other_hook = await create_webhook(tenant, others.url)  # every other event
        await numbered_report(tenant, await submit_report(project, anonymous, "No screenshot"))
        report_id = await report_with_screenshots(
            project, anonymous, screenshot_png((40, 30)), screenshot_png((24, 18))
        )
        [request] = await receiver.wait_for(1)
        body = event_body(request, hook["secret"], SCREENSHOTS_PROCESSED, tenant, project)
        assert set(body["data"]) == {"report"}
        sent = body["data"]["report"]
        shown = await shown_report(tenant, report_id)
        assert [(shot["status"], shot["width"], shot["annotated"]) for shot in shown["screenshots"]] == [
            ("ready", 40, False),
            ("ready", 24, True),
        ]
        assert sent["id"] == report_id
        assert sent["screenshots"] == shown["screenshots"]
        assert all(shot["url"].startswith(get_settings().public_url + "/api/v1/") for shot in sent["screenshots"])
        delivered = await wait_for_delivery(tenant, hook["id"], body["id"], "delivered")
        assert (delivered["event"], delivered["payload"]) == (SCREENSHOTS_PROCESSED, body)
        # Both screenshots' outcomes are committed, and a delivery with the last of them: no other is to come.
        assert [delivery["id"] for delivery in await deliveries(tenant, hook["id"])] == [body["id"]]
        assert SCREENSHOTS_PROCESSED not in {d["event"] for d in await deliveries(tenant, other_hook["id"])}
        assert SCREENSHOTS_PROCESSED not in {r.headers["x-lantern-event"] for r in others.requests}


async def test_a_refused_screenshot_is_announced_failed(
    tenants: TenantFactory, anonymous: ApiClient, worker: Any
) -> None:
    async with tenants.create() as tenant, Receiver() as receiver:
        project = await tenant.create_project("Web Shop", trackingPrefix="WEB")
        hook = await create_webhook(tenant, receiver.url, [SCREENSHOTS_PROCESSED])
        report_id = await report_with_screenshots(project, anonymous, damaged_png())
        [request] = await receiver.wait_for(1)
        body = event_body(request, hook["secret"], SCREENSHOTS_PROCESSED, tenant, project)
        [sent] = body["data"]["report"]["screenshots"]
        [shown] = (await shown_report(tenant, report_id))["screenshots"]
        assert (sent["status"], sent["url"], sent["thumbnailUrl"]) == ("failed", None, None)
        assert sent["error"] == shown["error"] == "The image is damaged and cannot be read."
        assert sent == shown
        assert [delivery["id"] for delivery in await deliveries(tenant, hook["id"])] == [body["id"]]


async def test_a_refused_screenshots_reason_is_told_to_webhooks_in_the_organizations_language(
    tenants: TenantFactory, anonymous: ApiClient, worker: Any
) -> None:
    """A failed screenshot's `error` was worded where its payload was made: in the worker's language (English) for
    report.screenshots_processed, in the language of whoever changed the report for report.updated. Webhooks are
    the organization's: they now tell it in its default language, the API in its reader's, and both carry the
    stable `errorCode` it is worded from."""
    german = "Das Bild ist beschädigt und kann nicht gelesen werden."
    async with tenants.create() as tenant, Receiver() as receiver:
        _data(await tenant.client.patch("/api/v1/organization", json={"defaultLocale": "de"}), 200)
        project = await tenant.create_project("Web Shop", trackingPrefix="WEB")
        hook = await create_webhook(tenant, receiver.url, [SCREENSHOTS_PROCESSED, "report.updated"])
        report_id = await report_with_screenshots(project, anonymous, damaged_png())
        [processed] = await receiver.wait_for(1)
        change = {"severity": "high"}
        url = f"/api/v1/reports/{report_id}"
        _data(await tenant.client.patch(url, json=change, headers={"Accept-Language": "es"}), 200)
        [_processed, updated] = await receiver.wait_for(2)
        shown = {
            lang: _data(await tenant.client.get(url, params={"lang": lang}), 200)["screenshots"]
            for lang in ("en", "ja")
        }
        document = (await tenant.client.get(url, headers={"Accept": "application/vnd.api+json"})).json()
    told = {
        event: event_body(request, hook["secret"], event, tenant, project)["data"]["report"]["screenshots"]
        for event, request in ((SCREENSHOTS_PROCESSED, processed), ("report.updated", updated))
    }
    assert {event: [(shot["error"], shot["errorCode"]) for shot in shots] for event, shots in told.items()} == {
        SCREENSHOTS_PROCESSED: [(german, "damaged")],
        "report.updated": [(german, "damaged")],
    }
    assert {lang: [(shot["error"], shot["errorCode"]) for shot in shots] for lang, shots in shown.items()} == {
        "en": [("The image is damaged and cannot be read.", "damaged")],
        "ja": [("画像が破損しているため読み込めません。", "damaged")],
    }
    [in_document] = document["data"]["attributes"]["screenshots"]
    assert (in_document["errorCode"], in_document["error"]) == ("damaged", german)  # the organization's default


async def test_another_organizations_webhook_hears_nothing_of_a_reports_screenshots(
    tenants: TenantFactory, anonymous: ApiClient, worker: Any
) -> None:
    async with (
        tenants.create("Acme") as acme,
        tenants.create("Other") as other,
        Receiver() as ours,
        Receiver() as foreign,
    ):
        shop = await acme.create_project("Shop", trackingPrefix="SHOP")
        elsewhere = await other.create_project("Elsewhere", trackingPrefix="ELS")
        our_hook = await create_webhook(acme, ours.url, [SCREENSHOTS_PROCESSED])
        foreign_hook = await create_webhook(other, foreign.url, [SCREENSHOTS_PROCESSED])  # every project of its own
        ours_id = await report_with_screenshots(shop, anonymous, png())
        [our_request] = await ours.wait_for(1)
        assert (
            event_body(our_request, our_hook["secret"], SCREENSHOTS_PROCESSED, acme, shop)["data"]["report"]["id"]
            == ours_id
        )
        # The other organization's own report is the marker: the first thing its webhook hears is its own.
        theirs_id = await report_with_screenshots(elsewhere, anonymous, png())
        [foreign_request] = await foreign.wait_for(1)
        foreign_body = event_body(foreign_request, foreign_hook["secret"], SCREENSHOTS_PROCESSED, other, elsewhere)
        assert foreign_body["data"]["report"]["id"] == theirs_id
        assert [d["payload"]["data"]["report"]["id"] for d in await deliveries(other, foreign_hook["id"])] == [
            theirs_id
        ]


async def test_a_screenshots_announcement_holds_the_organization_before_it_writes_the_screenshot(
    tenants: TenantFactory, anonymous: ApiClient, is_postgres: bool
) -> None:
    """An organization's deletion holds the organization's row, then deletes its screenshots. The run that finishes
    a report's last screenshot writes a delivery, which names the organization: had it written the screenshot
    first, then waited for the organization, each would wait for the other for good (PostgreSQL ends that by
    failing one). It holds the organization first, as every change to a report does: while it waits for it, it
    holds no screenshot. (PostgreSQL only: SQLite writes one transaction at a time.)"""
    if not is_postgres:
        pytest.skip("SQLite writes one transaction at a time")
    async with tenants.create() as tenant, Receiver() as receiver:
        project = await tenant.create_project("Web Shop", trackingPrefix="WEB")
        hook = await create_webhook(tenant, receiver.url, [SCREENSHOTS_PROCESSED])
        report_id = await report_with_screenshots(project, anonymous, png())  # no worker runs: it stays pending
        async with tenant_session(tenant) as session:
            [screenshot_id] = await session.scalars(
                select(Screenshot.id).where(Screenshot.report_id == uuid.UUID(report_id))
            )
        async with owner_engine() as engine, engine.connect() as holding:
            # Held as the organization's deletion holds it.
            organization = {"id": uuid.UUID(tenant.organization_id)}
            await holding.execute(text("SELECT id FROM organization WHERE id = :id FOR UPDATE"), organization)
            processing = asyncio.ensure_future(processed_as_its_job_does(tenant, screenshot_id))
            await until_waiting(holding, [processing], 1)
            held = text("SELECT id FROM screenshot WHERE id = :id FOR UPDATE NOWAIT")  # fails if another holds it
            assert await holding.scalar(held, {"id": screenshot_id}) == screenshot_id
            await holding.commit()
            assert await processing == "ready"
        [delivery] = await deliveries(tenant, hook["id"])
        assert (delivery["event"], delivery["payload"]["data"]["report"]["id"]) == (SCREENSHOTS_PROCESSED, report_id)


async def processed_as_its_job_does(tenant: Tenant, screenshot_id: uuid.UUID) -> str | None:
    async with tenant_session(tenant) as session:
        return await ScreenshotService(session).process(screenshot_id, WebhookEvents(session).screenshot_processed)


async def test_project_and_organization_scopes_and_inactive_webhooks(
    tenants: TenantFactory, anonymous: ApiClient, worker: Any
) -> None:
    async with (
        tenants.create("Acme") as acme,
        tenants.create("Other") as other,
        Receiver() as everything,
        Receiver() as shop_only,
        Receiver() as paused,
        Receiver() as foreign,
    ):
        shop = await acme.create_project("Shop", trackingPrefix="SHOP")
        blog = await acme.create_project("Blog", trackingPrefix="BLOG")
        elsewhere = await other.create_project("Elsewhere", trackingPrefix="ELS")
        all_hook = await create_webhook(acme, everything.url, ["report.created"])
        shop_hook = await create_webhook(acme, shop_only.url, ["report.created"], project_id=shop["id"])
        paused_hook = await create_webhook(acme, paused.url, ["report.created"])
        off = _data(await acme.client.patch(f"{WEBHOOKS}/{paused_hook['id']}", json={"active": False}), 200)
        assert off["active"] is False
        foreign_hook = await create_webhook(other, foreign.url, ["report.created"])

        await submit_report(shop, anonymous, "Cart is empty")
        await submit_report(blog, anonymous, "Comments do not load")
        heard = [signed_body(request, all_hook["secret"]) for request in await everything.wait_for(2)]
        assert sorted(body["data"]["report"]["trackingId"] for body in heard) == ["BLOG-1", "SHOP-1"]
        assert {body["organizationId"] for body in heard} == {acme.organization_id}
        [shop_request] = await shop_only.wait_for(1)
        shop_body = event_body(shop_request, shop_hook["secret"], "report.created", acme, shop)
        assert shop_body["data"]["report"]["trackingId"] == "SHOP-1"

        # The other organization's own report is the marker: the first thing its webhook hears is its own.
        await submit_report(elsewhere, anonymous, "Search is slow")
        [foreign_request] = await foreign.wait_for(1)
        foreign_body = event_body(foreign_request, foreign_hook["secret"], "report.created", other, elsewhere)
        assert foreign_body["data"]["report"]["trackingId"] == "ELS-1"

        assert len(await deliveries(acme, all_hook["id"])) == 2
        assert len(await deliveries(acme, shop_hook["id"])) == 1
        assert len(await deliveries(other, foreign_hook["id"])) == 1
        assert await deliveries(acme, paused_hook["id"]) == []
        assert (len(everything.requests), len(shop_only.requests), paused.requests) == (2, 1, [])


# Delivery


async def test_a_failed_answer_is_retried_with_the_same_delivery_id(
    tenants: TenantFactory, worker: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    async with tenants.create() as tenant, Receiver(statuses=[500, 200]) as receiver:
        hook = await create_webhook(tenant, receiver.url)
        capfd.readouterr()
        delivery = await ping(tenant, hook["id"])
        first, second = await receiver.wait_for(2)
        # The operator reads in the log why a receiver heard nothing yet; not its address, which may hold a token.
        # Other tests' deliveries may still be retried by this worker: only this delivery's lines are this test's.
        logged = json_lines(capfd.readouterr().out)
        [failure] = [
            line for line in logged if line["event"].startswith("webhook") and line.get("delivery_id") == delivery["id"]
        ]
        assert failure["event"] == "webhook delivery failed, trying again later"
        assert (failure["level"], failure["delivery_id"], failure["response_status"]) == (
            "warning",
            delivery["id"],
            500,
        )
        assert receiver.url not in str(failure)
        assert [request.headers["x-lantern-delivery"] for request in (first, second)] == [delivery["id"]] * 2
        assert signed_body(first, hook["secret"]) == signed_body(second, hook["secret"])
        delivered = await wait_for_delivery(tenant, hook["id"], delivery["id"], "delivered")
        assert (delivered["attempts"], delivered["responseStatus"]) == (2, 200)
        assert len(await deliveries(tenant, hook["id"])) == 1


async def test_a_receiver_that_asks_for_time_gets_it(tenants: TenantFactory, worker: Any) -> None:
    """A 429 or 503 with `Retry-After` was retried on the schedule alone: 0.2 s here, 10 s by default, into a
    receiver that had asked for minutes."""
    asked = {"Retry-After": "2"}
    async with tenants.create() as tenant, Receiver(statuses=[429, 200], answer_headers=[asked]) as receiver:
        hook = await create_webhook(tenant, receiver.url)
        delivery = await ping(tenant, hook["id"])
        first, second = await receiver.wait_for(2)
        assert second.received_at - first.received_at >= 2, "retried before the time the receiver asked for"
        delivered = await wait_for_delivery(tenant, hook["id"], delivery["id"], "delivered")
        assert (delivered["attempts"], delivered["responseStatus"]) == (2, 200)


async def test_an_unreachable_receiver_is_retried(tenants: TenantFactory, worker: Any) -> None:
    async with tenants.create() as tenant:
        hook = await create_webhook(tenant, f"http://127.0.0.1:{free_port()}/hook")  # nothing listens there
        delivery = await ping(tenant, hook["id"])
        seen = delivery
        deadline = time.monotonic() + DEADLINE_SECONDS
        while seen["attempts"] < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
            seen = next(d for d in await deliveries(tenant, hook["id"]) if d["id"] == delivery["id"])
        assert seen["attempts"] >= 2, seen
        assert seen["status"] == "pending", seen
        assert (seen["responseStatus"], seen["deliveredAt"]) == (None, None), seen
        assert seen["error"], seen
        assert seen["nextAttemptAt"] is not None, seen
        # The delivery log in the admin UI says when too, as the API does. Retries here come 0.2 s apart, then
        # twice as long each time: on a busy machine the page may come after the time it would show ("any moment
        # now", see below), so it is asked again until a retry is far enough off to be shown as a time to come.
        when = re.compile(r"<small>Next attempt <time datetime=\"[^\"]+\" title=\"[^\"]+\">in ")
        log = await tenant.client.get(f"/ui/webhooks/{hook['id']}")
        while not when.search(log.text) and time.monotonic() < deadline + DEADLINE_SECONDS:
            await asyncio.sleep(0.2)
            log = await tenant.client.get(f"/ui/webhooks/{hook['id']}")
        assert when.search(log.text), log.text
        # Its later retries (seconds to hours away) must not outlive the test.
        assert (await tenant.client.delete(f"{WEBHOOKS}/{hook['id']}")).status_code == 204


async def test_the_delivery_log_names_the_report_and_shows_what_was_sent(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    """Each row said only its event, status and answer: which report it was about, and what its receiver was sent,
    could not be seen (a redelivery looked like a duplicate of nothing in particular)."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop", trackingPrefix="SHP")
        hook = await create_webhook(tenant, "https://hooks.example.com/in", ["report.updated"])
        sent = await anonymous.post(
            "/api/v1/reports", json={"title": "Checkout <b>fails</b>"}, headers={"X-API-Key": project["apiKey"]}
        )
        report_id = sent.json()["data"]["id"]
        _data(await tenant.client.patch(f"/api/v1/reports/{report_id}", json={"severity": "critical"}), 200)
        log = await tenant.client.get(f"/ui/webhooks/{hook['id']}")
        (delivery,) = await deliveries(tenant, hook["id"])
    assert log.status_code == 200, log.text
    assert f'<a href="/ui/reports/{report_id}">Checkout &lt;b&gt;fails&lt;/b&gt;</a>' in log.text  # not numbered yet
    shown = re.search(
        r'<details class="sent"><summary>What was sent</summary><pre class="mono">(.*?)</pre>', log.text, re.DOTALL
    )
    assert shown is not None, log.text
    assert json.loads(html.unescape(shown.group(1))) == delivery["payload"]


async def test_a_delivery_whose_webhook_was_turned_off_meanwhile_is_neither_sent_nor_counted(
    tenants: TenantFactory,
) -> None:
    """Its log said `attempts: 1` beside "Not sent": an operator counted a call the receiver never had."""
    async with tenants.create() as tenant, Receiver() as receiver:
        hook = await create_webhook(tenant, receiver.url)
        delivery = await ping(tenant, hook["id"])  # no worker here: it waits
        _data(await tenant.client.patch(f"{WEBHOOKS}/{hook['id']}", json={"active": False}), 200)
        async with tenant_session(tenant) as session:
            assert await DeliveryService(session=session).attempt(uuid.UUID(delivery["id"])) == "failed"
        [seen] = await deliveries(tenant, hook["id"])
    assert (seen["status"], seen["attempts"], receiver.requests) == ("failed", 0, [])
    assert seen["error"] == "Not sent: the webhook was turned off first."


async def test_a_delivery_whose_webhook_was_turned_off_before_its_retry_keeps_its_last_answer(
    tenants: TenantFactory,
) -> None:
    """Its 500 was wiped (`responseStatus: null`) by the retry that was never sent: why it failed was gone."""
    async with tenants.create() as tenant, Receiver(statuses=[500]) as receiver:
        hook = await create_webhook(tenant, receiver.url)
        delivery = uuid.UUID((await ping(tenant, hook["id"]))["id"])  # no worker here: attempted below
        async with tenant_session(tenant) as session:
            assert await DeliveryService(session=session).attempt(delivery) == "pending"
            # Due again now, as when its retry comes.
            await session.execute(
                update(WebhookDelivery).where(WebhookDelivery.id == delivery).values(next_attempt_at=func.now())
            )
            await session.commit()
        _data(await tenant.client.patch(f"{WEBHOOKS}/{hook['id']}", json={"active": False}), 200)
        async with tenant_session(tenant) as session:
            assert await DeliveryService(session=session).attempt(delivery) == "failed"
        [seen] = await deliveries(tenant, hook["id"])
    assert (seen["status"], seen["attempts"], seen["responseStatus"]) == ("failed", 1, 500)
    assert seen["error"] == "Not sent: the webhook was turned off first."
    assert len(receiver.requests) == 1


async def test_every_delivery_is_reached_in_json_api_mode_too(tenants: TenantFactory) -> None:
    """JSON:API mode read the latest 100 alone and said `total: 100`: of 111 deliveries, the 11 oldest could not
    be reached. The database pages it as it pages the native list."""
    async with tenants.create() as tenant:
        hook = await create_webhook(tenant, "http://127.0.0.1:9/hook")
        async with tenant_session(tenant) as session:
            for number in range(111):
                session.add(
                    WebhookDelivery(
                        webhook_id=uuid.UUID(hook["id"]), event="ping", payload={"n": number}, status="delivered"
                    )
                )
                await session.flush()  # one at a time: each its own created_at, in order
            await session.commit()
        url = f"{WEBHOOKS}/{hook['id']}/deliveries"
        walked: list[int] = []
        next_link: str | None = f"{url}?page[limit]=50"
        while next_link:
            answer = await tenant.client.get(next_link, headers={"Accept": "application/vnd.api+json"})
            assert answer.status_code == 200, answer.text
            document = answer.json()
            assert document["meta"]["total"] == 111, document["meta"]
            walked += [resource["attributes"]["payload"]["n"] for resource in document["data"]]
            for resource in document["data"]:  # each where a GET reads it
                assert resource["links"]["self"].endswith(f"{url}/{resource['id']}"), resource["links"]
            next_link = document["links"]["next"]
        sorted_by = await tenant.client.get(f"{url}?sort=event", headers={"Accept": "application/vnd.api+json"})
    assert walked == list(range(110, -1, -1))  # every one, newest first
    assert sorted_by.status_code == 400, sorted_by.text


async def test_a_receiver_behind_basic_authorization_gets_the_credentials_of_its_address(
    tenants: TenantFactory, worker: Any
) -> None:
    """`https://user:secret@host/hook` was saved, and its credentials never sent: no `Authorization`, so a
    receiver behind Basic authorization refused every delivery. The address goes without them."""
    async with tenants.create() as tenant, Receiver() as receiver:
        url = receiver.url.replace("http://", "http://hook%40acme:s%3Acret@")
        hook = await create_webhook(tenant, url)
        await ping(tenant, hook["id"])
        [request] = await receiver.wait_for(1)
    assert request.headers["authorization"] == f"Basic {base64.b64encode(b'hook@acme:s:cret').decode()}"
    assert request.headers["host"] == urlsplit(receiver.url).netloc
    assert signed_body(request, hook["secret"])["event"] == "ping"


def basic(credentials: str) -> str:
    """The `Authorization` a receiver gets for `user:password`."""
    return f"Basic {base64.b64encode(credentials.encode()).decode()}"


async def test_a_receivers_password_is_never_answered_and_its_address_sent_back_as_answered_keeps_it(
    tenants: TenantFactory, worker: Any
) -> None:
    """The API answered the address whole, password and all, to anyone who could read webhooks: it is write-only
    now, as the signing secret is, shown as `********`. A client that reads a webhook and sends it back with another
    field changed keeps the password, in either dialect."""
    jsonapi = {"Accept": "application/vnd.api+json"}
    async with tenants.create() as tenant, Receiver() as receiver:
        masked = receiver.url.replace("http://", "http://hook:********@")
        hook = await create_webhook(tenant, receiver.url.replace("http://", "http://hook:s3cret@"), ["report.created"])
        path = f"{WEBHOOKS}/{hook['id']}"
        read = _data(await tenant.client.get(path), 200)
        whole = {key: read[key] for key in ("url", "events", "projectId", "active")}
        native = await tenant.client.patch(path, json={**whole, "events": ["report.created", "comment.created"]})
        document = (await tenant.client.get(path, headers=jsonapi)).json()
        resource = {key: document["data"][key] for key in ("type", "id")}
        sent_back = {**resource, "attributes": {"url": document["data"]["attributes"]["url"], "events": ALL_EVENTS}}
        as_document = await tenant.client.patch(
            path, json={"data": sent_back}, headers={**jsonapi, "Content-Type": "application/vnd.api+json"}
        )
        another = {"url": f"{receiver.url}?again".replace("http://", "http://hook:s3cret@"), "events": ALL_EVENTS}
        created_document = await tenant.client.post(
            WEBHOOKS,
            json={"data": {"type": "webhook", "attributes": another}},
            headers={**jsonapi, "Content-Type": "application/vnd.api+json"},
        )
        answers = {
            "created": json.dumps(hook),
            "created as a document": created_document.text,
            "read": (await tenant.client.get(path)).text,
            "listed": (await tenant.client.get(WEBHOOKS)).text,
            "read as a document": (await tenant.client.get(path, headers=jsonapi)).text,
            "listed as a document": (await tenant.client.get(WEBHOOKS, headers=jsonapi)).text,
            "changed": native.text,
            "changed as a document": as_document.text,
            "given a new secret": (await tenant.client.post(f"{path}/secret")).text,
            "pinged": json.dumps(await ping(tenant, hook["id"])),
        }
        [request] = await receiver.wait_for(1)
        answers["its deliveries"] = (await tenant.client.get(f"{path}/deliveries")).text
    assert created_document.status_code == 201, created_document.text
    assert (hook["url"], read["url"], _data(native, 200)["url"]) == (masked, masked, masked)
    assert _data(native, 200)["events"] == ["report.created", "comment.created"]
    assert as_document.status_code == 200, as_document.text
    assert as_document.json()["data"]["attributes"]["url"] == masked
    assert [name for name, answer in answers.items() if "s3cret" in answer] == []
    assert request.headers["authorization"] == basic("hook:s3cret")


async def test_a_masked_password_stands_for_the_held_one_at_its_own_address_only(
    tenants: TenantFactory, worker: Any
) -> None:
    """`********` is no password to give: on a new webhook, on one that holds none, or at another host, user or path
    (where it would hand the held password to whoever moved the address there) it is refused naming the field, in
    the reader's language, and the password held stays. A new password replaces it."""
    said = "Give the password itself: ******** stands for the password Lantern already holds for this very address."
    async with tenants.create() as tenant, Receiver() as receiver:
        secured = receiver.url.replace("http://", "http://hook:s3cret@")
        masked = receiver.url.replace("http://", "http://hook:********@")
        created = await tenant.client.post(WEBHOOKS, json={"url": masked, "events": ALL_EVENTS})
        bugherd = await tenant.client.post(WEBHOOKS, json={"target_url": masked, "event": "task_create"})
        german = await tenant.client.post(
            WEBHOOKS, json={"url": masked, "events": ALL_EVENTS}, headers={"Accept-Language": "de"}
        )
        open_hook = await create_webhook(tenant, receiver.url)
        to_open = await tenant.client.patch(f"{WEBHOOKS}/{open_hook['id']}", json={"url": masked})
        hook = await create_webhook(tenant, secured)
        path = f"{WEBHOOKS}/{hook['id']}"
        moved = {
            where: await tenant.client.patch(path, json={"url": url})
            for where, url in (
                ("host", masked.replace("127.0.0.1", "localhost")),
                ("user", masked.replace("hook:", "other:")),
                ("path", masked.replace("/hook", "/elsewhere")),
            )
        }
        async with tenant_session(tenant) as session:
            kept = await session.scalar(select(Webhook.url).where(Webhook.id == uuid.UUID(hook["id"])))
        renewed = _data(await tenant.client.patch(path, json={"url": secured.replace("s3cret", "n3w")}), 200)
        await ping(tenant, hook["id"])
        [request] = await receiver.wait_for(1)
    for refused in (created, to_open, *moved.values()):
        _refused(refused, 400, "VALIDATION_ERROR")
        assert refused.json()["details"] == [{"field": "url", "message": said}], refused.text
    _refused(bugherd, 400, "VALIDATION_ERROR", "target_url")
    _refused(german, 400, "VALIDATION_ERROR", "url")
    assert german.json()["details"][0]["message"].startswith("Geben Sie das Passwort selbst an")
    assert kept == secured
    assert renewed["url"] == masked
    assert request.headers["authorization"] == basic("hook:n3w")


async def test_a_webhook_whose_own_password_is_eight_asterisks_is_turned_on_again(tenants: TenantFactory) -> None:
    """A webhook saved before passwords were answered as `********`, with that very password, was refused when
    turned on again: its own address was taken for a masked one given for another."""
    async with tenants.create() as tenant:
        url = "https://hook:********@hooks.example.com/in"
        hook = await create_webhook(tenant, "https://hooks.example.com/in")
        async with tenant_session(tenant) as session:
            held = update(Webhook).where(Webhook.id == uuid.UUID(hook["id"]))
            await session.execute(held.values(url=url, active=False))
            await session.commit()
        turned_on = _data(await tenant.client.patch(f"{WEBHOOKS}/{hook['id']}", json={"active": True}), 200)
        async with tenant_session(tenant) as session:
            kept = await session.scalar(select(Webhook.url).where(Webhook.id == uuid.UUID(hook["id"])))
    assert turned_on["active"] is True
    assert kept == url


async def test_the_webhooks_page_never_holds_its_password_and_its_form_keeps_it(
    tenants: TenantFactory, worker: Any
) -> None:
    """The change form was filled with the whole address, its password in the page's HTML: it holds `********` now,
    which a save keeps, as the API's change does; a refused save neither changes it nor shows it."""
    async with tenants.create() as tenant, Receiver() as receiver:
        masked = receiver.url.replace("http://", "http://hook:********@")
        hook = await create_webhook(tenant, receiver.url.replace("http://", "http://hook:s3cret@"), ["report.created"])
        page = await tenant.client.get(f"/ui/webhooks/{hook['id']}")
        form = {"url": masked, "events": ["report.created", "comment.created"], "project_id": ""}
        moved = await tenant.client.post(
            f"/ui/webhooks/{hook['id']}", data={**form, "url": masked.replace("/hook", "/elsewhere")}
        )
        saved = await tenant.client.post(f"/ui/webhooks/{hook['id']}", data=form)
        again = await tenant.client.get(saved.headers["location"])
        listed = await tenant.client.get("/ui/webhooks")
        await ping(tenant, hook["id"])
        [request] = await receiver.wait_for(1)
        changed = _data(await tenant.client.get(f"{WEBHOOKS}/{hook['id']}"), 200)
    assert page.status_code == 200, page.text
    assert f'value="{masked}"' in page.text
    assert moved.status_code == 400, moved.text
    assert 'id="url-error"' in moved.text
    assert "******** stands for the password Lantern already holds" in moved.text
    assert saved.status_code == 303, saved.text
    assert "hook:•••@" in listed.text
    assert [answer.url.path for answer in (page, moved, again, listed) if "s3cret" in answer.text] == []
    assert changed["events"] == ["report.created", "comment.created"]
    assert request.headers["authorization"] == basic("hook:s3cret")


async def test_gone_disables_the_webhook(tenants: TenantFactory, anonymous: ApiClient, worker: Any) -> None:
    async with tenants.create() as tenant, Receiver(statuses=[410]) as gone, Receiver() as witness:
        project = await tenant.create_project("Web Shop", trackingPrefix="WEB")
        hook = await create_webhook(tenant, gone.url)
        witness_hook = await create_webhook(tenant, witness.url, ["report.created"])
        delivery = await ping(tenant, hook["id"])
        await gone.wait_for(1)
        failed = await wait_for_delivery(tenant, hook["id"], delivery["id"], "failed")
        assert (failed["attempts"], failed["responseStatus"]) == (1, 410)
        disabled = _data(await tenant.client.get(f"{WEBHOOKS}/{hook['id']}"), 200)
        assert (disabled["active"], disabled["disabledReason"]) == (False, "gone")

        await submit_report(project, anonymous)
        [heard] = await witness.wait_for(1)  # the report's event has been sent out
        assert signed_body(heard, witness_hook["secret"])["event"] == "report.created"
        assert len(gone.requests) == 1
        assert [d["id"] for d in await deliveries(tenant, hook["id"])] == [delivery["id"]]
        # Turned off, it is sent nothing, and asked to, it says why instead of recording a failure.
        for asked in (
            f"{WEBHOOKS}/{hook['id']}/ping",
            f"{WEBHOOKS}/{hook['id']}/deliveries/{delivery['id']}/redeliver",
        ):
            refused = await tenant.client.post(asked)
            assert (refused.status_code, refused.json()["error"]) == (409, "CONFLICT"), refused.text
            assert refused.json()["message"] == "This webhook is turned off: turn it on to send it anything."
        assert [d["id"] for d in await deliveries(tenant, hook["id"])] == [delivery["id"]]

        enabled = _data(await tenant.client.patch(f"{WEBHOOKS}/{hook['id']}", json={"active": True}), 200)
        assert (enabled["active"], enabled["disabledReason"]) == (True, None)


async def test_receivers_that_answer_nothing_hold_back_no_organizations_tracking_ids(
    tenants: TenantFactory, anonymous: ApiClient, worker: Any
) -> None:
    """A delivery waits on another server, up to the outbound timeout. From the queue the numbering runs from,
    one organization's receivers that answered nothing held every job slot, and every organization's tracking
    IDs waited behind them."""
    with environment(LANTERN_OUTBOUND_TIMEOUT_SECONDS="120"):
        async with HangingReceiver() as hanging, tenants.create("Flood") as flooding, tenants.create() as other:
            hook = await create_webhook(flooding, hanging.url)
            for _ in range(worker.max_jobs):
                await ping(flooding, hook["id"])
            await hanging.holding(worker.max_jobs, DEADLINE_SECONDS)
            shop = await other.create_project("Shop", trackingPrefix="SHOP")
            numbered = await numbered_report(other, await submit_report(shop, anonymous))
            assert numbered["trackingId"] == "SHOP-1"
            assert hanging.held == worker.max_jobs, "the deliveries were not held: the test proves nothing"
            # Its later retries must not outlive the test.
            assert (await flooding.client.delete(f"{WEBHOOKS}/{hook['id']}")).status_code == 204


async def test_receivers_that_answer_nothing_hold_back_no_other_organizations_deliveries(
    tenants: TenantFactory, worker: Any
) -> None:
    """One organization's deliveries to a receiver that answered nothing filled every slot of the outbound
    worker, and every other organization's deliveries waited behind them for the outbound timeout."""
    with environment(LANTERN_OUTBOUND_TIMEOUT_SECONDS="120"):
        async with (
            HangingReceiver() as hanging,
            Receiver() as receiver,
            tenants.create("Flood") as flooding,
            tenants.create() as other,
        ):
            flooded = await create_webhook(flooding, hanging.url)
            for _ in range(OUTBOUND_JOBS_AT_ONCE + 5):
                await ping(flooding, flooded["id"])
            await hanging.holding(OUTBOUND_SHARE, DEADLINE_SECONDS)
            hook = await create_webhook(other, receiver.url)
            delivery = await ping(other, hook["id"])
            await wait_for_delivery(other, hook["id"], delivery["id"], "delivered")
            assert hanging.held == OUTBOUND_SHARE, "one organization took more than its share of the slots"
            # Its later retries must not outlive the test.
            assert (await flooding.client.delete(f"{WEBHOOKS}/{flooded['id']}")).status_code == 204


async def test_a_killed_workers_outbound_slots_are_free_again_within_their_lease(tenants: TenantFactory) -> None:
    """A worker killed (SIGKILL, a lost node) while it ran an organization's share of outbound jobs left their
    slots held for arq's job timeout (310 s): none of the organization's deliveries ran for five minutes."""
    with environment(LANTERN_OUTBOUND_TIMEOUT_SECONDS="120"):
        async with HangingReceiver() as hanging, Receiver() as receiver, tenants.create() as tenant:
            flooded = await create_webhook(tenant, hanging.url)
            async with worker_process() as process:
                for _ in range(OUTBOUND_SHARE):
                    await ping(tenant, flooded["id"])
                await hanging.holding(OUTBOUND_SHARE, DEADLINE_SECONDS)
                process.kill()
                # Its deliveries are the sweeper's once their hold passes (minutes): gone before then.
                assert (await tenant.client.delete(f"{WEBHOOKS}/{flooded['id']}")).status_code == 204
                await process.restart()
                hook = await create_webhook(tenant, receiver.url)
                delivery = await ping(tenant, hook["id"])
                lease = SLOT_LEASE_MS / 1000 + 2 * POSTPONE_MAX_SECONDS
                await wait_for_delivery(tenant, hook["id"], delivery["id"], "delivered", within=lease)


@pytest.mark.parametrize("deleted", ["webhook", "project", "organization"])
async def test_a_delivery_whose_webhook_is_deleted_while_it_is_sent_ends_quietly(
    tenants: TenantFactory, deleted: str
) -> None:
    """The delivery goes with its webhook (deleted itself, or with its project or organization): once the receiver
    let go, there is nothing to record and nothing to try again. Recording the attempt met no row (StaleDataError):
    the job failed, its traceback in the worker's log."""
    with environment(LANTERN_OUTBOUND_TIMEOUT_SECONDS="120"):
        async with tenants.create() as tenant, worker_process({"LANTERN_LOG_LEVEL": "INFO"}) as process:
            async with HangingReceiver() as hanging:
                project = await tenant.create_project("Shop")
                hook = await create_webhook(tenant, hanging.url, project_id=project["id"])
                delivery = await ping(tenant, hook["id"])
                await hanging.holding(1, DEADLINE_SECONDS)
                deletion = {
                    "webhook": (f"{WEBHOOKS}/{hook['id']}", {}),
                    "project": (f"/api/v1/projects/{project['id']}", {}),
                    "organization": ("/api/v1/organization", {"confirm": "Acme"}),
                }[deleted]
                path, params = deletion
                assert (await tenant.client.delete(path, params=params)).status_code == 204
            # The receiver has hung up: the attempt ends now.
            ended = await process.job_ended(f"webhook-delivery:{delivery['id']}:0:deliver_webhook")
            log = process.output()
    assert " ● " in ended["event"], log  # done, not failed
    assert "StaleDataError" not in log, log
    assert not [line for line in json_lines(log) if "exception" in line], log  # no traceback
    told = [line for line in json_lines(log) if line.get("delivery_id") == delivery["id"]]
    assert [(line["event"], line["level"]) for line in told] == [
        ("webhook delivery dropped: its webhook was deleted while it was sent", "info")
    ], log
    assert await queued_jobs("deliver_webhook", naming=delivery["id"]) == [], "its delivery was queued again"


DELETES = deletions("webhook")  # what may go of the rows a delivery's attempt reads


@pytest.mark.parametrize("deleted", list(DELETES))
async def test_a_delivery_whose_webhook_is_deleted_as_it_is_claimed_ends_quietly(
    tenants: TenantFactory, is_postgres: bool, deleted: str
) -> None:
    """The attempt claimed its delivery (committed), then read it and its webhook: a deletion committed in between
    made it fail with a NotFoundError traceback. The job is stopped at its read of the webhook (the table held by
    the test, which deletes the webhook meanwhile): now the claim reads what it needs in its own statement, finds
    nothing to send, and ends done. (PostgreSQL only: SQLite writes one transaction at a time.)"""
    if not is_postgres:
        pytest.skip("SQLite writes one transaction at a time")
    async with tenants.create() as tenant, Receiver() as receiver:
        project = await tenant.create_project("Shop")
        hook = await create_webhook(tenant, receiver.url, project_id=project["id"])
        delivery = await ping(tenant, hook["id"])  # queued; no worker runs yet
        async with owner_engine() as engine, engine.connect() as holding:
            await holding.execute(text("LOCK TABLE webhook IN ACCESS EXCLUSIVE MODE"))
            async with worker_process({"LANTERN_LOG_LEVEL": "INFO"}) as process:
                await until_waiting_for(holding, "webhook", past="webhook_delivery")
                await holding.execute(text(DELETES[deleted]), {"id": uuid.UUID(hook["id"])})
                await holding.commit()
                ended = await process.job_ended(f"webhook-delivery:{delivery['id']}:0:deliver_webhook")
                log = process.output()
    assert " ● " in ended["event"], log  # done, not failed
    assert "NoResultFound" not in log, log
    assert not [line for line in json_lines(log) if "exception" in line], log  # no traceback
    assert not [line for line in json_lines(log) if line.get("delivery_id") == delivery["id"]], log
    assert receiver.requests == []
    assert await queued_jobs("deliver_webhook", naming=delivery["id"]) == []


# How long the stopping worker lets its running jobs finish (LANTERN_WORKER_STOP_SECONDS), shorter than the
# default's 25 s for the test's sake.
WORKER_STOP_SECONDS = 5


async def test_sigterm_stops_every_worker_of_the_process_taking_jobs_within_one_wait(tenants: TenantFactory) -> None:
    """On SIGTERM the outbound worker went on taking jobs while the main worker's running ones finished (up to
    25 s), then let its own run for 25 s more: past the pod's 30 s grace period, whose SIGKILL leaves their claims
    and their organization's outbound slots held for minutes. It now stops taking jobs at once, and every running
    job has the same wait: the one set (LANTERN_WORKER_STOP_SECONDS), which was 25 s whatever was set."""
    with environment(LANTERN_OUTBOUND_TIMEOUT_SECONDS="60"):
        async with (
            HangingReceiver() as hanging,
            Receiver() as receiver,
            tenants.create() as tenant,
        ):
            held = await create_webhook(tenant, hanging.url)
            late = await create_webhook(tenant, receiver.url)
            await _into_the_main_queue(await ping(tenant, held["id"]))  # as a previous version queued it
            async with worker_process(env={"LANTERN_WORKER_STOP_SECONDS": str(WORKER_STOP_SECONDS)}) as process:
                await hanging.holding(1, DEADLINE_SECONDS)  # the main worker's job
                await ping(tenant, held["id"])
                await hanging.holding(2, DEADLINE_SECONDS)  # the outbound worker's
                signalled = time.monotonic()
                os.killpg(process.pid, signal.SIGTERM)
                await asyncio.sleep(0.5)
                waiting = await ping(tenant, late["id"])
                for _ in range(600):  # bounded: a minute for the stop
                    if not process.running:
                        break
                    await asyncio.sleep(0.1)
                stopped_after = time.monotonic() - signalled
                await asyncio.sleep(0.5)  # a delivery the stopping worker sent would have arrived
                assert receiver.requests == [], "a job was taken after SIGTERM"
                # Both held jobs were given the wait, and no more.
                assert WORKER_STOP_SECONDS <= stopped_after < WORKER_STOP_SECONDS + 3, process.output()
            assert (await tenant.client.delete(f"{WEBHOOKS}/{held['id']}")).status_code == 204
            listed = await deliveries(tenant, late["id"])
            assert [(d["id"], d["status"]) for d in listed] == [(waiting["id"], "pending")]
            assert (await tenant.client.delete(f"{WEBHOOKS}/{late['id']}")).status_code == 204


async def _into_the_main_queue(delivery: dict[str, Any]) -> None:
    """Move the delivery's job from the outbound queue to arq's main queue, where a version before the outbound
    queue put it (the main worker still runs such jobs)."""
    redis = get_redis()
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:  # queued beside the request's answer
        for job_id, score in await redis.zrange(OUTBOUND_QUEUE, 0, -1, withscores=True):
            data = await redis.get(job_key_prefix + job_id.decode())
            if data and deserialize_job(data, deserializer=deserialize).kwargs.get("delivery_id") == delivery["id"]:
                await redis.zrem(OUTBOUND_QUEUE, job_id)
                await redis.zadd(default_queue_name, {job_id: score})
                return
        await asyncio.sleep(0.05)
    msg = f"no job of delivery {delivery['id']} in the outbound queue"
    raise AssertionError(msg)


async def test_ping_is_delivered_signed(tenants: TenantFactory, worker: Any) -> None:
    async with tenants.create() as tenant, Receiver() as receiver:
        hook = await create_webhook(tenant, receiver.url)
        delivery = await ping(tenant, hook["id"])
        assert set(delivery) >= DELIVERY_FIELDS
        [request] = await receiver.wait_for(1)
        body = signed_body(request, hook["secret"])
        assert (body["id"], body["event"], body["organizationId"]) == (delivery["id"], "ping", tenant.organization_id)
        assert body["data"] == {"webhookId": hook["id"]}
        delivered = await wait_for_delivery(tenant, hook["id"], delivery["id"], "delivered")
        assert (delivered["attempts"], delivered["responseStatus"], delivered["error"]) == (1, 200, None)
        assert delivered["payload"] == body


async def test_the_delivery_logs_queued_notice_lasts_until_that_delivery_has_an_answer(
    tenants: TenantFactory,
) -> None:
    """The log's "Queued" after a test delivery or a delivery sent again stayed in its address: a reload once the
    worker had sent it said it still, above the row with the receiver's answer."""
    queued = "Queued: the worker sends it in a moment."
    async with tenants.create() as tenant, Receiver() as receiver:
        hook = await create_webhook(tenant, receiver.url)
        sent = await tenant.client.post(f"/ui/webhooks/{hook['id']}/ping")  # no worker here: it waits
        assert sent.status_code == 303, sent.text
        waiting = (await tenant.client.get(sent.headers["location"])).text
        assert queued in waiting
        # Due at once: a relative time said "Next attempt 1 second ago".
        assert "<small>Next attempt any moment now</small>" in waiting
        [delivery] = await deliveries(tenant, hook["id"])
        async with tenant_session(tenant) as session:
            assert await DeliveryService(session=session).attempt(uuid.UUID(delivery["id"])) == "delivered"
        assert queued not in (await tenant.client.get(sent.headers["location"])).text
        # Sent again, a new delivery: queued until it has its own answer, whatever the first one's.
        again = await tenant.client.post(f"/ui/webhooks/{hook['id']}/deliveries/{delivery['id']}/redeliver")
        assert again.status_code == 303, again.text
        assert queued in (await tenant.client.get(again.headers["location"])).text


async def test_redelivery_is_a_new_delivery_of_the_same_event(tenants: TenantFactory, worker: Any) -> None:
    async with tenants.create() as tenant, Receiver() as receiver:
        hook = await create_webhook(tenant, receiver.url)
        original = await ping(tenant, hook["id"])
        original = await wait_for_delivery(tenant, hook["id"], original["id"], "delivered")
        # Only the latest 100 are listed: a failure among many is found by its status.
        listed = f"{WEBHOOKS}/{hook['id']}/deliveries"
        for status, expected in (("delivered", [original["id"]]), ("failed", []), ("pending", [])):
            assert [d["id"] for d in _data(await tenant.client.get(listed, params={"status": status}), 200)] == expected
        unknown = await tenant.client.get(listed, params={"status": "lost"})
        assert (unknown.status_code, unknown.json()["details"][0]["field"]) == (400, "status")
        again = _data(await tenant.client.post(f"{WEBHOOKS}/{hook['id']}/deliveries/{original['id']}/redeliver"), 201)
        assert again["id"] != original["id"]
        assert (again["webhookId"], again["event"], again["status"]) == (hook["id"], "ping", "pending")
        assert again["payload"]["data"] == original["payload"]["data"]
        first, second = await receiver.wait_for(2)
        assert second.headers["x-lantern-delivery"] == again["id"]
        assert signed_body(second, hook["secret"])["data"] == signed_body(first, hook["secret"])["data"]
        await wait_for_delivery(tenant, hook["id"], again["id"], "delivered")
        assert [d["id"] for d in await deliveries(tenant, hook["id"])] == [again["id"], original["id"]]  # newest first


async def test_a_rotated_secret_signs_what_follows(tenants: TenantFactory, worker: Any) -> None:
    async with tenants.create() as tenant, Receiver() as receiver:
        hook = await create_webhook(tenant, receiver.url)
        await ping(tenant, hook["id"])
        [before] = await receiver.wait_for(1)
        signed_body(before, hook["secret"])
        rotated = _data(await tenant.client.post(f"{WEBHOOKS}/{hook['id']}/secret"), 200)
        assert rotated["id"] == hook["id"]
        assert rotated["secret"].startswith("whsec_")
        assert rotated["secret"] != hook["secret"]
        assert "secret" not in _data(await tenant.client.get(f"{WEBHOOKS}/{hook['id']}"), 200)
        await ping(tenant, hook["id"])
        _, after = await receiver.wait_for(2)
        signed_body(after, rotated["secret"])
        stale = signature(hook["secret"], after.headers["x-lantern-timestamp"], after.body)
        assert after.headers["x-lantern-signature"] != stale
