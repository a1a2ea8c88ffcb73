"""The job dashboard for managers (and, with `scope=instance`, for the instance's operators): the queue now,
and each kind of background work over a window of hours, charted hour by hour."""

from __future__ import annotations

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.jobs.controllers import DEFAULT_WINDOW_HOURS, View, WindowHours
from app.domain.jobs.services import MAX_WINDOW_HOURS, JobDashboard, Scope
from app.ui.charts import hourly_chart
from app.ui.pages import Layout, page, requires_person
from tenants.guards import requires_manager

WINDOWS = (6, 24, 72, MAX_WINDOW_HOURS)


class JobPages(Controller):
    guards = [requires_person, requires_manager]

    @get("/jobs")
    async def dashboard(
        self,
        *,
        layout: NamedDependency[Layout],
        db_session: NamedDependency[AsyncSession],
        hours: WindowHours = DEFAULT_WINDOW_HOURS,
        view: View = Scope.ORGANIZATION,
    ) -> Template:
        overview = await JobDashboard(db_session).seen_by(layout.identity, hours, view)
        return page(
            "jobs/dashboard.html",
            layout,
            overview=overview,
            charts={kind.kind: hourly_chart(kind.hourly) for kind in overview.kinds},
            hours=hours,
            windows=WINDOWS,
            instance=view is Scope.INSTANCE,
            operator=layout.user.is_superuser,
        )
