"""Projects: every role lists those it sees (a guest, those they were added to) with their open reports, and reads
one; owners and admins also create them and set them up: the line that embeds the widget and a sample page carrying
it, settings (site, allowed origins, rate limit, widget appearance), people and new keys. Through the API's
`ProjectService`; the GitHub connection has its page (integrations.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template

from app.domain.integrations.models import GitHubConnection
from app.domain.integrations.services import GitHubConnections
from app.domain.organizations.services import InvitationNotice
from app.domain.projects.models import Project, ProjectKey
from app.domain.projects.schemas import ProjectCreate, ProjectPersonAdd, ProjectUpdate
from app.domain.projects.services import ProjectService
from app.domain.reports.controllers.deps import guest_projects
from app.domain.reports.services import ReportService
from app.domain.webhooks.events import WebhookEvents
from app.lib.errors import LanternError
from app.lib.schema import convert_body
from app.lib.try_pass import issue_try_pass
from app.lib.web_addresses import public_address
from app.ui.forms import Form, TypedList, field_errors, whole_number
from app.ui.pages import Layout, form_page, page, requires_person, see_other, show_once, take_shown_once
from tenants.guards import requires_manager

NEW_PROJECT_FIELDS = {"name": "name", "siteUrl": "site_url", "trackingPrefix": "tracking_prefix"}
SETTINGS_FIELDS = {
    "name": "name",
    "siteUrl": "site_url",
    "allowedOrigins": "allowed_origins",
    "rateLimitPerMinute": "rate_limit_per_minute",
    "widgetConfig.position": "position",
    "widgetConfig.theme": "theme",
    "widgetConfig.primaryColor": "primary_color",
    "widgetConfig.lightButtonColor": "primary_color",
    "widgetConfig.lightButtonHoverColor": "primary_color",
    "widgetConfig.darkButtonColor": "primary_color",
    "widgetConfig.darkButtonHoverColor": "primary_color",
    "widgetConfig.buttonText": "button_text",
    "widgetConfig.buttonShape": "button_shape",
    "widgetConfig.buttonIcon": "button_icon",
    "widgetConfig.tooltipText": "tooltip_text",
    "widgetConfig.captureMethod": "capture_method",
}
# The widget's features a project turns on and off here, by the form's checkbox names.
FEATURES = {
    "screenshot": "feature_screenshot",
    "annotation": "feature_annotation",
    "consoleCapture": "feature_console_capture",
    "attachments": "feature_attachments",
}
PERSON_FIELDS = {"email": "email"}
BUTTON_COLORS = ("lightButtonColor", "lightButtonHoverColor", "darkButtonColor", "darkButtonHoverColor")


@dataclass
class NewProjectForm:
    name: str = ""
    site_url: str = ""
    tracking_prefix: str = ""

    def body(self) -> ProjectCreate:
        sent = {"name": self.name.strip(), "siteUrl": self.site_url.strip() or None}
        if prefix := self.tracking_prefix.strip().upper():
            sent["trackingPrefix"] = prefix
        return convert_body(sent, ProjectCreate)


@dataclass
class PersonForm:
    email: str = ""


@dataclass
class SettingsForm:
    name: str = ""
    site_url: str = ""
    allowed_origins: str = ""
    rate_limit_per_minute: str = "10"  # text: a number typed wrong is the form's to refuse, beside the field
    # Checkboxes are sent only when ticked.
    is_active: str | None = None
    guests_see_guests: str | None = None
    # The widget's appearance and what it collects; its other settings (each colour of each state, the icon's
    # size, the dialog's colours) keep their values: the API changes them all.
    position: str = "bottom-right"
    theme: str = "auto"
    primary_color: str = "#6366f1"
    button_text: str = ""
    button_shape: str = "rectangle"
    button_icon: str = "bug"
    tooltip_enabled: str | None = None
    tooltip_text: str = ""
    capture_method: str = "visible"
    use_screen_capture_api: str | None = None
    feature_screenshot: str | None = None
    feature_annotation: str | None = None
    feature_console_capture: str | None = None
    feature_attachments: str | None = None

    @classmethod
    def of(cls, project: Project) -> SettingsForm:
        config = project.widget_config
        features = config.get("features", {})
        return cls(
            name=project.name,
            site_url=project.site_url or "",
            allowed_origins="\n".join(project.allowed_origins),
            rate_limit_per_minute=str(project.rate_limit_per_minute),
            is_active="on" if project.is_active else None,
            guests_see_guests="on" if project.guests_see_guests else None,
            position=config.get("position", "bottom-right"),
            theme=config.get("theme", "auto"),
            primary_color=config.get("primaryColor", "#6366f1"),
            button_text=config.get("buttonText") or "",
            button_shape=config.get("buttonShape", "rectangle"),
            button_icon=config.get("buttonIcon", "bug"),
            tooltip_enabled="on" if config.get("tooltipEnabled") else None,
            tooltip_text=config.get("tooltipText") or "",
            capture_method=config.get("captureMethod", "visible"),
            use_screen_capture_api="on" if config.get("useScreenCaptureAPI") else None,
            **{field: "on" if features.get(name, name != "attachments") else None for name, field in FEATURES.items()},
        )

    def allowed_origins_typed(self) -> TypedList:
        return TypedList.of(self.allowed_origins)

    def changes(self) -> ProjectUpdate:
        changes: dict[str, Any] = {
            "name": self.name.strip(),
            "siteUrl": self.site_url.strip() or None,
            "allowedOrigins": self.allowed_origins_typed().entries,
            "rateLimitPerMinute": whole_number(self.rate_limit_per_minute),
            "isActive": self.is_active is not None,
            "guestsSeeGuests": self.guests_see_guests is not None,
            "widgetConfig": {
                "position": self.position,
                "theme": self.theme,
                # The main color is the widget's accent and its button's, hovered or not, in either theme (the
                # widget picks a legible text colour on it).
                "primaryColor": self.primary_color,
                **dict.fromkeys(BUTTON_COLORS, self.primary_color),
                "buttonText": self.button_text.strip() or None,
                "buttonShape": self.button_shape,
                "buttonIcon": self.button_icon,
                # Shown without a text of its own, the tooltip says the button's label.
                "tooltipEnabled": self.tooltip_enabled is not None,
                "tooltipText": self.tooltip_text.strip() or None,
                "captureMethod": self.capture_method,
                "useScreenCaptureAPI": self.use_screen_capture_api is not None,
                "features": {name: getattr(self, field) is not None for name, field in FEATURES.items()},
            },
        }
        return convert_body(changes, ProjectUpdate)


def embed_snippet(key: str) -> str:
    """The line a site adds to its pages to show the widget."""
    return f'<script src="{public_address("/widget.js")}" data-api-key="{key}" defer></script>'


def newest_key(keys: list[ProjectKey]) -> str | None:
    return next((key.key for key in reversed(keys) if key.revoked_at is None), None)


def _key_page_path(project_id: UUID, key_id: UUID) -> str:
    return f"/ui/projects/{project_id}/keys/{key_id}"


async def _settings_page(  # noqa: PLR0913 - the page and what it shows
    layout: Layout,
    project: Project,
    projects: ProjectService,
    connections: GitHubConnections,
    form: SettingsForm,
    *,
    errors: dict[str, str] | None = None,
    person: PersonForm | None = None,
    invited: InvitationNotice | None = None,
) -> Template:
    """The project's page: its settings `form` (as saved, or as sent and refused), its people (`person`: the
    address refused), keys, embed line and GitHub connection."""
    keys = await projects.keys(project.id)
    key = newest_key(keys)
    return form_page(
        "projects/settings.html",
        layout,
        form,
        errors=errors,
        project=project,
        person=person or PersonForm(),
        refused_form="person" if person else "settings",
        invited=invited,
        keys=keys,
        snippet=embed_snippet(key) if key else None,
        people=await projects.people(project.id),
        github=await connections.get_one_or_none(GitHubConnection.project_id == project.id),
    )


async def _list_page(
    layout: Layout,
    projects: ProjectService,
    reports: ReportService,
    form: NewProjectForm,
    errors: dict[str, str] | None = None,
) -> Template:
    """The projects the person sees, each with its open reports; for owners and admins, the new project's form (as
    sent and refused)."""
    visible = await projects.visible(layout.identity)
    open_reports = await _open_reports(layout, projects, reports, visible)
    return form_page("projects/list.html", layout, form, errors=errors, projects=visible, open_reports=open_reports)


async def _open_reports(
    layout: Layout, projects: ProjectService, reports: ReportService, shown: Sequence[Project]
) -> dict[UUID, int]:
    """How many open reports of each of the `shown` projects the person sees (a guest, as their view counts)."""
    guest = await guest_projects(layout.identity, projects)
    return await reports.open_by_project(layout.identity, guest, [project.id for project in shown])


async def _overview_page(
    layout: Layout, project: Project, projects: ProjectService, reports: ReportService
) -> Template:
    """A project as the rest of the organization reads it: what it is, its open reports, where to read them, and
    for members the line that embeds the widget (a widget key is public: it is in every page the widget is on;
    guests, who are outside the team, read none, as the API shows them none)."""
    key = newest_key(await projects.keys_seen_by(layout.identity, project.id))
    return page(
        "projects/project.html",
        layout,
        project=project,
        open_reports=(await _open_reports(layout, projects, reports, [project])).get(project.id, 0),
        snippet=embed_snippet(key) if key else None,
    )


class ProjectPages(Controller):
    """What every role reads: the projects it sees, and one project's page (its settings, for owners and admins)."""

    path = "/projects"
    guards = [requires_person]

    @get("/")
    async def list_page(
        self,
        layout: NamedDependency[Layout],
        projects: NamedDependency[ProjectService],
        reports: NamedDependency[ReportService],
    ) -> Template:
        return await _list_page(layout, projects, reports, NewProjectForm())

    @get("/{project_id:uuid}")
    async def project_page(  # noqa: PLR0913 - the page, and the services either kind of it is made from
        self,
        *,
        request: Request[Any, Any, Any],
        layout: NamedDependency[Layout],
        project_id: FromPath[UUID],
        projects: NamedDependency[ProjectService],
        reports: NamedDependency[ReportService],
        connections: NamedDependency[GitHubConnections],
    ) -> Template:
        """Owners and admins set the project up here; anyone else reads it (a guest, one they were added to)."""
        project = await projects.visible_one(layout.identity, project_id)
        if not layout.manages:
            return await _overview_page(layout, project, projects, reports)
        shown = take_shown_once(request)
        invited = InvitationNotice(**shown) if shown else None
        return await _settings_page(layout, project, projects, connections, SettingsForm.of(project), invited=invited)


