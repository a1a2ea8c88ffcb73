"""Server-side sessions in Redis, with the session id rotated at login.

Litestar keeps whatever session id the client's cookie names, so a planted id would survive login
(session fixation). `rotate_session()` marks the request; the backend then writes the session under a
fresh id and deletes the old one.
"""

from __future__ import annotations

import secrets
from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.middleware.session.server_side import ServerSideSessionBackend, ServerSideSessionConfig
from litestar.stores.redis import RedisStore
from litestar.types import Empty

from app.lib.asgi import PUBLIC_INGEST
from app.lib.redis import get_redis
from app.settings import get_settings

SESSION_COOKIE = "lantern_session"
_NEW_ID_KEY = "lantern_new_session_id"
_OLD_ID_KEY = "lantern_old_session_id"


class RotatingSessionBackend(ServerSideSessionBackend):
    def get_session_id(self, connection: ASGIConnection[Any, Any, Any, Any]) -> str:
        new_id: str | None = connection.scope["state"].get(_NEW_ID_KEY)
        return new_id or super().get_session_id(connection)

    async def store_in_message(self, scope_session: Any, message: Any, connection: Any) -> None:
        old_id = connection.scope["state"].pop(_OLD_ID_KEY, None)
        if old_id:
            await self.delete(old_id, store=self.config.get_store_from_app(connection.scope["app"]))
        if not scope_session and scope_session is not Empty:
            # Litestar would store an empty session and set a cookie on every anonymous response.
            if connection.cookies.get(self.config.key) in {None, "", "null"}:
                return
            scope_session = Empty
        await super().store_in_message(scope_session, message, connection)


class LanternSessionConfig(ServerSideSessionConfig):
    _backend_class = RotatingSessionBackend


def rotate_session(request: Request[Any, Any, Any]) -> None:
    """Give this request's session a new id; the old id stops working when the response is sent."""
    state = request.scope["state"]
    state[_OLD_ID_KEY] = request.cookies.get(SESSION_COOKIE)
    state[_NEW_ID_KEY] = secrets.token_hex(32)


def session_config() -> LanternSessionConfig:
    settings = get_settings()
    return LanternSessionConfig(
        key=SESSION_COOKIE,
        max_age=settings.session_max_age,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        store="sessions",
        renew_on_access=True,
        exclude_opt_key=PUBLIC_INGEST,
    )


def session_store() -> RedisStore:
    return RedisStore(get_redis(), namespace="lantern:session")
