"""Projects (one site each), their public widget keys, and the people added to them."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from advanced_alchemy.base import UUIDv7AuditBase
from advanced_alchemy.types import DateTimeUTC, JsonB
from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tenants.db import TenantOwned

DEFAULT_RATE_LIMIT_PER_MINUTE = 10


class Project(TenantOwned, UUIDv7AuditBase):
    __tablename__ = "project"
    __table_args__ = (UniqueConstraint("organization_id", "tracking_prefix"),)

    name: Mapped[str] = mapped_column(String(200))
    site_url: Mapped[str | None] = mapped_column(String(2048), default=None)
    tracking_prefix: Mapped[str] = mapped_column(String(10))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_public: Mapped[bool] = mapped_column(Boolean, default=False)
    guests_see_guests: Mapped[bool] = mapped_column(Boolean, default=False)
    require_origin: Mapped[bool] = mapped_column(Boolean, default=False)
    allowed_origins: Mapped[list[str]] = mapped_column(JsonB, default=list)
    rate_limit_per_minute: Mapped[int] = mapped_column(Integer, default=DEFAULT_RATE_LIMIT_PER_MINUTE)
    widget_config: Mapped[dict[str, Any]] = mapped_column(JsonB, default=dict)
    # The highest number (BugHerd's `status_id`) given to a custom column, never given again; the default
    # columns' end at 5.
    last_column_status_id: Mapped[int] = mapped_column(Integer, default=5, server_default="5")


class ProjectPrefix(TenantOwned, UUIDv7AuditBase):
    """A tracking prefix a project has had, its current one included: the organization's for good, as Jira keeps a
    project's former keys. Tracking IDs live on outside Lantern (an integration's record, a GitHub issue, an
    e-mail, a bookmark), so `RLT-2` still names its report after a rename to RLX, and no other project ever gives
    an RLT-2 of its own; a deleted project's prefixes stay kept too (`project_id` NULL), leading nowhere."""

    __tablename__ = "project_prefix"
    __table_args__ = (UniqueConstraint("organization_id", "prefix"),)

    project_id: Mapped[UUID | None] = mapped_column(ForeignKey("project.id", ondelete="SET NULL"), index=True)
    prefix: Mapped[str] = mapped_column(String(10))


class ProjectKey(TenantOwned, UUIDv7AuditBase):
    """A widget key: a public identifier (it sits in every page of the site), so it is kept readable."""

    __tablename__ = "project_key"

    project_id: Mapped[UUID] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTimeUTC, default=None)


class ProjectMember(TenantOwned, UUIDv7AuditBase):
    """A member or guest added to a project; guests see only the projects they are added to."""

    __tablename__ = "project_member"
    __table_args__ = (UniqueConstraint("project_id", "user_id"),)

    project_id: Mapped[UUID] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[UUID] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
