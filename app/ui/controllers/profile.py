"""A person's own profile: their name, language and time zone, and their password; as `PATCH /api/v1/auth/me`
and `POST /api/v1/auth/password` change them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.response import Redirect, Template

from app.domain.accounts.controllers import start_session
from app.domain.accounts.models import User
from app.domain.accounts.schemas import PasswordChange, ProfileUpdate
from app.domain.accounts.services import DEVICE_COOKIE, AccountService
from app.lib.clients import client_ip
from app.lib.errors import ErrorCode, FieldError, LanternError
from app.lib.i18n import gettext as _
from app.lib.schema import convert_body
from app.ui.forms import Form, field_errors
from app.ui.pages import Layout, form_page, requires_person, see_other
from app.ui.views import time_zones

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


class ProfilePages(Controller):
    path = "/profile"
    guards = [requires_person]

    @get("/")
    async def show(self, *, layout: NamedDependency[Layout], notice: FromQuery[str | None] = None) -> Template:
        return _page(layout, ProfileForm.of(layout.user), notice=notice)

    @post("/")
    async def save(
        self,
        layout: NamedDependency[Layout],
        data: Annotated[ProfileForm, Form],
        accounts: NamedDependency[AccountService],
    ) -> Redirect | Template:
        try:
            await accounts.update_profile(layout.user.id, data.changes())
        except LanternError as error:
            return _page(layout, data, errors=field_errors(error, PROFILE_FIELDS))
        return see_other(f"{PROFILE_PATH}?notice=saved")

    @post("/password")
    async def change_password(
        self,
        request: Request[Any, Any, Any],
        layout: NamedDependency[Layout],
        data: Annotated[PasswordForm, Form],
        accounts: NamedDependency[AccountService],
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
            return _page(layout, ProfileForm.of(layout.user), errors=field_errors(error, PASSWORD_FIELDS))
        start_session(request, user, layout.organization.id)
        return see_other(f"{PROFILE_PATH}?notice=password")


def _page(
    layout: Layout, form: ProfileForm, *, errors: dict[str, str] | None = None, notice: str | None = None
) -> Template:
    """The page's two forms share `errors`: their fields have different names."""
    return form_page("profile.html", layout, form, errors=errors, notice=notice, time_zones=time_zones())
