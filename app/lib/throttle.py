"""Which rate limit applies to a request, checked once per request after the caller is known.

- widget ingest (submit, BugSpark create): per client IP per project, the project's limit; BugSpark's
  screenshot uploads in a bucket of their own, at twice that (a report's screenshot and its annotated copy);
- the admin API: per organization token or per user, an average rate with bursts (GCRA);
- stored files (images, thumbnails, attachments): the same callers, in a bucket of their own with ten times
  the admin API's rate and burst, so a page that shows many thumbnails leaves the API's budget alone;
- admin UI pages: the same people, in a bucket of their own with three times the admin API's rate and burst:
  someone clicking through filters or dragging cards on the board is no script, and uses no API budget;
- login: per account and IP, plus a cap on failures per account from any IP (see accounts/services.py);
- password reset links: per address, a few an hour;
- sign-ups (a new account and organization each): per client IP, an hourly limit.
Every bucket name starts with the organization (and project) it belongs to, if any.
"""

from __future__ import annotations

import math
from functools import cache
from typing import Any

from babel.support import LazyProxy
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from app.lib.asgi import FILE_DOWNLOAD, OWN_LIMIT, PUBLIC_INGEST, SCREENSHOT_UPLOAD, UI_PAGE, with_response_headers
from app.lib.clients import client_ip
from app.lib.errors import ErrorCode, LanternError, answer_error
from app.lib.i18n import ngettext
from app.lib.ratelimit import Algorithm, Decision, Limiter, Policy
from app.lib.redis import get_redis, redis_health
from app.settings import get_settings
from tenants.identity import IDENTITY_KEY, CredentialKind, Identity

FILES_PER_ADMIN_REQUEST = 10
PAGES_PER_ADMIN_REQUEST = 3
UPLOADS_PER_SUBMISSION = 2
PASSWORD_RESETS_PER_HOUR = 5
SECONDS_SAID_AS_SECONDS = 120  # a longer wait is said in minutes


@cache
def limiter() -> Limiter:
    return Limiter(get_redis(), redis_health())


def widget_policy(limit_per_minute: int) -> Policy:
    return Policy(name="widget", limit=limit_per_minute, window_seconds=60)


def upload_policy(submissions_per_minute: int) -> Policy:
    return Policy(name="upload", limit=submissions_per_minute * UPLOADS_PER_SUBMISSION, window_seconds=60)


def admin_policy() -> Policy:
    return _admin_rate("admin", 1)


def file_policy() -> Policy:
    return _admin_rate("files", FILES_PER_ADMIN_REQUEST)


def page_policy() -> Policy:
    return _admin_rate("pages", PAGES_PER_ADMIN_REQUEST)


def _admin_rate(name: str, factor: int) -> Policy:
    settings = get_settings()
    return Policy(
        name=name,
        limit=settings.admin_rate_per_minute * factor,
        window_seconds=60,
        algorithm=Algorithm.GCRA,
        burst=settings.admin_burst * factor,
    )


def login_policy() -> Policy:
    return Policy(name="login", limit=get_settings().login_attempts_per_minute, window_seconds=60)


def login_failures_policy() -> Policy:
    return Policy(name="login-failures", limit=get_settings().login_failures_per_hour, window_seconds=3600)


def password_reset_policy() -> Policy:
    """Links to choose a new password mailed to one address: a few an hour."""
    return Policy(name="password-reset", limit=PASSWORD_RESETS_PER_HOUR, window_seconds=3600)


def signup_policy() -> Policy:
    return Policy(name="signup", limit=get_settings().signups_per_hour, window_seconds=3600)


def refuse(decision: Decision) -> LanternError:
    """A 429 that says when to try again, in the words of the language the answer is given in."""
    waiting = LazyProxy(_try_again_in, decision.retry_after, enable_cache=False)
    return LanternError(ErrorCode.RATE_LIMITED, waiting, headers=decision.headers())


def _try_again_in(seconds: int) -> str:
    """ "Please wait" said how long to no one who was not reading the headers: a person at the login, above all."""
    if seconds < SECONDS_SAID_AS_SECONDS:
        return ngettext(
            "Too many requests. Please try again in %(num)s second.",
            "Too many requests. Please try again in %(num)s seconds.",
            seconds,
        )
    return ngettext(
        "Too many requests. Please try again in %(num)s minute.",
        "Too many requests. Please try again in %(num)s minutes.",
        math.ceil(seconds / 60),
    )


async def _check(scope: Scope, identity: Identity) -> Decision | None:
    opt: dict[str, Any] = getattr(scope.get("route_handler"), "opt", {}) or {}
    if identity.kind is CredentialKind.WIDGET_KEY and identity.widget is not None and opt.get(PUBLIC_INGEST):
        bucket = f"{identity.organization_id}:{identity.project_id}:{client_ip(scope)}"
        per_minute = identity.widget.rate_limit_per_minute
        policy = upload_policy(per_minute) if opt.get(SCREENSHOT_UPLOAD) else widget_policy(per_minute)
        return await limiter().hit(policy, bucket)
    if identity.is_admin_client and not opt.get(OWN_LIMIT):
        subject = (
            f"token:{identity.credential_id}" if identity.kind is CredentialKind.TOKEN else f"user:{identity.user_id}"
        )
        policy = file_policy() if opt.get(FILE_DOWNLOAD) else page_policy() if opt.get(UI_PAGE) else admin_policy()
        return await limiter().hit(policy, f"{identity.organization_id}:{subject}")
    return None


class RateLimitMiddleware(ASGIMiddleware):
    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        identity: Identity | None = scope["state"].get(IDENTITY_KEY)
        decision = await _check(scope, identity) if identity is not None else None
        if decision is None:
            await next_app(scope, receive, send)
            return
        if not decision.allowed:
            # Answered here, through the middlewares the request came in by, so a widget's 429 carries its
            # origin's CORS headers and the page can read when to retry.
            await answer_error(scope, receive, send, refuse(decision))
            return
        await next_app(scope, receive, with_response_headers(send, decision.headers()))
