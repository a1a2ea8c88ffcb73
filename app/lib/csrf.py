"""CSRF protection for cookie-authenticated requests and the admin pages' forms.

Litestar's CSRF middleware checks every unsafe request. An API request that carries no session cookie, or
that authenticates with an `Authorization` header (which a browser never adds on its own), cannot be forged
through the user's browser, so it skips the check; safe requests always pass through it so that any GET
sets the `csrftoken` cookie, and so does a cookie client's unsafe request that has none yet (a sign-up, a
login). An admin page's form is always checked, a session or not: a login form posted from another site
would sign the visitor in to the other site's account. The widget-key ingest routes skip
it even with a cookie: a widget on a page of Lantern's own site sends the admin's session cookie along, and
the key is the only credential they read.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import Cookie
from litestar.middleware import ASGIMiddleware
from litestar.middleware.csrf import CSRFMiddleware, generate_csrf_token
from litestar.types import ASGIApp, Receive, Scope, Send

from app.lib.asgi import PUBLIC_INGEST, UI_PAGE
from app.lib.sessions import SESSION_COOKIE
from app.settings import get_settings

CSRF_COOKIE = "csrftoken"
CSRF_HEADER = "x-csrftoken"


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
        if unsafe and not forgeable:
            if not by_header and not request.cookies.get(CSRF_COOKIE):
                # A sign-up or login starts a session: its client gets the token with it, and its next request
                # needs no GET first to fetch one.
                token = generate_csrf_token(secret=self.config.secret)
                send = CSRFMiddleware(next_app, self.config).create_send_wrapper(send, token, csrf_cookie=None)
            await next_app(scope, receive, send)
            return
        await CSRFMiddleware(next_app, self.config)(scope, receive, send)


def unrouted_form_token(request: Request[Any, Any, Any]) -> tuple[str, list[Cookie]]:
    """The token for the forms of a page no middleware saw (an address the router refused): the visitor's CSRF
    cookie, which the check compares a form's token with, or a new one, with the cookie to set for it."""
    if token := request.cookies.get(CSRF_COOKIE):
        return token, []
    config = csrf_config()
    token = generate_csrf_token(secret=config.secret)
    cookie = Cookie(
        key=config.cookie_name,
        value=token,
        path=config.cookie_path,
        secure=config.cookie_secure,
        httponly=config.cookie_httponly,
        samesite=config.cookie_samesite,
        domain=config.cookie_domain,
    )
    return token, [cookie]
