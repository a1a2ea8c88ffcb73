"""PostgreSQL row-level security: the database itself keeps tenants apart, whatever the application does.

The app connects as a role that owns nothing and cannot bypass RLS; every tenant table's policy reads the
transaction-local `lantern.tenant_id` that `tenants/db.py` sets with `set_config(..., true)` at each BEGIN.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from app.asgi import create_app
from app.lib.database import alchemy_config, warn_if_unguarded
from app.lib.redis import get_redis
from app.settings import reset_settings
from tenants.context import tenant_scope
from tenants.db import apply_scope
from tests.support.clients import ApiClient, Tenant, TenantFactory
from workers.main import shutdown, startup

pytestmark = pytest.mark.postgres

REQUESTS = 1_000
BATCH = 50
POOL_SIZE = 2

# Every table with an organization_id column, read from the live catalog (not from the models).
_TENANT_TABLES = """
SELECT c.relname FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE a.attname = 'organization_id' AND NOT a.attisdropped AND c.relkind IN ('r', 'p') AND n.nspname = 'public'
ORDER BY c.relname
"""
_TABLE_FACTS = """
SELECT c.relrowsecurity, c.relforcerowsecurity,
       (SELECT a.attnotnull FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = :column),
       EXISTS (SELECT 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = i.indkey[0]
               WHERE i.indrelid = c.oid AND a.attname = :column),
       EXISTS (SELECT 1 FROM pg_policies p
               WHERE p.schemaname = 'public' AND p.tablename = c.relname AND p.cmd = 'ALL'
                 AND p.qual IS NOT NULL AND p.with_check IS NOT NULL)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relname = :table
"""
_OWNED_BY_ME = "SELECT relname FROM pg_class WHERE relowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)"
_FACTS = ("RLS enabled", "RLS forced", "tenant column NOT NULL", "index led by the tenant column", "policy")


def tenant_column(table: str) -> str:
    """The column naming the tenant: the organization table's own id, everyone else's organization_id."""
    return "id" if table == "organization" else "organization_id"


@pytest.fixture
async def owner(app: Any) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(os.environ["DATABASE_OWNER_URL"])
    yield engine
    await engine.dispose()


@pytest.fixture
async def app_role(app: Any) -> AsyncIterator[AsyncEngine]:
    """The app's own role, one pooled connection: raw SQL, none of the ORM's scoping."""
    engine = create_async_engine(os.environ["DATABASE_URL"], pool_size=1, max_overflow=0)
    yield engine
    await engine.dispose()


async def tenant_tables(owner: AsyncEngine) -> list[str]:
    async with owner.connect() as connection:
        return ["organization", *(await connection.scalars(text(_TENANT_TABLES)))]


@dataclass
class Pair:
    a: Tenant
    b: Tenant
    projects: dict[str, set[str]]  # organization id -> its project ids
    tokens: dict[str, str]  # organization id -> an organization API token


@asynccontextmanager
async def two_populated_tenants(tenants: TenantFactory, anonymous: ApiClient) -> AsyncIterator[Pair]:
    """Tenants A and B, each with projects, a widget key, a report, an API token, an invitation with its e-mail,
    a webhook with a delivery, and a GitHub connection with the report's issue."""
    async with AsyncExitStack() as stack:
        pair = Pair(
            a=await stack.enter_async_context(tenants.create("Tenant A")),
            b=await stack.enter_async_context(tenants.create("Tenant B")),
            projects={},
            tokens={},
        )
        for tenant in (pair.a, pair.b):
            projects = [await tenant.create_project("Shop"), await tenant.create_project("Blog")]
            pair.projects[tenant.organization_id] = {project["id"] for project in projects}
            pair.tokens[tenant.organization_id] = (await tenant.create_token())["token"]
            invited = await tenant.client.post(
                "/api/v1/organization/members", json={"email": f"guest-{tenant.slug}@example.com", "role": "guest"}
            )
            assert invited.status_code == 201, invited.text
            report = await anonymous.post(
                "/api/v1/reports",
                json={"title": f"Broken in {tenant.slug}", "description": "Nothing happens."},
                headers={"X-API-Key": projects[0]["apiKey"]},
            )
            assert report.status_code == 201, report.text
            webhook = await tenant.client.post(
                "/api/v1/webhooks", json={"url": "https://hooks.example.invalid/lantern", "events": ["report.created"]}
            )
            assert webhook.status_code == 201, webhook.text
            ping = await tenant.client.post(f"/api/v1/webhooks/{webhook.json()['data']['id']}/ping")
            assert ping.status_code == 201, ping.text
            github = {"repository": "acme/shop", "token": "ghp_rls", "apiUrl": "https://github.example.invalid/api/v3"}
            connected = await tenant.client.put(
                f"/api/v1/projects/{projects[0]['id']}/integrations/github", json=github
            )
            assert connected.status_code == 201, connected.text
            issue = await tenant.client.post(f"/api/v1/reports/{report.json()['data']['id']}/github-issue")
            assert issue.status_code == 202, issue.text
        yield pair


