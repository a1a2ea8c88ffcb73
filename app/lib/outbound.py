"""Requests Lantern sends out (webhook deliveries, integrations' API calls), never into its own network.

An organization's webhook or integration makes the server send requests; pointed at a private address it
would reach what only the server can (a cloud metadata service, an internal admin page). URLs naming such a
host are refused when saved, and every request checks the addresses its host resolves to at that moment and
connects to the address it checked, so a name that later resolves somewhere private (DNS rebinding) is
refused as well. The operator may allow private targets (`LANTERN_ALLOW_PRIVATE_TARGETS`), as an instance
whose GitHub Enterprise or receivers live on its own network must.

Redirects are not followed: a target names its final address.
"""

from __future__ import annotations

import asyncio
import base64
import email.utils
import enum
import ipaddress
import socket
import ssl
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import SplitResult, unquote, urlsplit, urlunsplit

import anyio
import httpcore
import structlog

from app.lib.i18n import gettext as _
from app.lib.web_addresses import web_address
from app.settings import get_settings

logger = structlog.get_logger()
MAX_ERROR_LENGTH = 500
_LOCAL_NAMES = ("localhost", "localhost.localdomain")


# IPv6 prefixes that carry an IPv4 address, which a NAT64 gateway or a 6to4 relay reaches for it: NAT64's
# well-known (64:ff9b::/96) and local-use (64:ff9b:1::/48) prefixes, and IPv4-compatible ::a.b.c.d.
_NAT64 = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
# Deprecated site-local addresses, which Python 3.11 still counts as global.
_SITE_LOCAL = ipaddress.IPv6Network("fec0::/10")


