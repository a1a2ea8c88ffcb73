"""The front door, and readiness that says which dependency is missing."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute
from litestar.testing import AsyncTestClient
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import QueuePool

from app.asgi import create_app
from app.lib.database import alchemy_config
from app.lib.embedded_redis import EmbeddedRedis
from app.lib.errors import ErrorCode, unavailable
from app.lib.i18n import gettext as _
from app.lib.i18n import use_locale
from app.lib.redis import get_redis, redis_health
from app.settings import reset_settings
from tests.support.clients import BASE_URL, ApiClient, TenantFactory

# Nothing listens on port 1: every connection is refused at once.
UNREACHABLE_DATABASE = "postgresql+asyncpg://lantern@127.0.0.1:1/lantern"


@pytest.fixture
def redis_gone(monkeypatch: pytest.MonkeyPatch, separate_redis: EmbeddedRedis) -> Iterator[None]:
    """The app's Redis connection points at a server that is stopped, for this test only."""
    monkeypatch.setenv("REDIS_URL", separate_redis.url)
    reset_settings()
    get_redis.cache_clear()
    separate_redis.stop()
    yield
    monkeypatch.undo()
    reset_settings()
    get_redis.cache_clear()
    redis_health.cache_clear()  # the stopped server's failure is no word on the suite's Redis


@pytest.fixture
async def database_gone(embedded_services: dict[str, str]) -> AsyncIterator[Litestar]:
    """An app whose database cannot be reached: the configuration's engine is one that connects to nothing, for
    this test only (the suite's app, and the tests after this one, keep the working engine)."""
    config = alchemy_config()
    working = config.get_engine(), config.session_maker
    config.engine_instance, config.session_maker = create_async_engine(UNREACHABLE_DATABASE), None
    try:
        application = create_app()
        async with AsyncTestClient(app=application):  # its lifespan: the database plugin's start-up
            yield application
    finally:
        await config.get_engine().dispose()
        config.engine_instance, config.session_maker = working


async def test_a_database_out_of_reach_is_a_503_to_retry_not_a_500(
    tenants: TenantFactory, database_gone: Litestar
) -> None:
    """Readiness said 503 while a login answered 500 INTERNAL_ERROR, as if Lantern itself had failed; so did
    any request whose credentials are looked up before its handler runs."""
    login = {"email": "someone@example.com", "password": "a long enough password"}
    async with ApiClient.for_app(database_gone) as client:
        answers = [
            await client.post("/api/v1/auth/login", json=login, headers={"Accept-Language": "de"}),
            await client.get("/api/v1/reports", headers={"Authorization": "Bearer lt_org_" + "a" * 43}),
        ]
    for answer in answers:
        assert answer.status_code == 503, answer.text
        assert answer.json()["error"] == "SERVICE_UNAVAILABLE"
        assert answer.headers["retry-after"] == "5"
    assert answers[0].json()["message"] != answers[1].json()["message"]  # in German


@pytest.fixture
async def database_refusing(embedded_services: dict[str, str]) -> AsyncIterator[Litestar]:
    """An app whose database role has used up its CONNECTION LIMIT (0 here: PostgreSQL refuses every connection
    with "too many connections for role"), for this test only: a role of its own, dropped afterwards."""
    role = f"lantern_limited_{secrets.token_hex(4)}"
    owner = create_async_engine(os.environ["DATABASE_OWNER_URL"], isolation_level="AUTOCOMMIT")
    async with owner.connect() as connection:
        await connection.execute(text(f"CREATE ROLE {role} LOGIN CONNECTION LIMIT 0"))
    config = alchemy_config()
    working = config.get_engine(), config.session_maker
    limited = make_url(os.environ["DATABASE_URL"]).set(username=role, password=None)
    config.engine_instance, config.session_maker = create_async_engine(limited), None
    try:
        application = create_app()
        async with AsyncTestClient(app=application):
            yield application
    finally:
        await config.get_engine().dispose()
        config.engine_instance, config.session_maker = working
        async with owner.connect() as connection:
            await connection.execute(text(f"DROP ROLE {role}"))
        await owner.dispose()


