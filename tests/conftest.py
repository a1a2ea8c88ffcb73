"""Test environment: real Redis and a real database for the whole session.

- Redis: TEST_REDIS_URL (or REDIS_URL) when set, whose database the suite empties first (each of pytest-xdist's
  processes takes its own: the URL's, then the next ones), else an embedded redis-server started here.
- Database: TEST_DATABASE_URL (a PostgreSQL owner URL, e.g. postgresql+asyncpg://postgres@127.0.0.1/test)
  when set: a fresh database is created, migrated as the owner, and the app connects as `lantern_app`, a
  role that owns nothing and cannot bypass row-level security. Else SQLite in a temporary directory.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from litestar.testing import AsyncTestClient
from redis import Redis as SyncRedis
from sqlalchemy import make_url, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.pool import NullPool

from app.asgi import create_app
from app.cli import migrate
from app.domain.reports.models import Attachment, ImageStatus, Screenshot
from app.domain.reports.screenshots import Refusal
from app.domain.transfer.models import ExportStatus, OrganizationExport
from app.lib import retries
from app.lib.database import alchemy_config
from app.lib.embedded_redis import EmbeddedRedis
from app.lib.queue import QUEUES, job_queue
from app.lib.redis import get_redis
from app.settings import reset_settings
from tests.support.clients import BASE_URL, ApiClient, TenantFactory
from tests.support.worker import running_worker
from workers.jobs import OUTBOUND_WORK

APP_ROLE = "lantern_app"
_WORK_DIR = Path(tempfile.mkdtemp(prefix="lantern-tests-"))
_END_TO_END = Path(__file__).parent / "e2e"


def _postgres_owner_url() -> str | None:
    return os.environ.get("TEST_DATABASE_URL") or None


async def create_postgres_database(owner_url: str) -> tuple[str, str]:
    """A fresh database; returns (owner URL, app-role URL) for it."""
    name = f"lantern_test_{secrets.token_hex(4)}"
    engine = create_async_engine(owner_url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as connection:
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
        await create_plain_role(connection, APP_ROLE)
    await engine.dispose()
    owner = make_url(owner_url).set(database=name)
    app = owner.set(username=APP_ROLE, password=None)
    return owner.render_as_string(hide_password=False), app.render_as_string(hide_password=False)


async def create_plain_role(connection: AsyncConnection, role: str) -> None:
    """A login role that is no superuser, bypasses no row-level security and creates no databases, unless the
    cluster has it already: the suite's processes (pytest-xdist's) make theirs at once, and the one whose
    CREATE ROLE comes second is told it exists (or, in the same instant, of a duplicate key)."""
    await connection.execute(
        text(f"""
        DO $$ BEGIN
            CREATE ROLE {role} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
        END $$""")
    )


async def drop_postgres_database(owner_url: str, database: str) -> None:
    engine = create_async_engine(owner_url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as connection:
        await connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
    await engine.dispose()


@pytest.fixture(scope="session")
def embedded_services() -> Iterator[dict[str, str]]:
    """Configure the environment (database, Redis, data dir) before the app is first imported."""
    env: dict[str, str] = {
        "LANTERN_DATA_DIR": str(_WORK_DIR / "data"),
        "LANTERN_SECRET_KEY": secrets.token_urlsafe(32),
        "LANTERN_COOKIE_SECURE": "false",
        "LANTERN_LOG_LEVEL": "WARNING",
        "LANTERN_PASSWORD_HASH_CONCURRENCY": "2",
        # OWASP's floor: a test signs up an account or two, and at the default cost their hashes took a sixth of
        # the suite's time (test_security checks the default).
        "LANTERN_PASSWORD_HASH_COST": "owasp",
        # Most tests make many requests quickly; the rate-limit tests set their own, tight limits.
        "LANTERN_ADMIN_RATE_PER_MINUTE": "100000",
        "LANTERN_ADMIN_BURST": "100000",
        "LANTERN_DEFAULT_PROJECT_RATE_LIMIT": "10000",
        "LANTERN_SIGNUPS_PER_HOUR": "100000",  # every test signs its organizations up from one address
        # A submission waits up to 500 ms for the worker to number it; most tests run no worker, so nobody
        # would answer. A test's worker (tests/support/worker.py) brings the default wait back.
        "LANTERN_TRACKING_WAIT_MS": "0",
        # The API's links are whole addresses under the public URL: the clients' own, so that a test follows them
        # as a client does, with the session cookie its jar keeps for that host.
        "LANTERN_PUBLIC_URL": BASE_URL,
    }
    redis = None
    redis_url = os.environ.get("TEST_REDIS_URL") or os.environ.get("REDIS_URL")
    if redis_url is None:
        redis = EmbeddedRedis(_WORK_DIR / "redis", persistent=False)
        redis_url = redis.start()
    else:
        redis_url = _own_redis_database(redis_url)
    env["REDIS_URL"] = redis_url
    owner_url = _postgres_owner_url()
    database_name = None
    if owner_url:
        owner, app = asyncio.run(create_postgres_database(owner_url))
        database_name = make_url(owner).database
        env["DATABASE_OWNER_URL"], env["DATABASE_URL"] = owner, app
    else:
        env["DATABASE_URL"] = env["DATABASE_OWNER_URL"] = f"sqlite+aiosqlite:///{_WORK_DIR / 'lantern.db'}"
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    _reset_caches()
    migrate()
    try:
        yield env
    finally:
        if owner_url and database_name:
            asyncio.run(drop_postgres_database(owner_url, database_name))
        if redis is not None:
            redis.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _own_redis_database(url: str) -> str:
    """This process's database on the given Redis server, emptied of what an earlier run left (queued jobs,
    limiter buckets): `url`'s for the first of pytest-xdist's workers (gw0), the next one for each further worker,
    so one's jobs, limits and flushes never reach another's."""
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))
    address = urlsplit(url)
    own = urlunsplit(address._replace(path=f"/{int(address.path.strip('/') or 0) + worker}"))
    with SyncRedis.from_url(own) as redis:
        redis.flushdb()
    return own


def _reset_caches() -> None:
    reset_settings()
    alchemy_config.cache_clear()
    get_redis.cache_clear()
    job_queue.cache_clear()


@pytest.fixture(scope="session")
def is_postgres(embedded_services: dict[str, str]) -> bool:
    return embedded_services["DATABASE_URL"].startswith("postgresql")


@pytest.fixture(scope="session")
async def app(embedded_services: dict[str, str]) -> AsyncIterator[Any]:
    application = create_app()
    async with AsyncTestClient(app=application):  # runs the lifespan once for the whole session
        yield application


@pytest.fixture
async def anonymous(app: Any) -> AsyncIterator[ApiClient]:
    async with ApiClient.for_app(app) as client:
        yield client


@pytest.fixture
async def separate_redis(tmp_path: Path) -> AsyncIterator[EmbeddedRedis]:
    """A Redis server of this test's own, to stop and start (the suite's shared one must stay up), and to make
    refuse writes with CONFIG SET."""
    server = EmbeddedRedis(tmp_path / "redis", persistent=False, configurable=True)
    server.start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
async def no_work_left_after(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    """A test that queues jobs without running a worker (a webhook's ping, a GitHub issue asked for) leaves
    them to nobody: the next test's worker would spend its slots on them, past the bounded waits that test
    measures. Each test that uses the app ends with arq's keys and the side queues gone, sessions and limits
    untouched (the side queues, left, named jobs whose keys were gone: the next worker's log had a line and a
    traceback for each). The work its rows record is given up too, or every later worker's sweeper queued it
    again: a test's worker spent its time on a hundred other tests' webhook deliveries, e-mails and exports
    (one test's end waited 25 s for them), and mailed other tests' people; and processed other tests' pending
    images, changing the stored files a test compared before and after its own work."""
    yield
    if "app" not in request.fixturenames:
        return
    redis = get_redis()
    keys = [key async for key in redis.scan_iter(match="arq:*", count=1000)]
    await redis.delete(*keys, *QUEUES)
    # As the database's owner, whom row-level security does not filter; one connection, not a pool to dispose of.
    engine = create_async_engine(os.environ["DATABASE_OWNER_URL"], poolclass=NullPool)
    async with engine.begin() as connection:
        for model, _job, _argument in OUTBOUND_WORK:
            pending = update(model).where(model.status == retries.PENDING)
            await connection.execute(pending.values(status="failed", next_attempt_at=None))
        running = update(OrganizationExport).where(OrganizationExport.status == ExportStatus.RUNNING)
        await connection.execute(running.values(status=ExportStatus.FAILED))
        for image in (Screenshot, Attachment):
            waiting = update(image).where(image.status == ImageStatus.PENDING)
            await connection.execute(waiting.values(status=ImageStatus.FAILED, error=Refusal.ATTEMPTS))


@pytest.fixture
def tenants(app: Any) -> TenantFactory:
    return TenantFactory(app)


@pytest.fixture
async def worker(app: Any) -> AsyncIterator[Any]:
    async with running_worker() as running:
        yield running


@pytest.hookimpl(tryfirst=True)  # before `-m` selects by the marks added here
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked `postgres` need TEST_DATABASE_URL; on the embedded SQLite default they are skipped. The
    end-to-end tests that run Lantern as a fresh machine does, without the suite's services, are `fresh_machine`."""
    for item in items:
        if _END_TO_END in item.path.parents and "embedded_services" not in item.fixturenames:
            item.add_marker(pytest.mark.fresh_machine)
    if _postgres_owner_url():
        return
    skip = pytest.mark.skip(reason="PostgreSQL-only: set TEST_DATABASE_URL (CI runs these)")
    for item in items:
        if item.get_closest_marker("postgres"):
            item.add_marker(skip)
