"""HTTP for the job dashboard: an organization's managers see its work; the instance's operators, everyone's."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.di import NamedDependency, Provide
from litestar.params import QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.accounts.models import User
from app.domain.jobs import schemas
from app.domain.jobs.services import MAX_WINDOW_HOURS, JobDashboard, Scope
from app.lib.errors import ErrorCode, LanternError
from app.lib.i18n import gettext as _
from app.lib.schema import Envelope, ok
from tenants.context import system_scope
from tenants.db import scoped
from tenants.guards import provide_identity, requires_manager
from tenants.identity import Identity


class JobController(Controller):
    path = "/api/v1/jobs"
    tags = ["Jobs"]
    guards = [requires_manager]
    dependencies = {"identity": Provide(provide_identity)}

    @get("/", operation_id="JobDashboard")
    async def overview(
        self,
        identity: NamedDependency[Identity],
        db_session: NamedDependency[AsyncSession],
        hours: Annotated[int, QueryParameter(ge=1, le=MAX_WINDOW_HOURS)] = 24,
        # Named `view` here: Litestar reserves `scope` for the ASGI scope.
        view: Annotated[Scope, QueryParameter(name="scope")] = Scope.ORGANIZATION,
    ) -> Envelope[schemas.JobsOverview]:
        """Background work: the queue now (queued, scheduled, running, retrying) and, per kind of work
        (screenshots, attached images, webhook deliveries, GitHub issues, tracking IDs), what is pending, and
        what was done, failed or retried in the last `hours`, hour by hour. `scope=instance` shows every
        organization, with the busiest listed, to the instance's operators."""
        dashboard = JobDashboard(db_session)
        if view is Scope.ORGANIZATION:
            return ok(await dashboard.overview(hours, view, identity.organization_id))
        user = await db_session.get(User, identity.user_id) if identity.user_id else None
        if user is None or not user.is_superuser:
            raise LanternError(
                ErrorCode.FORBIDDEN, _("Only the instance's operators can see every organization's jobs.")
            )
        async with scoped(db_session, system_scope("the operator's job dashboard")):
            return ok(await dashboard.overview(hours, view, identity.organization_id))