def is_public(address: str) -> bool:
    """Whether `address` is on the public internet, an IPv4 address inside an IPv6 one counted as itself."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _SITE_LOCAL:
            return False
        embedded = ip.ipv4_mapped or ip.sixtofour or _nat64_or_compatible(ip)
        if embedded is not None:
            return is_public(str(embedded))
    return ip.is_global and not ip.is_multicast


def _nat64_or_compatible(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if any(ip in network for network in (*_NAT64, _IPV4_COMPATIBLE)) and int(ip) > 1:  # not :: nor ::1
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def url_problem(url: str) -> str | None:
    """Why `url` cannot be called (localized), or None. A host name is resolved only when calling: the
    answer may change, and this check must not wait on DNS. Whitespace, control and invisible characters are
    no part of a URL (a line break in one would be a header of the request's own; a zero-width space in a host
    is another host than the one shown)."""
    parts = None if any(_unseen(character) for character in url) else web_address(url)
    if parts is None:  # a broken IPv6 host (`https://[::1/x`) among others
        return _("Enter an absolute http:// or https:// URL.")
    if get_settings().allow_private_targets:
        return None
    host = (parts.hostname or "").rstrip(".").lower()
    address = _numeric_address(host.split("%", 1)[0])  # without an IPv6 zone (`fe80::1%25eth0`)
    if host in _LOCAL_NAMES or host.endswith(".localhost") or (address is not None and not is_public(address)):
        return _("Lantern does not call private or local network addresses.")
    return None  # a public address, or a name: checked again when calling


def _unseen(character: str) -> bool:
    """A space of any script, or a control, format or unassigned character (Unicode categories Z and C)."""
    return character.isspace() or unicodedata.category(character)[0] in "ZC"


def _numeric_address(host: str) -> str | None:
    """The address a numeric host stands for, in every spelling a connection would accept (`127.1`,
    `2130706433`, `0x7f000001` are all 127.0.0.1); None for a name. Never asks DNS."""
    try:
        found = socket.getaddrinfo(host, None, flags=socket.AI_NUMERICHOST)
    except (socket.gaierror, UnicodeError):
        return None
    return str(found[0][4][0])


class NoPublicAddressError(httpcore.ConnectError):
    """The target's name has no public address, and the operator allows no other: it resolved to a private one,
    or to none at all (`resolver`: the resolver's words). Told apart, the two would let an organization on a
    shared instance learn which of the instance's internal names exist."""

    def __init__(self, host: str, addresses: Sequence[str], resolver: str = "") -> None:
        super().__init__(host)
        self.host, self.addresses, self.resolver = host, addresses, resolver


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
        try:
            with anyio.fail_after(timeout):
                resolved = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as error:
            raise NoPublicAddressError(host, [], str(error)) from error
        addresses = [str(sockaddr[0]) for *_family, sockaddr in resolved]
        if not addresses or not all(is_public(address) for address in addresses):
            raise NoPublicAddressError(host, addresses)
        return await self._backend.connect_tcp(
            addresses[0], port, timeout=timeout, local_address=local_address, socket_options=socket_options
        )

    async def connect_unix_socket(self, *_args: Any, **_kwargs: Any) -> httpcore.AsyncNetworkStream:
        msg = "outbound requests go over TCP only"
        raise httpcore.ConnectError(msg)

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


class Failure(enum.StrEnum):
    """Why a request got no answer; stored as an error code, shown localized (see `failure_message`). The
    network's own words ("[Errno -2] Name or service not known") go to the server's log only: they are the
    system's, in English whatever the reader's language, and may name the instance's own network."""

    TIMEOUT = "timeout"
    NO_PUBLIC_ADDRESS = "no_public_address"  # a name not found, or leading to a private network (see below)
    NAME_NOT_RESOLVED = "name_not_resolved"  # where private targets are allowed: then no name is kept from anyone
    CONNECTION_REFUSED = "connection_refused"
    CONNECTION_CLOSED = "connection_closed"  # reset, or closed before an answer
    TLS_FAILED = "tls_failed"  # no secure connection: a certificate not trusted, or no TLS at all
    UNREACHABLE = "unreachable"  # anything else


@dataclass(frozen=True, slots=True)
class Answer:
    """The target's answer (its status, and as much of its body as was asked for) or, when there was
    none, why."""

    status: int | None
    body: bytes = b""
    failure: Failure | None = None
    headers: Mapping[str, str] = field(default_factory=dict)  # names lower-cased

    @property
    def asked_wait(self) -> float | None:
        """The seconds the target asked to be left alone for (`Retry-After`, a number or a date), if it did."""
        value = self.headers.get("retry-after", "").strip()
        if value.isascii() and value.isdigit():  # "²" is a digit to `isdigit` and no number to `float`
            return float(value)
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max((when.replace(tzinfo=when.tzinfo or UTC) - datetime.now(UTC)).total_seconds(), 0.0)

    @property
    def error(self) -> str | None:
        return None if self.failure is None else self.failure.value

    @property
    def succeeded(self) -> bool:
        return self.status is not None and 200 <= self.status < 300  # noqa: PLR2004 - the 2xx range


# What the target's address or answer may provoke besides a timeout: the network's errors, httpcore's for an
# answer it cannot read, and an address the resolver refuses (ValueError).
_NO_ANSWER = (httpcore.NetworkError, httpcore.ProtocolError, httpcore.UnsupportedProtocol, OSError, ValueError)


def _signed_in(url: str, headers: Sequence[tuple[str, str]]) -> tuple[str, list[tuple[str, str]]]:
    """`url` without the user and password it may carry (`https://user:secret@host/hook`), and `headers` with the
    Basic authorization they stand for, as curl and browsers send them: httpcore sends none, and a receiver
    behind Basic authorization refused every delivery. Headers that authorize already (GitHub's token) win."""
    parts, user_info, host = _user_info(url)
    if user_info is None:
        return url, list(headers)
    url = urlunsplit(parts._replace(netloc=host))
    if any(name.lower() == "authorization" for name, _value in headers):
        return url, list(headers)
    user, _colon, password = user_info.partition(":")
    credentials = base64.b64encode(f"{unquote(user)}:{unquote(password)}".encode()).decode("ascii")
    return url, [*headers, ("Authorization", f"Basic {credentials}")]


def password_hidden(url: str) -> str:
    """`url` as a page lists it: a password it carries (`https://user:secret@host/hook`) shown as `•••`, so that
    it is not read over a shoulder (its form holds it as the API answers it: `password_masked`)."""
    return _password_replaced(url, ":•••")


# What the API answers for a webhook address's password, which it takes but never gives back (as GitHub shows a
# secret): a valid password itself, so that an address read and sent back whole stays one.
MASKED_PASSWORD = "********"  # noqa: S105 - the mask, not a password


def password_masked(url: str) -> str:
    """`url` as the API answers it: a password it carries (`https://user:secret@host/hook`) as `********`, its user
    kept (`https://user:********@host/hook`)."""
    return _password_replaced(url, f":{MASKED_PASSWORD}")


def has_masked_password(url: str) -> bool:
    """Whether `url`'s password is `********`: it stands for the password Lantern holds, not for one given."""
    _parts, user_info, _host = _user_info(url)
    return (user_info or "").partition(":")[2] == MASKED_PASSWORD


def carries_credentials(url: str) -> bool:
    """Whether `url` carries a user, with a password or without (`https://user:secret@host/`)."""
    return _user_info(url)[1] is not None


def credentials_removed(url: str) -> str:
    """`url` without the user and password it may carry (`https://host/`)."""
    parts, user_info, host = _user_info(url)
    return url if user_info is None else urlunsplit(parts._replace(netloc=host))


def password_removed(url: str) -> str:
    """`url` without a password it carries (`https://user@host/hook`): its user stays, to say whose password it
    takes."""
    return _password_replaced(url, "")


def _password_replaced(url: str, replacement: str) -> str:
    parts, user_info, host = _user_info(url)
    user, colon, _password = (user_info or "").partition(":")
    if not colon:
        return url
    return urlunsplit(parts._replace(netloc=f"{user}{replacement}@{host}"))


def _user_info(url: str) -> tuple[SplitResult, str | None, str]:
    """`url`'s parts, the user and password it carries (`user:secret`; None when it carries none), and its host
    with its port."""
    parts = urlsplit(url)
    user_info, at, host = parts.netloc.rpartition("@")
    return parts, user_info if at else None, host


async def post(url: str, headers: Sequence[tuple[str, str]], body: bytes, *, read_limit: int = 0) -> Answer:
    """POST `body`; read at most `read_limit` bytes of the answer (a target could send gigabytes). Never
    raises for what the network or the target does: every call ends with an answer to record."""
    url, headers = _signed_in(url, headers)
    settings = get_settings()
    backend = None if settings.allow_private_targets else PublicOnlyBackend()
    time_limit = settings.outbound_timeout_seconds
    try:
        # The whole exchange is bounded, not only each wait: a target that sends its answer a byte at a time
        # would otherwise hold one of the worker's job slots, shared by every organization, for as long as it
        # likes.
        async with (
            asyncio.timeout(time_limit),
            httpcore.AsyncConnectionPool(network_backend=backend) as pool,
            pool.stream(
                "POST",
                url,
                headers=headers,
                content=body,
                extensions={"timeout": dict.fromkeys(("connect", "read", "write", "pool"), time_limit)},
            ) as response,
        ):
            read = b""
            if read_limit:
                async for chunk in response.aiter_stream():
                    read += chunk
                    if len(read) >= read_limit:
                        break
            answered = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in response.headers}
            return Answer(response.status, read[:read_limit], headers=answered)
    except (httpcore.TimeoutException, TimeoutError):
        return Answer(None, failure=Failure.TIMEOUT)
    except NoPublicAddressError as error:
        # Only the server's log says what the name resolved to, if anything: the organization that saved it sees
        # the error too, and the addresses (or even which names resolve) map the instance's own network.
        logger.warning(
            "outbound request refused: no public address",
            host=error.host,
            addresses=error.addresses,
            detail=error.resolver,
        )
        return Answer(None, failure=Failure.NO_PUBLIC_ADDRESS)
    # Whatever else the target's address or answer provokes (a malformed answer, an address the resolver
    # refuses) is an unreachable target too; the network's own words are the operator's, in the log.
    except _NO_ANSWER as error:
        failure = _failure_of(error)
        words = dict.fromkeys(
            str(cause) or type(cause).__name__ for cause in _causes(error) if isinstance(cause, _NO_ANSWER)
        )
        logger.warning(
            "outbound request failed", host=urlsplit(url).hostname, failure=failure.value, detail="; ".join(words)
        )
        return Answer(None, failure=failure)


