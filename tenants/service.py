"""The base of every tenant-owned service: it cannot be built, and so cannot query, without a tenant.

The rows it touches are scoped by `tenants/db.py` on every statement (and by row-level security on
PostgreSQL); this class makes the missing-tenant mistake fail at construction, loudly, instead of later.
"""

from __future__ import annotations

from typing import Any, TypeVar

from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from advanced_alchemy.service import SQLAlchemyAsyncRepositoryService
from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession

from app.lib.errors import not_found
from tenants.context import require_tenant
from tenants.db import TenantOwned

ModelT = TypeVar("ModelT", bound=TenantOwned)


class TenantRepository(SQLAlchemyAsyncRepository[ModelT]):  # type: ignore[type-var]
    def __init__(self, **kwargs: Any) -> None:
        self.organization_id = require_tenant()
        super().__init__(**kwargs)

    async def upsert_many(self, data: list[ModelT], **kwargs: Any) -> list[ModelT]:
        """Always the select-then-write path: the native `INSERT … ON CONFLICT DO UPDATE` would overwrite a
        conflicting row of another tenant (only row-level security stops it, and SQLite has none), while the
        select and the by-id update that the other path runs are both scoped to the tenant."""
        return await super().upsert_many(data, **{**kwargs, "no_merge": True})


class TenantService(SQLAlchemyAsyncRepositoryService[ModelT]):  # type: ignore[type-var]
    def __init__(self, **kwargs: Any) -> None:
        self.organization_id = require_tenant()
        super().__init__(**kwargs)

    @property
    def session(self) -> AsyncSession:
        """The tenant-scoped session, for the queries a service writes itself."""
        session: AsyncSession = self.repository.session
        return session

    async def hold_row(self, *filters: ColumnElement[bool], deleting: bool = False) -> ModelT:
        """`hold_row_if_any`; none is not found."""
        row = await self.hold_row_if_any(*filters, deleting=deleting)
        if row is None:
            raise not_found()
        return row

    async def hold_row_if_any(self, *filters: ColumnElement[bool], deleting: bool = False) -> ModelT | None:
        """The row `filters` pick (another tenant's is none), held until the transaction ends and read afresh, in
        the statement that reads it: a change of it at once waits, then changes what this one left, and the
        conditions of a change (`conditional.require_preconditions`) are evaluated against what it changes. The
        lock is the one its UPDATE takes (FOR NO KEY UPDATE, which rows referring to it still pass: a project's
        new reports), or its DELETE's when `deleting` (FOR UPDATE): taken where the row was read, it is taken in
        the order it was."""
        return await self.get_one_or_none(
            *filters, with_for_update={"key_share": not deleting}, execution_options={"populate_existing": True}
        )
