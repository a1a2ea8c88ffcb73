"""Conditional requests (RFC 9110 §13), so that two people changing the same object do not silently undo each
other's work: every answer that is one resource carries a strong `ETag`, a GET that already holds it is answered
`304 Not Modified`, and a change sent with `If-Match` (or `If-Unmodified-Since`) is refused with a `412` when the
object is no longer the one the client read.

The tag is a digest of the representation's bytes, not of the row's `updated_at`: a report shows what its row's
time does not follow (its tracking ID after its project's prefix changed, a screenshot the worker processed, the
GitHub issue made for it), and each representation has a tag of its own, as RFC 9110 §8.8.3 asks of a strong one:
the native JSON and the JSON:API document differ, and so do two languages or two callers that see different
fields. A handler opts in with Litestar's `etag=TAGGED`, which documents the header too; `EntityTagMiddleware`
tags the answer it made. A change evaluates the conditions itself (`require_preconditions`), inside the
transaction that makes it and after holding the row, against the representation a GET would answer now.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar, cast

from litestar import Request, Response
from litestar.datastructures import ETag, Headers, MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.status_codes import HTTP_304_NOT_MODIFIED
from litestar.types import ASGIApp, HTTPResponseStartEvent, HTTPScope, Message, Receive, Scope, Send

from app.lib.asgi import PUBLIC_INGEST
from app.lib.errors import ErrorCode, LanternError
from app.lib.i18n import gettext as _

# `etag=TAGGED` on a handler whose answer is one resource: its 200 and 201 carry the representation's tag, and a
# GET's `If-None-Match` is answered 304 (`EntityTagMiddleware`). Documentation only: each answer's value is its own.
TAGGED = ETag(documentation_only=True)
# The conditions a change is made under (`require_preconditions`).
CHANGE_CONDITIONS = ("if-match", "if-none-match", "if-unmodified-since")
T = TypeVar("T")
# What a service awaits once it holds the object it changes (None: there is none yet), and which may refuse the
# change: `require_preconditions`, given the request and the answer its GET makes.
Precondition = Callable[[T], Awaitable[None]]
# One tag of a list (`W/"…"` is weak), as `If-Match` and `If-None-Match` send them.
_ENTITY_TAG = re.compile(r'(W/)?("[^"]*")')
TAGGED_STATUSES = {200, 201}
# A 304 carries the 200's headers but those that describe its body (RFC 9110 §15.4.5).
_BODY_HEADERS = ("content-length", "content-type")


def entity_tag(body: bytes) -> str:
    """The strong tag of a representation: a digest of its bytes, quoted as a header carries it."""
    return f'"{hashlib.blake2b(body, digest_size=16).hexdigest()}"'


class EntityTagMiddleware(ASGIMiddleware):
    """The `ETag` of each 200 or 201 of a handler tagged `etag=TAGGED`, and the 304 of a GET (a HEAD too, routed
    as one) whose `If-None-Match` names it. The widget's ingest routes skip it: they answer no resource."""

    scopes = (ScopeType.HTTP,)
    exclude_opt_key = PUBLIC_INGEST

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if getattr(scope["route_handler"], "etag", None) is None:
            await next_app(scope, receive, send)
            return
        await next_app(scope, receive, _tagging(cast("HTTPScope", scope), send))


def _tagging(scope: HTTPScope, send: Send) -> Send:
    """`send`, holding back a 200's or 201's start until its whole body is known, to tag it."""
    start: HTTPResponseStartEvent | None = None
    body = bytearray()

    async def send_tagged(message: Message) -> None:
        nonlocal start
        if message["type"] == "http.response.start" and message["status"] in TAGGED_STATUSES:
            start = message
            return
        if start is None or message["type"] != "http.response.body":
            await send(message)
            return
        body.extend(message.get("body", b""))
        if message.get("more_body", False):
            return
        headers = MutableScopeHeaders.from_message(start)
        headers["ETag"] = tag = entity_tag(bytes(body))
        if scope["method"] == "GET" and _none_match_fails(Headers.from_scope(scope).get("if-none-match"), tag):
            for name in _BODY_HEADERS:
                del headers[name]
            start["status"] = HTTP_304_NOT_MODIFIED
            await send(start)
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        await send(start)
        await send({"type": "http.response.body", "body": bytes(body), "more_body": False})

    return send_tagged


def _none_match_fails(header: str | None, tag: str | None) -> bool:
    """Whether `If-None-Match` names the current representation's `tag` (None: there is none), by weak comparison
    (RFC 9110 §13.1.2); `*` names any."""
    if header is None or tag is None:
        return False
    return header.strip() == "*" or tag in {quoted for _weak, quoted in _ENTITY_TAG.findall(header)}


def _match_fails(header: str | None, tag: str | None) -> bool:
    """Whether `If-Match` names none of the current representation's `tag` (None: there is none), by strong
    comparison (RFC 9110 §13.1.1): a weak tag never matches; `*` matches whatever exists."""
    if header is None:
        return False
    if tag is None:
        return True
    return header.strip() != "*" and tag not in {quoted for weak, quoted in _ENTITY_TAG.findall(header) if not weak}


def _modified_after(header: str | None, last_modified: datetime | None) -> bool:
    """Whether the object changed after `If-Unmodified-Since` (at the second, as an HTTP date tells time). A date
    that cannot be read, or an object without a time, is ignored, as RFC 9110 §13.1.4 says."""
    if header is None or last_modified is None:
        return False
    try:
        since = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return False
    return since.tzinfo is not None and last_modified.replace(microsecond=0) > since


async def require_preconditions(
    request: Request[Any, Any, Any], answer: Callable[[T], Awaitable[Any]], current: T | None
) -> None:
    """Refuse a change (`412 PRECONDITION_FAILED`) whose conditions its object no longer meets: `current` is the
    object (None: there is none yet), held and read afresh inside the transaction that changes it, so that
    nothing changes it in between; `answer` makes what a GET of it answers now, whose tag the conditions name.
    `If-Unmodified-Since` counts only without `If-Match` (RFC 9110 §13.2.2), against the row's `updated_at`.
    A request without conditions costs nothing: the answer is made only for one that sends them."""
    if not sends_conditions(request):
        return
    tag = None if current is None else entity_tag(_rendered(request, await answer(current)))
    if_match = request.headers.get("if-match")
    # Rows keep their `updated_at` (advanced-alchemy's audit base); a default column, which is no row, has none.
    last_modified = getattr(current, "updated_at", None)
    if _match_fails(if_match, tag) or (
        if_match is None and _modified_after(request.headers.get("if-unmodified-since"), last_modified)
    ):
        raise LanternError(ErrorCode.PRECONDITION_FAILED)
    if _none_match_fails(request.headers.get("if-none-match"), tag):
        raise LanternError(ErrorCode.PRECONDITION_FAILED, _("This already exists, and If-None-Match refuses it."))


def sends_conditions(request: Request[Any, Any, Any]) -> bool:
    """Whether the request makes its change under conditions: where holding the object costs a query the change
    does not make otherwise, it is held only then."""
    return any(name in request.headers for name in CHANGE_CONDITIONS)


def _rendered(request: Request[Any, Any, Any], answer: Any) -> bytes:
    """The bytes Litestar sends for a handler's `answer` (a Response, or the content it wraps in one)."""
    response = answer if isinstance(answer, Response) else Response(answer)
    encoders = request.route_handler.resolve_type_encoders()
    return response.to_asgi_response(None, request, type_encoders=encoders).body
