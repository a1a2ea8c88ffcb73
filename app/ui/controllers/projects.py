"""Projects for the organization's owners and admins: list, create (the widget key shown once), settings
(site, allowed origins, rate limit, widget appearance) and new keys; through the API's `ProjectService`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_201_CREATED

from app.domain.projects.models import Project
from app.domain.projects.schemas import ProjectCreate, ProjectUpdate
from app.domain.projects.services import ProjectService
from app.lib.schema import convert_body
from app.settings import get_settings
from app.ui.pages import Layout, page, requires_person, see_other
from tenants.guards import requires_manager

Form = Body(media_type=RequestEncodingType.URL_ENCODED)
# The widget's appearance settings offered here; the rest keep their values (the API changes them all).
POSITIONS = ("bottom-right", "bottom-left", "top-right", "top-left")
THEMES = ("auto", "light", "dark")


@dataclass
class NewProjectForm:
    name: str = ""
    site_url: str = ""
    tracking_prefix: str = ""


@dataclass
class SettingsForm:
    name: str = ""
    site_url: str = ""
    allowed_origins: str = ""
    rate_limit_per_minute: int = 10
    # Checkboxes are sent only when ticked.
    is_active: str | None = None
    guests_see_guests: str | None = None
    position: str = POSITIONS[0]
    theme: str = THEMES[0]
    primary_color: str = "#6366f1"
    button_text: str = ""


def _created_page(layout: Layout, project: Project, key: str) -> Template:
    snippet = f'<script src="{get_settings().public_url}/widget.js" data-api-key="{key}" async></script>'
    return page("projects/key.html", layout, HTTP_201_CREATED, project=project, key=key, snippet=snippet)


class ProjectPages(Controller):
    path = "/projects"
    guards = [requires_person, requires_manager]

    @get("/")
    async def list_page(self, layout: NamedDependency[Layout], projects: NamedDependency[ProjectService]) -> Template:
        return page("projects/list.html", layout, projects=await projects.visible(layout.identity))

    @post("/")
    async def create(
        self,
        layout: NamedDependency[Layout],
        data: Annotated[NewProjectForm, Form],
        projects: NamedDependency[ProjectService],
    ) -> Template:
        """Answered with the new widget key itself, shown this once here (the settings page shows it masked)."""
        sent = {"name": data.name.strip(), "siteUrl": data.site_url.strip() or None}
        if prefix := data.tracking_prefix.strip().upper():
            sent["trackingPrefix"] = prefix
        project = await projects.create_project(convert_body(sent, ProjectCreate))
        return _created_page(layout, project, (await projects.keys(project.id))[0].key)

    @get("/{project_id:uuid}")
    async def settings(
        self, layout: NamedDependency[Layout], project_id: FromPath[UUID], projects: NamedDependency[ProjectService]
    ) -> Template:
        project = await projects.get(project_id)
        return page(
            "projects/settings.html",
            layout,
            project=project,
            keys=await projects.keys(project_id),
            positions=POSITIONS,
            themes=THEMES,
        )

    @post("/{project_id:uuid}")
    async def save(
        self,
        project_id: FromPath[UUID],
        data: Annotated[SettingsForm, Form],
        projects: NamedDependency[ProjectService],
    ) -> Redirect:
        changes: dict[str, Any] = {
            "name": data.name.strip(),
            "siteUrl": data.site_url.strip() or None,
            "allowedOrigins": [line.strip() for line in data.allowed_origins.splitlines() if line.strip()],
            "rateLimitPerMinute": data.rate_limit_per_minute,
            "isActive": data.is_active is not None,
            "guestsSeeGuests": data.guests_see_guests is not None,
            "widgetConfig": {
                "position": data.position,
                "theme": data.theme,
                "primaryColor": data.primary_color,
                "buttonText": data.button_text.strip() or None,
            },
        }
        await projects.update_project(project_id, convert_body(changes, ProjectUpdate))
        return see_other(f"/ui/projects/{project_id}?saved=1")

    @post("/{project_id:uuid}/keys")
    async def new_key(
        self, layout: NamedDependency[Layout], project_id: FromPath[UUID], projects: NamedDependency[ProjectService]
    ) -> Template:
        project = await projects.get(project_id)
        return _created_page(layout, project, (await projects.create_key(project_id)).key)