@pytest.mark.postgres
async def test_a_database_refusing_connections_is_a_503_to_retry_not_a_500(
    tenants: TenantFactory, database_refusing: Litestar
) -> None:
    """PostgreSQL refusing a connection (the role's CONNECTION LIMIT reached) answered 500 with a traceback for
    every request, while readiness said 200."""
    login = {"email": "someone@example.com", "password": "a long enough password"}
    async with ApiClient.for_app(database_refusing) as client:
        answers = [
            await client.post("/api/v1/auth/login", json=login, headers={"Accept-Language": "de"}),
            await client.get("/api/v1/reports", headers={"Authorization": "Bearer lt_org_" + "a" * 43}),
        ]
        ready = await client.get("/health/ready")
    for answer in answers:
        assert answer.status_code == 503, answer.text
        assert answer.json()["error"] == "SERVICE_UNAVAILABLE"
        assert answer.headers["retry-after"] == "5"
    assert answers[0].json()["message"] != answers[1].json()["message"]  # in German
    assert ready.status_code == 503
    assert [detail["field"] for detail in ready.json()["details"]] == ["database"]


@pytest.mark.postgres
async def test_a_transaction_given_up_for_a_deadlock_is_a_503_to_retry(embedded_services: dict[str, str]) -> None:
    """Two transactions waiting for each other: PostgreSQL fails one (40P01), which did nothing, and the same
    request a moment later succeeds. It answered 500, as if the server were broken."""
    engine = create_async_engine(embedded_services["DATABASE_OWNER_URL"])
    try:
        async with engine.begin() as setup:
            await setup.execute(text("CREATE TABLE deadlock_probe (id int PRIMARY KEY)"))
            await setup.execute(text("INSERT INTO deadlock_probe VALUES (1), (2)"))
        async with engine.connect() as first, engine.connect() as second:
            touch = "UPDATE deadlock_probe SET id = id WHERE id = :id"
            await first.execute(text(touch), {"id": 1})
            await second.execute(text(touch), {"id": 2})
            crossed = await asyncio.gather(
                first.execute(text(touch), {"id": 2}), second.execute(text(touch), {"id": 1}), return_exceptions=True
            )
            [given_up] = [answer for answer in crossed if isinstance(answer, Exception)]
    finally:
        async with engine.begin() as cleanup:
            await cleanup.execute(text("DROP TABLE IF EXISTS deadlock_probe"))
        await engine.dispose()
    error = unavailable("/api/v1/reports/BSK-1", given_up)
    assert error is not None, repr(given_up)
    assert (error.code, error.headers["Retry-After"]) == (ErrorCode.SERVICE_UNAVAILABLE, "5")


CONNECTIONS_DRAWN = 5


@pytest.mark.postgres
async def test_connections_postgresql_dropped_are_replaced_before_a_request_draws_one(
    tenants: TenantFactory, embedded_services: dict[str, str]
) -> None:
    """A restarted PostgreSQL, or one failed over, has dropped every connection the pool holds: each is tried as it
    is drawn and replaced, so that no request fails on one."""
    async with tenants.create() as tenant:
        await tenant.create_project()
        # At once, so that the pool holds several connections.
        drawn = await asyncio.gather(*(tenant.client.get("/api/v1/projects") for _ in range(CONNECTIONS_DRAWN)))
        assert [answer.status_code for answer in drawn] == [200] * CONNECTIONS_DRAWN
        owner = create_async_engine(embedded_services["DATABASE_OWNER_URL"], isolation_level="AUTOCOMMIT")
        async with owner.connect() as connection:
            dropped = await connection.scalar(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND usename = :role"
                ),
                {"role": make_url(embedded_services["DATABASE_URL"]).username},
            )
        await owner.dispose()
        assert dropped >= 2
        drawn = await asyncio.gather(*(tenant.client.get("/api/v1/projects") for _ in range(CONNECTIONS_DRAWN)))
        assert [answer.status_code for answer in drawn] == [200] * CONNECTIONS_DRAWN, drawn[0].text


async def test_ready_names_what_cannot_be_reached(anonymous: ApiClient, redis_gone: None) -> None:
    answer = await anonymous.get("/health/ready", headers={"Accept-Language": "ja"})
    assert answer.status_code == 503
    assert answer.json()["error"] == "SERVICE_UNAVAILABLE"
    [detail] = answer.json()["details"]
    assert detail["field"] == "redis"
    assert detail["message"] != "Redis cannot be reached, or refuses writes."  # in Japanese