# --- The schema ----------------------------------------------------------------------------------------


async def test_every_tenant_table_is_not_null_indexed_and_under_forced_rls(owner: AsyncEngine) -> None:
    tables = await tenant_tables(owner)
    assert {"organization", "membership", "project", "api_token", "report"} <= set(tables)
    offenders: dict[str, list[str]] = {}
    async with owner.connect() as connection:
        for table in tables:
            facts = (
                await connection.execute(text(_TABLE_FACTS), {"table": table, "column": tenant_column(table)})
            ).one()
            missing = [name for name, present in zip(_FACTS, facts, strict=True) if not present]
            if missing:
                offenders[table] = missing
    assert not offenders, f"tenant tables lacking isolation: {offenders}"


async def test_every_policy_reads_the_scope_once_per_statement_not_once_per_row(
    owner: AsyncEngine, app_role: AsyncEngine
) -> None:
    """A bare `lantern_tenant()` in a policy is evaluated for every row it filters (a tenant's whole report
    list on a count); as a scalar subquery it is evaluated once. Checked on every policy and on a plan."""
    async with owner.connect() as connection:
        policies = (await connection.execute(text("SELECT tablename, qual, with_check FROM pg_policies"))).all()
    # pg_policies prints a scalar subquery as `( SELECT lantern_tenant() AS lantern_tenant)`.
    bare = {
        table: expression
        for table, *expressions in policies
        for expression in expressions
        if expression
        and len(re.findall(r"lantern_\w+\(\)", expression))
        != len(re.findall(r"\( SELECT lantern_\w+\(\) AS lantern_\w+\)", expression))
    }
    assert policies
    assert bare == {}
    async with app_role.connect() as connection:
        plan = "\n".join(await connection.scalars(text("EXPLAIN SELECT count(*) FROM report")))
    assert "InitPlan" in plan
    assert "current_setting" not in plan.split("Filter:", 1)[1], plan


async def test_the_app_role_owns_nothing_and_cannot_bypass_rls(app_role: AsyncEngine) -> None:
    async with app_role.connect() as connection:
        role = (
            await connection.execute(
                text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"),
            )
        ).one()
        owned = list(await connection.scalars(text(_OWNED_BY_ME)))
    assert (role.rolsuper, role.rolbypassrls) == (False, False)
    assert owned == []


# --- Raw SQL as the app role ---------------------------------------------------------------------------


async def count_rows(connection: AsyncConnection, table: str, condition: str = "true", **params: Any) -> int:
    # Table and column names come from the catalog, never from input.
    query = f"SELECT count(*) FROM {table} WHERE {condition}"  # noqa: S608
    return int(await connection.scalar(text(query), params) or 0)


async def test_with_no_tenant_set_every_tenant_table_reads_empty(
    tenants: TenantFactory, anonymous: ApiClient, owner: AsyncEngine, app_role: AsyncEngine, worker: Any
) -> None:
    async with two_populated_tenants(tenants, anonymous):
        tables = await tenant_tables(owner)
        async with owner.connect() as connection:
            stored = {table: await count_rows(connection, table) for table in tables}
        async with app_role.connect() as connection:
            seen = {table: await count_rows(connection, table) for table in tables}
    assert all(
        stored[t]
        for t in (
            "organization",
            "membership",
            "invitation",
            "outgoing_email",
            "project",
            "project_key",
            "project_prefix",
            "report",
        )
    )
    assert seen == dict.fromkeys(tables, 0)


