"""Outgoing e-mail over SMTP (optional: without SMTP_HOST, messages are logged instead of sent)."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

import structlog

from app.settings import get_settings

logger = structlog.get_logger()

# smtplib's timeout bounds each wait for the server, not the exchange: connecting, its greeting, EHLO, STARTTLS,
# EHLO again, a login's two steps, MAIL, RCPT, DATA and the message's end may each take it, and QUIT.
SMTP_TIMEOUT_SECONDS = 30
SMTP_EXCHANGE_SECONDS = SMTP_TIMEOUT_SECONDS * 12


@dataclass(frozen=True, slots=True)
class Mail:
    to: str
    subject: str
    body: str
    # Where the recipient turns such mail off (`List-Unsubscribe`), for mail they did not ask for one by one.
    unsubscribe: str | None = None


def _send(mail: Mail) -> None:
    settings = get_settings()
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = deliverable_address(mail.to)
    # A subject holds names and titles others wrote: a line break in one would make it no valid header.
    message["Subject"] = " ".join(mail.subject.split())
    # RFC 5322 asks for both; mail without them is read as spam more often. Auto-Submitted: no out-of-office
    # answers to a robot.
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=_sender_domain(settings.smtp_from))
    message["Auto-Submitted"] = "auto-generated"
    if mail.unsubscribe:
        message["List-Unsubscribe"] = f"<{mail.unsubscribe}>"
    message.set_content(mail.body)
    with smtplib.SMTP(settings.smtp_host or "", settings.smtp_port, timeout=SMTP_TIMEOUT_SECONDS) as smtp:
        if settings.smtp_starttls:
            # The server's certificate is checked, and for its name: without a context smtplib checked neither,
            # and whoever sat between the two read the SMTP login and every password reset link.
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password)
        smtp.send_message(message)


def deliverable_address(address: str) -> str:
    """`address` as every mail server takes it: addresses are kept with their domain in its letters
    (`bob@例え.jp`), which a server without SMTPUTF8 (most) refuses, and smtplib before asking it; the domain's
    IDNA form (`bob@xn--r8jz45g.jp`) is the same mailbox. A local part in other letters still needs SMTPUTF8."""
    local, at, domain = address.rpartition("@")
    try:
        return f"{local}{at}{domain.encode('idna').decode('ascii')}"
    except UnicodeError:  # no domain IDNA can write (too long a label): as it is, for the server to judge
        return address


def _sender_domain(sender: str) -> str:
    return parseaddr(sender)[1].rpartition("@")[2] or "localhost"


def mail_configured() -> bool:
    """Whether this server sends e-mail: without SMTP_HOST a page says so, rather than that a mail is on its way."""
    return bool(get_settings().smtp_host)


async def send_mail(mail: Mail) -> bool:
    """Send `mail`; False when SMTP is not configured (the message is logged, without its body)."""
    if not mail_configured():
        logger.info("mail not sent: SMTP_HOST is not set", to=mail.to, subject=mail.subject)
        return False
    await asyncio.to_thread(_send, mail)
    return True
