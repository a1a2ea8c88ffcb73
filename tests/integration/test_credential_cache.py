"""What widget keys and organization tokens resolve to, cached in each server process (tenants/keycache.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterator
from typing import Any
from uuid import uuid4

import pytest

from app.domain.organizations.models import Role
from tenants.identity import CredentialKind, Identity
from tenants.keycache import remembered
from tests.support.clients import TenantFactory
from tests.support.environment import environment

WAIT_SECONDS = 15.0


@pytest.fixture(autouse=True)
def long_lived_entries() -> Iterator[None]:
    """Entries kept longer than any test here: what ends one is a change, never its age."""
    with environment(LANTERN_CREDENTIAL_CACHE_SECONDS="300"):
        yield


def _identity() -> Identity:
    return Identity(kind=CredentialKind.TOKEN, organization_id=uuid4(), role=Role.ADMIN, credential_id=uuid4())


def _load(identity: Identity, loads: list[str], name: str) -> Callable[[], Coroutine[Any, Any, Identity]]:
    async def load() -> Identity:
        loads.append(name)
        return identity

    return load


async def test_a_lookup_under_way_when_the_cache_is_emptied_is_not_remembered(tenants: TenantFactory) -> None:
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
        token = await tenant.create_token("CI")
        revoked = await tenant.client.delete(f"/api/v1/tokens/{token['id']}")
        assert revoked.status_code == 204, revoked.text
        # A request that came after the change looks up afresh rather than wait for the lookup under way.
        fresh = _identity()
        assert await asyncio.wait_for(remembered(key, _load(fresh, loads, "fresh")), WAIT_SECONDS) is fresh
        read.set()
        assert await straddling is identity  # the requests that waited for it have their answer
        assert await remembered(key, _load(_identity(), loads, "later")) is fresh  # the fresh one is kept
