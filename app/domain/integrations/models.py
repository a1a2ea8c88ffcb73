"""Integrations: a project connected to a GitHub repository, and the issues made from its reports."""

from __future__ import annotations

import enum
from uuid import UUID

from advanced_alchemy.base import UUIDv7AuditBase
from advanced_alchemy.types import GUID, JsonB
from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.lib.retries import PENDING, AttemptedColumns
from tenants.db import TenantOwned

GITHUB_API_URL = "https://api.github.com"


class GitHubConnection(TenantOwned, UUIDv7AuditBase):
    """Where a project's issues go: a repository on github.com or on a GitHub Enterprise server."""

    __tablename__ = "github_connection"

    project_id: Mapped[UUID] = mapped_column(GUID, ForeignKey("project.id", ondelete="CASCADE"), unique=True)
    repository: Mapped[str] = mapped_column(String(200))  # owner/name
    # github.com's API, or a GitHub Enterprise server's (https://github.example.com/api/v3).
    api_url: Mapped[str] = mapped_column(String(2048), default=GITHUB_API_URL)
    # A token that may create issues in the repository, sealed (app/lib/sealing.py); shown by its end only.
    token_sealed: Mapped[str] = mapped_column(Text)
    token_hint: Mapped[str] = mapped_column(String(16))
    labels: Mapped[list[str]] = mapped_column(JsonB, default=list)


class IssueStatus(enum.StrEnum):
    PENDING = PENDING  # asked for; the worker is creating it
    CREATED = "created"
    FAILED = "failed"


class GitHubIssue(AttemptedColumns, TenantOwned, UUIDv7AuditBase):
    """The issue made from a report: one per report, kept as a link once GitHub has made it."""

    __tablename__ = "github_issue"
    __table_args__ = (Index("ix_github_issue_status_next", "status", "next_attempt_at"),)

    report_id: Mapped[UUID] = mapped_column(GUID, ForeignKey("report.id", ondelete="CASCADE"), unique=True)
    repository: Mapped[str] = mapped_column(String(200))
    number: Mapped[int | None] = mapped_column(Integer, default=None)
    url: Mapped[str | None] = mapped_column(String(2048), default=None)

    @property
    def job_id(self) -> str:
        """The arq job id of the next attempt: queueing the same attempt twice runs it once."""
        return f"github-issue:{self.id}:{self.attempts}"
