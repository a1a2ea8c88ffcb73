"""What widget keys and organization tokens resolve to, cached in each server process (tenants/keycache.py): a
change committed in one process empties every process's cache at once, through Redis."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from redis import Redis as SyncRedis
from redis.asyncio import Redis
from sqlalchemy import update

from app.asgi import create_app
from app.domain.organizations.models import Organization, Role
from app.lib.database import alchemy_config
from app.lib.embedded_redis import EmbeddedRedis
from app.lib.redis import get_redis, instance_channel, redis_url
from tenants.context import tenant_scope
from tenants.identity import CredentialKind, Identity
from tenants.keycache import CHANGES_CHANNEL, credential_changes_heard, remembered
from tests.integration.test_auth import redis_process
from tests.support.clients import Tenant, TenantFactory
from tests.support.environment import environment
from tests.support.server import ROOT, granian_server

# Sent at once, each on a connection of its own: both of a server's two processes answer some of them.
REQUESTS = 20
WAIT_SECONDS = 15.0
# Before the fix, 30 apps started and stopped at once had one stop hang in most runs (three of five).
STARTS = 30
STOP_WITHIN_SECONDS = 30
# A server's process in short: its lifespan hears changes; a change is committed in it as it stops.
STOPPING_SERVER = """
import asyncio, sys
from uuid import UUID

from sqlalchemy import update

from app.domain.organizations.models import Organization
from app.lib.database import alchemy_config
from app.lib.redis import redis_url
from tenants.context import tenant_scope
from tenants.keycache import credential_changes_heard


async def serve(organization_id: UUID) -> None:
    async with credential_changes_heard(redis_url()):
        with tenant_scope(organization_id):
            async with alchemy_config().get_session() as session, session.begin():
                changed = update(Organization).where(Organization.id == organization_id).values(timezone="Asia/Tokyo")
                await session.execute(changed)


asyncio.run(serve(UUID(sys.argv[1])))
"""


@pytest.fixture(autouse=True)
def long_lived_entries() -> Iterator[None]:
    """Entries kept longer than any test here (in its server processes too): what ends one is a change heard, never
    its age."""
    with environment(LANTERN_CREDENTIAL_CACHE_SECONDS="300"):
        yield


def _identity() -> Identity:
    return Identity(kind=CredentialKind.TOKEN, organization_id=uuid4(), role=Role.ADMIN, credential_id=uuid4())


def _load(identity: Identity, loads: list[str], name: str) -> Callable[[], Coroutine[Any, Any, Identity]]:
    async def load() -> Identity:
        loads.append(name)
        return identity

    return load


async def _forgotten(key: str, loads: list[str]) -> None:
    """Return once `key`'s entry is gone from this process's cache (it is looked up again)."""
    for attempt in range(int(WAIT_SECONDS / 0.02)):
        await remembered(key, _load(_identity(), loads, f"probe {attempt}"))
        if loads and loads[-1] == f"probe {attempt}":
            return
        await asyncio.sleep(0.02)
    pytest.fail(f"{key} was not forgotten")


@pytest.mark.parametrize("change", ["committed here", "announced by another process"])
async def test_a_lookup_under_way_when_the_cache_is_emptied_is_not_remembered(
    tenants: TenantFactory, change: str
) -> None:
    """A lookup that began before a change and ended after the cache was emptied for it may have read the rows as
    they were: it answered its requests, and was kept, so the revoked key or token worked until it expired."""
    key = f"token:straddling-{uuid4()}"
    loads: list[str] = []
    identity = _identity()
    began, read = asyncio.Event(), asyncio.Event()

    async def read_before_the_change() -> Identity:
        loads.append("before")
        began.set()
        await read.wait()  # the rows are read; the answer comes back after the change
        return identity

    async with tenants.create() as tenant:
        straddling = asyncio.create_task(remembered(key, read_before_the_change))
        await began.wait()
        if change == "committed here":
            token = await tenant.create_token("CI")
            revoked = await tenant.client.delete(f"/api/v1/tokens/{token['id']}")
            assert revoked.status_code == 204, revoked.text
        else:
            probe = f"token:probe-{uuid4()}"
            await remembered(probe, _load(_identity(), loads, "probe"))
            redis = get_redis()
            await redis.publish(instance_channel(redis, CHANGES_CHANNEL), b"another process")
            await _forgotten(probe, loads)  # the app's listener heard it
        # A request that came after the change looks up afresh rather than wait for the lookup under way.
        fresh = _identity()
        assert await asyncio.wait_for(remembered(key, _load(fresh, loads, "fresh")), WAIT_SECONDS) is fresh
        read.set()
        assert await straddling is identity  # the requests that waited for it have their answer
        assert await remembered(key, _load(_identity(), loads, "later")) is fresh  # the fresh one is kept


async def test_a_new_project_key_or_token_keeps_every_cache(tenants: TenantFactory) -> None:
    """Unknown keys are never cached, so a new credential makes no entry stale: creating one emptied every
    process's cache, and each of them looked up every key and token in use again."""
    key = f"token:kept-{uuid4()}"
    loads: list[str] = []
    async with tenants.create() as tenant:
        await remembered(key, _load(_identity(), loads, "first"))
        project = await tenant.create_project("Shop")
        rotated = await tenant.client.post(f"/api/v1/projects/{project['id']}/keys")
        await tenant.create_token("CI")
        await remembered(key, _load(_identity(), loads, "again"))
    assert rotated.status_code == 201, rotated.text
    assert loads == ["first"]


