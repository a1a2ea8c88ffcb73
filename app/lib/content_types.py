"""Refuse a body the handler cannot take, before the handler runs: one in a content type it does not read
(415), and JSON whose text holds a NUL character (400, see `refuse_nul_text`).

Litestar decodes a JSON-declared body whatever the request's Content-Type says; a client that sends
text/plain deserves to hear that the server cannot read it.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.enums import RequestEncodingType

from app.lib.errors import ErrorCode, LanternError
from app.lib.jsonapi import MEDIA_TYPE as JSONAPI_MEDIA_TYPE
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
    """A `before_request` hook: JSON handlers take JSON (or +json), multipart handlers multipart."""
    declared = _declared_body_type(request)
    if declared is None or request.method in {"GET", "HEAD", "OPTIONS", "DELETE"}:
        return
    sent, params = request.content_type
    if declared == RequestEncodingType.JSON.value:
        # A JSON:API extension changes what a document means, and Lantern implements none (JSON:API: a 415).
        extended = sent == JSONAPI_MEDIA_TYPE and "ext" in params
        acceptable = (sent in _JSON_TYPES or sent.endswith("+json")) and not extended
    else:
        acceptable = sent == declared
    if not acceptable:
        raise LanternError(ErrorCode.UNSUPPORTED_MEDIA_TYPE)
    if declared == RequestEncodingType.JSON.value:
        refuse_nul_text(await request.body())
