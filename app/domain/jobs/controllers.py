"""HTTP for the job dashboard: an organization's managers see its work; the instance's operators, everyone's."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency, Provide
from litestar.params import QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.jobs import schemas
from app.domain.jobs.services import MAX_WINDOW_HOURS, JobDashboard, Scope
from app.lib import jsonapi
from app.lib.schema import Envelope
from tenants.guards import provide_identity, requires_manager
from tenants.identity import Identity

# The dashboard's query, for the API and the admin UI's page alike.
WindowHours = Annotated[int, QueryParameter(ge=1, le=MAX_WINDOW_HOURS)]
# Named `view` in handlers: Litestar reserves `scope` for the ASGI scope.
View = Annotated[Scope, QueryParameter(name="scope")]
DEFAULT_WINDOW_HOURS = 24


class JobController(Controller):
    path = "/api/v1/jobs"
    tags = ["Jobs"]
    guards = [requires_manager]
    dependencies = {"identity": Provide(provide_identity)}

    @get("/", operation_id="JobDashboard")
    async def overview(
        self,
        request: Request[Any, Any, Any],
        identity: NamedDependency[Identity],
        db_session: NamedDependency[AsyncSession],
        hours: WindowHours = DEFAULT_WINDOW_HOURS,
        view: View = Scope.ORGANIZATION,
    ) -> Envelope[schemas.JobsOverview] | Response[dict[str, Any]]:
        """Background work: the queue now (queued, scheduled, waiting for a free slot of the organization's
        outbound share, running, retrying) and, per kind of work (screenshots, attached images, webhook
        deliveries, GitHub issues, tracking IDs), what is pending, and what was done, failed or retried in the
        last `hours`, hour by hour. `scope=instance` shows every
        organization, with the busiest listed, to the instance's operators. In JSON:API mode, a `jobOverview`
        whose id is its scope."""
        overview = await JobDashboard(db_session).seen_by(identity, hours, view)
        return jsonapi.native_or_document(request, "jobOverview", overview, kind=schemas.JobsOverview, id_field="scope")
