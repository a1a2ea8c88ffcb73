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
from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.middleware.session.server_side import ServerSideSessionBackend, ServerSideSessionConfig
from litestar.stores.redis import RedisStore
from litestar.types import Empty
from litestar.utils.dataclass import extract_dataclass_items

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
        store = self.config.get_store_from_app(connection.scope["app"])
        old_id = connection.scope["state"].pop(_OLD_ID_KEY, None)
        if old_id:
            await self.delete(old_id, store=store)
        if scope_session and scope_session is not Empty:
            await super().store_in_message(scope_session, message, connection)
            return
        # Litestar would store an empty session and set a cookie on every anonymous response.
        if connection.cookies.get(self.config.key) in {None, "", "null"}:
            return
        # Ended (logout) or emptied: Litestar's own null cookie keeps the session's Max-Age, which browsers
        # obey over its past Expires, so they kept it for two weeks; this one is deleted at once.
        await self.delete(self.get_session_id(connection), store=store)
        params = dict(extract_dataclass_items(self.config, exclude_none=True, include=Cookie.__dict__.keys()))
        cookie = Cookie(key=self.config.key, value="", **{**params, "max_age": 0, "expires": 0})
        MutableScopeHeaders.from_message(message).add("Set-Cookie", cookie.to_header(header=""))


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


def browser_cookie(key: str, value: str, max_age: int) -> Cookie:
    """A cookie the server keeps in the browser for itself (no script reads it), sent on same-site navigation,
    secure as configured: the login's device cookie, the language chosen."""
    return Cookie(
        key=key, value=value, max_age=max_age, httponly=True, samesite="lax", secure=get_settings().cookie_secure
    )
