"""Reports: ingest (an append, numbered later by a worker), tracking numbers, triage, columns, comments."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import msgspec
from sqlalchemy import ColumnElement, String, cast, func, literal, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.organizations.models import Role
from app.domain.projects.models import Project
from app.domain.reports.models import (
    DEFAULT_STATUS_IDS,
    FIRST_CUSTOM_STATUS_ID,
    STATUS_ALIASES,
    Comment,
    ProjectColumn,
    ProjectCounter,
    Report,
)
from app.domain.reports.schemas import ColumnCreate, ColumnUpdate, ReportUpdate
from app.lib.errors import ErrorCode, FieldError, LanternError, not_found
from app.lib.i18n import gettext as _
from tenants.identity import Identity
from tenants.service import TenantRepository, TenantService

TRACKING_ID = re.compile(r"^(?P<prefix>[A-Z]{2,10})-(?P<number>\d{1,9})$")
NUMBERING_BATCH = 500
MAX_LOG_BYTES = 512 * 1024
MAX_METADATA_BYTES = 64 * 1024


def check_sizes(*, logs: Sequence[Any], metadata: Any) -> None:
    """Logs and metadata are bounded, so one report cannot fill the database."""
    details = []
    if len(msgspec.json.encode(list(logs))) > MAX_LOG_BYTES:
        details.append(FieldError("logs", _("Logs may be at most %(size)s KB in total.", size=MAX_LOG_BYTES // 1024)))
    if len(msgspec.json.encode(metadata)) > MAX_METADATA_BYTES:
        details.append(
            FieldError("metadata", _("Metadata may be at most %(size)s KB.", size=MAX_METADATA_BYTES // 1024))
        )
    if details:
        raise LanternError(ErrorCode.PAYLOAD_TOO_LARGE, details=details)


class ReportService(TenantService[Report]):
    class Repo(TenantRepository[Report]):
        model_type = Report

    repository_type = Repo

    @property
    def dialect(self) -> str:
        """The database's dialect name: search takes an indexed path on PostgreSQL."""
        return self.session.get_bind().dialect.name

    async def by_reference(self, reference: str, guest: GuestView | None = None) -> Report:
        """A report by UUID or by tracking ID (`BSK-42`), within a guest's view when given."""
        conditions: list[ColumnElement[bool]] = []
        if match := TRACKING_ID.match(reference.strip().upper()):
            conditions.append(Report.tracking_id == f"{match['prefix']}-{int(match['number'])}")
        else:
            try:
                conditions.append(Report.id == UUID(reference))
            except ValueError:
                raise not_found() from None
        if guest is not None:
            conditions.append(guest.condition())
        report = await self.session.scalar(select(Report).where(*conditions))
        if report is None:
            raise not_found()
        return report

    async def apply(self, report: Report, changes: ReportUpdate, columns: ColumnService) -> Report:
        if changes.status is not msgspec.UNSET:
            report.status, report.status_id = await columns.resolve_status(report.project_id, changes.status)
        for name in ("severity", "priority", "category"):
            value = getattr(changes, name)
            if value is not msgspec.UNSET:
                setattr(report, name, value.value)
        for name in ("assignee_id", "external_id", "title", "description"):
            value = getattr(changes, name)
            if value is not msgspec.UNSET:
                setattr(report, name, value)
        if changes.tags is not msgspec.UNSET:
            report.tags = sorted(set(changes.tags))
        await self.session.flush()
        return report


def _numbering_lock(project_id: UUID) -> int:
    """The advisory lock key of a project's numbering: the random half of its UUID, as a signed bigint."""
    return int.from_bytes(project_id.bytes[8:], "big", signed=True)


