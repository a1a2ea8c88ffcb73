"""Alembic environment: migrations run as the owner role (DATABASE_OWNER_URL), the app as a role that
owns no table, so PostgreSQL's row-level security applies to it. After upgrading, the app role (the user
of DATABASE_URL, when it differs from the owner) is granted the data privileges it needs, and no more."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import context
from alembic.runtime.migration import MigrationContext
from sqlalchemy import TypeDecorator, pool, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.types import TypeEngine

from app.db import metadata
from app.settings import get_settings

config = context.config
SEARCH_INDEX_TABLE_PREFIX = "report_fts"
# Search's statistics (PostgreSQL): migration 0008 makes the table, app/domain/reports/search.py fills it.
SEARCH_STATISTICS_TABLE = "search_gram_share"


def _app_role() -> str | None:
    settings = get_settings()
    app_user = make_url(settings.database_url).username
    owner_user = make_url(settings.database_owner_url).username
    return app_user if app_user and app_user != owner_user else None


def _grant_app_role(connection: Connection) -> None:
    role = _app_role()
    if connection.dialect.name != "postgresql" or role is None:
        return
    quoted = connection.dialect.identifier_preparer.quote(role)
    connection.execute(text(f"GRANT USAGE ON SCHEMA public TO {quoted}"))
    connection.execute(text(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {quoted}"))
    connection.execute(text(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {quoted}"))


def _compare_type(
    migration: MigrationContext,
    _inspected_column: Any,
    _metadata_column: Any,
    inspected_type: TypeEngine[Any],
    metadata_type: TypeEngine[Any],
) -> bool | None:
    """Compare advanced-alchemy's portable types (GUID, DateTimeUTC, JsonB) by what they become on this
    database, so autogenerate finds no change where there is none. SQLite reflects them by type affinity
    (GUID's BINARY(16) reads back as NUMERIC), which says nothing about a change: skip them there."""
    if not isinstance(metadata_type, TypeDecorator):
        return None
    dialect = migration.dialect
    if dialect.name == "sqlite":
        return False
    implemented = metadata_type.load_dialect_impl(dialect)
    return bool(inspected_type.compile(dialect=dialect) != implemented.compile(dialect=dialect))


def _include_name(name: str | None, type_: str, _parent_names: Any) -> bool:
    """Leave out search's own tables, which migrations make by hand and the models do not describe: SQLite's
    FTS5 table and its shadow tables (report_fts, report_fts_data, …), PostgreSQL's bigram shares."""
    if type_ != "table" or name is None:
        return True
    return not (name.startswith(SEARCH_INDEX_TABLE_PREFIX) or name == SEARCH_STATISTICS_TABLE)


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        compare_type=_compare_type,
        include_name=_include_name,
        render_as_batch=connection.dialect.name == "sqlite",
        version_table="alembic_version",
    )
    with context.begin_transaction():
        context.run_migrations()
        _grant_app_role(connection)


async def _run_online() -> None:
    url = config.get_main_option("sqlalchemy.url") or get_settings().database_owner_url
    engine = create_async_engine(url, poolclass=pool.NullPool)
    async with engine.connect() as connection:
        await connection.run_sync(_run)
        await connection.commit()
    await engine.dispose()


if context.is_offline_mode():
    context.configure(url=get_settings().database_owner_url, target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run_online())
