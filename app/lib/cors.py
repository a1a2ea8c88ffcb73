"""CORS for the public endpoints, by project: a widget may post only from its project's allowed origins.

Litestar's CORSConfig is one static app-wide list, so this middleware decides per request from the
project of the widget key. An allowed `example.com` also admits its subdomains (`app.example.com`), never
`notexample.com`; an empty list admits any origin. Lantern's own "Try the widget" page is admitted with its pass
(see `try_pass`). The admin API gets no CORS headers at all (same origin only); the widget's configuration and
script are readable from anywhere.
"""

from __future__ import annotations

from functools import cache, lru_cache
from typing import Annotated, Any
from urllib.parse import urlsplit
from uuid import UUID

from litestar import Request, Response
from litestar.middleware import ASGIMiddleware
from litestar.params import QueryParameter
from litestar.types import ASGIApp, Receive, Scope, Send
from publicsuffixlist import PublicSuffixList

from app.lib.asgi import with_response_headers
from app.lib.errors import ErrorCode, LanternError, answer_error
from app.lib.i18n import gettext as _
from app.lib.try_pass import TryPass, check_try_pass, pass_holder
from app.settings import get_settings
from tenants.identity import IDENTITY_KEY, Identity
from tenants.resolve import manages_organization

# Declared by the widget's routes for the document: the check below reads it from the query itself (for the
# submit routes, before their handler runs).
TryPassQuery = Annotated[
    str | None,
    QueryParameter(
        name="tryPass",
        description='The pass of Lantern\'s own "Try the widget" page (made by the admin UI for the manager who '
        "opened it, good for an hour): admits that page, on Lantern's own address, which the project's allowed "
        "origins do not list. Taken only from Lantern's address, and only while that manager still manages the "
        "organization.",
    ),
]

INGEST_PATHS = frozenset(
    {"/api/widget/submit", "/api/v1/widget/submit", "/api/v1/upload/screenshot", "/api/v1/reports"}
)
PUBLIC_PREFIXES = ("/api/widget/config/", "/api/v1/widget/config/", "/widget.js")
ALLOWED_HEADERS = "Content-Type, X-API-Key, Accept-Language, X-Request-ID"
EXPOSED_HEADERS = "X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, Retry-After, X-Request-ID"
PREFLIGHT_MAX_AGE = "600"
DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_allowed(origin: str, allowed: tuple[str, ...]) -> bool:
    """Whether `origin` (scheme://host[:port]) matches an entry: a host (with its subdomains) or an origin. An
    origin no browser sends (a port past 65535, a broken IPv6 address) matches none."""
    if not allowed:
        return True
    try:
        parts = urlsplit(origin)
        host, port = (parts.hostname or "").lower(), parts.port
    except ValueError:
        return False
    return any(_matches(parts.scheme, host, port, entry) for entry in allowed)


def _matches(scheme: str, host: str, port: int | None, entry: str) -> bool:
    try:
        wanted = urlsplit(entry if "://" in entry else f"//{entry}")
        wanted_host, wanted_port = (wanted.hostname or "").lower(), wanted.port
    except ValueError:  # an entry saved before its port was checked
        return False
    if wanted.scheme:
        # An entry written as an origin means its port, the scheme's own when it names none, as an origin does
        # (browsers leave the default port out of `Origin`): `https://shop.example` is not `…:8443`.
        if wanted.scheme != scheme or _port(wanted.scheme, wanted_port) != _port(scheme, port):
            return False
    elif wanted_port is not None and wanted_port != port:  # a host alone names the site on any port
        return False
    if _public_suffix(wanted_host):  # an entry saved before they were refused admits no one
        return False
    return bool(wanted_host) and (host == wanted_host or host.endswith(f".{wanted_host}"))


