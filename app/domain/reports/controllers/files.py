"""How stored uploads leave the app: as the bytes Lantern verified, which a browser may show but never run
in our origin (`nosniff`, a sandboxing CSP, a file name Lantern chose or escaped)."""

from __future__ import annotations

from litestar import Response
from litestar.status_codes import HTTP_202_ACCEPTED

from app.lib.errors import ErrorCode, LanternError
from app.lib.i18n import gettext as _

# A worker processes an upload in about a second; a client asking for its result earlier retries after this.
PROCESSING_RETRY_SECONDS = 2


def stored_file(data: bytes, media_type: str, disposition: str) -> Response[bytes]:
    return Response(
        data,
        media_type=media_type,
        headers={
            "Content-Disposition": disposition,
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox",
        },
    )


def inline_image(data: bytes, content_type: str, filename: str, *, final: bool = True) -> Response[bytes]:
    """An image to show (processed, or pending without its metadata) or its thumbnail; `filename` is made from
    ids, never the client's. A pending image is not `final`: the worker's copy (turned upright, re-encoded) replaces
    it at the same address, so no cache keeps it, where a browser kept it for five minutes."""
    response = stored_file(data, content_type, f'inline; filename="{filename}"')
    response.headers["Cache-Control"] = "private, max-age=300" if final else "no-store"
    return response


def still_processing() -> Response[bytes]:
    """The answer for a thumbnail whose image still waits for its worker."""
    return Response(b"", status_code=HTTP_202_ACCEPTED, headers={"Retry-After": str(PROCESSING_RETRY_SECONDS)})


def image_still_processing() -> LanternError:
    """The refusal for a pending image whose metadata cannot be taken out without decoding it.

    409, not 503: nothing is wrong with the server (a 5xx would count against its availability and page an
    operator), the image is in a state that cannot be served yet. Within seconds to minutes the worker
    either cleans it (then `200`) or refuses it (then `404`), hence `Retry-After`.
    """
    return LanternError(
        ErrorCode.CONFLICT,
        _("The image is still being processed. Please try again in a moment."),
        headers={"Retry-After": str(PROCESSING_RETRY_SECONDS)},
    )