async def test_ready_under_a_full_connection_pool_says_the_database_is_busy(anonymous: ApiClient) -> None:
    """Every connection of the pool requests use is held (by this test): readiness waited for one as long as a
    request would, the pool's 30 s, then said the database could not be reached. It waits a couple of seconds
    of its own now, and says the database is busy."""
    engine = alchemy_config().get_engine()
    pool = engine.pool
    assert isinstance(pool, QueuePool)
    async with contextlib.AsyncExitStack() as held:
        for _connection in range(pool.size() - pool.checkedout()):
            await held.enter_async_context(engine.connect())
        answer = await anonymous.get("/health/ready", headers={"Accept-Language": "de"})
    assert answer.status_code == 503, answer.text
    with use_locale("de"):
        busy = _("The database is busy: every connection of this server to it is in use.")
    assert answer.json()["details"] == [{"field": "database", "message": busy}]
    assert (await anonymous.get("/health/ready")).status_code == 200  # the connections given back


@pytest.fixture
def redis_hung(monkeypatch: pytest.MonkeyPatch, separate_redis: EmbeddedRedis) -> Iterator[None]:
    """The app's Redis connection points at a server that accepts connections and never answers (stopped, as
    a frozen host would be), for this test only."""
    assert separate_redis.process is not None
    monkeypatch.setenv("REDIS_URL", separate_redis.url)
    reset_settings()
    get_redis.cache_clear()
    separate_redis.process.send_signal(signal.SIGSTOP)
    yield
    separate_redis.process.send_signal(signal.SIGCONT)
    monkeypatch.undo()
    reset_settings()
    get_redis.cache_clear()
    redis_health.cache_clear()


async def test_ready_behind_a_hung_redis_says_it_did_not_answer(anonymous: ApiClient, redis_hung: None) -> None:
    """Readiness waited out the Redis socket's timeout (5 s), then said Redis could not be reached. It waits a
    couple of seconds of its own now, and says Redis did not answer."""
    answer = await anonymous.get("/health/ready", headers={"Accept-Language": "ja"})
    assert answer.status_code == 503, answer.text
    with use_locale("ja"):
        silent = _("Redis did not answer in time.")
    assert answer.json()["details"] == [{"field": "redis", "message": silent}]


async def test_ready_when_all_is_reachable(anonymous: ApiClient) -> None:
    answer = await anonymous.get("/health/ready")
    assert answer.status_code == 200
    assert answer.json()["data"] == {"database": True, "redis": True}


async def test_uptime_monitors_probe_with_head(anonymous: ApiClient) -> None:
    """A HEAD is the GET without its body (RFC 9110 §9.3.2): the same status and headers, the length too."""
    for path in ("/health", "/api/v1/health", "/health/ready", "/api/v1/health/ready", "/widget.js"):
        got, probed = await anonymous.get(path), await anonymous.head(path)
        assert (probed.status_code, probed.content) == (200, b""), path
        assert probed.headers["content-type"] == got.headers["content-type"], path
        assert probed.headers["content-length"] == str(len(got.content)), path


async def test_monitors_cache_busting_parameters_are_taken(anonymous: ApiClient) -> None:
    """Uptime monitors add a parameter of their own to the address they probe; the API's routes refuse a parameter
    they do not read, which here read as the service being down."""
    for path in ("/health", "/api/v1/health", "/health/ready", "/api/v1/health/ready"):
        answer = await anonymous.get(path, params={"_": "1700000000", "source": "uptime"})
        assert answer.status_code == 200, (path, answer.text)


