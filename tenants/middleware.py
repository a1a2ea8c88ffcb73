"""Per-request context: request id, the caller's identity and tenant, and the language of the answer.

Runs once per request, before any handler: it resolves exactly one credential, binds the tenant scope
that every query reads, chooses the locale, and labels every log line with the request and tenant.
"""

from __future__ import annotations

import time
from contextlib import ExitStack
from datetime import datetime
from typing import Any
from uuid import UUID

import structlog
from litestar import Request
from litestar.datastructures import MutableScopeHeaders
from litestar.exceptions import HTTPException
from litestar.middleware import ASGIMiddleware
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR, HTTP_503_SERVICE_UNAVAILABLE
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from app.lib.asgi import (
    KEY_IN_PATH,
    NOT_STORED,
    PUBLIC_INGEST,
    REQUEST_ID,
    SENT_METHOD,
    SESSION_STARTED,
    VARIES_ON_ACCEPT,
    with_response_headers,
)
from app.lib.cors import refusal_headers
from app.lib.database import alchemy_config
from app.lib.errors import LOCALE_STATE_KEY, ErrorCode, LanternError, cannot_serve, route_error_response
from app.lib.i18n import (
    DEFAULT_TIMEZONE,
    LANGUAGE_COOKIE,
    choose_locale,
    current_locale,
    language_tag,
    match_locale,
    negotiate,
    use_locale,
    use_timezone,
)
from app.lib.security import ORG_TOKEN_PREFIX
from tenants.context import TenantScope, bound_scope
from tenants.identity import IDENTITY_KEY, Identity
from tenants.resolve import (
    KeyRefusal,
    bearer_or_basic_token,
    identity_from_session,
    identity_from_token,
    identity_from_widget_key,
    key_refused,
)

logger = structlog.get_logger()

SESSION_USER_KEY = "user_id"
SESSION_ORGANIZATION_KEY = "organization_id"
SESSION_STARTED_KEY = "started_at"


def get_identity(request: Request[Any, Any, Any]) -> Identity | None:
    identity: Identity | None = request.scope["state"].get(IDENTITY_KEY)
    return identity


async def _resolve(request: Request[Any, Any, Any]) -> Identity | None:
    if any(value.startswith(ORG_TOKEN_PREFIX) for _, value in request.query_params.multi_items()):
        # Secrets in URLs end up in logs and browser history: refuse rather than accept.
        raise LanternError(ErrorCode.UNAUTHORIZED)
    # OPTIONS asks what methods an address takes, of anyone (tenants.guards), whatever Authorization a client sends
    # with every request (a staging site's Basic, a stale token): only a widget key says which site may ask.
    authorization = request.headers.get("authorization") if request.method != "OPTIONS" else None
    api_key = request.headers.get("x-api-key") or request.query_params.get("apiKey")
    # A widget route takes only its key: a client that sends a token with every request still reports.
    ingest = bool((getattr(request.scope.get("route_handler"), "opt", None) or {}).get(PUBLIC_INGEST))
    if authorization and not (ingest and api_key):
        token = bearer_or_basic_token(authorization)
        identity = await identity_from_token(token) if token else None
        if identity is None:
            raise LanternError(ErrorCode.UNAUTHORIZED)
        return identity
    if api_key:
        widget = await identity_from_widget_key(api_key)
        if isinstance(widget, KeyRefusal):
            raise key_refused(widget, ErrorCode.UNAUTHORIZED)
        return widget
    session_data = request.scope.get("session")
    if isinstance(session_data, dict) and (user_id := session_data.get(SESSION_USER_KEY)):
        organization_id = session_data.get(SESSION_ORGANIZATION_KEY)
        started_at = session_data.get(SESSION_STARTED_KEY)
        async with alchemy_config().get_session() as session:
            return await identity_from_session(
                session,
                UUID(user_id),
                UUID(organization_id) if organization_id else None,
                datetime.fromisoformat(started_at) if started_at else None,
            )
    return None


