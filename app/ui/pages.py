"""What every admin page shares: who is signed in (else the login page), the layout, and error pages."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Any
from urllib.parse import SplitResult, parse_qsl, quote, urlencode, urlsplit
from uuid import UUID

import structlog
from advanced_alchemy.exceptions import DuplicateKeyError, IntegrityError, NotFoundError
from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.enums import MediaType
from litestar.exceptions import HTTPException, NotFoundException
from litestar.handlers import BaseRouteHandler
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER, HTTP_404_NOT_FOUND, HTTP_500_INTERNAL_SERVER_ERROR
from litestar.types import ExceptionHandlersMap
from sqlalchemy.exc import DBAPIError

from app.domain.accounts.models import User
from app.domain.accounts.services import AccountService
from app.domain.organizations.models import Organization, Role
from app.domain.organizations.services import MembershipService
from app.lib.csrf import unrouted_form_token
from app.lib.errors import (
    CODE_OF_STATUS,
    MAYBE_UNAVAILABLE,
    STATUS_OF,
    ErrorCode,
    LanternError,
    http_exception_handler,
    message_of,
    not_found,
    refused_statement,
    repository_error,
    request_locale,
    unavailable,
)
from app.lib.i18n import language_tag, use_locale
from app.ui.language import form_fields
from tenants.identity import IDENTITY_KEY, CredentialKind, Identity
from tenants.middleware import get_identity

logger = structlog.get_logger()

LOGIN_PATH = "/ui/login"
HOME_PATH = "/ui/reports"
# Where a request keeps its page's layout once made, so that an error page raised after it keeps the navigation.
LAYOUT_KEY = "ui_layout"


class LoginRequiredError(Exception):
    """An admin page asked for without a signed-in person: answered with the login page."""


async def requires_person(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """A session of a person; the UI is for people in a browser, not for API tokens or widget keys."""
    identity: Identity | None = connection.scope["state"].get(IDENTITY_KEY)
    if identity is None or identity.kind is not CredentialKind.SESSION:
        raise LoginRequiredError


def safe_next(target: str | None) -> str:
    """A path of this site to go to after a form; anything else (another site, `//host`) goes home."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return HOME_PATH


def see_other(target: str) -> Redirect:
    return Redirect(target, status_code=HTTP_303_SEE_OTHER)


_SHOWN_ONCE_KEY = "shown_once"


def show_once(request: Request[Any, Any, Any], path: str, fragment: str = "", **values: str | bool) -> Redirect:
    """Post/Redirect/Get for what a page shows only once (a secret, an invitation's link): `values` wait in the
    person's session (server-side, in Redis) for the next visit of `path`, which takes them (`take_shown_once`).
    Reloading that page, or coming back to it, neither shows them again nor repeats the change that made them."""
    request.session[_SHOWN_ONCE_KEY] = {"path": path, "values": values}
    return see_other(f"{path}#{fragment}" if fragment else path)


def shown_once_page(
    request: Request[Any, Any, Any], layout: Layout, template: str, taken: str, **context: Any
) -> Redirect | Template:
    """The page `show_once` led to, with what it left there (not kept by the browser, as no signed-in page
    is: see NOT_STORED); once that is taken (a reload, the back button), the page at `taken` instead."""
    shown = take_shown_once(request)
    if shown is None:
        return see_other(taken)
    return page(template, layout, **context, **shown)


def take_shown_once(request: Request[Any, Any, Any]) -> dict[str, Any] | None:
    """What `show_once` left for this page, taken (so gone); None when it was meant for another page."""
    waiting = request.session.get(_SHOWN_ONCE_KEY)
    if not isinstance(waiting, dict) or waiting.get("path") != request.url.path:
        return None
    del request.session[_SHOWN_ONCE_KEY]
    return dict(waiting["values"])


# What a page's address says once, after a change: `notice` (and how many reports a change made, or found
# as it would have made them: `count`, `same`; which member's role changed: `member`).
NOTICE_PARAMETERS = frozenset({"notice", "count", "same", "member"})