async def test_with_tenant_a_set_no_row_of_b_is_visible(
    tenants: TenantFactory, anonymous: ApiClient, owner: AsyncEngine, app_role: AsyncEngine, worker: Any
) -> None:
    async with two_populated_tenants(tenants, anonymous) as pair:
        a = UUID(pair.a.organization_id)
        tables = await tenant_tables(owner)
        async with owner.connect() as connection:
            a_rows = {t: await count_rows(connection, t, f"{tenant_column(t)} = :a", a=a) for t in tables}
        async with app_role.connect() as connection, connection.begin():
            with tenant_scope(a):
                await connection.run_sync(apply_scope)  # the very set_config(..., true) the app runs at BEGIN
            foreign = {t: await count_rows(connection, t, f"{tenant_column(t)} <> :a", a=a) for t in tables}
            own = {t: await count_rows(connection, t) for t in tables}
    assert foreign == dict.fromkeys(tables, 0), "rows of another tenant are visible"
    assert own == a_rows, "tenant A does not see exactly its own rows"


async def test_a_row_for_b_is_refused_while_a_is_set(
    tenants: TenantFactory, anonymous: ApiClient, app_role: AsyncEngine, worker: Any
) -> None:
    async with two_populated_tenants(tenants, anonymous) as pair:
        a, b = UUID(pair.a.organization_id), UUID(pair.b.organization_id)
        writes = {
            "insert": (
                "INSERT INTO membership (id, user_id, role, organization_id, created_at, updated_at)"
                " VALUES (gen_random_uuid(), :user, 'admin', :b, now(), now())"
            ),
            "move": "UPDATE project SET organization_id = :b WHERE organization_id = :a",
        }
        for name, statement in writes.items():
            async with app_role.connect() as connection:
                await connection.begin()
                with tenant_scope(a):
                    await connection.run_sync(apply_scope)
                with pytest.raises(DBAPIError, match="row-level security") as refused:
                    await connection.execute(text(statement), {"a": a, "b": b, "user": UUID(pair.a.user_id)})
                assert refused.value.orig is not None, name
                await connection.rollback()


async def test_the_tenant_setting_ends_with_its_transaction_unlike_a_plain_set(
    tenants: TenantFactory, anonymous: ApiClient, app_role: AsyncEngine, worker: Any
) -> None:
    """One pooled connection serves every transaction here: what one transaction sets, the next one sees
    only if it was a plain SET, which is why the app never uses one."""
    setting = text("SELECT coalesce(current_setting('lantern.tenant_id', true), '')")
    async with two_populated_tenants(tenants, anonymous) as pair:
        a = UUID(pair.a.organization_id)
        async with app_role.connect() as connection, connection.begin():
            backend = await connection.scalar(text("SELECT pg_backend_pid()"))
            with tenant_scope(a):
                await connection.run_sync(apply_scope)
            assert await count_rows(connection, "project") == len(pair.projects[pair.a.organization_id])
        async with app_role.connect() as connection:
            assert await connection.scalar(text("SELECT pg_backend_pid()")) == backend  # the same connection
            assert await connection.scalar(setting) == ""
            assert await count_rows(connection, "project") == 0
            await connection.execute(text(f"SET lantern.tenant_id = '{a}'"))
            await connection.commit()
        async with app_role.connect() as connection:
            leaked = await connection.scalar(setting), await count_rows(connection, "project")
            await connection.execute(text("RESET lantern.tenant_id"))
            await connection.commit()
    assert leaked == (str(a), len(pair.projects[pair.a.organization_id])), "a plain SET should outlive its transaction"


# --- Through the app, over a pool of two connections --------------------------------------------------


