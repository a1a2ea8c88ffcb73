"""Refuse a body the handler cannot take, before the handler runs: one in a content type it does not read
(415, naming those it reads), the JSON:API media type with a parameter Lantern does not take (415, see
`jsonapi.unsupported`), and JSON whose text holds a NUL character (400, see `refuse_nul_text`).

Litestar decodes a JSON-declared body whatever the request's Content-Type says; a client that sends
text/plain deserves to hear that the server cannot read it.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType

from app.lib import jsonapi
from app.lib.errors import ErrorCode, FieldError, LanternError
from app.lib.i18n import format_list
from app.lib.i18n import gettext as _
from app.lib.schema import refuse_nul_text

_JSON_TYPES = {"application/json"}


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


async def require_declared_content_type(request: Request[Any, Any, Any]) -> None:
    """A `before_request` hook: JSON handlers take JSON (or +json), multipart handlers multipart; and JSON:API's
    media type only in a form Lantern reads, also by a handler that reads its body itself (in JSON:API mode)."""
    declared = _declared_body_type(request)
    reads_body = declared is not None or jsonapi.has_mode(request.route_handler)
    if not reads_body or request.method in {"GET", "HEAD", "OPTIONS", "DELETE"}:
        return
    sent, params = request.content_type
    if sent == jsonapi.MEDIA_TYPE and (refusal := jsonapi.unsupported(params)) is not None:
        raise LanternError(ErrorCode.UNSUPPORTED_MEDIA_TYPE, details=[FieldError("Content-Type", refusal)])
    if declared is None:  # the handler reads its body itself, and refuses what it does not take
        return
    if declared == RequestEncodingType.JSON.value:
        acceptable = sent in _JSON_TYPES or sent.endswith("+json")
    else:
        acceptable = sent == declared
    if not acceptable:  # a JSON body of a handler in JSON:API mode is taken as a document too: both are named
        documents = declared == RequestEncodingType.JSON.value and jsonapi.has_mode(request.route_handler)
        raise unsupported_content_type(declared, *([jsonapi.MEDIA_TYPE] if documents else []))
    if declared == RequestEncodingType.JSON.value:
        refuse_nul_text(await request.body())
