"""People: a user is global; what they may see depends on their memberships."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from advanced_alchemy.base import UUIDv7AuditBase
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import Boolean, ForeignKey, String, true
from sqlalchemy.orm import Mapped, mapped_column


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


class PasswordReset(UUIDv7AuditBase):
    """A mailed link to choose a new password: its token is stored only as a hash and works once, briefly."""

    __tablename__ = "password_reset"

    user_id: Mapped[UUID] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(DateTimeUTC)
    used_at: Mapped[datetime | None] = mapped_column(DateTimeUTC, default=None)
