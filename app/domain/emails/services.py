"""E-mails' rules: each recorded in the transaction that calls for it, then sent by the worker one attempt at a
time, claimed as webhook deliveries are (app/lib/retries.py), so a sweeper that queues an e-mail again while a slow
worker sends it never has it sent twice; a mail server out of reach is tried again later, as other outbound work is.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from uuid_utils.compat import uuid7

from app.domain.emails.models import EmailKind, MailColumns, MailStatus, OutgoingEmail
from app.lib import retries
from app.lib.mail import SMTP_EXCHANGE_SECONDS, Mail, send_mail
from app.lib.queue import enqueue_after_commit
from app.settings import get_settings

logger = structlog.get_logger()

# As webhook deliveries' (app/domain/webhooks/services.py): with the default 10 s, eight attempts span about 16
# hours, long enough to outlast a mail server's night of trouble.
MAX_ATTEMPTS = 8
# Sent and failed e-mails are kept this long (as finished webhook deliveries are).
RETENTION_DAYS = 30
# Why an e-mail was not sent, and will not be (its `error`).
NOTHING_TO_SEND = "nothing to send: what it told of is gone, done or no longer theirs"
NO_MAIL_SERVER = "not sent: SMTP_HOST is not set"


@dataclass(frozen=True, slots=True)
class MailJob:
    """The job that sends e-mails of a kind: its function, its argument naming the e-mail's row, and whether it runs
    in the row's organization (a password reset's, a person's own, has none)."""

    function: str
    argument: str = "email_id"
    of_tenant: bool = True

    def queue(self, session: AsyncSession, email: Any, defer_seconds: float = 0) -> None:
        """Queue the e-mail's next attempt once `session` commits."""
        arguments = {self.argument: str(email.id)}
        enqueue_after_commit(
            session, self.function, email.job_id, defer_seconds=defer_seconds, of_tenant=self.of_tenant, **arguments
        )


INVITATION_MAIL = MailJob("send_invitation_email")
NOTIFICATION_MAIL = MailJob("send_notification_email")
PASSWORD_RESET_MAIL = MailJob("send_password_reset_email", "reset_id", of_tenant=False)
EMAIL_JOBS = {EmailKind.INVITATION: INVITATION_MAIL, EmailKind.NOTIFICATION: NOTIFICATION_MAIL}


def new_email(kind: EmailKind, topic: str, arguments: dict[str, Any]) -> OutgoingEmail:
    """An e-mail of the tenant in context, due now, to store with the change that calls for it; its id is set, so
    its job is named before it is stored."""
    return OutgoingEmail(
        id=uuid7(),
        kind=kind.value,
        topic=topic,
        arguments=arguments,
        status=MailStatus.PENDING.value,
        attempts=0,
        next_attempt_at=datetime.now(UTC),
    )


def job_of(email: OutgoingEmail) -> MailJob:
    return EMAIL_JOBS[EmailKind(email.kind)]


async def record_email(session: AsyncSession, kind: EmailKind, topic: str, arguments: dict[str, Any]) -> OutgoingEmail:
    """Record an e-mail (`new_email`) in `session`'s transaction; its job is the caller's to queue
    (`MailJob.queue`), or else the sweeper's."""
    email = new_email(kind, topic, arguments)
    session.add(email)
    await session.flush()
    return email


async def queue_email(session: AsyncSession, email: OutgoingEmail, *, once: bool = False) -> None:
    """Record `email` in `session`'s transaction; the worker is asked to send it once that commits. With `once`,
    not while one of the same topic is still to be sent."""
    if once:
        waiting = select(OutgoingEmail.id).where(
            OutgoingEmail.topic == email.topic, OutgoingEmail.status == MailStatus.PENDING.value
        )
        if await session.scalar(waiting.limit(1)) is not None:
            return
    session.add(email)
    await session.flush()
    job_of(email).queue(session, email)


def outgoing(kind: EmailKind, email_id: Any) -> Select[tuple[OutgoingEmail]]:
    """The tenant's e-mail of this kind, as `attempt` claims it."""
    return select(OutgoingEmail).where(OutgoingEmail.id == email_id, OutgoingEmail.kind == kind.value)


# Writes an e-mail from its row, with what the row names as it is now; None when there is nothing to tell any more.
Composer = Callable[[AsyncSession, Any], Awaitable[Mail | None]]


async def attempt(session: AsyncSession, rows: Select[tuple[Any]], compose: Composer, job: MailJob) -> bool:
    """One attempt at the e-mail `rows` selects, if it is due and nobody else is sending it: written by `compose`
    from what its row names as it is now (None: nothing to tell any more), sent, and its outcome recorded; a mail
    server out of reach earns a retry by `job` later. No transaction stays open while the mail server is called.
    Returns whether it was sent."""
    # Held for as long as the mail server may take: held shorter, the sweeper queued it again mid-exchange and a
    # second worker sent it too.
    claimed = await retries.claim(session, rows, SMTP_EXCHANGE_SECONDS)
    if claimed is None:
        return False
    email = claimed[0]
    mail = await compose(session, email)
    await session.commit()  # what `compose` read
    failure: tuple[str, dict[str, object]] | None = None
    if mail is None:
        _give_up(email, NOTHING_TO_SEND)
    else:
        try:
            sent = await send_mail(mail)
        except OSError as error:  # smtplib's errors are OSErrors too
            failure = _failed(session, email, repr(error), job)
        else:
            if sent:
                _sent(email)
            else:
                _give_up(email, NO_MAIL_SERVER)
    email_id = email.id  # read now: a failed commit leaves nothing loaded
    if not await retries.recorded(session):
        logger.info("e-mail dropped: what it told of was deleted while it was sent", email_id=str(email_id))
        return False
    if failure is not None:  # an operator reads why in the log too
        event, details = failure
        logger.warning(event, email_id=str(email_id), attempts=email.attempts, error=email.error, **details)
    return bool(email.status == MailStatus.SENT.value)


def _sent(email: MailColumns) -> None:
    email.status, email.sent_at = MailStatus.SENT.value, datetime.now(UTC)
    email.error, email.next_attempt_at = None, None


def _give_up(email: MailColumns, error: str) -> None:
    email.status, email.error, email.next_attempt_at = MailStatus.FAILED.value, error, None


def _failed(session: AsyncSession, email: Any, error: str, job: MailJob) -> tuple[str, dict[str, object]]:
    """A mail server out of reach, or refusing the message for now: tried again later, waits growing as other
    outbound work's do, until MAX_ATTEMPTS. Returns what the log is to say, its event and details."""
    error = error[:500]
    if email.attempts >= MAX_ATTEMPTS:
        _give_up(email, error)
        return "mail failed for good", {}
    delay = retries.retry_delay(email.attempts, get_settings().outbound_retry_seconds)
    email.error, email.next_attempt_at = error, datetime.now(UTC) + timedelta(seconds=delay)
    job.queue(session, email, delay)
    return "mail not sent, trying again later", {"retry_in_seconds": round(delay, 1)}


async def forget_old_emails(session: AsyncSession) -> int:
    """Sent and failed e-mails go after the retention."""
    cutoff = datetime.now(UTC) - timedelta(days=RETENTION_DAYS)
    return await retries.forget_finished(session, OutgoingEmail, OutgoingEmail.created_at < cutoff)
