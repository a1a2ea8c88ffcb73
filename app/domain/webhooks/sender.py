"""One delivery attempt: the signed POST (see `app/lib/outbound.py` for where it may go).

Receivers verify a delivery by recomputing `X-Lantern-Signature`: HMAC-SHA256, keyed with the webhook's
secret, over the timestamp, a dot and the raw body. The timestamp is signed too, so a captured delivery
cannot be replayed later as a fresh one.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass

from app.lib import outbound
from app.lib.i18n import gettext as _

USER_AGENT = "Lantern-Webhooks/1.0"
# A delivery not sent at all: its webhook was turned off while it waited.
WEBHOOK_OFF = "webhook_off"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


@dataclass(frozen=True, slots=True)
class Message:
    url: str
    event: str
    delivery_id: str
    body: bytes


async def send(message: Message, secret: str) -> outbound.Answer:
    timestamp = int(time.time())
    headers = [
        ("Content-Type", "application/json"),
        ("User-Agent", USER_AGENT),
        ("X-Lantern-Event", message.event),
        ("X-Lantern-Delivery", message.delivery_id),
        ("X-Lantern-Timestamp", str(timestamp)),
        ("X-Lantern-Signature", signature(secret, timestamp, message.body)),
    ]
    return await outbound.post(message.url, headers, message.body)


def error_message(error: str) -> str:
    """A delivery's stored error in the reader's language."""
    if error == WEBHOOK_OFF:
        return _("Not sent: the webhook was turned off first.")
    return outbound.failure_message(error) or error
