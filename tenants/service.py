"""The base of every tenant-owned service: it cannot be built, and so cannot query, without a tenant.

The rows it touches are scoped by `tenants/db.py` on every statement (and by row-level security on
PostgreSQL); this class makes the missing-tenant mistake fail at construction, loudly, instead of later.
"""

from __future__ import annotations

from typing import Any, TypeVar

from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from advanced_alchemy.service import SQLAlchemyAsyncRepositoryService
from sqlalchemy.ext.asyncio import AsyncSession

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
