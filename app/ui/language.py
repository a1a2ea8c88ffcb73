"""The language a page was opened in with `?lang=`: that page's, its forms', and the pages they lead to.

`?lang=` is an explicit choice for one address; a person's saved preference is not changed by it. A form on the
page carries the page's language in a hidden `lang` field (`form_fields`), which is as explicit for what the form
posts as `?lang=` is: a refused form is shown again in it, and the page a form or the page itself leads to (a
redirect) is in it too, for a person whose saved language is another (Bob, German by preference, opened a report
with `?lang=en`, saved a change, and read the result in German).

A page opened with a language also keeps it in the browser, as the language switcher does: it is the language of
the pages after it for whoever has saved none (signed out, say: the login page's "Forgot your password?").
"""

from __future__ import annotations

from html import escape
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit

from litestar import Request
from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from app.lib.errors import LOCALE_STATE_KEY
from app.lib.i18n import LANGUAGE_COOKIE, match_locale, use_locale
from app.lib.sessions import browser_cookie
from tenants.identity import IDENTITY_KEY, Identity

LANGUAGE_COOKIE_SECONDS = 365 * 24 * 3600
LANGUAGE_FIELD = "lang"
# The scope state's language chosen for this page (`?lang=`, or its form's `lang` field).
_PAGE_LANGUAGE = "lantern_page_language"
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
_REDIRECTS = range(300, 400)


def language_cookie(locale: str) -> Cookie:
    """The cookie that keeps a chosen language in this browser (see `choose_locale`)."""
    return browser_cookie(LANGUAGE_COOKIE, locale, LANGUAGE_COOKIE_SECONDS)


def form_fields(request: Request[Any, Any, Any]) -> str:
    """The hidden field that carries the page's chosen language in its forms, if it has one."""
    chosen: str | None = request.scope["state"].get(_PAGE_LANGUAGE)
    return f'<input type="hidden" name="{LANGUAGE_FIELD}" value="{escape(chosen)}">' if chosen else ""


class PageLanguageMiddleware(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        from_address = match_locale(_query_language(scope))
        chosen = from_address or await _form_language(scope, receive)
        if chosen is None:
            await next_app(scope, receive, send)
            return
        scope["state"][_PAGE_LANGUAGE] = scope["state"][LOCALE_STATE_KEY] = chosen
        remember = from_address is not None and scope.get("method") == "GET"
        identity: Identity | None = scope["state"].get(IDENTITY_KEY)
        # Whoever has saved no language reads the next page in the one the browser keeps (the cookie): only a
        # saved other one needs it in the address.
        carried = identity is not None and match_locale(identity.user_locale or "") not in {None, chosen}

        async def send_in_language(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                if remember:
                    headers.add("set-cookie", language_cookie(chosen).to_header(header=""))
                if carried and message["status"] in _REDIRECTS and (location := headers.get("location")):
                    headers["location"] = _in_language(location, chosen)
            await send(message)

        with use_locale(chosen):  # a form's field is read here, after the request's language was chosen
            await next_app(scope, receive, send_in_language)


def _query_language(scope: Scope) -> str:
    return parse_qs(scope["query_string"].decode("latin-1")).get(LANGUAGE_FIELD, [""])[-1]


async def _form_language(scope: Scope, receive: Receive) -> str | None:
    """The language a posted form carries (`form_fields`); its body is read once, and kept for the handler."""
    request: Request[Any, Any, Any] = Request(scope, receive)
    if request.method != "POST" or not request.content_type[0].startswith(_FORM_TYPES):
        return None
    sent = (await request.form()).get(LANGUAGE_FIELD)
    return match_locale(sent) if isinstance(sent, str) else None


def _in_language(location: str, locale: str) -> str:
    """A redirect's `location` of this site, with the page's language unless it names one itself."""
    parts = urlsplit(location)
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return location
    query = parse_qsl(parts.query, keep_blank_values=True)
    if any(name == LANGUAGE_FIELD for name, _value in query):
        return location
    return parts._replace(query=urlencode([*query, (LANGUAGE_FIELD, locale)])).geturl()
