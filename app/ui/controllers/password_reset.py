"""A forgotten password: the login page links here; an address gets a link by e-mail, and the link's page
takes the new password. Through the API's `AccountService`, as `POST /api/v1/auth/password-reset` and
`…/password-reset/confirm`.

A server that sends no e-mail says so, and to ask its operator (`set-password`), instead of taking an address
for a link that would never arrive: it cannot show the link (anyone could take over anyone's account), and
says the same whatever the address, which it does not ask for."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.response import Redirect, Template

from app.domain.accounts.schemas import PasswordReset
from app.domain.accounts.services import AccountService
from app.lib.asgi import OWN_LIMIT
from app.lib.errors import STATUS_OF, ErrorCode, LanternError, message_of
from app.lib.mail import mail_configured
from app.lib.schema import convert_body
from app.ui.forms import WHOLE_FORM, Form, field_errors
from app.ui.pages import LOGIN_PATH, page, see_other


@dataclass
class RequestForm:
    email: str = ""


@dataclass
class NewPasswordForm:
    token: str = ""
    password: str = ""


class PasswordResetPages(Controller):
    path = "/password-reset"

    @get("/")
    async def request_page(self) -> Template:
        return _request_page("")

    @post("/", opt={OWN_LIMIT: True})
    async def request_link(
        self, data: Annotated[RequestForm, Form], accounts: NamedDependency[AccountService]
    ) -> Template:
        if not mail_configured():  # a form posted before, or by hand: the page that says why there is none
            return _request_page("")
        try:
            await accounts.request_password_reset(data.email)
        except LanternError as error:  # asked too often for this address
            return _request_page(data.email, error)
        return _request_page(data.email, sent=True)

    @get("/confirm")
    async def new_password_page(self, token: FromQuery[str], accounts: NamedDependency[AccountService]) -> Template:
        account = await accounts.reset_account(token)  # an expired or used link says so before anything is typed
        return page("password_reset/confirm.html", None, token=token, email=account.email, errors={})

    @post("/confirm")
    async def save_new_password(
        self, data: Annotated[NewPasswordForm, Form], accounts: NamedDependency[AccountService]
    ) -> Redirect | Template:
        try:
            body = convert_body({"token": data.token, "password": data.password}, PasswordReset)
            await accounts.reset_password(body.token, body.password)
        except LanternError as error:  # a used or expired link is not the form's to show: its page is a 404
            errors = field_errors(error, {"password": "password"})
            email = (await accounts.reset_account(data.token)).email if error.code is not ErrorCode.NOT_FOUND else ""
            status = STATUS_OF[error.code]
            return page("password_reset/confirm.html", None, status, token=data.token, email=email, errors=errors)
        return see_other(f"{LOGIN_PATH}?notice=password-reset")


def _request_page(email: str, error: LanternError | None = None, *, sent: bool = False) -> Template:
    template = "password_reset/request.html"
    mailed = mail_configured()
    if error is None:
        return page(template, None, email=email, errors={}, sent=sent, mailed=mailed)
    errors = {WHOLE_FORM: message_of(error)}
    return page(
        template, None, STATUS_OF[error.code], error.headers, email=email, errors=errors, sent=False, mailed=mailed
    )
