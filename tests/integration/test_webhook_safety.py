"""Webhooks cannot reach the instance's own network, and no delivery is lost to the queue.

- Private targets: a name is checked when delivering, against the addresses it resolves to then (the real
  resolver: `localhost`), and an operator who withdraws the allowance stops deliveries to a private address
  that was saved while it held, before any byte is sent.
- Deadline: a target that answers a byte at a time is cut off when the outbound timeout ends.
- Outbox: a delivery's job is queued only once its transaction commits (a rolled-back change queues
  nothing); a delivery whose job the queue lost is queued again by the sweeper and delivered.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest
from arq.constants import default_queue_name, job_key_prefix
from sqlalchemy import update

from app.domain.webhooks.models import WebhookDelivery
from app.lib.database import alchemy_config
from app.lib.outbound import Failure, NoPublicAddressError, PublicOnlyBackend, failure_message, post
from app.lib.queue import OUTBOUND_QUEUE, enqueue_after_commit
from app.lib.redis import get_redis
from tenants.context import tenant_scope
from tests.support.clients import Tenant, TenantFactory
from tests.support.environment import environment
from tests.support.logs import json_lines
from tests.support.receiver import Receiver
from tests.support.server import free_port
from tests.support.worker import running_worker
from workers.jobs import sweep_outbound_work

DEADLINE_SECONDS = 15.0
ALLOWED = {"LANTERN_ALLOW_PRIVATE_TARGETS": "1", "LANTERN_OUTBOUND_RETRY_SECONDS": "0.2"}


def _data(response: httpx.Response, status: int) -> Any:
    assert response.status_code == status, response.text
    return response.json()["data"]


async def _delivery(tenant: Tenant, webhook_id: str, delivery_id: str, done: str) -> dict[str, Any]:
    """The delivery once it is `done` ("delivered"), or once its first attempt is recorded ("attempted")."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    seen: dict[str, Any] = {}
    while time.monotonic() < deadline:
        listed = _data(await tenant.client.get(f"/api/v1/webhooks/{webhook_id}/deliveries"), 200)
        seen = next(delivery for delivery in listed if delivery["id"] == delivery_id)
        if seen["status"] == done or (done == "attempted" and seen["error"]):
            return seen
        await asyncio.sleep(0.05)
    msg = f"delivery {delivery_id} not {done} within {DEADLINE_SECONDS} s: {seen}"
    raise AssertionError(msg)


async def _queued(job_id: str) -> bool:
    return bool(await get_redis().exists(job_key_prefix + job_id))


async def _queued_soon(job_id: str) -> bool:
    """Whether the job is queued within the deadline (the enqueue after a commit runs beside its caller)."""
    for _ in range(int(DEADLINE_SECONDS / 0.02)):
        if await _queued(job_id):
            return True
        await asyncio.sleep(0.02)
    return False


async def _pinged(tenant: Tenant, receiver: Receiver) -> tuple[dict[str, Any], dict[str, Any], str]:
    """A webhook to the receiver, its ping, and the id of the ping's job, once queued (no worker runs it yet)."""
    body = {"url": receiver.url, "events": ["report.created"]}
    webhook = _data(await tenant.client.post("/api/v1/webhooks", json=body), 201)
    ping = _data(await tenant.client.post(f"/api/v1/webhooks/{webhook['id']}/ping"), 201)
    job_id = f"webhook-delivery:{ping['id']}:0"
    assert await _queued_soon(job_id)
    return webhook, ping, job_id


@contextmanager
def allowed() -> Iterator[None]:
    with environment(**ALLOWED):
        yield


async def test_a_name_resolving_to_a_private_address_is_refused_when_connecting() -> None:
    with pytest.raises(NoPublicAddressError, match="localhost"):
        await PublicOnlyBackend().connect_tcp("localhost", 9, timeout=5)


async def test_a_name_not_found_and_a_private_name_are_told_alike_where_private_targets_are_refused() -> None:
    """Told apart ("host name not found" against "private network"), an organization on a shared instance learnt
    which of the instance's internal names exist by saving webhooks to them."""
    with environment(LANTERN_ALLOW_PRIVATE_TARGETS=None):
        private = await post("http://localhost:9/hook", [("host", "localhost")], b"{}")
        unknown = await post("http://lantern-test.invalid/hook", [("host", "lantern-test.invalid")], b"{}")
    assert (private.status, private.error) == (unknown.status, unknown.error) == (None, "no_public_address")
    assert failure_message("private_address") == failure_message("no_public_address"), "stored before: told alike"


