"""Route guards and the identity dependency: who may call what, decided from the resolved identity.

The guards are coroutines: Litestar runs a plain function guard in a worker thread, and that hop cost
more than the check itself on every request.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler

from app.domain.organizations.models import Role
from app.lib.errors import ErrorCode, LanternError, not_found
from app.lib.i18n import gettext as _
from tenants.identity import IDENTITY_KEY, CredentialKind, Identity
from tenants.paths import names_unseen_object

Guard = Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], Awaitable[None]]


def _options_answered(guard: Guard) -> Guard:
    """`guard`, but for OPTIONS, which asks what methods an address takes: it tells no more than a 405 there
    does, and is answered to anyone. Litestar gives an address's OPTIONS its controller's guards: it was a 401
    where the controller had any (`/api/v1/projects`), a 204 where it had none (`/api/v1/reports`)."""

    @wraps(guard)
    async def checked(connection: ASGIConnection[Any, Any, Any, Any], route: BaseRouteHandler) -> None:
        if connection.scope.get("method") != "OPTIONS":
            await guard(connection, route)

    return checked


def _identity(connection: ASGIConnection[Any, Any, Any, Any]) -> Identity | None:
    identity: Identity | None = connection.scope["state"].get(IDENTITY_KEY)
    return identity


@_options_answered
async def requires_admin_client(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """A session or an organization token; a widget key is no admin credential (401)."""
    identity = _identity(connection)
    if identity is None or not identity.is_admin_client:
        raise LanternError(ErrorCode.UNAUTHORIZED)


@_options_answered
async def requires_session(connection: ASGIConnection[Any, Any, Any, Any], _route: BaseRouteHandler) -> None:
    """A signed-in person. A valid organization token is told why it cannot be one (403), not that it is
    invalid (401)."""
    identity = _identity(connection)
    if identity is not None and identity.kind is CredentialKind.TOKEN:
        raise LanternError(
            ErrorCode.FORBIDDEN, _("An API token acts for its organization, not as a person: sign in for this.")
        )
    if identity is None or identity.kind is not CredentialKind.SESSION:
        raise LanternError(ErrorCode.UNAUTHORIZED)


@_options_answered
async def requires_widget_key(connection: ASGIConnection[Any, Any, Any, Any], _route: BaseRouteHandler) -> None:
    identity = _identity(connection)
    if identity is None or identity.kind is not CredentialKind.WIDGET_KEY:
        needed = _("This needs a project's widget key, in the X-API-Key header or the apiKey parameter.")
        raise LanternError(ErrorCode.UNAUTHORIZED, needed)


def requires_role(*roles: Role) -> Guard:
    """An admin client whose role in the organization is one of `roles` (tokens act as admins). Anyone else
    is refused with 403 on their own organization's objects, and with the handler's 404 on a path naming an
    object they do not see: a refusal must not tell another organization's ids from unknown ones."""

    @_options_answered
    async def guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
        await requires_admin_client(connection, handler)
        identity = _identity(connection)
        if identity is None or identity.role not in roles:
            if identity is not None and await names_unseen_object(identity, connection.path_params):
                raise not_found()
            raise LanternError(ErrorCode.FORBIDDEN)

    return guard


requires_manager = requires_role(Role.OWNER, Role.ADMIN)
# Everyone but guests: an organization's people (their e-mail addresses) are not shown to its guests.
requires_team = requires_role(Role.OWNER, Role.ADMIN, Role.MEMBER)
requires_owner = requires_role(Role.OWNER)


async def provide_identity(request: ASGIConnection[Any, Any, Any, Any]) -> Identity:
    identity = _identity(request)
    if identity is None:
        raise LanternError(ErrorCode.UNAUTHORIZED)
    return identity