async def origin_refusal(
    request: Request[Any, Any, Any], origin: str, allowed: tuple[str, ...], project_id: UUID, organization_id: UUID
) -> LanternError | None:
    """Why a page of `origin` may not use the project's widget; None when it may: the project allows the origin,
    or the page is Lantern's own "Try the widget" page, with the project's pass (its `tryPass` parameter), opened
    by someone who still manages the organization."""
    if origin_allowed(origin, allowed):
        return None
    if not _is_own(origin, request):
        return forbidden_origin()
    token = request.query_params.get("tryPass")
    verdict = check_try_pass(token, project_id)
    if verdict is TryPass.EXPIRED:
        return LanternError(
            ErrorCode.FORBIDDEN, _("This try page was opened more than an hour ago: reload it to send a report.")
        )
    if verdict is TryPass.VALID and token and await manages_organization(organization_id, pass_holder(token)):
        return None
    return forbidden_origin()


def _is_own(origin: str, request: Request[Any, Any, Any]) -> bool:
    """Whether `origin` is Lantern's: the address the request was sent to (the page and the API are one site),
    or LANTERN_PUBLIC_URL's, where a proxy passes another Host on. Scheme, host and port all count: a page of
    `http://` is not one of `https://`."""
    sent_from = _site(origin)
    return sent_from is not None and sent_from in {_site(str(request.base_url)), _site(get_settings().public_url)}