def _bearer(token: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {token['token']}"}


async def _statuses(base_url: str, path: str, headers: dict[str, str]) -> list[int]:
    limits = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits) as client:
        answers = await asyncio.gather(*(client.get(path, headers=headers) for _ in range(REQUESTS)))
    return [answer.status_code for answer in answers]


async def _subscribed(redis: Redis, count: int) -> None:
    """Return once `count` clients are subscribed to the channel of credential changes on `redis`."""
    channel = instance_channel(redis, CHANGES_CHANNEL)
    for _ in range(int(WAIT_SECONDS / 0.02)):
        if dict(await redis.pubsub_numsub(channel)).get(channel.encode()) == count:
            await asyncio.sleep(0.1)  # and the subscription's confirmation read
            return
        await asyncio.sleep(0.02)
    pytest.fail(f"not {count} subscribers")


async def test_a_revoked_token_or_widget_key_is_refused_by_every_server_process_at_once(
    tenants: TenantFactory,
) -> None:
    """Each server process kept what a token or key resolved to, and only the process that revoked it forgot it:
    the others honoured the revoked token or key until their entry expired (LANTERN_CREDENTIAL_CACHE_SECONDS)."""
    async with tenants.create() as tenant:
        doomed, revoker = await tenant.create_token("CI"), await tenant.create_token("Admin")
        project = await tenant.create_project("Shop")
        [key] = project["keys"]
        token_path, key_path = "/api/v1/projects", f"/api/v1/widget/config/{project['apiKey']}"
        redis = get_redis()
        channel = instance_channel(redis, CHANGES_CHANNEL)
        listening = dict(await redis.pubsub_numsub(channel)).get(channel.encode(), 0)  # this process's app
        async with (
            granian_server(2) as base_url,
            httpx.AsyncClient(base_url=base_url, timeout=30, headers=_bearer(revoker)) as admin,
        ):
            await _subscribed(redis, listening + 2)  # both processes started: each answers some requests
            # Cached in both processes.
            assert await _statuses(base_url, token_path, _bearer(doomed)) == [200] * REQUESTS
            assert await _statuses(base_url, key_path, {}) == [200] * REQUESTS

            revoked = await admin.delete(f"/api/v1/tokens/{doomed['id']}")
            assert revoked.status_code == 204, revoked.text
            assert await _statuses(base_url, token_path, _bearer(doomed)) == [401] * REQUESTS

            revoked = await admin.delete(f"/api/v1/projects/{project['id']}/keys/{key['id']}")
            assert revoked.status_code == 204, revoked.text
            assert await _statuses(base_url, key_path, {}) == [404] * REQUESTS
            assert (await admin.get(token_path)).status_code == 200  # the other token works on


async def test_a_process_that_hears_again_after_redis_was_away_empties_its_cache(
    separate_redis: EmbeddedRedis,
) -> None:
    """Announcements made while Redis was away (restarting) were never heard: the entries cached before lived on
    to their expiry. They are forgotten once the process is subscribed again."""
    key = f"token:kept-{uuid4()}"
    loads: list[str] = []
    async with credential_changes_heard(separate_redis.url), Redis.from_url(separate_redis.url) as redis:
        await _subscribed(redis, 1)
        identity = _identity()
        assert await remembered(key, _load(identity, loads, "first")) is identity
        assert await remembered(key, _load(_identity(), loads, "cached")) is identity
        assert loads == ["first"]

        separate_redis.stop()
        separate_redis.start()
        await _forgotten(key, loads)


async def _committed(tenant: Tenant, timezone: str) -> None:
    for _ in range(int(WAIT_SECONDS / 0.02)):
        if (await tenant.client.get("/api/v1/organization")).json()["data"]["timezone"] == timezone:
            return
        await asyncio.sleep(0.02)
    pytest.fail("the change was not committed")