async def test_a_target_that_answers_a_byte_at_a_time_is_cut_off_at_the_timeout() -> None:
    """Every read got a byte within the read timeout, so a delivery took as long as the target liked (a minute
    in a trial), holding a job slot of the worker all organizations share."""

    async def dripping(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Pad: ")
        for _ in range(20):  # 6 s of headers, a byte every 0.3 s
            writer.write(b"a")
            await writer.drain()
            await asyncio.sleep(0.3)
        writer.write(b"\r\n\r\nok")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(dripping, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        with environment(LANTERN_ALLOW_PRIVATE_TARGETS="1", LANTERN_OUTBOUND_TIMEOUT_SECONDS="1"):
            answer = await post(f"http://127.0.0.1:{port}/hook", [("host", "127.0.0.1")], b"{}")
    finally:
        server.close()
    assert (answer.status, answer.failure) == (None, Failure.TIMEOUT)


async def test_a_target_that_gives_no_answer_is_told_why_without_the_networks_words() -> None:
    """Each common way of getting no answer has its own reason, stored as its code alone: the network's words
    ("[Errno -2] Name or service not known") were stored beside it and shown to the organization, in English
    whatever its language."""

    async def speaking_plain_http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(100)  # a TLS greeting, answered as HTTP
        writer.write(b"HTTP/1.1 400 Bad Request\r\n\r\n")
        await writer.drain()
        writer.close()

    async def resetting(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()  # a reset, not a close

    plain = await asyncio.start_server(speaking_plain_http, "127.0.0.1", 0)
    reset = await asyncio.start_server(resetting, "127.0.0.1", 0)
    targets = {
        Failure.NAME_NOT_RESOLVED: "http://lantern-test.invalid/hook",  # .invalid: never a name (RFC 2606)
        Failure.CONNECTION_REFUSED: f"http://127.0.0.1:{free_port()}/hook",
        Failure.TLS_FAILED: f"https://127.0.0.1:{plain.sockets[0].getsockname()[1]}/hook",
        Failure.CONNECTION_CLOSED: f"http://127.0.0.1:{reset.sockets[0].getsockname()[1]}/hook",
    }
    try:
        with allowed():
            answers = {failure: await post(url, [("host", "example.com")], b"{}") for failure, url in targets.items()}
    finally:
        plain.close()
        reset.close()
    assert {failure: (answer.status, answer.error) for failure, answer in answers.items()} == {
        failure: (None, failure.value) for failure in targets
    }


async def test_the_delivery_log_says_why_in_the_readers_language_and_the_server_log_keeps_the_networks_words(
    tenants: TenantFactory, capfd: pytest.CaptureFixture[str]
) -> None:
    async with tenants.create("Refused") as tenant:
        with allowed():
            body = {"url": f"http://127.0.0.1:{free_port()}/hook", "events": ["report.created"]}  # nobody listens
            webhook = _data(await tenant.client.post("/api/v1/webhooks", json=body), 201)
            capfd.readouterr()
            async with running_worker():
                ping = _data(await tenant.client.post(f"/api/v1/webhooks/{webhook['id']}/ping"), 201)
                attempted = await _delivery(tenant, webhook["id"], ping["id"], "attempted")
        deliveries = f"/api/v1/webhooks/{webhook['id']}/deliveries"
        [german] = _data(await tenant.client.get(deliveries, headers={"Accept-Language": "de"}), 200)
        page = await tenant.client.get(f"/ui/webhooks/{webhook['id']}?lang=ja")
        # Its later retries must not outlive the test.
        assert (await tenant.client.delete(f"/api/v1/webhooks/{webhook['id']}")).status_code == 204
    assert attempted["error"] == "The target refused the connection: nothing listens at that address and port."
    assert german["error"] == "Das Ziel hat die Verbindung abgelehnt: An dieser Adresse und diesem Port lauscht nichts."
    assert "接続を拒否しました" in page.text
    assert "Errno" not in page.text
    logged = [
        line
        for line in json_lines(capfd.readouterr().out)
        if line["event"] == "outbound request failed" and line.get("tenant_id") == tenant.organization_id
    ]
    assert logged, "the operator reads the network's own words in the server's log"
    assert (logged[0]["failure"], logged[0]["host"]) == ("connection_refused", "127.0.0.1")
    assert "Connect call failed" in logged[0]["detail"]


async def test_a_saved_private_target_gets_nothing_once_the_allowance_is_withdrawn(
    tenants: TenantFactory, capfd: pytest.CaptureFixture[str]
) -> None:
    """The delivery's error says why without what the name resolved to: the organization's admins read it, and
    the addresses (or which names resolve privately) map the instance's own network. The server's log keeps them."""
    async with tenants.create("Withdrawn") as tenant, Receiver() as receiver:
        target = receiver.url.replace("127.0.0.1", "localhost")  # a name, resolved when delivering
        with allowed():
            body = {"url": target, "events": ["report.created"]}
            webhook = _data(await tenant.client.post("/api/v1/webhooks", json=body), 201)
        capfd.readouterr()
        with environment(LANTERN_ALLOW_PRIVATE_TARGETS=None, LANTERN_OUTBOUND_RETRY_SECONDS="60"):
            async with running_worker():
                ping = _data(await tenant.client.post(f"/api/v1/webhooks/{webhook['id']}/ping"), 201)
                attempted = await _delivery(tenant, webhook["id"], ping["id"], "attempted")
    assert attempted["status"] == "pending", attempted  # retried later, should the operator allow it again
    assert attempted["attempts"] == 1
    assert attempted["responseStatus"] is None
    # The reason in the reader's language, and nothing of the network: no address, no English from its layer.
    said = (
        "The target's host name could not be found, or it leads to a private network, which this server does not "
        "send to."
    )
    assert attempted["error"] == said, attempted
    assert receiver.requests == []
    refused = "outbound request refused: no public address"
    [logged] = [
        line
        for line in json_lines(capfd.readouterr().out)
        if line["event"] == refused and line.get("tenant_id") == tenant.organization_id
    ]
    assert logged["host"] == "localhost"
    assert "127.0.0.1" in logged["addresses"]


async def test_a_private_target_is_not_turned_on_again_once_the_allowance_is_withdrawn(tenants: TenantFactory) -> None:
    """Turned off (an imported organization's webhook comes so, with a private address its instance allowed), it
    was turned on again though a new one with its address is refused, and each delivery was then tried for a day."""
    async with tenants.create("Withdrawn") as tenant:
        with allowed():
            body = {"url": "http://127.0.0.1:9/in", "events": ["report.created"]}
            webhook = _data(await tenant.client.post("/api/v1/webhooks", json=body), 201)
        path = f"/api/v1/webhooks/{webhook['id']}"
        _data(await tenant.client.patch(path, json={"active": False}), 200)
        refused = await tenant.client.patch(path, json={"active": True})
        page = await tenant.client.post(f"/ui/webhooks/{webhook['id']}/activate")  # the page's "Turn it on again"
        still = _data(await tenant.client.get(path), 200)
        moved = _data(
            await tenant.client.patch(path, json={"active": True, "url": "https://hooks.example.com/in"}), 200
        )
    assert refused.status_code == 400, refused.text
    assert refused.json()["details"] == [
        {"field": "url", "message": "Lantern does not call private or local network addresses."}
    ]
    assert page.status_code == 400, page.text  # the page again, saying why beside the address
    assert 'id="url-error"' in page.text
    assert "Lantern does not call private or local network addresses." in page.text
    assert still["active"] is False
    assert (moved["active"], moved["url"]) == (True, "https://hooks.example.com/in")


async def test_a_rolled_back_change_queues_no_job_and_a_committed_one_does(tenants: TenantFactory) -> None:
    async with tenants.create("Outbox") as tenant:
        jobs = [f"outbox-probe:{UUID(int=i + time.time_ns())}" for i in range(2)]
        with tenant_scope(UUID(tenant.organization_id)):
            async with alchemy_config().get_session() as session:
                async with session.begin():
                    enqueue_after_commit(session, "deliver_webhook", jobs[0], delivery_id=str(UUID(int=0)))
                    await session.rollback()
                async with session.begin():
                    enqueue_after_commit(session, "deliver_webhook", jobs[1], delivery_id=str(UUID(int=0)))
        assert await _queued_soon(jobs[1])
        assert not await _queued(jobs[0])
        redis = get_redis()
        await redis.zrem(OUTBOUND_QUEUE, *jobs)
        await redis.delete(*(job_key_prefix + job for job in jobs))


async def test_a_delivery_a_previous_version_queued_with_the_other_jobs_is_still_sent(tenants: TenantFactory) -> None:
    """Deliveries, GitHub issues and e-mails have a queue of their own; those a previous version queued in arq's
    main queue, before an upgrade, are still sent."""
    async with tenants.create("Upgraded") as tenant, Receiver() as receiver:
        with allowed():
            webhook, ping, job_id = await _pinged(tenant, receiver)
            redis = get_redis()
            due = await redis.zscore(OUTBOUND_QUEUE, job_id)
            assert due is not None
            await redis.zrem(OUTBOUND_QUEUE, job_id)
            await redis.zadd(default_queue_name, {job_id: due})  # where the previous version put it
            async with running_worker():
                delivered = await _delivery(tenant, webhook["id"], ping["id"], "delivered")
    assert delivered["attempts"] == 1
    assert len(receiver.requests) == 1


async def test_a_delivery_the_queue_lost_is_queued_again_by_the_sweeper(tenants: TenantFactory) -> None:
    async with tenants.create("Lost") as tenant, Receiver() as receiver:
        with allowed():
            webhook, ping, job_id = await _pinged(tenant, receiver)
            # The queue loses the job (a Redis restart, say), and the delivery is long overdue.
            redis = get_redis()
            assert await redis.delete(job_key_prefix + job_id) == 1
            await redis.zrem(OUTBOUND_QUEUE, job_id)
            with tenant_scope(UUID(tenant.organization_id)):
                async with alchemy_config().get_session() as session, session.begin():
                    overdue = datetime.now(UTC) - timedelta(minutes=5)
                    await session.execute(
                        update(WebhookDelivery)
                        .where(WebhookDelivery.id == UUID(ping["id"]))
                        .values(next_attempt_at=overdue),
                    )
            assert await sweep_outbound_work({}) >= 1
            async with running_worker():
                delivered = await _delivery(tenant, webhook["id"], ping["id"], "delivered")
    assert delivered["attempts"] == 1
    assert [request.headers["x-lantern-delivery"] for request in receiver.requests] == [ping["id"]]