def _site(url: str) -> tuple[str, str, int] | None:
    """The scheme, host and port of `url`, its scheme's port when it names none; None for no web address
    ("null": a sandboxed frame's, a file's) or one no browser sends."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    site_port = _port(scheme, port)
    if site_port is None or not parts.hostname:  # no web address: none of Lantern's
        return None
    return scheme, parts.hostname.lower(), site_port


def _port(scheme: str, port: int | None) -> int | None:
    """The port, or its scheme's own when it names none; None for a scheme that is not the web's."""
    default = DEFAULT_PORTS.get(scheme)
    return None if default is None else port or default


def allowed_origin_refusal(entry: str) -> str | None:
    """Why an entry of a project's allowed origins cannot be saved; None when it can. With the subdomain rule,
    `com`, `co.uk` or `github.io` admitted every site under them (`https://evil.com`), which anyone can register.
    `null` is the origin of a sandboxed frame or a local file, which any site can make (and no entry matches it)."""
    try:
        host = (urlsplit(entry if "://" in entry else f"//{entry}").hostname or "").lower()
    except ValueError:
        return None  # the schema's pattern refuses it
    if host == "null":
        return _(
            "“null” is the origin of sandboxed frames and local files, which any site can make: it cannot be allowed."
        )
    if _public_suffix(host):
        return _(
            "“%(entry)s” is a public suffix, under which anyone can register a site: name your own site, such as "
            "example.com.",
            entry=entry,
        )
    return None


@cache
def _suffixes() -> PublicSuffixList:
    """The Public Suffix List bundled with the package (no download). A name it does not list (`localhost`, an
    intranet's `jira`) is not a public suffix: no one outside can register a site under it."""
    return PublicSuffixList(accept_unknown=False)


@lru_cache(maxsize=4096)
def _public_suffix(host: str) -> bool:
    return bool(host) and _suffixes().is_public(host.rstrip("."))


def forbidden_origin() -> LanternError:
    return LanternError(ErrorCode.FORBIDDEN, _("This origin is not allowed to use this project's widget."))


def origin_required() -> LanternError:
    """A project with `requireOrigin` refuses a submission whose client named no site (a script, not a page)."""
    return LanternError(
        ErrorCode.FORBIDDEN,
        _(
            "This project takes reports from pages of its allowed sites only, and this request named no site "
            "(no Origin header)."
        ),
    )


class ProjectCORSMiddleware(ASGIMiddleware):
    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        path: str = scope["path"]
        request: Request[Any, Any, Any] = Request(scope)
        origin = request.headers.get("origin")
        if path.startswith(PUBLIC_PREFIXES):
            readable_anywhere = {"Access-Control-Allow-Origin": "*"}
            if _is_preflight(request):  # a page that sends a header of its own (X-Request-ID, say) asks first
                await _answer_preflight(
                    scope, receive, send, {**readable_anywhere, "Access-Control-Allow-Methods": "GET, OPTIONS"}
                )
                return
            await next_app(scope, receive, with_response_headers(send, readable_anywhere))
            return
        if path not in INGEST_PATHS or not _posts(request):
            await next_app(scope, receive, send)
            return
        identity: Identity | None = scope["state"].get(IDENTITY_KEY)
        allowed = identity.widget.allowed_origins if identity and identity.widget else ()
        if _is_preflight(request):
            if origin is None or not origin_allowed(origin, allowed):
                raise forbidden_origin()
            # Without the key (sent only on the real request), the real request decides.
            await _answer_preflight(
                scope, receive, send, {**_origin_headers(origin), "Access-Control-Allow-Methods": "POST, OPTIONS"}
            )
            return
        if origin is None:
            if identity and identity.widget and identity.widget.require_origin:
                raise origin_required()
            await next_app(scope, receive, send)
            return
        readable_by_origin = with_response_headers(send, _origin_headers(origin))
        refusal = None
        if identity and identity.widget and identity.project_id:
            refusal = await origin_refusal(request, origin, allowed, identity.project_id, identity.organization_id)
        if refusal is not None:
            # The refusal itself is readable by the page (it tells nothing else), so a widget on a site the
            # project does not list can say why, not only that the server seemed unreachable.
            await answer_error(scope, receive, readable_by_origin, refusal)
            return
        await next_app(scope, receive, readable_by_origin)


def refusal_headers(request: Request[Any, Any, Any]) -> dict[str, str]:
    """The CORS headers of a widget submission refused before this middleware runs (its key or token is not
    valid): readable by the page that sent it, as a missing key's 401 and an origin's 403 are, so that its form
    can say why rather than meet a network error. The refusal tells nothing of any project."""
    origin = request.headers.get("origin")
    if origin is None or request.scope["path"] not in INGEST_PATHS or request.method != "POST":
        return {}
    return _origin_headers(origin)


def _posts(request: Request[Any, Any, Any]) -> bool:
    """A submission, or the preflight of one: `GET /api/v1/reports` is the admin API's triage list."""
    if _is_preflight(request):
        return request.headers["access-control-request-method"].upper() == "POST"
    return request.method == "POST"


def _is_preflight(request: Request[Any, Any, Any]) -> bool:
    return request.method == "OPTIONS" and "access-control-request-method" in request.headers


async def _answer_preflight(scope: Scope, receive: Receive, send: Send, headers: dict[str, str]) -> None:
    """A preflight's answer: `headers` (who may read, which methods), the headers a page may send, for how long.

    A page may send, besides Lantern's headers, any it asks for: a page that wrapped `fetch` to add its own to every
    request (`X-Requested-With`, a CSRF token) before the widget's script ran lost the widget, whose requests went
    through the wrapper and were refused. No answer allows credentials, so a header lets a page do nothing here
    it could not do without it."""
    asked = Request(scope).headers.get("access-control-request-headers", "").strip()
    answer = {
        **headers,
        "Access-Control-Allow-Headers": f"{ALLOWED_HEADERS}, {asked}" if asked else ALLOWED_HEADERS,
        "Access-Control-Max-Age": PREFLIGHT_MAX_AGE,
        "Vary": ", ".join(filter(None, (headers.get("Vary"), "Access-Control-Request-Headers"))),
    }
    response = Response(content=None, status_code=204, headers=answer)
    await response.to_asgi_response(app=None, request=Request(scope))(scope, receive, send)


def _origin_headers(origin: str) -> dict[str, str]:
    return {"Access-Control-Allow-Origin": origin, "Access-Control-Expose-Headers": EXPOSED_HEADERS, "Vary": "Origin"}
