"""HTTP for the job dashboard: an organization's managers see its work; the instance's operators, everyone's."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.di import NamedDependency, Provide
from litestar.params import QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.jobs import schemas
from app.domain.jobs.services import MAX_WINDOW_HOURS, JobDashboard, Scope
from app.lib.schema import Envelope, ok
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
        return ok(await JobDashboard(db_session).overview_for(identity, hours, view))
