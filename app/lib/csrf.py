"""CSRF protection for cookie-authenticated requests and the admin pages' forms.

Litestar's CSRF middleware checks every unsafe request. An API request that carries no session cookie, or
that authenticates with an `Authorization` header (which a browser never adds on its own), cannot be forged
through the user's browser, so it skips the check; safe requests always pass through it so that any GET
sets the `csrftoken` cookie. A session that starts (a sign-up, a login, a new password) comes with a new
token (`rotate_csrf_token`), as it comes with a new session id: its client needs no GET first, and a token
from before the login is worth nothing after it. An admin page's form is always checked, a session or not: a
login form posted from another site would sign the visitor in to the other site's account. The widget-key
ingest routes skip it even with a cookie: a widget on a page of Lantern's own site sends the admin's session
cookie along, and the key is the only credential they read.

A signed-in session keeps its token (`SESSION_CSRF_KEY`), and its unsafe requests must send that one: a token
Lantern signed for another visit, planted in the `csrftoken` cookie by whoever can write the browser's cookies
(a sibling subdomain, a plain-HTTP answer on the way), would otherwise pass the cookie comparison. A safe
request puts the session's token back in the cookie, and a session started before tokens were kept gets one.
"""

from __future__ import annotations

from secrets import compare_digest
from typing import Any

from litestar import Request
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.exceptions import PermissionDeniedException
from litestar.middleware import ASGIMiddleware
from litestar.middleware.csrf import CSRFMiddleware, generate_csrf_token
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from litestar.utils.scope.state import ScopeState

from app.lib.asgi import PUBLIC_INGEST, UI_PAGE
from app.lib.sessions import SESSION_COOKIE
from app.settings import get_settings
from tenants.middleware import SESSION_USER_KEY

CSRF_COOKIE = "csrftoken"
CSRF_HEADER = "x-csrftoken"
SESSION_CSRF_KEY = "csrf_token"
# The scope state's token of a session started by this request, for the answer's cookie.
_ROTATED_TOKEN = "lantern_rotated_csrf_token"  # noqa: S105 - a key, not a secret


def csrf_config() -> CSRFConfig:
    return CSRFConfig(
        secret=get_settings().secret_key,
        cookie_name=CSRF_COOKIE,
        header_name=CSRF_HEADER,
        cookie_secure=get_settings().cookie_secure,
        cookie_samesite="lax",
    )


class SessionCSRFMiddleware(ASGIMiddleware):
    exclude_opt_key = PUBLIC_INGEST  # widget-key routes: no cookie authenticates them, so none can be forged

    def __init__(self) -> None:
        self.config = csrf_config()

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        request: Request[Any, Any, Any] = Request(scope)
        unsafe = request.method not in self.config.safe_methods
        session = request.cookies.get(SESSION_COOKIE) not in {None, "", "null"}
        # An empty header authenticates nothing (the session does), and a page can send one without asking.
        by_header = bool(request.headers.get("authorization"))
        forgeable = not by_header and (session or bool(request.route_handler.opt.get(UI_PAGE)))
        send = _with_rotated_token(scope, send)
        if unsafe and not forgeable:
            await next_app(scope, receive, send)
            return
        # A route that takes no token (sign-up, login: they start the session) is passed over by Litestar's check.
        checked = not request.route_handler.opt.get(self.config.exclude_from_csrf_key)
        inner = _held_to_the_session(next_app, unsafe=unsafe) if checked else next_app
        await CSRFMiddleware(inner, self.config)(scope, receive, send)


def _held_to_the_session(next_app: ASGIApp, *, unsafe: bool) -> ASGIApp:
    """Behind Litestar's check (the sent token is one Lantern signed, and the cookie's): a signed-in session's
    unsafe request sent the session's own token; a safe one gets it, in its page and its cookie."""

    async def check(scope: Scope, receive: Receive, send: Send) -> None:
        session = scope.get("session")
        if isinstance(session, dict) and session.get(SESSION_USER_KEY):
            state = ScopeState.from_scope(scope)
            token = session.get(SESSION_CSRF_KEY)
            if unsafe:
                if token is None or not compare_digest(str(state.csrf_token), token):
                    raise PermissionDeniedException("CSRF token verification failed")
            else:
                if token is None:
                    token = session[SESSION_CSRF_KEY] = generate_csrf_token(secret=get_settings().secret_key)
                if state.csrf_token != token:
                    state.csrf_token = scope["state"][_ROTATED_TOKEN] = token
        await next_app(scope, receive, send)

    return check


def rotate_csrf_token(request: Request[Any, Any, Any]) -> str:
    """Give the session this request starts a new CSRF token, which it keeps under `SESSION_CSRF_KEY`: the
    answer sets its cookie (the browser's `csrftoken` lasts until it closes, the session two weeks, so a client
    that comes back with its session alone gets one), and a page rendered for this request carries it."""
    token = generate_csrf_token(secret=get_settings().secret_key)
    request.scope["state"][_ROTATED_TOKEN] = token
    ScopeState.from_scope(request.scope).csrf_token = token
    return token


def _with_rotated_token(scope: Scope, send: Send) -> Send:
    async def send_token(message: Message) -> None:
        if message["type"] == "http.response.start" and (token := scope["state"].get(_ROTATED_TOKEN)):
            # In place of the random token Litestar sets for a request that came without the cookie.
            replaced = f"{CSRF_COOKIE}=".encode()
            message["headers"] = [
                (name, value)
                for name, value in message.get("headers", [])
                if not (name.lower() == b"set-cookie" and value.startswith(replaced))
            ]
            MutableScopeHeaders.from_message(message).add("set-cookie", _csrf_cookie(token).to_header(header=""))
        await send(message)

    return send_token


def _csrf_cookie(token: str) -> Cookie:
    config = csrf_config()
    return Cookie(
        key=config.cookie_name,
        value=token,
        path=config.cookie_path,
        secure=config.cookie_secure,
        httponly=config.cookie_httponly,
        samesite=config.cookie_samesite,
        domain=config.cookie_domain,
    )


def unrouted_form_token(request: Request[Any, Any, Any]) -> tuple[str, list[Cookie]]:
    """The token for the forms of a page no middleware saw (an address the router refused): the visitor's CSRF
    cookie, which the check compares a form's token with, or a new one, with the cookie to set for it."""
    if token := request.cookies.get(CSRF_COOKIE):
        return token, []
    token = generate_csrf_token(secret=get_settings().secret_key)
    return token, [_csrf_cookie(token)]
