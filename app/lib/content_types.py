"""Refuse a body the handler cannot take, before the handler runs: one in a content type it does not read
(415, naming those it reads), any body but `{}` or `null` where it reads none (400 or 415), one in a content
coding (415), the JSON:API media type with a parameter Lantern does not take (415, see `jsonapi.unsupported`),
JSON whose text holds a NUL character or that sends a member twice in one object (400, see
`refuse_unstorable_json`).

Litestar decodes a JSON-declared body whatever the request's Content-Type says, and a handler without one never
reads what was sent; a client that sends text/plain, or a field to a route that takes none, deserves to hear that
the server cannot read it.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType

from app.lib import jsonapi
from app.lib.asgi import OWN_BODY
from app.lib.errors import ErrorCode, FieldError, LanternError
from app.lib.i18n import format_list
from app.lib.i18n import gettext as _
from app.lib.schema import decode_lenient, refuse_unstorable_json

_JSON_TYPES = {"application/json"}
_BODILESS_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _declared_body_type(request: Request[Any, Any, Any]) -> str | None:
    parameter = request.route_handler.parsed_fn_signature.parameters.get("data")
    if parameter is None:
        return None
    media_type = getattr(parameter.kwarg_definition, "media_type", None)
    return str(
        media_type.value if isinstance(media_type, RequestEncodingType) else media_type or RequestEncodingType.JSON
    )


def sent_part_type(upload: UploadFile) -> str | None:
    """The `Content-Type` a form's file part was sent with; None for none. Litestar gives such a file RFC 7578's
    default, `text/plain`, which a client that leaves it out (Python's `requests` does) never declared."""
    return upload.headers.get("Content-Type")


def unsupported_content_type(*readable: str) -> LanternError:
    """A 415 that names the content types the endpoint reads (`details`, the field `Content-Type`): the client's
    fix, which "not supported" alone left it to guess (a raw image sent to the multipart screenshot upload)."""
    message = _("Send the body as %(media_types)s.", media_types=format_list(readable, style="or"))
    return LanternError(ErrorCode.UNSUPPORTED_MEDIA_TYPE, details=[FieldError("Content-Type", message)])


async def refuse_unreadable_body(request: Request[Any, Any, Any]) -> None:
    """A `before_request` hook: no body in a content coding; JSON handlers take JSON (or +json), multipart handlers
    multipart, and a route that reads no body takes none (`_refuse_any_body`); JSON:API's media type only in a form
    Lantern reads, also by a handler that reads its body itself. A DELETE is checked when it carries a body, as any
    other request is."""
    if request.method in _BODILESS_METHODS:
        return
    announced = _announces_body(request)
    if request.method == "DELETE" and not announced:
        return
    if announced:
        _refuse_content_coding(request)
    declared = _declared_body_type(request)
    own_body = bool(request.route_handler.opt.get(OWN_BODY))
    # What a body is sent as, where a body is read or sent (a POST of none with `Content-Type` alone says nothing).
    if declared is not None or own_body or (announced and jsonapi.has_mode(request.route_handler)):
        _refuse_unread_jsonapi_form(request)
    if declared is not None:
        await _refuse_undeclared_type(request, declared)
    elif announced and not own_body:  # a handler that reads its body itself refuses what it does not take
        await _refuse_any_body(request)


def _refuse_unread_jsonapi_form(request: Request[Any, Any, Any]) -> None:
    """JSON:API's media type with a parameter Lantern does not take is a 415 naming it."""
    sent, params = request.content_type
    if sent == jsonapi.MEDIA_TYPE and (refusal := jsonapi.unsupported(params)) is not None:
        raise LanternError(ErrorCode.UNSUPPORTED_MEDIA_TYPE, details=[FieldError("Content-Type", refusal)])


async def _refuse_undeclared_type(request: Request[Any, Any, Any], declared: str) -> None:
    """A body in another content type than the handler's `data` declares is a 415 naming the ones it reads."""
    sent = request.content_type[0]
    acceptable = _is_json(sent) if declared == RequestEncodingType.JSON.value else sent == declared
    if not acceptable:  # a JSON body of a handler in JSON:API mode is taken as a document too: both are named
        documents = declared == RequestEncodingType.JSON.value and jsonapi.has_mode(request.route_handler)
        raise unsupported_content_type(declared, *([jsonapi.MEDIA_TYPE] if documents else []))
    if declared == RequestEncodingType.JSON.value:
        refuse_unstorable_json(await request.body())


def _is_json(media_type: str) -> bool:
    return media_type in _JSON_TYPES or media_type.endswith("+json")


def _announces_body(request: Request[Any, Any, Any]) -> bool:
    """Whether the request says it sends a body: a length above 0, or chunks (of a length it does not say)."""
    length = request.content_length
    return bool(length) if length is not None else "transfer-encoding" in request.headers


def _refuse_content_coding(request: Request[Any, Any, Any]) -> None:
    """A body in a content coding (`Content-Encoding: gzip`) is a 415 that says the one Lantern reads, `identity`
    (RFC 9110, 15.5.16): read as sent, a compressed body was "not valid JSON", and a coding named on a plain one
    was ignored."""
    named = request.headers.get("content-encoding", "")
    codings = [coding for part in named.split(",") if (coding := part.strip().lower()) and coding != "identity"]
    if codings:
        message = _(
            "The content coding %(codings)s is not supported: send the body without Content-Encoding.",
            codings=", ".join(codings),
        )
        raise LanternError(
            ErrorCode.UNSUPPORTED_MEDIA_TYPE,
            details=[FieldError("Content-Encoding", message)],
            headers={"Accept-Encoding": "identity"},
        )


async def _refuse_any_body(request: Request[Any, Any, Any]) -> None:
    """A route that reads no body (a secret's rotation, a ping) takes none, before it acts: nothing, spaces, or
    what client libraries send for nothing by habit, the empty JSON object (`{}`) or JSON's `null` (Go's, Ruby's,
    `JSON.stringify`'s nil). JSON with members is a 400 naming each, as an unknown field is; anything else a 415
    (400 as JSON). Past the route's limit, reading it is a 413."""
    body = await request.body()
    if not body.strip():
        return
    takes_none = _("This request takes no body: send none, or an empty JSON object.")
    if not _is_json(request.content_type[0]):
        raise LanternError(ErrorCode.UNSUPPORTED_MEDIA_TYPE, takes_none, details=[FieldError("body", takes_none)])
    try:
        members = decode_lenient(body)
    except msgspec.DecodeError:
        members = ...
    if members in ({}, None):
        return
    if isinstance(members, dict):
        refused = [FieldError(str(name), _("This field is not allowed.")) for name in members]
        raise LanternError(ErrorCode.VALIDATION_ERROR, details=refused)
    raise LanternError(ErrorCode.VALIDATION_ERROR, takes_none, details=[FieldError("body", takes_none)])