class TrackingService:
    """Per-project numbers `PREFIX-N`: gapless from 1, unique, in the order reports were stored.

    The counter row is locked by updating it first (a row lock on PostgreSQL, the write lock on SQLite), so
    concurrent jobs, on any number of workers, number one batch at a time and never skip or reuse a number.
    """

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def assign(self, project_id: UUID) -> list[tuple[UUID, str]]:
        """Number every unnumbered report of the project; returns (report id, tracking id) pairs."""
        assigned: list[tuple[UUID, str]] = []
        while (batch := await self._assign_batch(project_id)) is not None:
            assigned.extend(batch)
            if len(batch) < NUMBERING_BATCH:
                break
        return assigned

    async def hold_for_append(self, project_id: UUID) -> None:
        """Ingest calls this before it stores reports, in the transaction that stores them.

        Numbers follow submission order only if no batch numbers a later report while an earlier one is
        still uncommitted. On PostgreSQL the ingest holds the project's numbering lock shared: ingests never
        wait for each other, a batch waits for the ingests in flight, and a report stored during a batch
        waits and is stamped (created_at, id: at flush) after it. It is an advisory lock, not a row lock,
        because PostgreSQL queues those fairly: under a steady stream of ingests a row lock's exclusive
        waiter can starve (measured: numbering jobs waiting 0.8 s at 64 connections). SQLite takes its one
        write lock here, also before the stamp; writers are serialized there anyway, so this costs nothing.
        """
        if self.session.get_bind().dialect.name == "sqlite":
            await self.session.execute(
                update(ProjectCounter)
                .where(ProjectCounter.project_id == project_id)
                .values(last_number=ProjectCounter.last_number),
            )
            return
        await self.session.execute(select(func.pg_advisory_xact_lock_shared(_numbering_lock(project_id))))

    async def _lock_counter(self, project_id: UUID) -> tuple[int, str] | None:
        """Lock the project's counter row (updating it); its last number and the project's prefix."""
        last = await self.session.scalar(
            update(ProjectCounter)
            .where(ProjectCounter.project_id == project_id)
            .values(last_number=ProjectCounter.last_number)
            .returning(ProjectCounter.last_number),
        )
        if last is None:
            return None
        prefix = await self.session.scalar(select(Project.tracking_prefix).where(Project.id == project_id))
        return None if prefix is None else (last, prefix)

    async def _first_counter(self, project_id: UUID) -> tuple[int, str] | None:
        """A new project's counter, made at its first numbering; None if the project is gone."""
        if await self.session.scalar(select(Project.id).where(Project.id == project_id)) is None:
            return None
        await self._add_counter(project_id)
        return await self._lock_counter(project_id)

    async def _add_counter(self, project_id: UUID) -> None:
        with contextlib.suppress(IntegrityError):  # another transaction made it first
            async with self.session.begin_nested():
                self.session.add(ProjectCounter(project_id=project_id, last_number=0))

    async def _assign_batch(self, project_id: UUID) -> list[tuple[UUID, str]] | None:
        """Number the next batch in one transaction; None if the project is gone."""
        async with self.session.begin():
            if self.session.get_bind().dialect.name != "sqlite":
                await self.session.execute(select(func.pg_advisory_xact_lock(_numbering_lock(project_id))))
            counter = await self._lock_counter(project_id) or await self._first_counter(project_id)
            if counter is None:
                return None  # the project was deleted after the job was queued
            last, prefix = counter
            order = (Report.created_at, Report.id)
            pending = (
                select(Report.id, func.row_number().over(order_by=order).label("position"))
                .where(Report.project_id == project_id, Report.number.is_(None))
                .order_by(*order)
                .limit(NUMBERING_BATCH)
                .subquery()
            )
            number = pending.c.position + last
            # One statement numbers the whole batch (no row is loaded): the worker keeps up with bursts.
            numbered = (
                await self.session.execute(
                    update(Report)
                    .where(Report.id == pending.c.id)
                    .values(
                        number=number,
                        tracking_id=literal(f"{prefix}-") + cast(number, String),
                        updated_at=datetime.now(UTC),
                    )
                    .returning(Report.id, Report.number, Report.tracking_id)
                    .execution_options(synchronize_session=False),
                )
            ).all()
            if not numbered:
                return []
            await self.session.execute(
                update(ProjectCounter)
                .where(ProjectCounter.project_id == project_id)
                .values(last_number=last + len(numbered)),
            )
            return [(row.id, row.tracking_id) for row in sorted(numbered, key=lambda row: row.number)]


