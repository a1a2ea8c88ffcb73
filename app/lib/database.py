"""The one database configuration, shared by the web app, the worker and the CLI."""

from __future__ import annotations

from functools import cache
from typing import Any

import structlog
from advanced_alchemy.extensions.litestar import (
    AlembicAsyncConfig,
    AsyncSessionConfig,
    EngineConfig,
    SQLAlchemyAsyncConfig,
)
from advanced_alchemy.extensions.litestar._utils import get_aa_scope_state
from advanced_alchemy.extensions.litestar.plugins.init.config.common import SESSION_TERMINUS_ASGI_EVENTS
from litestar.constants import HTTP_RESPONSE_START
from litestar.types import BeforeMessageSendHookHandler, Message, Scope
from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError, InvalidatePoolError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool
from sqlalchemy.util import await_only

from app.db import metadata
from app.settings import get_settings

logger = structlog.get_logger()

MIGRATIONS_DIR = "migrations"


def _prepare_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # A commit is on disk when it returns (a `201` says "stored"); WAL's usual NORMAL leaves the last commits to
    # the next checkpoint, and a power cut to chance. The group commit shares the cost among a batch's requests.
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _engine_config(url: str) -> EngineConfig:
    if url.startswith("sqlite"):
        # One connection: SQLite has one writer, and a pool of writers only queues on its lock (p99 ~1 s).
        return EngineConfig(pool_size=1, max_overflow=0, connect_args={"timeout": 30})
    # No overflow: the setting is the most connections a process ever holds, so it can be sized against
    # PostgreSQL's max_connections (and a test can pin a small pool that requests must share). No pre-ping of
    # SQLAlchemy's: `_ping_postgres` does its work in one round trip.
    return EngineConfig(pool_size=get_settings().database_pool_size, max_overflow=0)


def _ping_postgres(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Try a pooled connection as it is drawn: one that a restarted (or failed-over) PostgreSQL dropped is replaced,
    rather than failing the request that drew it, and so is every connection the pool held from before (as
    SQLAlchemy's own pre-ping does: they were all dropped together).

    One statement, outside any transaction, in the simple query protocol (so no prepared statement, which
    PgBouncer's transaction mode could not follow). SQLAlchemy's own pre-ping on asyncpg opens a transaction, runs
    its statement and rolls back: three round trips, 0.35 ms of each transaction's 0.92 ms (this one 0.13 ms)."""
    try:
        await_only(dbapi_connection.driver_connection.execute("SELECT 1"))
    except Exception as error:
        raise InvalidatePoolError(str(error)) from error


def make_alchemy_config(url: str) -> SQLAlchemyAsyncConfig:
    config = SQLAlchemyAsyncConfig(
        connection_string=url,
        metadata=metadata,
        engine_config=_engine_config(url),
        session_config=AsyncSessionConfig(expire_on_commit=False),
        # No model stores advanced-alchemy FileObjects: the listener only inspected every flushed object.
        enable_file_object_listener=False,
        alembic_config=AlembicAsyncConfig(script_location=MIGRATIONS_DIR, compare_type=True),
    )
    # By the key the config settled on: each config's is its own.
    config.before_send_handler = _committed_before_answering(config.session_scope_key)
    if url.startswith("sqlite"):
        event.listen(config.get_engine().sync_engine, "connect", _prepare_sqlite)
    else:
        event.listen(config.get_engine().sync_engine, "checkout", _ping_postgres)
    return config


_COMMITTING = range(200, 400)  # the answers whose request's transaction is committed: successes and redirects


def _committed_before_answering(session_scope_key: str) -> BeforeMessageSendHookHandler:
    """As advanced-alchemy's "autocommit_include_redirects" (a 2xx or 3xx answer commits the request's
    transaction as it starts; the admin UI answers a saved form with 303 See Other), except that a commit that
    fails is raised. advanced-alchemy's logs it at debug level and lets the answer go out as the handler made
    it: a 200 for a change never stored. Raised before anything reached the client, it is answered as any other
    failure (`UnsentAnswerMiddleware`): a 503 to try again when the database gave the transaction up or is out
    of reach."""

    async def commit_or_roll_back(message: Message, scope: Scope) -> None:
        if message["type"] not in SESSION_TERMINUS_ASGI_EVENTS:
            return
        # Where advanced-alchemy keeps the request's session, read as its own hooks read it.
        session = get_aa_scope_state(scope, session_scope_key, pop=True)
        if session is None:
            return
        try:
            if message["type"] == HTTP_RESPONSE_START and message["status"] in _COMMITTING:
                await session.commit()
        finally:
            try:
                await session.close()  # which rolls back what was not committed
            except (SQLAlchemyError, OSError) as error:  # the connection lost: the pool replaces it
                logger.warning("database session not closed cleanly", error=repr(error))

    return commit_or_roll_back


@cache
def alchemy_config() -> SQLAlchemyAsyncConfig:
    """The application's database (the non-owner role on PostgreSQL, so row-level security applies)."""
    return make_alchemy_config(get_settings().database_url)


# Roles that row-level security does not hold: a superuser, or one with BYPASSRLS (deploy.md's owner role).
_UNGUARDED = text("SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user")


async def warn_if_unguarded() -> None:
    """On PostgreSQL, a warning at start-up when `DATABASE_URL` connects as a role that row-level security
    does not hold: tenants are then kept apart by the app's own queries alone, the database's guard is off.
    (A database out of reach is readiness's to report.)"""
    settings = get_settings()
    if settings.is_sqlite:
        return
    # A connection of its own, not the pool's: one opened during start-up could be handed later to a request
    # on another event loop (a test client's), which asyncpg refuses.
    engine = create_async_engine(settings.database_url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            unguarded = await connection.scalar(_UNGUARDED)
    except (OSError, DBAPIError):
        return
    finally:
        await engine.dispose()
    if unguarded:
        logger.warning(
            "DATABASE_URL connects as a role that bypasses row-level security (a superuser or BYPASSRLS): "
            "tenants are kept apart by the app's queries alone. Use a role without it (see deploy.md)."
        )


def snapshot_engine() -> AsyncEngine:
    """An engine of its own (the app's role, no pool) whose each transaction reads one snapshot of the database:
    a long read that must be consistent across its many statements (an organization's export: no comment of a
    report created after the reports were read) sees none of the writes made meanwhile. PostgreSQL's REPEATABLE
    READ; on SQLite, a transaction that really begins (the driver issues no BEGIN before a SELECT), which WAL
    then holds to the snapshot of its first read."""
    url = get_settings().database_url
    if not url.startswith("sqlite"):
        return create_async_engine(url, poolclass=NullPool, isolation_level="REPEATABLE READ")
    engine = create_async_engine(url, poolclass=NullPool, connect_args={"timeout": 30})
    event.listen(engine.sync_engine, "connect", _prepare_sqlite)
    event.listen(engine.sync_engine, "connect", _begin_explicitly)
    event.listen(engine.sync_engine, "begin", _emit_begin)
    return engine


def _begin_explicitly(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # the driver's own transaction handling off: `_emit_begin`'s


def _emit_begin(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN")