def _failure_of(error: BaseException) -> Failure:
    """What went wrong, from the error and those it came from (httpcore wraps the socket's own; anyio, the
    attempts at each of a name's addresses)."""
    for cause in _causes(error):
        if isinstance(cause, socket.gaierror):
            return Failure.NAME_NOT_RESOLVED
        if isinstance(cause, ssl.SSLError):  # a certificate not trusted (SSLCertVerificationError) too
            return Failure.TLS_FAILED
        if isinstance(cause, ConnectionRefusedError):
            return Failure.CONNECTION_REFUSED
        if isinstance(cause, ConnectionResetError | ConnectionAbortedError | BrokenPipeError):
            return Failure.CONNECTION_CLOSED
    # httpcore's words for a target that closed the connection without a word, the socket's own being none.
    if isinstance(error, httpcore.RemoteProtocolError) and "disconnected" in str(error):
        return Failure.CONNECTION_CLOSED
    return Failure.UNREACHABLE


def _causes(error: BaseException) -> Iterator[BaseException]:
    """`error`, what caused it, and so on (each of a group's errors too), each once."""
    seen: set[int] = set()
    waiting = [error]
    while waiting:
        cause = waiting.pop(0)
        if id(cause) in seen:
            continue
        seen.add(id(cause))
        yield cause
        if isinstance(cause, BaseExceptionGroup):
            waiting += cause.exceptions
        # httpcore and anyio raise theirs while handling the socket's (its `__context__`), some `from` it.
        waiting += [linked for linked in (cause.__cause__, cause.__context__) if linked is not None]


