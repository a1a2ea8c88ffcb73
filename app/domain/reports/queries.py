"""The triage list: filters, search and pagination over the reports a caller may see."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import msgspec
from sqlalchemy import ColumnElement, Select, Text, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.reports.models import STATUS_ALIASES, Report
from app.domain.reports.search import escape_like, search_condition


@dataclass(frozen=True, slots=True)
class ReportFilters:
    project_id: UUID | None = None
    status: str | None = None
    severity: str | None = None
    priority: str | None = None
    category: str | None = None
    assignee: UUID | None = None
    tag: str | None = None
    search: str | None = None
    created_since: datetime | None = None
    updated_since: datetime | None = None

    def conditions(self, dialect: str) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = []
        equal = {
            Report.project_id: self.project_id,
            Report.severity: self.severity,
            Report.priority: self.priority,
            Report.category: self.category,
            Report.assignee_id: self.assignee,
        }
        conditions.extend(column == value for column, value in equal.items() if value is not None)
        if self.status:
            conditions.append(func.lower(Report.status) == STATUS_ALIASES.get(self.status.lower(), self.status.lower()))
        if self.tag:
            conditions.append(_has_tag(self.tag))
        if self.search:
            conditions.append(search_condition(self.search, dialect))
        if self.created_since:
            conditions.append(Report.created_at >= self.created_since)
        if self.updated_since:
            conditions.append(Report.updated_at >= self.updated_since)
        return conditions


def _has_tag(tag: str) -> ColumnElement[bool]:
    """Tags are a JSON array; the tag as JSON encodes it ("ui") is found in the array's text on both
    databases."""
    quoted = msgspec.json.encode(tag).decode()
    return cast(Report.tags, Text).like(f"%{escape_like(quoted)}%", escape="\\")


@dataclass(frozen=True, slots=True)
class Page:
    items: list[Report]
    total: int


async def list_reports(
    session: AsyncSession,
    conditions: list[ColumnElement[bool]],
    *,
    page: int,
    page_size: int,
) -> Page:
    statement: Select[tuple[Report]] = select(Report).where(*conditions)
    total = await session.scalar(select(func.count(Report.id)).where(*conditions)) or 0
    rows = await session.scalars(
        statement.order_by(Report.created_at.desc(), Report.id.desc()).offset((page - 1) * page_size).limit(page_size),
    )
    return Page(items=list(rows), total=int(total))
