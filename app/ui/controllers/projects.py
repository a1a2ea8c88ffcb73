"""Projects for the organization's owners and admins: list, create, the line that embeds the widget and a
sample page carrying it, settings (site, allowed origins, rate limit, widget appearance), people and new keys;
through the API's `ProjectService`. The GitHub connection has its page (integrations.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_201_CREATED

from app.domain.integrations.models import GitHubConnection
from app.domain.integrations.services import GitHubConnections
from app.domain.projects.models import Project, ProjectKey
from app.domain.projects.schemas import ProjectCreate, ProjectPersonAdd, ProjectUpdate
from app.domain.projects.services import ProjectService
from app.lib.schema import convert_body
from app.settings import get_settings
from app.ui.forms import Form
from app.ui.pages import Layout, page, requires_person, see_other
from tenants.guards import requires_manager


@dataclass
class NewProjectForm:
    name: str = ""
    site_url: str = ""
    tracking_prefix: str = ""


@dataclass
class PersonForm:
    email: str = ""


@dataclass
class SettingsForm:
    name: str = ""
    site_url: str = ""
    allowed_origins: str = ""
    rate_limit_per_minute: int = 10
    # Checkboxes are sent only when ticked.
    is_active: str | None = None
    guests_see_guests: str | None = None
    # The widget's appearance offered here; its other settings keep their values (the API changes them all).
    position: str = "bottom-right"
    theme: str = "auto"
    primary_color: str = "#6366f1"
    button_text: str = ""


def embed_snippet(key: str) -> str:
    """The line a site adds to its pages to show the widget."""
    return f'<script src="{get_settings().public_url}/widget.js" data-api-key="{key}" defer></script>'


def newest_key(keys: list[ProjectKey]) -> str | None:
    return next((key.key for key in reversed(keys) if key.revoked_at is None), None)


def _created_page(layout: Layout, project: Project, key: str) -> Template:
    return page("projects/key.html", layout, HTTP_201_CREATED, project=project, key=key, snippet=embed_snippet(key))


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
        """Answered with the new widget key and the line that embeds the widget with it."""
        sent = {"name": data.name.strip(), "siteUrl": data.site_url.strip() or None}
        if prefix := data.tracking_prefix.strip().upper():
            sent["trackingPrefix"] = prefix
        project = await projects.create_project(convert_body(sent, ProjectCreate))
        return _created_page(layout, project, (await projects.keys(project.id))[0].key)

    @get("/{project_id:uuid}")
    async def settings(
        self,
        layout: NamedDependency[Layout],
        project_id: FromPath[UUID],
        projects: NamedDependency[ProjectService],
        connections: NamedDependency[GitHubConnections],
    ) -> Template:
        project = await projects.get(project_id)
        keys = await projects.keys(project_id)
        key = newest_key(keys)
        return page(
            "projects/settings.html",
            layout,
            project=project,
            keys=keys,
            snippet=embed_snippet(key) if key else None,
            people=await projects.people(project_id),
            github=await connections.get_one_or_none(GitHubConnection.project_id == project_id),
        )

    @get("/{project_id:uuid}/try")
    async def try_widget(
        self, layout: NamedDependency[Layout], project_id: FromPath[UUID], projects: NamedDependency[ProjectService]
    ) -> Template:
        """A sample page with the project's widget on it, to see it and send a report as a visitor would."""
        project = await projects.get(project_id)
        return page("projects/try.html", layout, project=project, key=newest_key(await projects.keys(project_id)))

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
                # The main color is the widget's accent and its button's, hovered or not, in the light theme.
                "primaryColor": data.primary_color,
                "lightButtonColor": data.primary_color,
                "lightButtonHoverColor": data.primary_color,
                "buttonText": data.button_text.strip() or None,
            },
        }
        await projects.update_project(project_id, convert_body(changes, ProjectUpdate))
        return see_other(f"/ui/projects/{project_id}?saved=1")

    @post("/{project_id:uuid}/people")
    async def add_person(
        self,
        layout: NamedDependency[Layout],
        project_id: FromPath[UUID],
        data: Annotated[PersonForm, Form],
        projects: NamedDependency[ProjectService],
    ) -> Redirect:
        """Someone of the organization is added as they are; anyone else is invited as a guest (BugHerd's way)."""
        await projects.get(project_id)
        email = convert_body({"email": data.email.strip()}, ProjectPersonAdd).email
        assert email is not None  # noqa: S101 - the form always names the person by e-mail
        await projects.add_by_email(layout.identity, project_id, email)
        return see_other(f"/ui/projects/{project_id}#people")

    @post("/{project_id:uuid}/people/{user_id:uuid}/remove")
    async def remove_person(
        self, project_id: FromPath[UUID], user_id: FromPath[UUID], projects: NamedDependency[ProjectService]
    ) -> Redirect:
        await projects.remove_person(project_id, user_id)
        return see_other(f"/ui/projects/{project_id}#people")

    @post("/{project_id:uuid}/delete")
    async def delete(self, project_id: FromPath[UUID], projects: NamedDependency[ProjectService]) -> Redirect:
        """Gone for good with its reports and files, as `DELETE /api/v1/projects/{id}`."""
        await projects.remove(project_id)
        return see_other("/ui/projects?notice=deleted")

    @post("/{project_id:uuid}/keys/{key_id:uuid}/revoke")
    async def revoke_key(
        self, project_id: FromPath[UUID], key_id: FromPath[UUID], projects: NamedDependency[ProjectService]
    ) -> Redirect:
        """The widget stops working on pages that still carry this key (within the credential cache's time)."""
        await projects.revoke_key(project_id, key_id)
        return see_other(f"/ui/projects/{project_id}#keys")

    @post("/{project_id:uuid}/keys")
    async def new_key(
        self, layout: NamedDependency[Layout], project_id: FromPath[UUID], projects: NamedDependency[ProjectService]
    ) -> Template:
        project = await projects.get(project_id)
        return _created_page(layout, project, (await projects.create_key(project_id)).key)
