"""The outermost middleware: a request that fails after its handler answered, but before anything reached the
client, still gets an error envelope.

That happens when the request's transaction cannot be committed (database.py commits it as the answer starts),
and when the session cannot be stored (Redis stalls while a login answers): the session middleware
writes it as the answer starts, inside Litestar's own exception handling, which then counts the answer as
begun and lets the server send a plain-text 500. Worse, advanced-alchemy returns the request's database
connection to the pool in a hook that runs as the answer is sent, so that connection was never given back:
on SQLite's pool of one, every later request waited for it. Answering here runs that hook.

The widget-key ingest routes skip it: they have no session (sessions.py) and commit before they answer, so
nothing writes while their answer starts, and their hot path carries no extra wrapper.
"""

from __future__ import annotations

from typing import Any

import structlog
from litestar import Request
from litestar.enums import ScopeType
from litestar.exceptions import HTTPException
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from app.lib.asgi import PUBLIC_INGEST, REQUEST_ID
from app.lib.errors import ErrorCode, LanternError, request_locale, route_error_response, unavailable
from app.lib.i18n import use_locale

logger = structlog.get_logger()


class UnsentAnswerMiddleware(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)
    exclude_opt_key = PUBLIC_INGEST

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        sent = False

        async def send_and_note(message: Message) -> None:
            nonlocal sent
            await send(message)  # which may fail before anything is sent: a commit, as the answer starts
            sent = True

        try:
            await next_app(scope, receive, send_and_note)
        except (LanternError, HTTPException):
            raise  # answered by the app's exception handlers, as anywhere else
        except Exception as error:
            if sent:
                raise
            # Its lines name the request, as the request's own line does (bound inside, by RequestContextMiddleware).
            with structlog.contextvars.bound_contextvars(request_id=scope["state"].get(REQUEST_ID)):
                answer = unavailable(scope["path"], error.__cause__ or error)
                if answer is None:
                    logger.exception("request failed before its answer was sent", path=scope["path"])
                    answer = LanternError(ErrorCode.INTERNAL_ERROR)
            request: Request[Any, Any, Any] = Request(scope)
            with use_locale(request_locale(request)):  # outside the middleware that chose it for the request
                response = route_error_response(request, answer)  # a page for a page
            await response.to_asgi_response(app=None, request=request)(scope, receive, send)