class ColumnService(TenantService[ProjectColumn]):
    """The board: default columns (BugHerd's status ids) plus the project's custom columns."""

    class Repo(TenantRepository[ProjectColumn]):
        model_type = ProjectColumn

    repository_type = Repo

    async def custom(self, project_id: UUID) -> list[ProjectColumn]:
        return list(
            await self.get_many(
                ProjectColumn.project_id == project_id,
                order_by=[ProjectColumn.position.asc(), ProjectColumn.status_id.asc()],
            ),
        )

    async def resolve_status(self, project_id: UUID, name: str) -> tuple[str, int | None]:
        """(status, status id) for a column name; unknown names are a field error."""
        wanted = STATUS_ALIASES.get(name.strip().lower(), name.strip())
        if wanted.lower() in DEFAULT_STATUS_IDS:
            return wanted.lower(), DEFAULT_STATUS_IDS[wanted.lower()]
        for column in await self.custom(project_id):
            if column.name.lower() == wanted.lower():
                return column.name, column.status_id
        raise LanternError(
            ErrorCode.VALIDATION_ERROR,
            details=[FieldError("status", _("There is no column with this name in the project."))],
        )

    async def add(self, project_id: UUID, data: ColumnCreate) -> ProjectColumn:
        name = data.name.strip()
        if name.lower() in DEFAULT_STATUS_IDS or name.lower() in STATUS_ALIASES:
            raise _column_taken()
        existing = await self.custom(project_id)
        if any(column.name.lower() == name.lower() for column in existing):
            raise _column_taken()
        status_id = max([FIRST_CUSTOM_STATUS_ID - 1, *(c.status_id for c in existing)]) + 1
        position = data.position if data.position is not None else len(DEFAULT_STATUS_IDS) + len(existing)
        return await self.create(
            ProjectColumn(project_id=project_id, name=name, status_id=status_id, position=position)
        )

    async def change(self, project_id: UUID, column_id: UUID, data: ColumnUpdate) -> ProjectColumn:
        column = await self.get_one_or_none(ProjectColumn.id == column_id, ProjectColumn.project_id == project_id)
        if column is None:
            raise not_found()
        if data.name is not msgspec.UNSET and data.name.strip() != column.name:
            new_name = data.name.strip()
            if new_name.lower() in DEFAULT_STATUS_IDS or any(
                other.name.lower() == new_name.lower() for other in await self.custom(project_id)
            ):
                raise _column_taken()
            await self.session.execute(
                update(Report)
                .where(Report.project_id == project_id, Report.status_id == column.status_id)
                .values(status=new_name),
            )
            column.name = new_name
        if data.position is not msgspec.UNSET:
            column.position = data.position
        await self.session.flush()
        return column


def _column_taken() -> LanternError:
    message = _("A column with this name already exists in the project.")
    return LanternError(ErrorCode.CONFLICT, message, details=[FieldError("name", message)])


class CommentService(TenantService[Comment]):
    class Repo(TenantRepository[Comment]):
        model_type = Comment

    repository_type = Repo

    async def of(self, report_id: UUID) -> list[Comment]:
        return list(await self.get_many(Comment.report_id == report_id, order_by=[Comment.created_at.asc()]))


def unnumbered_before(cutoff_seconds: float) -> ColumnElement[bool]:
    """Reports still without a number `cutoff_seconds` after they were stored (the sweeper's work)."""
    cutoff = datetime.now(UTC) - timedelta(seconds=cutoff_seconds)
    return Report.number.is_(None) & (Report.created_at < cutoff)


@dataclass(frozen=True, slots=True)
class GuestView:
    """What a guest may see: the reports of the projects they were added to — all of them where the
    project lets guests see guests' reports, else only the ones they reported themselves."""

    all_reports: tuple[UUID, ...]
    own_reports: tuple[UUID, ...]
    email: str | None

    def condition(self) -> ColumnElement[bool]:
        own = Report.project_id.in_(self.own_reports) & (Report.reporter_email == self.email)
        return or_(Report.project_id.in_(self.all_reports), own)


def visibility(identity: Identity, guest: GuestView | None) -> list[ColumnElement[bool]]:
    """Conditions that keep a guest to their view; nothing for members, admins and owners."""
    if identity.role is not Role.GUEST:
        return []
    return [guest.condition()] if guest else [Report.id.is_(None)]
