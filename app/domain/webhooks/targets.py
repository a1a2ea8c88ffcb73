"""Where a webhook may point: not at the instance's own network, unless its operator allows it.

An organization's webhook makes the server send requests; pointed at a private address it would reach what
only the server can (a cloud metadata service, an internal admin page). URLs naming such a host are refused
when saved, and every delivery checks the addresses the host resolves to at that moment and connects to the
address it checked, so a name that later resolves somewhere private (DNS rebinding) is refused as well.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpcore

from app.lib.i18n import gettext as _

_LOCAL_NAMES = ("localhost", "localhost.localdomain")


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return ip.is_global and not ip.is_multicast


def url_problem(url: str, *, allow_private: bool) -> str | None:
    """Why `url` cannot be a webhook's target (localized), or None. A host name is resolved only when
    delivering: the answer may change, and this check must not wait on DNS."""
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 - raises for a port out of range
    except ValueError:
        return _("Enter an absolute http:// or https:// URL.")
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return _("Enter an absolute http:// or https:// URL.")
    if allow_private:
        return None
    host = parts.hostname.rstrip(".").lower()
    address = _numeric_address(host.split("%", 1)[0])  # without an IPv6 zone (`fe80::1%eth0`)
    if host in _LOCAL_NAMES or host.endswith(".localhost") or (address is not None and not is_public(address)):
        return _("Webhooks cannot point at private or local network addresses.")
    return None  # a public address, or a name: checked again when delivering


def _numeric_address(host: str) -> str | None:
    """The address a numeric host stands for, in every spelling a connection would accept (`127.1`,
    `2130706433`, `0x7f000001` are all 127.0.0.1); None for a name. Never asks DNS."""
    try:
        found = socket.getaddrinfo(host, None, flags=socket.AI_NUMERICHOST)
    except (socket.gaierror, UnicodeError):
        return None
    return str(found[0][4][0])


class PrivateTargetError(httpcore.ConnectError):
    """The target resolved to a private address, and the operator does not allow those."""


class PublicOnlyBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, connecting only to public addresses: it resolves the host itself and
    connects to the address it checked (TLS still verifies the certificate against the host name)."""

    def __init__(self) -> None:
        self._backend = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        with anyio.fail_after(timeout):
            resolved = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        addresses = [str(sockaddr[0]) for *_family, sockaddr in resolved]
        if not addresses or not all(is_public(address) for address in addresses):
            msg = f"{host} resolves to a private or local address"
            raise PrivateTargetError(msg)
        return await self._backend.connect_tcp(
            addresses[0], port, timeout=timeout, local_address=local_address, socket_options=socket_options
        )

    async def connect_unix_socket(self, *_args: Any, **_kwargs: Any) -> httpcore.AsyncNetworkStream:
        msg = "webhooks are sent over TCP only"
        raise httpcore.ConnectError(msg)

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)
