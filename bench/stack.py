"""The system under benchmark: a fresh database and Redis database, migrated and seeded through the app's own
services, served by granian (as `python -m app.cli serve` does) with the real arq worker beside it.

Traffic stays on 127.0.0.1. Every process started here is stopped when its `with` block ends.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from redis import Redis
from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from app.cli import migrate
from app.domain.accounts.services import AccountService, FirstOrganization
from app.domain.projects.models import ProjectKey
from app.domain.projects.schemas import ProjectCreate
from app.domain.projects.services import ProjectService
from app.lib.database import alchemy_config
from app.settings import reset_settings
from tenants.context import tenant_scope
from tenants.db import scoped

ROOT = Path(__file__).resolve().parents[1]
APP_ROLE = "lantern_app"
BENCH_DATABASE = "lantern_bench"
DEFAULT_POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/8"
START_SECONDS = 60.0
# Every project accepts this many widget reports a minute: the limiter runs on every request, never refuses.
BENCH_RATE_LIMIT = 10_000_000


def postgres_url() -> str:
    return os.environ.get("BENCH_DATABASE_URL") or DEFAULT_POSTGRES_URL


def redis_url() -> str:
    return os.environ.get("BENCH_REDIS_URL") or DEFAULT_REDIS_URL


@dataclass(frozen=True, slots=True)
class Project:
    organization_id: str
    project_id: str
    api_key: str
    prefix: str


async def _recreate_postgres(server_url: str, name: str) -> tuple[str, str]:
    """A fresh database `name`; returns (owner URL, app-role URL) for it."""
    engine = create_async_engine(server_url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as connection:
        await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
        exists = await connection.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": APP_ROLE})
        if not exists:
            await connection.execute(text(f"CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB"))
    await engine.dispose()
    owner = make_url(server_url).set(database=name)
    app = owner.set(username=APP_ROLE, password=None)
    return owner.render_as_string(hide_password=False), app.render_as_string(hide_password=False)


class Environment:
    """The settings every process of one benchmark shares (this one included: seeding uses the app)."""

    def __init__(self, database: str) -> None:
        self.work_dir = Path(tempfile.mkdtemp(prefix="lantern-bench-"))
        self.database = database
        self.variables: dict[str, str] = {
            "LANTERN_DATA_DIR": str(self.work_dir / "data"),
            "LANTERN_SECRET_KEY": secrets.token_urlsafe(32),
            "REDIS_URL": redis_url(),
            "LANTERN_COOKIE_SECURE": "false",
            "LANTERN_ADMIN_RATE_PER_MINUTE": str(BENCH_RATE_LIMIT),
            "LANTERN_ADMIN_BURST": str(BENCH_RATE_LIMIT),
        }

    @classmethod
    def postgres(cls, name: str = BENCH_DATABASE) -> Environment:
        environment = cls("postgresql")
        owner, app = asyncio.run(_recreate_postgres(postgres_url(), name))
        environment.variables["DATABASE_OWNER_URL"] = owner
        environment.variables["DATABASE_URL"] = app
        return environment

    @classmethod
    def sqlite(cls) -> Environment:
        environment = cls("sqlite")
        url = f"sqlite+aiosqlite:///{environment.work_dir / 'lantern.db'}"
        environment.variables["DATABASE_OWNER_URL"] = environment.variables["DATABASE_URL"] = url
        return environment

    def activate(self) -> None:
        """Point this process's settings at this environment, migrate, and empty the Redis database."""
        os.environ.update(self.variables)
        reset_settings()
        alchemy_config.cache_clear()
        migrate()
        Redis.from_url(self.variables["REDIS_URL"]).flushdb()

    def close(self) -> None:
        shutil.rmtree(self.work_dir, ignore_errors=True)


async def seed_projects(organizations: int, projects_per_organization: int) -> list[Project]:
    """Organizations and projects made by the app's own services, each project with its widget key."""
    projects: list[Project] = []
    async with alchemy_config().get_session() as session, session.begin():
        accounts = AccountService(session)
        for o in range(organizations):
            user, organization = await accounts.signup(
                email=f"bench-{o}-{secrets.token_hex(3)}@example.com",
                password=secrets.token_urlsafe(16),
                name=f"Bench {o}",
                organization=FirstOrganization(name=f"Bench organization {o}"),
            )
            async with scoped(session, tenant_scope(organization.id, user.id)):
                service = ProjectService(session=session)
                for p in range(projects_per_organization):
                    prefix = f"B{o}P{p}"
                    project = await service.create_project(ProjectCreate(name=f"Site {p}", tracking_prefix=prefix))
                    project.rate_limit_per_minute = BENCH_RATE_LIMIT
                    key = await session.scalar(select(ProjectKey.key).where(ProjectKey.project_id == project.id))
                    projects.append(Project(str(organization.id), str(project.id), key or "", prefix))
    return projects


@contextmanager
def serve(
    environment: Environment,
    port: int,
    application: str = "app.asgi:create_app",
    extra: Mapping[str, str] | None = None,
) -> Iterator[str]:
    """granian with one worker, as `python -m app.cli serve`; yields the base URL once /health answers."""
    env = {**os.environ, **environment.variables, "PORT": str(port), **(extra or {})}
    command = [
        sys.executable, "-m", "granian", "--interface", "asgi", "--factory", "--host", "127.0.0.1",
        "--port", str(port), "--workers", "1", "--no-ws", application,
    ]  # fmt: skip
    base_url = f"http://127.0.0.1:{port}"
    with _process(command, env, environment.work_dir / f"server-{port}.log") as process:
        _wait_until(lambda: _answers(base_url + "/health"), process, "the server")
        yield base_url


@contextmanager
def worker(environment: Environment) -> Iterator[None]:
    """The real arq worker (`python -m app.cli worker`)."""
    env = {**os.environ, **environment.variables}
    with _process([sys.executable, "-m", "app.cli", "worker"], env, environment.work_dir / "worker.log") as process:
        redis = Redis.from_url(environment.variables["REDIS_URL"])
        _wait_until(lambda: bool(redis.exists("arq:queue:health-check")), process, "the worker")
        yield


@contextmanager
def _process(command: list[str], env: Mapping[str, str], log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log_path.open("ab") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).is_success
    except httpx.HTTPError:
        return False


def _wait_until(ready: object, process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            msg = f"{what} exited with status {process.returncode}"
            raise RuntimeError(msg)
        if callable(ready) and ready():
            return
        time.sleep(0.1)
    msg = f"{what} did not start within {START_SECONDS:.0f} s"
    raise RuntimeError(msg)
