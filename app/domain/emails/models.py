"""E-mail to send, written in the transaction of the change that calls for it (an outbox), so a mail is never lost
to a crash between the change and the queue, nor to a queue that loses its job (a Redis restart, an enqueue that
failed after the commit, a worker killed mid-job): the worker sends it from its row, and the sweeper queues the row
again when its job is lost, as it does webhook deliveries (app/lib/retries.py).

A row keeps what its mail is written from at send time (ids; a password reset, the language it was asked in), never
a link's secret: the worker makes that again from the row's id (app/lib/security.py `link_secret`).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from advanced_alchemy.base import UUIDv7AuditBase
from advanced_alchemy.types import DateTimeUTC, JsonB
from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.lib.retries import PENDING, AttemptedColumns
from tenants.db import TenantOwned


class MailStatus(enum.StrEnum):
    PENDING = PENDING
    SENT = "sent"
    FAILED = "failed"  # given up on, or with nothing left to send (its `error` says which)


class MailColumns(AttemptedColumns):
    """The columns of an e-mail to send: its status, attempts and next one's time, last error, and when it went."""

    sent_at: Mapped[datetime | None] = mapped_column(DateTimeUTC, default=None)


class EmailKind(enum.StrEnum):
    INVITATION = "invitation"
    NOTIFICATION = "notification"


class OutgoingEmail(MailColumns, TenantOwned, UUIDv7AuditBase):
    """An e-mail of an organization to send: an invitation into it, or a notice to a report's assignee."""

    __tablename__ = "outgoing_email"
    __table_args__ = (
        # The worker's and the sweeper's question: which pending e-mails are due.
        Index("ix_outgoing_email_status_next", "status", "next_attempt_at"),
        # One pending e-mail per topic (an assignment made twice in a row mails once).
        Index("ix_outgoing_email_topic_status", "topic", "status"),
    )

    kind: Mapped[str] = mapped_column(String(20))
    # What it tells of, as its job's id names it in the log: `invitation-mail:<invitation>`,
    # `notification:assigned:<report>:<recipient>`.
    topic: Mapped[str] = mapped_column(String(200))
    # What it is written from at send time: an invitation's id, a notice's ids.
    arguments: Mapped[dict[str, Any]] = mapped_column(JsonB)

    @property
    def job_id(self) -> str:
        """The arq job id of the next attempt: queueing the same attempt twice runs it once."""
        return f"{self.topic}:{self.id}:{self.attempts}"
