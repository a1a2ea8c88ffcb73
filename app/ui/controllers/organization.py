"""The organization's settings (name, default language, time zone) and its job dashboard, for its owners
and admins; through `OrganizationService` and the API's `JobDashboard`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromQuery, QueryParameter
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.jobs.services import MAX_WINDOW_HOURS, JobDashboard, Scope
from app.domain.organizations.schemas import OrganizationUpdate
from app.domain.organizations.services import OrganizationService
from app.lib.schema import convert_body
from app.ui.charts import bar_chart
from app.ui.pages import Layout, page, requires_person, see_other
from tenants.guards import requires_manager

Form = Body(media_type=RequestEncodingType.URL_ENCODED)
WINDOWS = (24, 72, 168)  # hours the dashboard offers, up to the API's longest


@dataclass
class SettingsForm:
    name: str = ""
    default_locale: str = ""
    timezone: str = ""


class OrganizationPages(Controller):
    guards = [requires_person, requires_manager]

    @get("/settings")
    async def settings(
        self, layout: NamedDependency[Layout], organizations: NamedDependency[OrganizationService]
    ) -> Template:
        return page("organization/settings.html", layout, organization=await organizations.current())

    @post("/settings")
    async def save(
        self, data: Annotated[SettingsForm, Form], organizations: NamedDependency[OrganizationService]
    ) -> Redirect:
        sent = {"name": data.name.strip(), "defaultLocale": data.default_locale, "timezone": data.timezone.strip()}
        await organizations.update(convert_body(sent, OrganizationUpdate))
        return see_other("/ui/settings?saved=1")

    @get("/jobs")
    async def jobs(
        self,
        layout: NamedDependency[Layout],
        db_session: NamedDependency[AsyncSession],
        hours: FromQuery[int] = 24,
        # Named `view`: Litestar reserves `scope` for the ASGI scope.
        view: Annotated[str, QueryParameter(name="scope")] = Scope.ORGANIZATION.value,
    ) -> Template:
        window = min(max(hours, 1), MAX_WINDOW_HOURS)
        chosen = Scope.INSTANCE if view == Scope.INSTANCE.value else Scope.ORGANIZATION
        overview = await JobDashboard(db_session).overview_for(layout.identity, window, chosen)
        return page(
            "organization/jobs.html",
            layout,
            overview=overview,
            charts={kind.kind: bar_chart(kind.hourly) for kind in overview.kinds},
            hours=window,
            windows=WINDOWS,
            instance=chosen is Scope.INSTANCE,
        )
