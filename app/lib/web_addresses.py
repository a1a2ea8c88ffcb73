"""Web addresses (http:// and https:// URLs) as browsers and HTTP clients read them: one rule for whether a URL
can be read at all, for every field that takes one (a project's site, a link attached to a report, a webhook's
target, GitHub's API address; `outbound.url_problem` adds which networks Lantern may call), and Lantern's own
addresses as the API links them (`public_address`)."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import SplitResult, urlsplit

from app.lib.errors import ErrorCode, FieldError, LanternError
from app.lib.i18n import gettext as _
from app.lib.patterns import ORIGIN
from app.settings import get_settings

# An IPv6 host as RFC 3986 writes it, in brackets, maybe with a port after it; then RFC 6874's zone (`%25eth0`):
# `%25`, the escaped percent sign, then unreserved or escaped characters.
_BRACKETED_HOST = re.compile(r"\[(?P<literal>[^\]]*)\](?::[0-9]*)?")
_ZONE = re.compile(r"25(?:[A-Za-z0-9._~-]|%[0-9A-Fa-f]{2})+")


def web_address(url: str) -> SplitResult | None:
    """`url` in its parts when it is an http:// or https:// address with a host; None for anything else, and for
    an address no browser or client reads: urlsplit raises for a broken IPv6 host (`http://[::1/x`,
    `http://[12345::]/`) or a port out of range, and takes what RFC 3986 does not (a zone not written `%25…`,
    `http://[fe80::1%zz]/`; brackets within a host, `http://a[::1]/`)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises for a port out of range
    except ValueError:
        return None
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return None
    host = parts.netloc.rpartition("@")[2]
    if ("[" in host or "]" in host) and not _ip_literal(host):
        return None
    return parts


def check_web_address(url: str | None, field: str) -> None:
    """A 400 naming `field` for a `url` that is no web address (see `web_address`), as a webhook's is refused."""
    if url is not None and web_address(url) is None:
        message = _("Enter an absolute http:// or https:// URL.")
        raise LanternError(ErrorCode.VALIDATION_ERROR, details=[FieldError(field, message)])


def public_address(path: str) -> str:
    """Where a person or a client reaches `path` of Lantern (`/ui/…`, `/api/v1/…`, with its query): under
    LANTERN_PUBLIC_URL, for every whole address Lantern writes (the API's links, e-mails, webhooks' payloads,
    GitHub issues, exports, the widget's snippet). Clients follow the API's links as given (GitHub's are whole,
    and so `requests`' `response.links` and Octokit's paginators take them), and a link made from a request's
    `Host` would name whatever host a client or a cache-poisoning attacker sent."""
    return f"{get_settings().public_url}{path}"


def _ip_literal(host: str) -> bool:
    """Whether `host` (with its port, if any) is an IPv6 address in brackets, maybe with its zone."""
    bracketed = _BRACKETED_HOST.fullmatch(host)
    if bracketed is None:
        return False
    address, percent, zone = bracketed["literal"].partition("%")
    try:
        ipaddress.IPv6Address(address)
    except ValueError:
        return False
    return not percent or _ZONE.fullmatch(zone) is not None


def origin_with_more(entry: object) -> str | None:
    """Why an allowed origin that is a page's address (a site, then a path or a query) is not one, naming what to
    take away; None for anything else, which the pattern's own words refuse ("Must be a site, such as …")."""
    if not isinstance(entry, str):
        return None
    try:
        parts = urlsplit(entry if "://" in entry else f"//{entry}")
    except ValueError:
        return None
    site = f"{parts.scheme}://{parts.netloc}" if parts.scheme else parts.netloc
    if not re.fullmatch(ORIGIN, site):
        return None
    if parts.query:
        return _("Must be a site without a query, such as %(site)s.", site=site)
    if parts.path.strip("/"):
        return _("Must be a site without a path, such as %(site)s.", site=site)
    return None
