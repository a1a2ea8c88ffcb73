"""How stored uploads leave the app: as the bytes Lantern verified, which a browser may show but never run
in our origin (`nosniff`, a sandboxing CSP, a file name Lantern chose or escaped)."""

from __future__ import annotations

from litestar import Response
from litestar.status_codes import HTTP_202_ACCEPTED

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


def inline_image(data: bytes, content_type: str, filename: str) -> Response[bytes]:
    """A processed image (or its thumbnail) to show; `filename` is made from ids, never the client's."""
    response = stored_file(data, content_type, f'inline; filename="{filename}"')
    response.headers["Cache-Control"] = "private, max-age=300"
    return response


def still_processing() -> Response[bytes]:
    """The answer for a thumbnail whose image still waits for its worker."""
    return Response(b"", status_code=HTTP_202_ACCEPTED, headers={"Retry-After": str(PROCESSING_RETRY_SECONDS)})
