"""Refuse a body the handler cannot take, before the handler runs: one in a content type it does not read
(415), the JSON:API media type with a parameter Lantern does not take (415, see `jsonapi.unsupported`), and
JSON whose text holds a NUL character (400, see `refuse_nul_text`).

Litestar decodes a JSON-declared body whatever the request's Content-Type says; a client that sends
text/plain deserves to hear that the server cannot read it.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.enums import RequestEncodingType

from app.lib import jsonapi
from app.lib.errors import ErrorCode, FieldError, LanternError
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
    if not acceptable:
        raise LanternError(ErrorCode.UNSUPPORTED_MEDIA_TYPE)
    if declared == RequestEncodingType.JSON.value:
        refuse_nul_text(await request.body())
