"""Organization API tokens: secrets for programmatic admin access, stored only as hashes."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from advanced_alchemy.base import UUIDv7AuditBase
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from tenants.db import TenantOwned


class ApiToken(TenantOwned, UUIDv7AuditBase):
    __tablename__ = "api_token"

    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hint: Mapped[str] = mapped_column(String(16))
    created_by_id: Mapped[UUID | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTimeUTC, default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTimeUTC, default=None)
