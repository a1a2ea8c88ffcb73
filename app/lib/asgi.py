"""Small ASGI helpers shared by the middlewares."""

from __future__ import annotations

import secrets

from litestar.datastructures import MutableScopeHeaders
from litestar.types import HTTPScope, Message, Send

# Route opt of the widget-key ingest routes: limited per client IP (throttle), and cookie-free: the key is
# their only credential, so the session middleware and the CSRF check (sessions, csrf) skip them.
PUBLIC_INGEST = "public_ingest"
# Route opt of the health probes: they take any query string, as uptime monitors add a cache-busting parameter
# of their own (`/api/v1/health?_=1700000000`), and a 400 there reads as the service being down.
ANY_QUERY = "any_query"
# Route opt of BugSpark's screenshot upload, a widget-key ingest route whose uploads are not submissions: they
# count in a bucket of their own (throttle).
SCREENSHOT_UPLOAD = "screenshot_upload"
# Route opt of the routes that send a stored file (an image, a thumbnail, an attachment): a page of reports
# shows dozens at once, so they count in a bucket of their own instead of the admin API's (throttle).
FILE_DOWNLOAD = "file_download"
# A page of the admin UI (a route option): a person's clicks, limited apart from the admin API.
UI_PAGE = "ui_page"
# Route opt of a route with no `data` parameter that reads its body itself (an attachment's upload, the widget's
# submit, the admin UI's forms with their language and CSRF token): any other route without one takes no body.
OWN_BODY = "own_body"
# Route opt of the routes that limit their requests themselves (log-in, sign-up, password reset): a signed-in
# person's request spends no admin budget on them, and their answers carry their own limit's headers only.
OWN_LIMIT = "own_limit"
# Scope state of a request whose answer depends on its Accept header (JSON:API mode or the envelope, a page or
# JSON): the answer says so (`Vary: Accept`), so that no cache serves one for the other.
VARIES_ON_ACCEPT = "varies_on_accept"
# What an answer made for a caller (a session, a token, a widget key) may be kept as: nowhere. A report, a
# person's page, a secret shown once: after a log-out on a shared computer, Back showed the last report whole.
NOT_STORED = "no-store"
# Scope state of a request that starts a session (a sign-up, a login): its answer is made for the caller it
# signs in (their account, their organizations) though no identity came with the request, and is kept nowhere.
SESSION_STARTED = "session_started"
# Route opt of a route that reads a widget key from its path (the widget's configuration): its answer, a refusal
# too, is made for that key and the page's site as an answer to a credential in a header is, and is kept nowhere.
KEY_IN_PATH = "key_in_path"
# Route opt of a route answering JSON:API whose query is not a plain type's (`jsonapi.native_or_document`): its
# `jsonapi.QueryRules`, which its OpenAPI operation documents as its parameters.
JSONAPI_QUERY = "jsonapi_query"
# Scope state of a HEAD request, which is routed as a GET: the method the client sent, for the request's log line.
SENT_METHOD = "sent_method"
# Scope state of every request: its id, in its answer's `X-Request-ID` and in each of its log lines.
REQUEST_ID = "request_id"
MAX_REQUEST_ID_LENGTH = 200


def request_id_of(scope: HTTPScope) -> str:
    """A client's own request id (`X-Request-ID`), kept when it is a reasonable one: it goes into every log line
    and back in the answer. Else one of ours."""
    sent = next((value for name, value in scope["headers"] if name.lower() == b"x-request-id"), b"")
    if sent and len(sent) <= MAX_REQUEST_ID_LENGTH and sent.isascii() and sent.decode().isprintable():
        return sent.decode()
    return secrets.token_hex(8)


def with_every_answers_headers(send: Send, request_id: str) -> Send:
    """`send`, adding what every answer carries, also one no route made (the router's 404 and 405): the request's
    `X-Request-ID`, and HEAD in an `Allow` that names GET (HEAD is answered wherever GET is: `Lantern`)."""

    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = MutableScopeHeaders.from_message(message)
            headers["X-Request-ID"] = request_id
            allowed = [method.strip() for method in (headers.get("allow") or "").split(",") if method.strip()]
            if "GET" in allowed and "HEAD" not in allowed:
                headers["Allow"] = ", ".join(sorted([*allowed, "HEAD"]))
        await send(message)

    return send_with_headers


def with_response_headers(send: Send, extra: dict[str, str]) -> Send:
    """`send`, adding `extra` to the response's headers (`Vary` values are appended, others set)."""

    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = MutableScopeHeaders.from_message(message)
            for name, value in extra.items():
                if name.lower() == "vary":
                    headers.add(name, value)
                else:
                    headers[name] = value
        await send(message)

    return send_with_headers


def without_body(send: Send) -> Send:
    """`send`, passing a response's status and headers and none of its body: the answer to a HEAD, which is a
    GET's without the body (RFC 9110 §9.3.2), `Content-Length` included."""

    async def send_head(message: Message) -> None:
        if message["type"] in {"http.response.body", "http.response.pathsend"}:
            await send({"type": "http.response.body", "body": b"", "more_body": message.get("more_body", False)})
        else:
            await send(message)

    return send_head
