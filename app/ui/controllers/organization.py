"""The organization's settings, for its managers: its name, the language and time zone its people and
visitors fall back to, and the e-mail domains its people may come from; for its owners also its export (the
archive of everything it holds, to download) and its deletion."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Stream, Template
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.organizations.models import Organization, Role
from app.domain.organizations.schemas import OrganizationUpdate, SecuritySettings
from app.domain.organizations.services import OrganizationService
from app.domain.projects.services import ProjectService
from app.domain.transfer.models import OrganizationExport
from app.domain.transfer.services import ARCHIVE_KEPT, ExportShown, OrganizationExports
from app.lib.errors import LanternError
from app.lib.preferences import time_zones
from app.lib.schema import convert_body
from app.lib.storage import storage
from app.ui.forms import Form, TypedList, field_errors
from app.ui.pages import PAGE_HEADERS, Layout, form_page, requires_person, see_other
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
        body = {
            "name": self.name.strip(),
            "defaultLocale": self.default_locale,
            "timezone": self.timezone.strip(),
            "security": {"allowedEmailDomains": self.email_domains_typed().entries},
        }
        return convert_body(body, OrganizationUpdate)

    def email_domains_typed(self) -> TypedList:
        return TypedList.of(self.email_domains, separators=r"[,\s]")


@dataclass
class DeletionForm:
    confirm: str = ""  # the organization's name, typed


async def provide_exports(db_session: NamedDependency[AsyncSession]) -> OrganizationExports:
    return OrganizationExports(session=db_session)


def archive_name(layout: Layout, export: OrganizationExport) -> str:
    """The archive's file name: the organization's slug and the day it was made."""
    made = export.finished_at or export.created_at
    return f"{layout.organization.slug}-export-{made:%Y-%m-%d}.zip"


class OrganizationPages(Controller):
    guards = [requires_person, requires_manager]
    dependencies = {"exports": Provide(provide_exports)}

    @get("/settings")
    async def show(
        self,
        *,
        layout: NamedDependency[Layout],
        organizations: NamedDependency[OrganizationService],
        exports: NamedDependency[OrganizationExports],
        notice: FromQuery[str | None] = None,
    ) -> Template:
        organization = await organizations.current()
        form = SettingsForm.of(organization, await organizations.security())
        return self._page(layout, form, notice=notice, export=await self._export(layout, exports))

    @post("/settings")
    async def save(
        self,
        *,
        layout: NamedDependency[Layout],
        data: Annotated[SettingsForm, Form],
        organizations: NamedDependency[OrganizationService],
        exports: NamedDependency[OrganizationExports],
    ) -> Redirect | Template:
        try:
            await organizations.update(data.changes())
        except LanternError as error:
            export = await self._export(layout, exports)
            typed = {"security.allowedEmailDomains": data.email_domains_typed()}
            return self._page(layout, data, errors=field_errors(error, FIELDS, typed), export=export)
        return see_other(f"{SETTINGS_PATH}?notice=saved")

    @post("/settings/export", guards=[requires_owner])
    async def export(
        self, *, layout: NamedDependency[Layout], exports: NamedDependency[OrganizationExports]
    ) -> Redirect:
        """An export of the organization, written by the worker; none while one is running (a second click)."""
        started = await exports.start(layout.user.id)
        return see_other(f"{SETTINGS_PATH}?notice={'export-started' if started else 'export-running'}#export")

    @get("/settings/exports/{export_id:uuid}/download", guards=[requires_owner])
    async def download(
        self,
        *,
        layout: NamedDependency[Layout],
        exports: NamedDependency[OrganizationExports],
        export_id: FromPath[UUID],
    ) -> Stream:
        """The export's archive, sent as it is read from the storage."""
        export = await exports.archive(export_id)
        assert export.key is not None  # noqa: S101 - an archive to download has its key
        disposition = f'attachment; filename="{archive_name(layout, export)}"'
        return Stream(
            storage().chunks(export.key),
            media_type="application/zip",
            headers={**PAGE_HEADERS, "Content-Disposition": disposition, "Content-Length": str(export.size)},
        )

    @post("/settings/delete", guards=[requires_owner])
    async def delete(  # noqa: PLR0913 - the form, and the services its page and the deletion need
        self,
        *,
        request: Request[Any, Any, Any],
        layout: NamedDependency[Layout],
        data: Annotated[DeletionForm, Form],
        organizations: NamedDependency[OrganizationService],
        projects: NamedDependency[ProjectService],
        exports: NamedDependency[OrganizationExports],
    ) -> Redirect | Template:
        try:
            projects.forget_files(await organizations.delete(data.confirm))
        except LanternError as error:
            organization = await organizations.current()
            form = SettingsForm.of(organization, await organizations.security())
            export = await self._export(layout, exports)
            return self._page(layout, form, errors=field_errors(error, {"confirm": "confirm"}), export=export)
        request.clear_session()
        return see_other("/ui/login?notice=organization-deleted")

    @staticmethod
    async def _export(layout: Layout, exports: OrganizationExports) -> ExportShown | None:
        """The organization's latest export, for its owners: nobody else sees it."""
        return await exports.shown() if layout.role is Role.OWNER else None

    @staticmethod
    def _page(
        layout: Layout,
        form: SettingsForm,
        *,
        errors: dict[str, str] | None = None,
        notice: str | None = None,
        export: ExportShown | None = None,
    ) -> Template:
        return form_page(
            "organization/settings.html",
            layout,
            form,
            errors=errors,
            notice=notice,
            time_zones=time_zones(),
            export=export,
            archive_name=archive_name,
            archive_kept_days=ARCHIVE_KEPT.days,
        )