def without_notice(query: str) -> list[tuple[str, str]]:
    """A page's query parameters without what it said once (`NOTICE_PARAMETERS`)."""
    return [(name, value) for name, value in parse_qsl(query, keep_blank_values=True) if name not in NOTICE_PARAMETERS]


def here(request: Request[Any, Any, Any]) -> str:
    """This page's path and query, to come back to after a form or the login. A page that answers a form (one
    refused, shown again with its reasons) is the page the form was on: its own address takes posts only, and
    an invitation's token was in the form's page's address."""
    referrer = _referrer(request) if request.method != "GET" else None
    if referrer is not None and referrer.netloc == request.url.netloc:
        # Not what the form's page said of the change before (a removal's notice, shown again on a reload).
        query = urlencode(without_notice(referrer.query))
        return referrer.path + (f"?{query}" if query else "")
    query = request.scope.get("query_string", b"").decode()
    return request.url.path + (f"?{query}" if query else "")


def _referrer(request: Request[Any, Any, Any]) -> SplitResult | None:
    """The page the request came from; None for a Referer no browser sends (`http://[::1/x`, a broken IPv6
    host, made the refused form's page a 500)."""
    try:
        return urlsplit(request.headers.get("referer", ""))
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class Layout:
    """The signed-in person, their organization and role, and their other organizations (the switcher)."""

    identity: Identity
    user: User
    organization: Organization
    organizations: list[tuple[Organization, str]]

    @property
    def role(self) -> Role:
        return self.identity.role or Role.GUEST

    @property
    def is_guest(self) -> bool:
        return self.role is Role.GUEST

    @property
    def manages(self) -> bool:
        return self.role.manages_organization


async def provide_layout(
    request: Request[Any, Any, Any], identity: NamedDependency[Identity], accounts: NamedDependency[AccountService]
) -> Layout:
    assert identity.user_id is not None  # noqa: S101 - guaranteed by requires_person
    user = await accounts.users.get(identity.user_id)
    memberships = await accounts.memberships(user.id)
    organization = next(org for org, _role in memberships if org.id == identity.organization_id)
    layout = Layout(identity, user, organization, memberships)
    request.scope["state"][LAYOUT_KEY] = layout
    return layout


async def people(layout: Layout, memberships: MembershipService) -> dict[UUID, str]:
    """Names of the organization's people (assignees, comment authors, who made a token). To a guest, their
    names only, never their e-mail addresses, as the API shows them (comments used to show no author at all,
    the guest's own included)."""
    members = await memberships.members()
    if layout.is_guest:
        return {user.id: user.name for _membership, user in members if user.name}
    return {user.id: user.name or user.email for _membership, user in members}


# Every page: its own scripts only (no inline script, no `javascript:` address, whatever a stored value holds),
# no frame around it, no address of it sent to other sites. Styles may be inline: the sample page's widget
# styles its shadow root with a <style> element of its own; its screenshots are drawn from data: and blob:.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
        "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


class _Page(Template):
    """A page whose forms carry the language it was opened in, if chosen for it (`?lang=`): each form has the
    `csrf_input` it must send, so that is where the field goes (see `app.ui.language`)."""

    def create_template_context(self, request: Request[Any, Any, Any]) -> dict[str, Any]:
        context = super().create_template_context(request)
        context["csrf_input"] += form_fields(request)
        return context


