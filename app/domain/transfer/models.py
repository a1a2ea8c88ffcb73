"""An organization's export asked for in the admin UI: its owner's own copy of everything it holds, written by the
worker to the archive the CLI writes, and kept in the storage for a while to download."""

from __future__ import annotations

import enum
from datetime import datetime
from uuid import UUID

from advanced_alchemy.base import UUIDv7AuditBase
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import BigInteger, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tenants.db import TenantOwned


class ExportStatus(enum.StrEnum):
    RUNNING = "running"  # waiting for the worker, or being written
    READY = "ready"  # in the storage, to download
    FAILED = "failed"


class OrganizationExport(TenantOwned, UUIDv7AuditBase):
    """The organization's latest export: one at a time, each new one in place of the one before (and its archive).
    Its `updated_at` is its last sign of life while it runs (the worker tells its progress every few seconds)."""

    __tablename__ = "organization_export"
    __table_args__ = (UniqueConstraint("organization_id"),)

    requested_by_id: Mapped[UUID | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(20), default=ExportStatus.RUNNING)
    started_at: Mapped[datetime | None] = mapped_column(DateTimeUTC, default=None)  # by the worker
    step: Mapped[int] = mapped_column(Integer, default=0)  # kinds of record written (`exporting.PROGRESS_STEPS`)
    records: Mapped[int] = mapped_column(Integer, default=0)  # records and files written so far
    key: Mapped[str | None] = mapped_column(String(200), default=None)  # the archive's, once stored
    size: Mapped[int | None] = mapped_column(BigInteger, default=None)
    finished_at: Mapped[datetime | None] = mapped_column(DateTimeUTC, default=None)
    error: Mapped[str | None] = mapped_column(String(500), default=None)  # why it failed (`ExportFailure`)

    @property
    def job_id(self) -> str:
        return f"organization-export:{self.id}"
