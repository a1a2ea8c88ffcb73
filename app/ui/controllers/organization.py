"""The organization's settings, for its managers: its name, the language and time zone its people and
visitors fall back to, and the e-mail domains its people may come from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.response import Redirect, Template

from app.domain.organizations.models import Organization
from app.domain.organizations.schemas import OrganizationUpdate, SecuritySettings
from app.domain.organizations.services import OrganizationService
from app.domain.projects.services import ProjectService
from app.lib.errors import LanternError
from app.lib.schema import convert_body
from app.ui.forms import Form, field_errors
from app.ui.pages import Layout, form_page, requires_person, see_other
from app.ui.views import time_zones
from tenants.guards import requires_manager, requires_owner

SETTINGS_PATH = "/ui/settings"
FIELDS = {"name": "name", "defaultLocale": "default_locale", "timezone": "timezone", "security": "email_domains"}


@dataclass
class SettingsForm:
    name: str = ""
    default_locale: str = ""
    timezone: str = ""
    email_domains: str = ""  # one per line (commas and spaces separate too)

    @classmethod
    def of(cls, organization: Organization, security: SecuritySettings) -> SettingsForm:
        domains = "\n".join(security.allowed_email_domains)
        return cls(organization.name, organization.default_locale, organization.timezone, domains)

    def changes(self) -> OrganizationUpdate:
        domains = self.email_domains.replace(",", " ").split()
        body = {
            "name": self.name.strip(),
            "defaultLocale": self.default_locale,
            "timezone": self.timezone.strip(),
            "security": {"allowedEmailDomains": domains},
        }
        return convert_body(body, OrganizationUpdate)


@dataclass
class DeletionForm:
    confirm: str = ""  # the organization's name, typed


class OrganizationPages(Controller):
    guards = [requires_person, requires_manager]

    @get("/settings")
    async def show(
        self,
        *,
        layout: NamedDependency[Layout],
        organizations: NamedDependency[OrganizationService],
        notice: FromQuery[str | None] = None,
    ) -> Template:
        organization = await organizations.current()
        form = SettingsForm.of(organization, await organizations.security())
        return self._page(layout, form, notice=notice)

    @post("/settings")
    async def save(
        self,
        *,
        layout: NamedDependency[Layout],
        data: Annotated[SettingsForm, Form],
        organizations: NamedDependency[OrganizationService],
    ) -> Redirect | Template:
        try:
            await organizations.update(data.changes())
        except LanternError as error:
            return self._page(layout, data, errors=field_errors(error, FIELDS))
        return see_other(f"{SETTINGS_PATH}?notice=saved")

    @post("/settings/delete", guards=[requires_owner])
    async def delete(
        self,
        *,
        request: Request[Any, Any, Any],
        layout: NamedDependency[Layout],
        data: Annotated[DeletionForm, Form],
        organizations: NamedDependency[OrganizationService],
        projects: NamedDependency[ProjectService],
    ) -> Redirect | Template:
        try:
            projects.forget_files(await organizations.delete(data.confirm))
        except LanternError as error:
            organization = await organizations.current()
            form = SettingsForm.of(organization, await organizations.security())
            return self._page(layout, form, errors=field_errors(error, {"confirm": "confirm"}))
        request.clear_session()
        return see_other("/ui/login?notice=organization-deleted")

    @staticmethod
    def _page(
        layout: Layout, form: SettingsForm, *, errors: dict[str, str] | None = None, notice: str | None = None
    ) -> Template:
        settings = "organization/settings.html"
        return form_page(settings, layout, form, errors=errors, notice=notice, time_zones=time_zones())