@asynccontextmanager
async def app_with_a_pool_of(size: int) -> AsyncIterator[Any]:
    """A second app whose database engine holds at most `size` connections, shared by every request."""
    os.environ["LANTERN_DATABASE_POOL_SIZE"] = str(size)
    reset_settings()
    alchemy_config.cache_clear()
    config = alchemy_config()
    try:
        application = create_app()
        async with AsyncTestClient(app=application):
            assert config.get_engine().pool.size() == size  # type: ignore[attr-defined]
            assert config.engine_config.max_overflow == 0
            yield application
    finally:
        await config.get_engine().dispose()
        os.environ.pop("LANTERN_DATABASE_POOL_SIZE")
        reset_settings()
        alchemy_config.cache_clear()


async def test_a_thousand_requests_alternating_tenants_over_two_connections_never_cross(
    tenants: TenantFactory, anonymous: ApiClient, worker: Any
) -> None:
    crossed: list[str] = []
    async with (
        two_populated_tenants(tenants, anonymous) as pair,
        app_with_a_pool_of(POOL_SIZE) as application,
        ApiClient.for_app(application) as by_session,
        ApiClient.for_app(application) as by_token,
    ):
        by_session.cookies = pair.a.client.cookies  # tenant A as its owner's browser
        by_token.headers["Authorization"] = f"Bearer {pair.tokens[pair.b.organization_id]}"  # B as a program
        callers = itertools.cycle([(by_session, pair.a.organization_id), (by_token, pair.b.organization_id)])
        paths = itertools.cycle(["/api/v1/projects", "/api/v1/projects", "/api/v1/reports", "/api/v1/reports"])
        plan = [(*next(callers), next(paths)) for _ in range(REQUESTS)]
        for start in range(0, REQUESTS, BATCH):
            batch = plan[start : start + BATCH]
            responses = await asyncio.gather(*(client.get(path) for client, _, path in batch))
            for (_, organization_id, path), response in zip(batch, responses, strict=True):
                crossed.extend(foreign_rows(response, path, pair.projects[organization_id]))
    assert not crossed, f"{len(crossed)} foreign rows in {REQUESTS} requests: {crossed[:5]}"


def foreign_rows(response: Any, path: str, own_projects: set[str]) -> list[str]:
    """What in one list response belongs to another tenant (or the response itself, if it failed)."""
    if response.status_code != 200:
        return [f"{path}: {response.status_code} {response.text[:200]}"]
    data = response.json()["data"]
    rows = data if path.endswith("projects") else data["items"]
    project_ids = [row["id"] if path.endswith("projects") else row["projectId"] for row in rows]
    if not project_ids:
        return [f"{path}: an empty list, so nothing was shown"]
    return [f"{path}: project {project_id}" for project_id in project_ids if project_id not in own_projects]


async def started_worker() -> None:
    """The worker's start-up and shut-down, as `python -m app.cli worker` runs them."""
    context: dict[str, Any] = {"redis": get_redis()}
    await startup(context)
    await shutdown(context)


@pytest.mark.parametrize("starting", [warn_if_unguarded, started_worker], ids=["server", "worker"])
async def test_starting_as_a_role_that_bypasses_row_level_security_is_warned_of(
    embedded_services: dict[str, str], capfd: pytest.CaptureFixture[str], starting: Callable[[], Awaitable[None]]
) -> None:
    """An operator who gave the app deploy.md's owner role (BYPASSRLS) got no word that the database's guard
    between tenants was off; then the worker, which runs every tenant's jobs, said nothing of it."""
    said = {}
    for role, url in (("app", embedded_services["DATABASE_URL"]), ("owner", embedded_services["DATABASE_OWNER_URL"])):
        os.environ["DATABASE_URL"] = url
        reset_settings()
        alchemy_config.cache_clear()
        try:
            capfd.readouterr()
            await starting()
            said[role] = capfd.readouterr().out
        finally:
            await alchemy_config().get_engine().dispose()
            os.environ["DATABASE_URL"] = embedded_services["DATABASE_URL"]
            reset_settings()
            alchemy_config.cache_clear()
    assert said["app"] == ""
    assert "bypasses row-level security" in said["owner"]
