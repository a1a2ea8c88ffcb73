"""The language a page was opened in with `?lang=` is the browser's for the pages after it.

`?lang=` is on the one address alone: a form on that page posts to its own address, and a refused form came
back in another language (the browser's or the organization's). A page opened with a language keeps it in the
browser, as the language switcher does; a person's own preference still comes first.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from app.lib.i18n import LANGUAGE_COOKIE, match_locale
from app.lib.sessions import browser_cookie

LANGUAGE_COOKIE_SECONDS = 365 * 24 * 3600


def language_cookie(locale: str) -> Cookie:
    """The cookie that keeps a chosen language in this browser (see `choose_locale`)."""
    return browser_cookie(LANGUAGE_COOKIE, locale, LANGUAGE_COOKIE_SECONDS)


class RememberedLanguageMiddleware(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        chosen = match_locale(_query_language(scope)) if scope.get("method") == "GET" else None
        if chosen is None:
            await next_app(scope, receive, send)
            return

        async def send_remembering(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableScopeHeaders.from_message(message).add(
                    "set-cookie", language_cookie(chosen).to_header(header="")
                )
            await send(message)

        await next_app(scope, receive, send_remembering)


def _query_language(scope: Scope) -> str:
    return parse_qs(scope["query_string"].decode("latin-1")).get("lang", [""])[-1]
