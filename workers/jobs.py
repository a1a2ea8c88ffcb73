"""The jobs: thin wrappers that run a domain service inside the job's tenant."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.organizations.services import invitation_mail
from app.domain.reports.models import Report
from app.domain.reports.services import TrackingService, unnumbered_before
from app.domain.reports.tracking import announce
from app.lib.database import alchemy_config
from app.lib.mail import send_mail
from app.lib.redis import get_redis
from tenants.context import require_tenant, system_scope, tenant_scope
from workers.tenancy import tenant_job

logger = structlog.get_logger()

# Reports older than this without a number are the sweeper's (the normal path numbers them in milliseconds).
SWEEP_AFTER_SECONDS = 5.0


@tenant_job
async def send_invitation_email(session: AsyncSession, *, invitation_id: str, token: str) -> bool:
    mail = await invitation_mail(session, UUID(invitation_id), token)
    return mail is not None and await send_mail(mail)


@tenant_job
async def assign_tracking_ids(session: AsyncSession, *, project_id: str) -> int:
    """Number the project's unnumbered reports, then tell the requests waiting for their IDs."""
    assigned = await TrackingService(session).assign(UUID(project_id))
    if assigned:
        await announce(get_redis(), require_tenant(), assigned)
    return len(assigned)


async def sweep_unnumbered_reports(_ctx: dict[str, Any]) -> int:
    """Number reports the queue lost (Redis restarted, enqueue failed, a worker died mid-batch).

    The database, not the queue, is the source of truth for pending work.
    """
    async with alchemy_config().get_session() as session:
        with system_scope("sweep unnumbered reports"):
            async with session.begin():
                pending = (
                    await session.execute(
                        select(Report.organization_id, Report.project_id)
                        .where(unnumbered_before(SWEEP_AFTER_SECONDS))
                        .distinct(),
                    )
                ).all()
        numbered = 0
        for organization_id, project_id in pending:
            with tenant_scope(organization_id):
                assigned = await TrackingService(session).assign(project_id)
                if assigned:
                    await announce(get_redis(), organization_id, assigned)
                numbered += len(assigned)
    if numbered:
        logger.info("sweeper numbered reports", count=numbered)
    return numbered
