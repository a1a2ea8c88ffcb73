"""The database half of tenancy: every ORM statement on a tenant-owned table is scoped to the tenant.

Three SQLAlchemy events make the scope impossible to leave from application code:
- `do_orm_execute` adds `organization_id = <tenant>` to every ORM SELECT, UPDATE and DELETE that touches
  a tenant-owned model (so advanced-alchemy's `update_many`/`delete_many` are covered too);
- `before_flush` stamps the tenant on new rows and refuses rows of another tenant;
- `after_begin` copies the scope into transaction-local PostgreSQL settings, which the row-level
  security policies of `tenants/rls.py` read, so even raw SQL sees only the tenant's rows.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractContextManager, asynccontextmanager
from typing import Any
from uuid import UUID

from advanced_alchemy.types import GUID
from sqlalchemy import Column, Delete, ForeignKey, Table, Update, event, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import (
    Mapped,
    ORMExecuteState,
    Session,
    SessionTransaction,
    declared_attr,
    mapped_column,
    with_loader_criteria,
)
from sqlalchemy.sql import ClauseElement, visitors

from tenants.context import MissingTenantError, TenantScope, current_scope, require_tenant

TENANT_COLUMN = "organization_id"


class TenantOwned:
    """Mixin of every tenant-owned model: a NOT NULL, indexed `organization_id`, stamped automatically."""

    @declared_attr
    def organization_id(cls) -> Mapped[UUID]:  # noqa: N805 - SQLAlchemy's declared_attr convention
        return mapped_column(
            GUID,
            ForeignKey("organization.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
            default=require_tenant,
        )


def _is_lookup() -> bool:
    scope = current_scope()
    narrowed = scope.user_id is not None or scope.credential is not None or scope.system is not None
    return scope.organization_id is None and narrowed


@event.listens_for(Session, "do_orm_execute")
def _scope_statement(state: ORMExecuteState) -> None:
    if state.is_column_load or state.is_relationship_load:
        return
    if not (state.is_select or state.is_update or state.is_delete or state.is_insert):
        return
    organization_id = current_scope().organization_id
    if organization_id is None:
        if _is_lookup() or not _touches_tenant_data(state):
            return
        msg = "tenant-owned table queried with no tenant in context"
        raise MissingTenantError(msg)
    if state.is_select:
        state.statement = state.statement.options(
            with_loader_criteria(
                TenantOwned,
                lambda cls: cls.organization_id == organization_id,
                include_aliases=True,
            ),
        )
    elif state.is_update or state.is_delete:
        _scope_write(state, organization_id)
    # An INSERT gets the tenant from the column default (or the flush's stamp); RLS's WITH CHECK refuses
    # any other tenant on PostgreSQL.


def _scope_write(state: ORMExecuteState, organization_id: UUID) -> None:
    """An explicit WHERE on the target table: loader criteria are applied neither to the ORM bulk UPDATE by
    primary key (what advanced-alchemy's update_many() runs) nor to Core statements."""
    statement = state.statement
    column = _tenant_column(statement.table) if isinstance(statement, Update | Delete) else None
    if column is None:
        return
    state.statement = statement.where(column == organization_id)  # type: ignore[attr-defined]
    if state.is_executemany:
        # SQLAlchemy cannot sync in-session objects for a bulk UPDATE with extra WHERE criteria;
        # the repository re-reads what it returns, so skipping the sync loses nothing.
        state.update_execution_options(synchronize_session=None)


def _tenant_column(table: object) -> Column[Any] | None:
    """The tenant column of a tenant-owned table, mapped or plain Core; None for any other table."""
    if not isinstance(table, Table):
        return None
    return table.c.get(TENANT_COLUMN)


def _touches_tenant_data(state: ORMExecuteState) -> bool:
    # Every table the statement names, not only the selected entities: a tenant table that appears only in
    # a JOIN, a subquery or `select_from()` is read all the same.
    statement = state.statement
    return isinstance(statement, ClauseElement) and any(
        _tenant_column(element) is not None for element in visitors.iterate(statement)
    )


@event.listens_for(Session, "before_flush")
def _stamp_tenant(session: Session, _context: Any, _instances: Any) -> None:
    for instance in (*session.new, *session.dirty):
        if not isinstance(instance, TenantOwned):
            continue
        organization_id = require_tenant()
        if instance.organization_id is None:
            instance.organization_id = organization_id
        elif instance.organization_id != organization_id:
            msg = "row of another tenant in this session"
            raise MissingTenantError(msg)


_SET_SCOPE = text(
    "SELECT set_config('lantern.tenant_id', :tenant, true),"
    " set_config('lantern.user_id', :user, true),"
    " set_config('lantern.credential', :credential, true),"
    " set_config('lantern.system', :system, true)",
)


def apply_scope(connection: Connection) -> None:
    """Copy the scope in context into the transaction's PostgreSQL settings (no-op elsewhere)."""
    if connection.dialect.name != "postgresql":
        return
    scope = current_scope()
    connection.execute(
        _SET_SCOPE,
        {
            "tenant": str(scope.organization_id or ""),
            "user": str(scope.user_id or ""),
            "credential": scope.credential or "",
            "system": scope.system or "",
        },
    )


@event.listens_for(Session, "after_begin")
def _scope_transaction(_session: Session, _transaction: SessionTransaction, connection: Connection) -> None:
    apply_scope(connection)


async def _rescope(session: AsyncSession) -> None:
    connection = await session.connection()
    await connection.run_sync(apply_scope)


@asynccontextmanager
async def scoped(session: AsyncSession, scope: AbstractContextManager[TenantScope]) -> AsyncIterator[TenantScope]:
    """Enter `scope` inside an open transaction (e.g. at sign-up, where the tenant is born mid-request).

    Pending rows are flushed before the scope is left, since the flush stamps and checks the tenant.
    """
    with scope as entered:
        await _rescope(session)
        yield entered
        await session.flush()
    await _rescope(session)