def page(
    template: str,
    layout: Layout | None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> Template:
    return _Page(
        template_name=template,
        context={"layout": layout, "person": None, **context},
        status_code=status_code,
        headers={**PAGE_HEADERS, **(headers or {})},
    )


def form_page(
    template: str,
    layout: Layout | None,
    form: Any,
    *,
    errors: dict[str, str] | None = None,
    notice: str | None = None,
    **context: Any,
) -> Template:
    """A page with a form: 400 with each reason beside its field when it was refused, else 200."""
    status = 400 if errors else 200
    return page(template, layout, status, form=form, errors=errors or {}, notice=notice, **context)


# Errors -------------------------------------------------------------------------------------------------
# A page answers in HTML, with the same status and localized message as the API would give.


def _login_redirect(request: Request[Any, Any, Any], _exc: Exception) -> Response[Any]:
    return see_other(f"{LOGIN_PATH}?next={quote(here(request), safe='')}")


def _error_page(request: Request[Any, Any, Any], error: LanternError, *, plain: bool = False) -> Response[Any]:
    if error.code is ErrorCode.UNAUTHORIZED and get_identity(request) is None:
        return _login_redirect(request, error)
    # Exception handlers are synchronous: the layout is there only if the page made it before the error. After
    # a failed statement or an unexpected error the page stays `plain`: the session rolled back, and the
    # layout's objects cannot be read any more. Without one (a role's guard refused the page before it was made),
    # the person's identity still gives the page their navigation and logout.
    layout = None if plain else request.scope["state"].get(LAYOUT_KEY)
    identity = get_identity(request)
    person = identity if identity is not None and identity.kind is CredentialKind.SESSION else None
    return page(
        "error.html",
        layout,
        STATUS_OF[error.code],
        error.headers,
        message=message_of(error),
        details=error.details,
        person=person,
    )


def _http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    if exc.status_code >= HTTP_500_INTERNAL_SERVER_ERROR:
        return _server_error(request, exc)
    code = CODE_OF_STATUS.get(exc.status_code, ErrorCode.VALIDATION_ERROR)
    return _error_page(request, LanternError(code, headers=dict(exc.headers or {})))


def _not_found(request: Request[Any, Any, Any], _exc: NotFoundError) -> Response[Any]:
    return _error_page(request, not_found())


def _repository_error(request: Request[Any, Any, Any], exc: IntegrityError) -> Response[Any]:
    return _error_page(request, repository_error(request, exc), plain=True)


def _database_error(request: Request[Any, Any, Any], exc: DBAPIError) -> Response[Any]:
    refused = refused_statement(exc)
    return _error_page(request, refused, plain=True) if refused is not None else _unavailable(request, exc)


def _unavailable(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if (error := unavailable(request.url.path, exc)) is not None:
        return _error_page(request, error, plain=True)
    return _server_error(request, exc)


def _server_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    logger.error("unhandled error", path=request.url.path, exc_info=exc)
    return _error_page(request, LanternError(ErrorCode.INTERNAL_ERROR), plain=True)


def unrouted_not_found(request: Request[Any, Any, Any], exc: NotFoundException) -> Response[Any]:
    """A 404 the router answers before any route takes the request (the app's handler, not a page's). Under
    /ui it is a page's address with a malformed id (`/ui/projects/x`, where the route takes a UUID), which
    answered the API's JSON: it is the UI's 404 page, in the language the request asks for (no middleware ran,
    so no session and no layout: the page leads back to the reports; its language form sends the visitor's CSRF
    token, as every page's does)."""
    if not request.url.path.startswith("/ui/"):
        answer = http_exception_handler(request, exc)
        if request.method == "GET":  # any GET's answer sets the CSRF cookie when it is missing, as a route's does
            answer.cookies.extend(unrouted_form_token(request)[1])
        return answer
    locale = request_locale(request)
    engine = request.app.template_engine
    assert engine is not None  # noqa: S101 - the app renders the UI's templates
    token, cookies = unrouted_form_token(request)
    csrf_input = f'<input type="hidden" name="_csrf_token" value="{escape(token)}">'
    with use_locale(locale):
        html = engine.get_template("error.html").render(
            request=request,
            csrf_input=csrf_input,
            layout=None,
            person=None,
            message=message_of(not_found()),
            details=[],
        )
    headers = {**PAGE_HEADERS, "Content-Language": language_tag(locale), "Vary": "Accept-Language"}
    return Response(html, status_code=HTTP_404_NOT_FOUND, media_type=MediaType.HTML, headers=headers, cookies=cookies)


# The same exceptions as the API's handlers (app/lib/errors.py), each answered with a page.
EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    LoginRequiredError: _login_redirect,
    LanternError: _error_page,
    HTTPException: _http_error,
    NotFoundException: _http_error,  # a page's own, before the app's for addresses no route took
    NotFoundError: _not_found,
    DuplicateKeyError: _repository_error,
    IntegrityError: _repository_error,
    DBAPIError: _database_error,
    **dict.fromkeys(MAYBE_UNAVAILABLE, _unavailable),
    Exception: _server_error,
}