def coded_message(error: str, messages: Mapping[str, str]) -> str | None:
    """A stored error, `code` or `code: detail`, as the message of its code (in the reader's language) with
    the detail after it; None for a code not in `messages`."""
    code, _sep, detail = error.partition(": ")
    message = messages.get(code)
    if message is None:
        return None
    return f"{message} ({detail})" if detail else message


# Stored for a name leading to a private network, before a name not found was told the same (`NoPublicAddressError`).
_STORED_BEFORE_NO_PUBLIC_ADDRESS = "private_address"


def failure_message(error: str) -> str | None:
    """A stored `Failure` in the reader's language; None for another code. Errors stored before the network's
    own words went to the log alone (`unreachable: [Errno -2] …`) are shown without them too."""
    messages: dict[str, str] = {
        Failure.TIMEOUT: _("The target did not answer in time."),
        Failure.NO_PUBLIC_ADDRESS: _(
            "The target's host name could not be found, or it leads to a private network, which this server does "
            "not send to."
        ),
        Failure.NAME_NOT_RESOLVED: _("The target's host name could not be found (DNS)."),
        Failure.CONNECTION_REFUSED: _("The target refused the connection: nothing listens at that address and port."),
        Failure.CONNECTION_CLOSED: _("The target closed the connection before answering."),
        Failure.TLS_FAILED: _(
            "No secure connection could be made with the target: its certificate is not trusted, or it does not "
            "speak HTTPS."
        ),
        Failure.UNREACHABLE: _("The target could not be reached."),
    }
    messages[_STORED_BEFORE_NO_PUBLIC_ADDRESS] = messages[Failure.NO_PUBLIC_ADDRESS]
    return messages.get(error.partition(": ")[0])
