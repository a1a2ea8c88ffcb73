"""Reports: ingest (an append, numbered later by a worker), tracking numbers, triage, columns, comments."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import msgspec
from sqlalchemy import BigInteger, ColumnElement, String, Text, cast, func, literal, or_, select, update
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
# A numbering job's waits, in turn, for reports held back by an older transaction (about 1 s in all).
HELD_BACK_PAUSES = (0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.3)
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


def numbering_lock(project_id: UUID) -> int:
    """The advisory lock key of a project's numbering: the random half of its UUID, as a signed bigint."""
    return int.from_bytes(project_id.bytes[8:], "big", signed=True)


class TrackingService:
    """Per-project numbers `PREFIX-N`: gapless from 1, unique, in the order reports were stored.

    One batch numbers at a time per project, on any number of workers: on PostgreSQL each batch holds the
    project's numbering lock (an advisory lock), on SQLite the database's one write lock. The counter moves
    in the batch's own transaction, so numbers are never skipped or reused.

    Order on PostgreSQL: reports are numbered by the transaction that stored them (`stored_xid`), then by
    creation, and a batch takes only reports whose transaction id is below its snapshot's oldest running
    transaction, so no earlier report can still appear after it. Ingest takes no lock for this: its
    transactions never wait for numbering, nor numbering for them. SQLite ingest takes the write lock before
    it stamps its reports (`hold_for_append`), so creation order is commit order there.
    """

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @property
    def _postgres(self) -> bool:
        return self.session.get_bind().dialect.name == "postgresql"

    async def assign(self, project_id: UUID) -> list[tuple[UUID, str]]:
        """Number every stored report of the project; returns (report id, tracking id) pairs.

        On PostgreSQL a report committed while an older transaction still runs is held back until that one
        ends, and nothing may ask again then: reports stored before the first pass are waited for briefly.
        """
        assigned: list[tuple[UUID, str]] = []
        began: int | None = None
        pauses = iter(HELD_BACK_PAUSES)
        while True:
            # One transaction per pass: each statement costs a round trip, and a flood runs many passes.
            async with self.session.begin():
                await self._hold(project_id)
                if began is None and self._postgres:
                    began = await self._next_transaction_id()
                batch = await self._assign_batch(project_id)
                if batch is None:
                    break
                held_back = (
                    len(batch) < NUMBERING_BATCH and began is not None and await self._held_back(project_id, began)
                )
            assigned.extend(batch)
            if len(batch) == NUMBERING_BATCH:
                continue
            pause = next(pauses, None)
            if not held_back or pause is None:
                break
            await asyncio.sleep(pause)
        return assigned

    async def hold_for_append(self, project_id: UUID) -> None:
        """Ingest calls this before it stores reports, in the transaction that stores them.

        SQLite: take the write lock now, before the reports are stamped (created_at, id at flush), so no
        batch numbers a later report while this one is uncommitted. PostgreSQL needs nothing: see the class.
        """
        if not self._postgres:
            await self.session.execute(
                update(ProjectCounter)
                .where(ProjectCounter.project_id == project_id)
                .values(last_number=ProjectCounter.last_number),
            )

    async def _hold(self, project_id: UUID) -> None:
        """Take the project's numbering for this transaction: one batch at a time, on any number of workers."""
        if self._postgres:
            await self.session.execute(select(func.pg_advisory_xact_lock(numbering_lock(project_id))))
        else:
            await self.hold_for_append(project_id)

    async def _counter(self, project_id: UUID) -> tuple[int, str] | None:
        """The counter's last number and the project's prefix, if both exist."""
        counter = (
            await self.session.execute(
                select(ProjectCounter.last_number, Project.tracking_prefix)
                .join(Project, Project.id == ProjectCounter.project_id)
                .where(ProjectCounter.project_id == project_id),
            )
        ).first()
        return None if counter is None else (counter.last_number, counter.tracking_prefix)

    async def _first_counter(self, project_id: UUID) -> tuple[int, str] | None:
        """A new project's counter, made at its first numbering; None if the project is gone."""
        if await self.session.scalar(select(Project.id).where(Project.id == project_id)) is None:
            return None
        await self._add_counter(project_id)
        return await self._counter(project_id)

    async def _add_counter(self, project_id: UUID) -> None:
        with contextlib.suppress(IntegrityError):  # another transaction made it first
            async with self.session.begin_nested():
                self.session.add(ProjectCounter(project_id=project_id, last_number=0))

    def _numberable(self, project_id: UUID) -> list[ColumnElement[bool]]:
        conditions = [Report.project_id == project_id, Report.number.is_(None)]
        if self._postgres:
            # Every transaction below the snapshot's xmin has ended: nothing older can still be committed.
            horizon = cast(cast(func.pg_snapshot_xmin(func.pg_current_snapshot()), Text), BigInteger)
            conditions.append(Report.stored_xid < horizon)
        return conditions

    async def _assign_batch(self, project_id: UUID) -> list[tuple[UUID, str]] | None:
        """Number the next batch, holding the project's numbering; None if the project is gone."""
        counter = await self._counter(project_id) or await self._first_counter(project_id)
        if counter is None:
            return None  # the project was deleted after the job was queued
        last, prefix = counter
        order = (Report.stored_xid, Report.created_at, Report.id)
        pending = (
            select(Report.id, func.row_number().over(order_by=order).label("position"))
            .where(*self._numberable(project_id))
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

    async def _next_transaction_id(self) -> int:
        """The id the next transaction will get: every report stored so far has a lower one."""
        xmax = func.pg_snapshot_xmax(func.pg_current_snapshot())
        return int(await self.session.scalar(select(cast(cast(xmax, Text), BigInteger))) or 0)

    async def _held_back(self, project_id: UUID, before: int) -> bool:
        """Whether a report of the project stored before transaction `before` is still without a number."""
        pending = select(Report.id).where(
            Report.project_id == project_id,
            Report.number.is_(None),
            Report.stored_xid < before,
        )
        return bool(await self.session.scalar(select(pending.exists())))


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