async def test_options_names_every_method_of_the_address(app: Litestar, tenants: TenantFactory) -> None:
    """OPTIONS names the methods a 405 names: an address that two controllers serve (BugSpark's create and the
    team's list, both `/api/v1/reports`) said only the first one's (`Allow: OPTIONS, POST`, Litestar 2's
    litestar#4169). Both name HEAD wherever they name GET: it is answered there (it was never named)."""
    async with tenants.create() as owner:
        for route in app.routes:
            if not isinstance(route, HTTPRoute) or not route.path.startswith("/api/"):
                continue
            path = route.path_format.format(
                **{
                    name: uuid.uuid4() if parameter.type is uuid.UUID else "BSK-1"
                    for name, parameter in route.path_parameters.items()
                }
            )
            refused = await owner.client.request("TRACE", path)  # served nowhere: its 405 names what is
            assert refused.status_code == 405, (path, refused.text)
            answer = await owner.client.options(path)
            assert answer.status_code == 204, (path, answer.text)
            assert _methods(answer.headers["allow"]) == _methods(refused.headers["allow"]), path
            assert ("GET" in _methods(answer.headers["allow"])) == ("HEAD" in _methods(answer.headers["allow"])), path
        reports = await owner.client.options("/api/v1/reports")
        assert _methods(reports.headers["allow"]) == {"GET", "HEAD", "POST", "OPTIONS"}
    # Anyone is told, as a 405 tells anyone: an address whose controller guards its methods was a 401, and so was
    # every address to a client whose Authorization header (a staging site's Basic, a stale token) was no token.
    async with ApiClient.for_app(app) as anonymous:
        for path in ("/api/v1/projects", "/api/v1/tokens", "/api/v1/auth/me", f"/api/v1/projects/{uuid.uuid4()}"):
            for headers in ({}, {"Authorization": "Bearer lt_org_revoked"}, {"Authorization": "Basic dXNlcjpwYXNz"}):
                answer = await anonymous.options(path, headers=headers)
                assert answer.status_code == 204, (path, headers, answer.text)
                assert "OPTIONS" in _methods(answer.headers["allow"]), path


def _methods(allow: str) -> set[str]:
    return {method.strip() for method in allow.split(",")}


async def test_a_head_probe_says_when_a_dependency_is_missing(anonymous: ApiClient, redis_gone: None) -> None:
    answer = await anonymous.head("/health/ready")
    assert (answer.status_code, answer.content) == (503, b"")
    assert (await anonymous.head("/health")).status_code == 200


async def test_the_address_make_run_prints_says_where_the_api_is(anonymous: ApiClient) -> None:
    """Its links were paths, and the API's own address they gave (`/api/v1`) was a 404."""
    answer = await anonymous.get("/")
    assert answer.status_code == 200
    entry = answer.json()["data"]
    assert (entry["api"], entry["openapi"]) == (f"{BASE_URL}/api/v1", f"{BASE_URL}/schema/openapi.json")
    assert (await anonymous.get(entry["openapi"])).status_code == 200
    api_root = await anonymous.get(entry["api"])
    assert (api_root.status_code, api_root.json()) == (200, answer.json())


async def test_the_widget_script_is_served_as_javascript_once(anonymous: ApiClient) -> None:
    answer = await anonymous.get("/widget.js")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/javascript; charset=utf-8"  # the charset was said twice
    assert answer.headers["content-disposition"] == 'inline; filename="widget.js"'  # was an empty name


# A check PostgreSQL makes at COMMIT (deferred), refusing one time zone as a serialization failure would.
_REFUSED_AT_COMMIT = (
    """CREATE FUNCTION refuse_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
    IF NEW.timezone = 'Pacific/Apia' THEN RAISE EXCEPTION 'refused at commit' USING ERRCODE = '40001'; END IF;
    RETURN NEW; END $$""",
    """CREATE CONSTRAINT TRIGGER refuse_at_commit AFTER UPDATE ON organization DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION refuse_at_commit()""",
)


@pytest.mark.postgres
async def test_a_change_the_database_refuses_as_it_commits_is_not_answered_as_made(
    tenants: TenantFactory, embedded_services: dict[str, str]
) -> None:
    """A commit that failed was logged at debug level and the answer went out as the handler made it: a 200 for a
    change that was never stored."""
    engine = create_async_engine(embedded_services["DATABASE_OWNER_URL"])
    try:
        async with engine.begin() as setup:
            for statement in _REFUSED_AT_COMMIT:
                await setup.execute(text(statement))
        async with tenants.create() as tenant:
            refused = await tenant.client.patch("/api/v1/organization", json={"timezone": "Pacific/Apia"})
            kept = await tenant.client.get("/api/v1/organization")
    finally:
        async with engine.begin() as cleanup:
            await cleanup.execute(text("DROP TRIGGER IF EXISTS refuse_at_commit ON organization"))
            await cleanup.execute(text("DROP FUNCTION IF EXISTS refuse_at_commit"))
        await engine.dispose()
    assert refused.status_code == 503, refused.text
    assert refused.json()["error"] == "SERVICE_UNAVAILABLE"
    assert kept.json()["data"]["timezone"] != "Pacific/Apia"
