"""The pass of the admin UI's "Try the widget" page: its widget may send reports from Lantern's own address.

That page is on Lantern's origin, which a project's allowed origins do not list (they name the project's sites).
The pass lets it through without admitting Lantern's origin for the public key in general: it is made by the
server for one project and the manager who opened the page, signed with LANTERN_SECRET_KEY, good for an hour,
and taken only from a page on Lantern's own origin (see `cors.origin_refusal`), so a pass copied to another site
is refused there as that site's origin is. It is taken only while the manager who opened the page still manages
the project's organization (see `pass_holder`): one demoted or removed within the hour no longer sends with it.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import time
from uuid import UUID

from app.settings import get_settings

TRY_PASS_SECONDS = 3600
_PURPOSE = "lantern: try the widget"


class TryPass(enum.Enum):
    VALID = "valid"
    EXPIRED = "expired"
    INVALID = "invalid"


def issue_try_pass(project_id: UUID, user_id: UUID, *, now: float | None = None) -> str:
    """`user.expiry.signature`, for the project's try page opened by `user_id`."""
    expires = int(now if now is not None else time.time()) + TRY_PASS_SECONDS
    return f"{user_id}.{expires}.{_signature(project_id, str(user_id), str(expires))}"


def check_try_pass(token: str | None, project_id: UUID) -> TryPass:
    """Whether `token` is a pass of this project's try page, and still good."""
    user_id, _dot, rest = (token or "").partition(".")
    expires, _dot, signature = rest.partition(".")
    expected = _signature(project_id, user_id, expires).encode()
    if not (expires.isdigit() and hmac.compare_digest(signature.encode(), expected)):
        return TryPass.INVALID
    return TryPass.VALID if int(expires) > time.time() else TryPass.EXPIRED


def pass_holder(token: str) -> UUID:
    """The manager who opened the try page of a pass `check_try_pass` found valid."""
    return UUID(token.partition(".")[0])


def _signature(project_id: UUID, user_id: str, expires: str) -> str:
    message = f"{_PURPOSE}:{project_id}:{user_id}:{expires}".encode()
    return hmac.new(get_settings().secret_key.encode(), message, hashlib.sha256).hexdigest()