async def test_a_change_committed_as_a_server_stops_is_announced(
    tenants: TenantFactory, separate_redis: EmbeddedRedis
) -> None:
    """When Redis was slow to take the announcement, a server whose lifespan ended right after the commit dropped it
    with its loop, and the other processes honoured what the change revoked until it expired. The commit waits for
    it."""
    async with (
        tenants.create() as tenant,
        Redis.from_url(separate_redis.url) as redis,
        redis.pubsub() as pubsub,
    ):
        await pubsub.subscribe(instance_channel(redis, CHANGES_CHANNEL))
        subscribed = await pubsub.get_message(timeout=WAIT_SECONDS)
        assert subscribed is not None
        assert subscribed["type"] == "subscribe"
        redis_process(separate_redis).suspend()  # slow: the announcement is still on its way as the server stops
        try:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-c", STOPPING_SERVER, tenant.organization_id,
                cwd=ROOT, env={**os.environ, "REDIS_URL": separate_redis.url},
            )  # fmt: skip
            await _committed(tenant, "Asia/Tokyo")
            with contextlib.suppress(TimeoutError):  # it stops now, unless it waits for its announcement
                await asyncio.wait_for(asyncio.shield(process.wait()), 1)
        finally:
            redis_process(separate_redis).resume()
        assert await asyncio.wait_for(process.wait(), WAIT_SECONDS) == 0
        announced = await pubsub.get_message(timeout=WAIT_SECONDS)
        assert announced is not None
        assert announced["type"] == "message"


async def test_a_change_is_announced_before_its_commit_returns(tenants: TenantFactory) -> None:
    """The announcement ran beside the commit, so a revoking request could be answered before the other server
    processes heard: in CI, the next request to one of them was let in by what it had cached (a 200 after the
    revocation's 204)."""
    async with tenants.create() as tenant:
        with SyncRedis.from_url(redis_url()) as listener, listener.pubsub() as pubsub:
            pubsub.subscribe(instance_channel(get_redis(), CHANGES_CHANNEL))
            subscribed = pubsub.get_message(timeout=WAIT_SECONDS)
            assert subscribed is not None
            assert subscribed["type"] == "subscribe"
            with tenant_scope(UUID(tenant.organization_id)):
                async with alchemy_config().get_session() as session, session.begin():
                    changed = update(Organization).where(Organization.id == tenant.organization_id)
                    await session.execute(changed.values(timezone="Asia/Tokyo"))
            # Read with this loop held (a blocking client): nothing left to run beside the commit can publish now.
            announced = pubsub.get_message(timeout=2)
        assert announced is not None
        assert announced["type"] == "message"


async def test_a_change_redis_cannot_announce_is_answered_and_logged(
    tenants: TenantFactory, separate_redis: EmbeddedRedis, tmp_path: Path
) -> None:
    """Redis down: the revocation is made and answered, the revoking process refuses the token at once, and the
    log says the other processes were not told."""
    output = tmp_path / "server.log"
    async with tenants.create() as tenant:
        doomed, revoker = await tenant.create_token("CI"), await tenant.create_token("Admin")
        async with (
            granian_server(1, output, REDIS_URL=separate_redis.url) as base_url,
            httpx.AsyncClient(base_url=base_url, timeout=30) as client,
        ):
            assert (await client.get("/api/v1/projects", headers=_bearer(doomed))).status_code == 200
            separate_redis.stop()
            revoked = await client.delete(f"/api/v1/tokens/{doomed['id']}", headers=_bearer(revoker))
            assert revoked.status_code == 204, revoked.text
            assert (await client.get("/api/v1/projects", headers=_bearer(doomed))).status_code == 401
    logged = [json.loads(line) for line in output.read_text().splitlines() if line.startswith("{")]  # granian's own not
    events = {line["event"] for line in logged}
    assert "credential change not announced: Redis unavailable; other processes' cached identities expire" in events


async def test_an_app_stopped_as_soon_as_it_started_stops_at_once(embedded_services: dict[str, str]) -> None:
    """The listener's cancellation could be lost in redis-py's read, which took it for the read's own timeout: the
    listener went on, and the app's shutdown waited for it for ever (CI's run hung at a test's app teardown). A
    stop never waits for it now (bounded here, so that a regression fails rather than hangs)."""
    application = create_app()  # started and stopped again: the listener is the lifespan's, made anew each time
    for start in range(STARTS):
        async with asyncio.timeout(STOP_WITHIN_SECONDS), application.lifespan():
            await asyncio.sleep(start % 5 / 1000)  # stopped at varied points of the listener's first steps