class ProjectSetupPages(Controller):
    """What owners and admins alone do with projects: create them, and each one's settings, people and keys."""

    path = "/projects"
    guards = [requires_person, requires_manager]

    @post("/")
    async def create(
        self,
        layout: NamedDependency[Layout],
        data: Annotated[NewProjectForm, Form],
        projects: NamedDependency[ProjectService],
        reports: NamedDependency[ReportService],
    ) -> Redirect | Template:
        """On to the new widget key and the line that embeds the widget with it; a refused form comes back
        filled in."""
        try:
            project = await projects.create_project(data.body())
        except LanternError as error:
            return await _list_page(layout, projects, reports, data, field_errors(error, NEW_PROJECT_FIELDS))
        return see_other(_key_page_path(project.id, (await projects.keys(project.id))[0].id))

    @get("/{project_id:uuid}/try")
    async def try_widget(
        self, layout: NamedDependency[Layout], project_id: FromPath[UUID], projects: NamedDependency[ProjectService]
    ) -> Template:
        """A sample page with the project's widget on it, to see it and send a report as a visitor would: it
        carries a pass that lets it send from Lantern's own address, which the project's origins do not list."""
        project = await projects.get(project_id)
        key = newest_key(await projects.keys(project_id))
        try_pass = issue_try_pass(project.id, layout.user.id)
        return page("projects/try.html", layout, project=project, key=key, try_pass=try_pass)

    @post("/{project_id:uuid}")
    async def save(
        self,
        layout: NamedDependency[Layout],
        project_id: FromPath[UUID],
        data: Annotated[SettingsForm, Form],
        projects: NamedDependency[ProjectService],
        connections: NamedDependency[GitHubConnections],
    ) -> Redirect | Template:
        try:
            await projects.update_project(project_id, data.changes())
        except LanternError as error:
            project = await projects.get(project_id)
            errors = field_errors(error, SETTINGS_FIELDS, {"allowedOrigins": data.allowed_origins_typed()})
            return await _settings_page(layout, project, projects, connections, data, errors=errors)
        return see_other(f"/ui/projects/{project_id}?saved=1")

    @post("/{project_id:uuid}/people")
    async def add_person(  # noqa: PLR0913 - the form and the services it touches
        self,
        *,
        request: Request[Any, Any, Any],
        layout: NamedDependency[Layout],
        project_id: FromPath[UUID],
        data: Annotated[PersonForm, Form],
        projects: NamedDependency[ProjectService],
        connections: NamedDependency[GitHubConnections],
    ) -> Redirect | Template:
        """Someone of the organization is added as they are; anyone else is invited as a guest (BugHerd's way)."""
        project = await projects.get(project_id)
        form = SettingsForm.of(project)
        try:
            email = convert_body({"email": data.email.strip()}, ProjectPersonAdd).email
            assert email is not None  # noqa: S101 - the form always names the person by e-mail
            _user_id, token = await projects.add_by_email(layout.identity, project_id, email)
        except LanternError as error:
            errors = field_errors(error, PERSON_FIELDS)
            return await _settings_page(layout, project, projects, connections, form, errors=errors, person=data)
        if token is None:  # someone of the organization already: added, nobody to invite
            return see_other(f"/ui/projects/{project_id}#people")
        notice = asdict(InvitationNotice.of(email, token))
        return show_once(request, f"/ui/projects/{project_id}", fragment="people", **notice)

    @post("/{project_id:uuid}/people/{user_id:uuid}/remove")
    async def remove_person(
        self,
        *,
        layout: NamedDependency[Layout],
        project_id: FromPath[UUID],
        user_id: FromPath[UUID],
        projects: NamedDependency[ProjectService],
        events: NamedDependency[WebhookEvents],
    ) -> Redirect:
        """As `DELETE /api/v1/projects/{id}/members/{userId}`: a guest is unassigned what they see no more."""
        await events.unassigned(await projects.remove_person(layout.identity, project_id, user_id))
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
    async def new_key(self, project_id: FromPath[UUID], projects: NamedDependency[ProjectService]) -> Redirect:
        """On to the new key's page: a reload there shows the key again (keys are public) and makes no other."""
        project = await projects.get(project_id)
        return see_other(_key_page_path(project.id, (await projects.create_key(project.id)).id))

    @get("/{project_id:uuid}/keys/{key_id:uuid}")
    async def key_page(
        self,
        layout: NamedDependency[Layout],
        project_id: FromPath[UUID],
        key_id: FromPath[UUID],
        projects: NamedDependency[ProjectService],
    ) -> Template:
        """A widget key and the line that embeds the widget with it."""
        project = await projects.get(project_id)
        key = await projects.key(project_id, key_id)
        return page("projects/key.html", layout, project=project, key=key.key, snippet=embed_snippet(key.key))
