"""People: a user is global; what they may see depends on their memberships."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from advanced_alchemy.base import UUIDv7AuditBase
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import Boolean, ForeignKey, Index, String, true
from sqlalchemy.orm import Mapped, mapped_column

from app.domain.emails.models import MailColumns


class User(UUIDv7AuditBase):
    __tablename__ = "user_account"

    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str | None] = mapped_column(String(255), default=None)
    locale: Mapped[str | None] = mapped_column(String(20), default=None)
    timezone: Mapped[str | None] = mapped_column(String(64), default=None)
    is_superuser: Mapped[bool] = mapped_column(Boolean, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # E-mail when a report is assigned to them or commented on while it is theirs (needs SMTP).
    email_notifications: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    last_login_at: Mapped[datetime | None] = mapped_column(DateTimeUTC, default=None)
    # Sessions that began before it end: a changed or reset password signs out every other browser.
    password_changed_at: Mapped[datetime | None] = mapped_column(DateTimeUTC, default=None)

    @property
    def password_set_at(self) -> datetime:
        """When the account's password became the one it has: changed or reset, else the account's making (an
        account made again with a deleted one's address is another account)."""
        return self.password_changed_at or self.created_at


class PasswordReset(MailColumns, UUIDv7AuditBase):
    """A mailed link to choose a new password: its token is stored only as a hash and works once, briefly.

    The row is its e-mail's record too (MailColumns, see app/domain/emails/models.py): a person's own, of no
    organization, as the row is."""

    __tablename__ = "password_reset"
    # The worker's and the sweeper's question: which pending e-mails are due.
    __table_args__ = (Index("ix_password_reset_status_next", "status", "next_attempt_at"),)

    user_id: Mapped[UUID] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(DateTimeUTC)
    used_at: Mapped[datetime | None] = mapped_column(DateTimeUTC, default=None)
    # The language it was asked in: its e-mail's, when the person has none of their own.
    locale: Mapped[str | None] = mapped_column(String(20), default=None)

    @property
    def job_id(self) -> str:
        """The arq job id of its e-mail's next attempt: queueing the same attempt twice runs it once."""
        return f"password-reset:{self.id}:{self.attempts}"
