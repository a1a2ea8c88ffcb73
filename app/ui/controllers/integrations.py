"""A project's GitHub connection, for the organization's managers: the repository its reports' issues go to,
with the token that may create them (stored sealed, shown by its last characters only)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from uuid import UUID

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from app.domain.integrations.models import GitHubConnection
from app.domain.integrations.schemas import GitHubSetup
from app.domain.integrations.services import GitHubConnections
from app.domain.projects.services import ProjectService
from app.lib.errors import LanternError
from app.lib.i18n import format_entries, typed_entries
from app.lib.outbound import credentials_removed
from app.lib.schema import convert_body
from app.ui.forms import Form, field_errors
from app.ui.pages import Layout, page, requires_person, see_other
from tenants.guards import requires_manager

Notice = str  # "saved" or "disconnected": what the page says after a form
# The API body's fields by the form's.
FIELDS = {"repository": "repository", "token": "token", "apiUrl": "api_url", "labels": "labels"}


@dataclass
class GitHubForm:
    repository: str = ""
    token: str = ""
    api_url: str = ""
    labels: str = ""

    def setup(self) -> GitHubSetup:
        """The API's body: an empty token keeps the stored one; labels are separated as a report's tags are."""
        body = {"repository": self.repository.strip(), "labels": typed_entries(self.labels)}
        if self.token.strip():
            body["token"] = self.token.strip()
        if self.api_url.strip():
            body["apiUrl"] = self.api_url.strip()
        return convert_body(body, GitHubSetup)


def github_path(project_id: UUID) -> str:
    return f"/ui/projects/{project_id}/github"


class GitHubPages(Controller):
    path = "/projects/{project_id:uuid}/github"
    guards = [requires_person, requires_manager]

    @get("/")
    async def show(
        self,
        *,
        layout: NamedDependency[Layout],
        project_id: FromPath[UUID],
        projects: NamedDependency[ProjectService],
        connections: NamedDependency[GitHubConnections],
        notice: FromQuery[Notice | None] = None,
    ) -> Template:
        return await self._page(layout, project_id, projects, connections, notice=notice)

    @post("/")
    async def connect(
        self,
        *,
        layout: NamedDependency[Layout],
        project_id: FromPath[UUID],
        data: Annotated[GitHubForm, Form],
        projects: NamedDependency[ProjectService],
        connections: NamedDependency[GitHubConnections],
    ) -> Redirect | Template:
        """Connect, or change the connection; a refused form comes back filled in, with each field's reason."""
        try:
            await connections.connect(project_id, data.setup())
        except LanternError as error:
            errors = field_errors(error, FIELDS)
            return await self._page(layout, project_id, projects, connections, form=data, errors=errors)
        return see_other(f"{github_path(project_id)}?notice=saved")

    @post("/disconnect")
    async def disconnect(
        self, *, project_id: FromPath[UUID], connections: NamedDependency[GitHubConnections]
    ) -> Redirect:
        await connections.disconnect(project_id)
        return see_other(f"{github_path(project_id)}?notice=disconnected")

    @staticmethod
    async def _page(  # noqa: PLR0913 - one page, drawn after a GET or a refused form
        layout: Layout,
        project_id: UUID,
        projects: ProjectService,
        connections: GitHubConnections,
        *,
        form: GitHubForm | None = None,
        errors: dict[str, str] | None = None,
        notice: Notice | None = None,
    ) -> Template:
        project = await projects.get(project_id)  # another organization's project is not found
        connection: GitHubConnection | None = await connections.get_one_or_none(
            GitHubConnection.project_id == project_id
        )
        if form is None:
            form = GitHubForm(
                repository=connection.repository if connection else "",
                api_url=credentials_removed(connection.api_url) if connection else "",
                labels=format_entries(connection.labels) if connection else "",
            )
        return page(
            "integrations/github.html",
            layout,
            status_code=400 if errors else 200,
            project=project,
            connection=connection,
            form=form,
            errors=errors or {},
            notice=notice,
            action=github_path(project_id),
        )
