"""One delivery attempt: the signed POST, and what came of it.

Receivers verify a delivery by recomputing `X-Lantern-Signature`: HMAC-SHA256, keyed with the webhook's
secret, over the timestamp, a dot and the raw body. The timestamp is signed too, so a captured delivery
cannot be replayed later as a fresh one. Redirects are not followed: a webhook names its final address.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import time
from dataclasses import dataclass

import httpcore

from app.domain.webhooks.targets import PrivateTargetError, PublicOnlyBackend
from app.lib.i18n import gettext as _

USER_AGENT = "Lantern-Webhooks/1.0"
MAX_ERROR_LENGTH = 500


def signature(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class Failure(enum.StrEnum):
    """Why an attempt got no answer; stored with the delivery, shown localized (see `failure_message`)."""

    TIMEOUT = "timeout"
    PRIVATE_ADDRESS = "private_address"
    UNREACHABLE = "unreachable"
    WEBHOOK_OFF = "webhook_off"  # not sent at all: the webhook was turned off while the delivery waited


@dataclass(frozen=True, slots=True)
class Attempt:
    """The target's answer (its status) or, when there was none, why (and the network's own words)."""

    status: int | None
    failure: Failure | None = None
    detail: str = ""

    @property
    def error(self) -> str | None:
        if self.failure is None:
            return None
        return f"{self.failure}: {self.detail}"[:MAX_ERROR_LENGTH] if self.detail else self.failure.value

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300  # noqa: PLR2004 - the 2xx range


@dataclass(frozen=True, slots=True)
class Message:
    url: str
    event: str
    delivery_id: str
    body: bytes


async def send(message: Message, secret: str, *, time_limit: float, allow_private: bool) -> Attempt:
    timestamp = int(time.time())
    headers = [
        ("Content-Type", "application/json"),
        ("User-Agent", USER_AGENT),
        ("X-Lantern-Event", message.event),
        ("X-Lantern-Delivery", message.delivery_id),
        ("X-Lantern-Timestamp", str(timestamp)),
        ("X-Lantern-Signature", signature(secret, timestamp, message.body)),
    ]
    backend = None if allow_private else PublicOnlyBackend()
    try:
        async with (
            httpcore.AsyncConnectionPool(network_backend=backend) as pool,
            pool.stream(
                "POST",
                message.url,
                headers=headers,
                content=message.body,
                extensions={"timeout": dict.fromkeys(("connect", "read", "write", "pool"), time_limit)},
            ) as response,
        ):
            # The answer's body is not read: only its status matters, and a target could send gigabytes.
            return Attempt(response.status)
    except (httpcore.TimeoutException, TimeoutError):
        return Attempt(None, Failure.TIMEOUT)
    except PrivateTargetError as error:
        return Attempt(None, Failure.PRIVATE_ADDRESS, str(error))
    # Whatever else the target's address or answer provokes (a malformed answer, an address the resolver
    # refuses) is an unreachable target too: an attempt always ends with an outcome to record.
    except (httpcore.NetworkError, httpcore.ProtocolError, httpcore.UnsupportedProtocol, OSError, ValueError) as error:
        return Attempt(None, Failure.UNREACHABLE, str(error) or type(error).__name__)


def failure_message(error: str) -> str:
    """A stored attempt error in the reader's language, with the network's own detail after it."""
    code, _sep, detail = error.partition(": ")
    messages = {
        Failure.TIMEOUT: _("The target did not answer in time."),
        Failure.PRIVATE_ADDRESS: _("The target resolves to a private or local network address."),
        Failure.UNREACHABLE: _("The target could not be reached."),
        Failure.WEBHOOK_OFF: _("Not sent: the webhook was turned off first."),
    }
    message = messages.get(Failure(code)) if code in set(Failure) else None
    if message is None:
        return error
    return f"{message} ({detail})" if detail else message
