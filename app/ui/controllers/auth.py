"""Signing up, in and out, and the layout's two switchers: organization and language."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode, urlsplit
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromQuery, QueryParameter
from litestar.response import Redirect, Template

from app.domain.accounts.controllers import sign_in, sign_up, switch_session_organization
from app.domain.accounts.models import User
from app.domain.accounts.schemas import ProfileUpdate, SignupRequest
from app.domain.accounts.services import AccountService
from app.lib.asgi import OWN_LIMIT
from app.lib.errors import STATUS_OF, ErrorCode, LanternError, message_of
from app.lib.i18n import match_locale
from app.lib.preferences import validated_timezone
from app.lib.schema import convert_body
from app.settings import get_settings
from app.ui.forms import WHOLE_FORM, Form, field_errors
from app.ui.language import language_cookie
from app.ui.pages import HOME_PATH, LOGIN_PATH, page, requires_person, safe_next, see_other
from tenants.identity import CredentialKind, Identity
from tenants.middleware import get_identity

NextPage = Annotated[str | None, QueryParameter(name="next")]
# A new organization has no project yet: its first stop is where one is made, with the widget's embed line.
FIRST_PAGE_AFTER_SIGNUP = "/ui/projects"
SIGNUP_FIELDS = {"name": "name", "email": "email", "password": "password", "organization": "organization"}


@dataclass
class LoginForm:
    email: str = ""
    password: str = ""


@dataclass
class SignupForm:
    name: str = ""
    email: str = ""
    password: str = ""
    organization: str = ""
    timezone: str = ""  # the browser's, filled in by ui.js


@dataclass
class LanguageForm:
    locale: str = ""
    next: str = ""


def _known_timezone(name: str) -> dict[str, str]:
    """The organization's `timezone` from the browser's zone when this server knows it: no person typed it, so
    one it does not know (an old browser's, `Etc/Unknown`) leaves UTC rather than refusing the sign-up."""
    try:
        return {"timezone": name} if validated_timezone(name) else {}
    except LanternError:
        return {}


@dataclass
class OrganizationForm:
    organization_id: UUID
    next: str | None = None  # a page of the organization switched to (a report shared from it)


def _login_page(
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    *,
    email: str = "",
    error: str | None = None,
    notice: str | None = None,
) -> Template:
    context = {"email": email, "error": error, "notice": notice, "signup_open": get_settings().signup_open}
    return page("login.html", None, status_code, headers, **context)


def _signup_page(
    form: SignupForm,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Template:
    context = {"form": form, "errors": errors or {}, "closed": not get_settings().signup_open}
    return page("signup.html", None, status_code, headers, **context)


async def _keep_chosen_language(request: Request[Any, Any, Any], accounts: AccountService, user: User) -> str | None:
    """A language picked before signing in or up (the switcher's `?lang=`) becomes the person's preference when they
    have saved none, as one chosen after would. A saved one stays: `?lang=` changes no preference, and a link that
    carried it (a colleague's, a page's in another language) changed the language of every page after the login.
    Returns the language picked then, for the page the login leads to (its address carries it, as any page's)."""
    chosen = match_locale(request.query_params.get("lang") or "")
    if chosen is None:
        return None
    if user.locale is None:
        await accounts.update_profile(user.id, ProfileUpdate(locale=chosen))
        return None
    return chosen if match_locale(user.locale) != chosen else None


def _with_language(target: str, locale: str) -> str:
    """`target` with its `lang` parameter set to `locale` (the one it had, if any, replaced)."""
    parts = urlsplit(target)
    query = [(name, value) for name, value in parse_qsl(parts.query) if name != "lang"]
    if locale:
        query.append(("lang", locale))
    return parts.path + (f"?{urlencode(query)}" if query else "")


class AuthPages(Controller):
    @get("/login")
    async def login_page(
        self, request: Request[Any, Any, Any], next_page: NextPage = None, notice: FromQuery[str | None] = None
    ) -> Redirect | Template:
        if get_identity(request) is not None:
            return see_other(safe_next(next_page))
        return _login_page(notice=notice)

    @post("/login", opt={OWN_LIMIT: True})
    async def login(
        self,
        request: Request[Any, Any, Any],
        accounts: NamedDependency[AccountService],
        data: Annotated[LoginForm, Form],
        next_page: NextPage = None,
    ) -> Redirect | Template:
        try:
            signed_in = await sign_in(request, accounts, data.email, data.password)
        except LanternError as error:
            # Retry-After too, when the login throttle refused.
            return _login_page(STATUS_OF[error.code], error.headers, email=data.email, error=message_of(error))
        page_language = await _keep_chosen_language(request, accounts, signed_in.user)
        next_address = safe_next(next_page)
        response = see_other(_with_language(next_address, page_language) if page_language else next_address)
        response.set_cookie(signed_in.device_cookie)
        return response

    @get("/signup")
    async def signup_page(self, request: Request[Any, Any, Any]) -> Redirect | Template:
        if get_identity(request) is not None:
            return see_other(HOME_PATH)
        closed = not get_settings().signup_open
        return _signup_page(SignupForm(), status_code=STATUS_OF[ErrorCode.FORBIDDEN] if closed else 200)

    @post("/signup", opt={OWN_LIMIT: True})
    async def signup(
        self,
        request: Request[Any, Any, Any],
        accounts: NamedDependency[AccountService],
        data: Annotated[SignupForm, Form],
    ) -> Redirect | Template:
        """The API's sign-up from a form: the same checks, throttle and session."""
        sent = {
            "name": data.name.strip(),
            "email": data.email.strip(),
            "password": data.password,
            "organization": {"name": data.organization.strip(), **_known_timezone(data.timezone)},
        }
        try:
            user = (await sign_up(request, accounts, convert_body(sent, SignupRequest))).user
        except LanternError as error:
            if error.code is ErrorCode.VALIDATION_ERROR:
                errors = field_errors(error, SIGNUP_FIELDS)
            else:  # closed, an address already registered, too many sign-ups (with Retry-After)
                errors = {WHOLE_FORM: message_of(error)}
            return _signup_page(data, errors, STATUS_OF[error.code], error.headers)
        await _keep_chosen_language(request, accounts, user)  # a new account has no preference: it is saved
        return see_other(FIRST_PAGE_AFTER_SIGNUP)

    @post("/logout", guards=[requires_person])
    async def logout(self, request: Request[Any, Any, Any]) -> Redirect:
        request.clear_session()
        return see_other(LOGIN_PATH)

    @post("/language")
    async def language(
        self,
        request: Request[Any, Any, Any],
        accounts: NamedDependency[AccountService],
        data: Annotated[LanguageForm, Form],
    ) -> Redirect:
        """A person's choice is saved as their preference, as `PATCH /api/v1/auth/me` does; it rides along in
        the address (`?lang=`), in place of the language the page was opened in, which its forms carry (this one
        too). The browser keeps it too, for the pages after this one and the login page after a logout."""
        identity = get_identity(request)
        if identity is not None and identity.kind is CredentialKind.SESSION and identity.user_id is not None:
            await accounts.update_profile(identity.user_id, ProfileUpdate(locale=data.locale))
        answer = see_other(_with_language(safe_next(data.next), data.locale))
        if chosen := match_locale(data.locale):
            answer.cookies.append(language_cookie(chosen))
        return answer

    @post("/organization", guards=[requires_person])
    async def organization(
        self,
        request: Request[Any, Any, Any],
        identity: NamedDependency[Identity],
        accounts: NamedDependency[AccountService],
        data: Annotated[OrganizationForm, Form],
    ) -> Redirect:
        assert identity.user_id is not None  # noqa: S101 - guaranteed by requires_person
        await switch_session_organization(request, accounts, identity.user_id, data.organization_id)
        # Home, not back: the page shown was the other organization's, and would be a 404 now.
        return see_other(safe_next(data.next) if data.next else HOME_PATH)
