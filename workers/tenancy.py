"""Jobs carry their tenant: a job runs inside that tenant's scope with its own database session."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any, TypeVar
from uuid import UUID

import structlog

from app.lib.database import alchemy_config
from tenants.context import tenant_scope

R = TypeVar("R")


def tenant_job(function: Callable[..., Awaitable[R]]) -> Callable[..., Awaitable[R]]:
    """Turn `function(session, **kwargs)` into an arq job `job(ctx, organization_id=…, **kwargs)`.

    The function owns its transactions (commit what it wants kept); anything uncommitted is rolled back.
    """

    @wraps(function)
    async def job(_ctx: dict[str, Any], *, organization_id: str, **kwargs: Any) -> R:
        with (
            tenant_scope(UUID(organization_id)),
            structlog.contextvars.bound_contextvars(tenant_id=organization_id, job=function.__name__),
        ):
            async with alchemy_config().get_session() as session:
                return await function(session, **kwargs)

    return job