class RequestContextMiddleware(ASGIMiddleware):
    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        request: Request[Any, Any, Any] = Request(scope)
        request_id = scope["state"][REQUEST_ID]  # every answer carries it (`Lantern`): its log lines too
        started = time.perf_counter()
        outcome: dict[str, int] = {}
        with structlog.contextvars.bound_contextvars(request_id=request_id), ExitStack() as stack:
            _choose_language(stack, request, identity=None)
            send = _with_response_headers(scope, send, started, outcome)
            try:
                identity = await _resolve(request)
                scope["state"][IDENTITY_KEY] = identity
                if identity is not None:
                    _act_as(stack, request, identity)
                elif (owner := await _key_in_path_owner(request)) is not None:
                    _choose_language(stack, request, owner)
                await next_app(scope, receive, send)
            except (LanternError, HTTPException) as error:
                # From credential resolution or an inner middleware (CSRF, rate limits): answered in the
                # request's language, as its route answers (a page with a page).
                response = route_error_response(request, error)
                readable = with_response_headers(send, refusal_headers(request))
                await response.to_asgi_response(app=None, request=request)(scope, receive, readable)
            except Exception as error:
                # Answered outside, by `UnsentAnswerMiddleware`: the handler's start (a login's 200) went no further
                # than the session's store, which failed, and the client got a 503 (or a 500) that the log said was
                # the 200.
                unavailable = cannot_serve(error.__cause__ or error)
                outcome["status"] = HTTP_503_SERVICE_UNAVAILABLE if unavailable else HTTP_500_INTERNAL_SERVER_ERROR
                raise
            finally:
                logger.info(
                    "request",
                    method=scope["state"].get(SENT_METHOD, request.method),
                    path=request.url.path,
                    status=outcome.get("status"),
                    duration_ms=round((time.perf_counter() - started) * 1000, 2),
                )


async def _key_in_path_owner(request: Request[Any, Any, Any]) -> Identity | None:
    """Whose widget key a route takes in its path (the widget's public configuration), for its organization's
    default language alone: a visitor's browser that asks for none is answered in it, as a submission with the key
    is. The route resolves the key itself, and tells a refused one."""
    route_opt = getattr(request.scope.get("route_handler"), "opt", None) or {}
    if not route_opt.get(KEY_IN_PATH) or not (key := request.path_params.get("api_key")):
        return None
    owner = await identity_from_widget_key(key)
    return None if isinstance(owner, KeyRefusal) else owner


def language_named_by(request: Request[Any, Any, Any]) -> str | None:
    """The language a request names itself, if any: its `?lang=`, the switcher's last choice in this browser, or
    its `Accept-Language`; None where only someone's default would choose one."""
    for named in (request.query_params.get("lang"), request.cookies.get(LANGUAGE_COOKIE)):
        if named and (matched := match_locale(named)):
            return matched
    return negotiate(request.headers.get("accept-language"))


def _choose_language(stack: ExitStack, request: Request[Any, Any, Any], identity: Identity | None) -> None:
    locale = choose_locale(
        explicit=request.query_params.get("lang"),
        user_preference=identity.user_locale if identity else None,
        browser_choice=request.cookies.get(LANGUAGE_COOKIE),
        accept_language=request.headers.get("accept-language"),
        organization_default=identity.organization_locale if identity else None,
    )
    stack.enter_context(use_locale(locale))
    request.scope["state"][LOCALE_STATE_KEY] = locale


def _act_as(stack: ExitStack, request: Request[Any, Any, Any], identity: Identity) -> None:
    """Bind the caller's tenant (every query reads it), language, time zone and log labels."""
    stack.enter_context(bound_scope(TenantScope(organization_id=identity.organization_id, user_id=identity.user_id)))
    stack.enter_context(structlog.contextvars.bound_contextvars(tenant_id=str(identity.organization_id)))
    _choose_language(stack, request, identity)
    stack.enter_context(use_timezone(identity.user_timezone or identity.organization_timezone or DEFAULT_TIMEZONE))


def _made_for_a_caller(scope: Scope) -> bool:
    route_opt = getattr(scope.get("route_handler"), "opt", None) or {}
    state = scope["state"]
    return state.get(IDENTITY_KEY) is not None or bool(state.get(SESSION_STARTED) or route_opt.get(KEY_IN_PATH))


def _with_response_headers(scope: Scope, send: Send, started: float, outcome: dict[str, int]) -> Send:
    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            outcome["status"] = message["status"]
            headers = MutableScopeHeaders.from_message(message)
            headers["Content-Language"] = language_tag(current_locale())
            headers.add("Vary", "Accept-Language")
            if scope["state"].get(VARIES_ON_ACCEPT):
                headers.add("Vary", "Accept")
            # An answer made for a caller is kept by no cache, unless its route says how (an image: a while).
            if _made_for_a_caller(scope) and "cache-control" not in headers:
                headers["Cache-Control"] = NOT_STORED
            # The time spent in the app until the answer starts, for browsers' dev tools and the benchmarks.
            headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.2f}"
        await send(message)

    return send_with_headers
