"""A real SMTP server on loopback (aiosmtpd, in a thread of its own) that keeps what it receives, and the
settings that make Lantern send its e-mail there."""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from tests.support.environment import environment
from tests.support.server import free_port

WAIT_SECONDS = 30.0


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.recipients: list[str] = []  # the envelopes' RCPT TO addresses, where a Bcc would show

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        self.recipients.extend(envelope.rcpt_tos)
        return "250 OK"

    async def wait_for(self, to: str) -> EmailMessage:
        """The first message to `to`, once it has arrived."""
        return (await self.wait_for_many(to, 1))[0]

    async def wait_for_many(self, to: str, count: int) -> list[EmailMessage]:
        """The first `count` messages to `to`, once they have arrived."""
        for _ in range(int(WAIT_SECONDS / 0.05)):
            received = [message for message in self.messages if message["To"] == to]
            if len(received) >= count:
                return received[:count]
            await asyncio.sleep(0.05)
        msg = f"fewer than {count} e-mails to {to} within {WAIT_SECONDS} s"
        raise AssertionError(msg)

    def to(self, address: str) -> list[EmailMessage]:
        return [message for message in self.messages if message["To"] == address]


def link_in(message: EmailMessage) -> str:
    """The path and query of the first link to this server in a message's text."""
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    match = re.search(r"https?://[^/\s]+(/\S*)", body.get_content())
    assert match is not None, body.get_content()
    return match.group(1)


@contextmanager
def receiving_mail(port: int | None = None, mailbox: Mailbox | None = None) -> Iterator[Mailbox]:
    """Lantern's e-mail (this process's, and workers started meanwhile) goes to a mailbox on loopback (on
    `port`, or a free one): `mailbox`, or a new one."""
    mailbox = mailbox or Mailbox()
    port = port or free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with environment(SMTP_HOST="127.0.0.1", SMTP_PORT=str(port), SMTP_STARTTLS="false", SMTP_USER=None):
            yield mailbox
    finally:
        controller.stop()
