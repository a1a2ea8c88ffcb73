"""Who the client is: its IP address, believing `X-Forwarded-For` only from configured proxies.

A client could otherwise rotate `X-Forwarded-For` to get a fresh rate-limit bucket with every request. The
RFC 7239 `Forwarded` header is not read: the proxies Lantern runs behind (nginx, ingress-nginx, Traefik, HAProxy,
cloud load balancers) append to `X-Forwarded-For` and pass a client's own `Forwarded` on untouched, so in it the
client would name its address itself.
"""

from __future__ import annotations

import ipaddress
from functools import cache

from litestar.datastructures import Headers
from litestar.types import Scope

from app.settings import get_settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@cache
def _trusted(proxies: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(proxy, strict=False) for proxy in proxies)


def _is_trusted(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in _trusted(get_settings().trusted_proxies))


def _forwarded_chain(headers: Headers) -> list[str]:
    """Addresses the proxies recorded in `X-Forwarded-For`, nearest last."""
    return [part.strip() for part in headers.get("x-forwarded-for", "").split(",") if part.strip()]


def client_ip(scope: Scope) -> str:
    """The socket's address, or — when that is a trusted proxy — the nearest untrusted forwarded one."""
    client = scope.get("client")
    peer = client[0] if client else "unknown"
    if not _is_trusted(peer):
        return peer
    for address in reversed(_forwarded_chain(Headers.from_scope(scope))):
        if not _is_trusted(address):
            return address
    return peer
