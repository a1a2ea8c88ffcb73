"""A person's own profile: their name, language and time zone, their password, the organizations they leave and
the account they delete; as `PATCH /api/v1/auth/me`, `POST /api/v1/auth/password`, `DELETE
/api/v1/organization/membership` and `DELETE /api/v1/auth/me` do."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.response import Redirect, Template

from app.domain.accounts.controllers import start_session
from app.domain.accounts.departures import Departures
from app.domain.accounts.models import User
from app.domain.accounts.schemas import PasswordChange, ProfileUpdate
from app.domain.accounts.services import DEVICE_COOKIE, AccountService, renewed_device_cookie
from app.lib.clients import client_ip
from app.lib.errors import ErrorCode, FieldError, LanternError, message_of, not_found
from app.lib.i18n import gettext as _
from app.lib.preferences import time_zones
from app.lib.schema import convert_body
from app.ui.forms import Form, field_errors
from app.ui.pages import Layout, form_page, requires_person, see_other
from tenants.middleware import SESSION_ORGANIZATION_KEY

PROFILE_PATH = "/ui/profile"
PROFILE_FIELDS = {"name": "name", "locale": "locale", "timezone": "timezone"}
PASSWORD_FIELDS = {"currentPassword": "current_password", "newPassword": "new_password"}


@dataclass
class ProfileForm:
    name: str = ""
    locale: str = ""  # empty: the organization's language
    timezone: str = ""  # empty: the organization's time zone
    email_notifications: str | None = None  # a checkbox: "on" when ticked, absent when not

    @classmethod
    def of(cls, user: User) -> ProfileForm:
        return cls(user.name, user.locale or "", user.timezone or "", "on" if user.email_notifications else None)

    def changes(self) -> ProfileUpdate:
        sent = {
            "name": self.name.strip(),
            "locale": self.locale or None,
            "timezone": self.timezone.strip() or None,
            "emailNotifications": self.email_notifications is not None,
        }
        return convert_body(sent, ProfileUpdate)


@dataclass
class PasswordForm:
    current_password: str = ""
    new_password: str = ""


@dataclass
class LeaveForm:
    organization: str = ""  # the id of one of the person's organizations


@dataclass
class AccountDeletionForm:
    password: str = ""


class ProfilePages(Controller):
    path = "/profile"
    guards = [requires_person]

    @get("/")
    async def show(
        self,
        *,
        layout: NamedDependency[Layout],
        departures: NamedDependency[Departures],
        notice: FromQuery[str | None] = None,
    ) -> Template:
        return await _page(layout, departures, ProfileForm.of(layout.user), notice=notice)

    @post("/")
    async def save(
        self,
        layout: NamedDependency[Layout],
        data: Annotated[ProfileForm, Form],
        accounts: NamedDependency[AccountService],
        departures: NamedDependency[Departures],
    ) -> Redirect | Template:
        try:
            await accounts.update_profile(layout.user.id, data.changes())
        except LanternError as error:
            return await _page(layout, departures, data, errors=field_errors(error, PROFILE_FIELDS))
        return see_other(f"{PROFILE_PATH}?notice=saved")

    @post("/password")
    async def change_password(
        self,
        request: Request[Any, Any, Any],
        layout: NamedDependency[Layout],
        data: Annotated[PasswordForm, Form],
        accounts: NamedDependency[AccountService],
        departures: NamedDependency[Departures],
    ) -> Redirect | Template:
        try:
            change = convert_body(
                {"currentPassword": data.current_password, "newPassword": data.new_password}, PasswordChange
            )
            user = await accounts.change_password(
                layout.user.id,
                change.current_password,
                change.new_password,
                client_ip=client_ip(request.scope),
                device=request.cookies.get(DEVICE_COOKIE),
            )
        except LanternError as error:
            if error.code is ErrorCode.UNAUTHORIZED:
                wrong = FieldError("currentPassword", _("This is not your current password."))
                error = LanternError(ErrorCode.VALIDATION_ERROR, details=[wrong])
            errors = field_errors(error, PASSWORD_FIELDS)
            return await _page(layout, departures, ProfileForm.of(layout.user), errors=errors)
        start_session(request, user, layout.organization.id)
        changed = see_other(f"{PROFILE_PATH}?notice=password")
        changed.set_cookie(renewed_device_cookie(user))
        return changed

    @post("/leave")
    async def leave(
        self,
        request: Request[Any, Any, Any],
        layout: NamedDependency[Layout],
        data: Annotated[LeaveForm, Form],
        departures: NamedDependency[Departures],
    ) -> Redirect | Template:
        """As `DELETE /api/v1/organization/membership`, for any of the person's organizations (another's is
        unknown: 404); the session goes on in another of theirs when it was in this one."""
        organization_id = _uuid(data.organization)
        try:
            remaining = await departures.leave(layout.user.id, organization_id)
        except LanternError as error:
            if error.code is not ErrorCode.CONFLICT:
                raise
            errors = {f"leave-{organization_id}": message_of(error)}
            return await _page(layout, departures, ProfileForm.of(layout.user), errors=errors)
        if organization_id == layout.organization.id:
            request.set_session({**request.session, SESSION_ORGANIZATION_KEY: str(remaining)})
        return see_other(f"{PROFILE_PATH}?notice=left")

    @post("/delete")
    async def delete_account(
        self,
        request: Request[Any, Any, Any],
        layout: NamedDependency[Layout],
        data: Annotated[AccountDeletionForm, Form],
        departures: NamedDependency[Departures],
    ) -> Redirect | Template:
        """As `DELETE /api/v1/auth/me`; then the login page says the account is gone."""
        try:
            await departures.delete_account(
                layout.user.id,
                data.password,
                client_ip=client_ip(request.scope),
                device=request.cookies.get(DEVICE_COOKIE),
            )
        except LanternError as error:
            if error.code not in {ErrorCode.UNAUTHORIZED, ErrorCode.CONFLICT}:
                raise
            wrong = error.code is ErrorCode.UNAUTHORIZED
            errors = {"password": _("This is not your password.") if wrong else message_of(error)}
            return await _page(layout, departures, ProfileForm.of(layout.user), errors=errors)
        request.clear_session()
        return see_other("/ui/login?notice=account-deleted")


def _uuid(text: str) -> UUID:
    """An organization's id as a form sent it; anything else names no organization of the person's (404)."""
    try:
        return UUID(text)
    except ValueError:
        raise not_found() from None


async def _page(
    layout: Layout,
    departures: Departures,
    form: ProfileForm,
    *,
    errors: dict[str, str] | None = None,
    notice: str | None = None,
) -> Template:
    """The page's forms share `errors`: their fields have different names. What deleting the account would do
    to each organization is said before the person confirms it."""
    ties = await departures.ties(layout.user.id)
    return form_page("profile.html", layout, form, errors=errors, notice=notice, time_zones=time_zones(), ties=ties)
