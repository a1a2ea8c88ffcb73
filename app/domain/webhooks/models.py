"""Webhooks: where an organization wants to hear of its reports' events, and every delivery made to them.

A delivery is written in the transaction that made its event (an outbox), so an event is never lost to a
crash between the change and the queue; the worker sends it, and retries it, from that row.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any
from uuid import UUID

from advanced_alchemy.base import UUIDv7AuditBase
from advanced_alchemy.types import GUID, DateTimeUTC, JsonB
from sqlalchemy import Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.lib.retries import PENDING, AttemptedColumns
from tenants.db import TenantOwned


class Event(enum.StrEnum):
    REPORT_CREATED = "report.created"
    REPORT_UPDATED = "report.updated"
    REPORT_DELETED = "report.deleted"
    COMMENT_CREATED = "comment.created"
    # Once per report, when the worker is done with the last of its screenshots (ready or failed).
    REPORT_SCREENSHOTS_PROCESSED = "report.screenshots_processed"
    # Sent on request only, to try a webhook's target; nobody subscribes to it.
    PING = "ping"


SUBSCRIBABLE = tuple(event for event in Event if event is not Event.PING)
# BugHerd's names for the same events: a BugHerd webhook body names one of these.
BUGHERD_EVENTS = {
    "task_create": Event.REPORT_CREATED,
    "task_update": Event.REPORT_UPDATED,
    "task_destroy": Event.REPORT_DELETED,
    "comment": Event.COMMENT_CREATED,
}


class DeliveryStatus(enum.StrEnum):
    PENDING = PENDING
    DELIVERED = "delivered"
    FAILED = "failed"


class DisabledReason(enum.StrEnum):
    GONE = "gone"  # the target answered 410 Gone: it asked not to be called again
    IMPORTED = "imported"  # it came with its organization's archive, whose receiver checks another secret


class Webhook(TenantOwned, UUIDv7AuditBase):
    __tablename__ = "webhook"

    url: Mapped[str] = mapped_column(String(2048))
    events: Mapped[list[str]] = mapped_column(JsonB, default=list)
    # None: every project of the organization.
    project_id: Mapped[UUID | None] = mapped_column(
        GUID, ForeignKey("project.id", ondelete="CASCADE"), default=None, index=True
    )
    # The HMAC key of the signatures: kept as is, since every delivery is signed with it.
    secret: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(20), default=None)


class WebhookDelivery(AttemptedColumns, TenantOwned, UUIDv7AuditBase):
    __tablename__ = "webhook_delivery"
    __table_args__ = (
        # The worker's and the sweeper's question: which pending deliveries are due.
        Index("ix_webhook_delivery_status_next", "status", "next_attempt_at"),
        Index("ix_webhook_delivery_webhook_created", "webhook_id", "created_at"),
    )

    webhook_id: Mapped[UUID] = mapped_column(GUID, ForeignKey("webhook.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(JsonB)
    response_status: Mapped[int | None] = mapped_column(Integer, default=None)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTimeUTC, default=None)

    @property
    def job_id(self) -> str:
        """The arq job id of the next attempt: queueing the same attempt twice runs it once."""
        return f"webhook-delivery:{self.id}:{self.attempts}"
