"""The page an invitation's e-mail links to: a person new to this server chooses a name and password, someone
with an account confirms with theirs; then they are signed in to the organization that invited them. Through
the API's `AccountService`, as `POST /api/v1/auth/invitations/accept`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.response import Redirect, Template

from app.domain.accounts.controllers import start_session
from app.domain.accounts.schemas import AcceptInvitationRequest
from app.domain.accounts.services import DEVICE_COOKIE, AccountService
from app.lib.clients import client_ip
from app.lib.errors import STATUS_OF, ErrorCode, LanternError, message_of
from app.lib.schema import convert_body
from app.ui.forms import WHOLE_FORM, Form, field_errors
from app.ui.pages import HOME_PATH, page, see_other
from tenants.middleware import language_named_by

FIELDS = {"name": "name", "password": "password"}


@dataclass
class AcceptForm:
    token: str = ""
    name: str = ""
    password: str = ""


class InvitationPages(Controller):
    path = "/invitations"

    @get("/accept")
    async def accept_page(self, token: FromQuery[str], accounts: NamedDependency[AccountService]) -> Template:
        return await self._page(accounts, AcceptForm(token=token))

    @post("/accept")
    async def accept(
        self,
        request: Request[Any, Any, Any],
        data: Annotated[AcceptForm, Form],
        accounts: NamedDependency[AccountService],
    ) -> Redirect | Template:
        try:
            sent = {"token": data.token, "password": data.password, "name": data.name.strip() or None}
            body = convert_body(sent, AcceptInvitationRequest)
            user, organization_id = await accounts.accept_invitation(
                body.token,
                body.password,
                body.name,
                client_ip=client_ip(request.scope),
                device=request.cookies.get(DEVICE_COOKIE),
                language=language_named_by(request),
            )
        except LanternError as error:
            if error.code is ErrorCode.NOT_FOUND:
                raise  # the invitation itself: used, expired or never made
            if error.code is ErrorCode.VALIDATION_ERROR:
                return await self._page(accounts, data, field_errors(error, FIELDS), STATUS_OF[error.code])
            return await self._page(accounts, data, {WHOLE_FORM: message_of(error)}, STATUS_OF[error.code])
        start_session(request, user, organization_id)
        return see_other(HOME_PATH)

    @staticmethod
    async def _page(
        accounts: AccountService, form: AcceptForm, errors: dict[str, str] | None = None, status_code: int = 200
    ) -> Template:
        user, organization, account = await accounts.invitation(form.token)
        return page(
            "invitations/accept.html",
            None,
            status_code,
            form=form,
            errors=errors or {},
            email=user.email,
            account=account.value,
            organization=organization,
        )
