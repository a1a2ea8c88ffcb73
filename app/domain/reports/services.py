"""Reports: ingest (an append, numbered later by a worker), tracking numbers, triage, columns, comments."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, NamedTuple
from uuid import UUID

import msgspec
from sqlalchemy import (
    CTE,
    BigInteger,
    ColumnElement,
    Exists,
    Row,
    Select,
    String,
    Text,
    Update,
    bindparam,
    cast,
    false,
    func,
    insert,
    not_,
    select,
    true,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import ReturningUpdate
from sqlalchemy.sql.elements import BindParameter

from app.domain.accounts.models import User
from app.domain.accounts.services import normalize_email
from app.domain.notifications.services import NoticeKind, notify_assignee
from app.domain.organizations.models import Membership, Organization, Role
from app.domain.projects.models import Project
from app.domain.reports.audience import GuestView, guest_view, sees_report
from app.domain.reports.labels import STATUS_LABELS
from app.domain.reports.models import (
    CLOSED_STATUS,
    DEFAULT_COLUMN_ID_PREFIX,
    DEFAULT_COLUMNS,
    DEFAULT_STATUS_IDS,
    NEW_STATUS,
    STATUS_ALIASES,
    Attachment,
    Comment,
    DefaultColumn,
    ProjectColumn,
    ProjectCounter,
    Report,
    ReportChange,
    Screenshot,
    named_by_tracking_id,
)
from app.domain.reports.schemas import ColumnCreate, ColumnUpdate, NamedAuthor, ReportUpdate, Title, trimmed
from app.lib.conditional import Precondition
from app.lib.errors import ErrorCode, FieldError, LanternError, not_found, validation_error
from app.lib.i18n import SUPPORTED_LOCALES, use_locale
from app.lib.i18n import gettext as _
from app.lib.names import name_key, stored_name
from app.lib.paging import Paged, Window, page_of
from app.lib.queue import enqueue_after_commit
from tenants.context import require_tenant
from tenants.identity import CredentialKind, Identity
from tenants.service import TenantRepository, TenantService

NUMBERING_BATCH = 500
# A numbering job's waits, in turn, for reports held back by an older transaction (about 1 s in all).
HELD_BACK_PAUSES = (0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.3)
MAX_LOG_BYTES = 512 * 1024
MAX_METADATA_BYTES = 64 * 1024
MAX_ANNOTATION_BYTES = 256 * 1024  # the widget's pen strokes, a few thousand points
DELETE_FILES_JOB = "delete_stored_files"


def check_sizes(*, logs: Sequence[Any], metadata: Any, annotations: Any = None) -> None:
    """Logs, metadata and annotations are bounded, so one report cannot fill the database."""
    details = []
    if len(msgspec.json.encode(list(logs))) > MAX_LOG_BYTES:
        details.append(FieldError("logs", _("Logs may be at most %(size)s KB in total.", size=MAX_LOG_BYTES // 1024)))
    if len(msgspec.json.encode(metadata)) > MAX_METADATA_BYTES:
        details.append(
            FieldError("metadata", _("Metadata may be at most %(size)s KB.", size=MAX_METADATA_BYTES // 1024))
        )
    if len(msgspec.json.encode(annotations)) > MAX_ANNOTATION_BYTES:
        size = MAX_ANNOTATION_BYTES // 1024
        details.append(FieldError("annotations", _("Annotations may be at most %(size)s KB.", size=size)))
    if details:
        raise LanternError(ErrorCode.PAYLOAD_TOO_LARGE, details=details)


def trimmed_title(title: str) -> str:
    """A title without the spaces (and invisible characters) around it, still as long as a title must be:
    spaces alone are no title."""
    try:
        return msgspec.convert(trimmed(title), Title)
    except msgspec.ValidationError as error:
        raise validation_error(f"{error} - at `$.title`") from None


class ReportService(TenantService[Report]):
    class Repo(TenantRepository[Report]):
        model_type = Report

    repository_type = Repo

    @property
    def dialect(self) -> str:
        """The database's dialect name: search takes an indexed path on PostgreSQL."""
        return self.session.get_bind().dialect.name

    async def by_reference(self, reference: str, guest: GuestView | None = None) -> Report:
        """A report by UUID or by tracking ID (`BSK-42`, or an ID it had under a former prefix of its project),
        within a guest's view when given."""
        conditions: list[ColumnElement[bool]] = []
        if (named := named_by_tracking_id(reference)) is not None:
            conditions.append(named)
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

    async def names(self, report: Report, reference: str) -> bool:
        """Whether `reference` names `report` as `by_reference` reads it: its UUID in any case, or its tracking
        ID in any case, also under a former prefix."""
        if (named := named_by_tracking_id(reference)) is not None:
            return await self.session.scalar(select(Report.id).where(Report.id == report.id, named)) is not None
        try:
            return UUID(reference) == report.id
        except ValueError:
            return False

    async def chosen(self, ids: Sequence[str]) -> list[Report]:
        """The reports of these ids (the rows ticked on a list page), in the order they were stored (ids are
        UUIDv7). One that is not this organization's report is not found, as at its own address, and then none
        is returned."""
        try:
            wanted = {UUID(report_id) for report_id in ids}
        except ValueError:
            raise not_found() from None
        reports = list(await self.session.scalars(select(Report).where(Report.id.in_(wanted)).order_by(Report.id)))
        if len(reports) != len(wanted):
            raise not_found()
        return reports

    async def open_by_project(
        self, identity: Identity, guest: GuestView | None, project_ids: Collection[UUID]
    ) -> dict[UUID, int]:
        """How many reports of each of these projects are open (in any column but the closed one, BugHerd's
        archive), of those `identity` sees (a guest, those of `guest`); a project with none is left out. One grouped
        count, which the index on the organization, project and status answers."""
        rows = await self.session.execute(
            select(Report.project_id, func.count())
            .where(Report.project_id.in_(project_ids), Report.status != CLOSED_STATUS, *visibility(identity, guest))
            .group_by(Report.project_id)
        )
        return dict(rows.tuples().all())

    async def lock(self, report: Report, *, share: bool = False) -> None:
        """Hold the report's row until the transaction ends, read afresh: FOR UPDATE for a change made from what
        it is (two at once would both start from the same state), FOR SHARE while something is added to it (its
        deletion waits for that, or is seen). One deleted meanwhile is not found. The organization's row is held
        before it (see `hold_organization`). SQLite, whose writers take turns, takes no row lock."""
        await self.hold_organization()
        await self._hold_row(report, share=share)

    async def hold_organization(self) -> None:
        """Hold the organization's row until the transaction ends (FOR KEY SHARE, which changes to its other
        reports share; its deletion waits), before any other lock a change to a report takes; one deleted meanwhile
        is not found. What the change writes beside the report (its history, a comment, webhook deliveries) names
        the organization and so waits for its row: a change that held the report, then waited for the row, while
        the organization's deletion held the row, then waited to delete the report, waited for good (a deadlock,
        which PostgreSQL ends by failing one). Taken first, as departures take it (`MembershipService.held_if_any`),
        the second of the two waits for the first. Whatever else holds a row the deletion deletes, then writes a
        row naming the organization, takes it first too: a column's addition, rename or deletion (`ColumnService`),
        an attachment (`AttachmentService`), a numbering pass and a project's new prefix (`TrackingService`, within
        its numbering's statement: see `organization_held`)."""
        if await self.session.scalar(organization_held(self.organization_id)) is None:
            raise not_found()

    async def _hold_row(self, report: Report, *, share: bool) -> None:
        held = await self.session.scalar(
            select(Report)
            .where(Report.id == report.id)
            .with_for_update(read=share)
            .execution_options(populate_existing=True)
        )
        if held is None:
            raise not_found()

    async def remove(self, report: Report) -> None:
        """Delete the report; its stored files (screenshots, attachments, their thumbnails) are deleted by a job
        once the deletion commits."""
        keys = [key for model in (Screenshot, Attachment) for key in await self._stored_keys(model, report.id)]
        await self.delete(report.id)
        if keys:
            enqueue_after_commit(self.session, DELETE_FILES_JOB, f"files:report:{report.id}", keys=keys)

    async def _stored_keys(self, model: type[Screenshot | Attachment], report_id: UUID) -> list[str]:
        """The files of the report's images, held (FOR UPDATE) until the deletion commits: an image processed
        after they were read and before the rows were deleted put its clean copy and thumbnail in the upload's
        place, which nothing named any more. Its processing now waits, and finds its row gone."""
        rows = await self.session.execute(
            select(model.key, model.thumbnail_key).where(model.report_id == report_id).with_for_update()
        )
        return [key for row in rows for key in row if key]

    async def apply(
        self,
        report: Report,
        changes: ReportUpdate,
        columns: ColumnService,
        actor: Identity,
        precondition: Precondition[Report] | None = None,
    ) -> dict[str, list[Any]]:
        """`changes` made by `actor`, kept in the report's history; someone the report is newly assigned to
        hears of it (notifications). Returns what changed, as the history keeps it: nothing when the change is
        to what the report already is, which announces nothing to webhooks.

        The report is held and read afresh first (`hold`), so that each change is kept against the one it
        follows; `precondition` (a request's `If-Match`) is awaited then, and may refuse the change."""
        held = await self.hold(report, changes, columns)
        if precondition is not None:
            await precondition(report)
        before = _triage(report)
        assigned_before = report.assignee_id
        if held.column is not None:
            into_column(report, *held.column)
        _set_fields(report, changes)
        if held.assignee_id is not None:
            report.assignee_id = held.assignee_id
        if changed := _changed_fields(before, _triage(report)):
            self.session.add(ReportChange(report_id=report.id, changes=changed, **authorship(actor)))
        await self.session.flush()
        if report.assignee_id != assigned_before:
            await notify_assignee(self.session, report, NoticeKind.ASSIGNED, actor)
        return changed

    async def hold(self, report: Report, changes: ReportUpdate, columns: ColumnService) -> HeldChange:
        """The report locked for `changes` (FOR UPDATE) and read afresh, as `apply` holds it: a caller that
        decides on the change from what the report is holds it first. The organization's row, the assignee's
        membership, then the column it moves into, are held before it (locks are taken organization first, then
        membership, then column, then report, everywhere)."""
        await self.hold_organization()
        assignee_id = None
        if isinstance(changes.assignee_id, UUID):
            await self._check_assignee(report, changes.assignee_id)
        elif isinstance(changes.assignee_email, str):
            assignee_id = await self._assignee_at(report, changes.assignee_email)
        status = None
        if changes.status is not msgspec.UNSET:
            status = await columns.resolve_status(report.project_id, changes.status)
        if changes.status_id is not msgspec.UNSET:
            status = await columns.resolve_status_id(report.project_id, changes.status_id)
        await self._hold_row(report, share=False)
        return HeldChange(status, assignee_id)

    async def unassign(
        self, user_id: UUID, actor: Identity, still_seen: ColumnElement[bool] | None = None
    ) -> dict[UUID, MovedReports]:
        """Someone's reports back to nobody (they are leaving the organization: an assignee who is gone would
        be a link to no one), but those `still_seen`, each a change in its history by `actor`; by project, for
        webhooks to hear of each."""
        kept = [] if still_seen is None else [not_(func.coalesce(still_seen, false()))]
        await lock_in_id_order(self.session, Report.assignee_id == user_id, *kept)
        rows = await self.session.execute(
            update(Report)
            .where(Report.assignee_id == user_id, *kept)
            .values(assignee_id=None)
            .returning(Report.id, Report.project_id),
        )
        by_project: dict[UUID, list[UUID]] = {}
        for report_id, project_id in rows:
            by_project.setdefault(project_id, []).append(report_id)
        changes = {"assigneeId": [str(user_id), None]}
        return {
            project_id: await record_moves(self.session, report_ids, changes, actor)
            for project_id, report_ids in by_project.items()
        }

    async def unassign_unseen(self, user_id: UUID, actor: Identity) -> dict[UUID, MovedReports]:
        """The person's reports they see no more (a member made a guest, a guest taken off a project) back to
        nobody, as `unassign`: a report is assigned only to someone who sees it."""
        view = await guest_view(self.session, user_id)
        return {} if view is None else await self.unassign(user_id, actor, still_seen=view.condition())

    async def acting_for(self, actor: Identity, email: str | None) -> Identity:
        """An integration's change made for one of the organization's people (BugHerd's `updater_email`, for its
        audit log): theirs in the report's history, beside the token that made it, when they may make it
        themselves: the team, who see every report (triage is never a guest's). An address of anyone else (a
        guest, someone still invited, no one here), or sent by a person, who is the author themselves, changes
        nothing."""
        if not email or actor.kind is not CredentialKind.TOKEN:
            return actor
        person = await self.session.scalar(
            select(Membership.user_id)
            .join(User, User.id == Membership.user_id)
            .where(
                User.email == normalize_email(email),
                Membership.invitation_pending.is_(False),
                Membership.role != Role.GUEST.value,
            )
        )
        return replace(actor, user_id=person) if person else actor

    async def history(self, report_id: UUID) -> list[ReportChange]:
        """The report's triage changes, oldest first."""
        found = await self.session.scalars(
            select(ReportChange).where(ReportChange.report_id == report_id).order_by(ReportChange.id)
        )
        return list(found)

    async def history_page(self, report_id: UUID, window: Window) -> Paged[ReportChange]:
        """A page of the report's triage changes, oldest first (their ids grow with time)."""
        statement = select(ReportChange).where(ReportChange.report_id == report_id).order_by(ReportChange.id)
        return await page_of(self.session, statement, window)

    async def _assignee_at(self, report: Report, email: str) -> UUID:
        """The one of the organization's people `email` names, who must see the report (held as by
        `_check_assignee`); anyone else is unknown here, in the same words."""
        user_id = await self.session.scalar(
            select(Membership.user_id)
            .join(User, User.id == Membership.user_id)
            .where(User.email == normalize_email(email))
        )
        if user_id is None or not await sees_report(self.session, report, user_id, hold=True):
            message = _("No one who can see this report has this e-mail address.")
            raise LanternError(ErrorCode.VALIDATION_ERROR, details=[FieldError("assigneeEmail", message)])
        return user_id

    async def _check_assignee(self, report: Report, user_id: UUID) -> None:
        """Only someone who sees the report can be assigned it (see `sees_report`); anyone else, another
        organization's user included, is unknown here."""
        if not await sees_report(self.session, report, user_id, hold=True):
            message = _("No one who can see this report has this ID.")
            raise LanternError(ErrorCode.VALIDATION_ERROR, details=[FieldError("assigneeId", message)])


def organization_held(organization_id: UUID | BindParameter[UUID]) -> Select[tuple[UUID]]:
    """The organization's id, read holding its row until the transaction ends (FOR KEY SHARE): what
    `ReportService.hold_organization` runs, and a numbering pass within its first statement. Nothing is read once
    the organization is deleted."""
    return select(Organization.id).where(Organization.id == organization_id).with_for_update(read=True, key_share=True)


def into_column(report: Report, status: str, status_id: int | None) -> None:
    """The report in the column of `status` (its BugHerd `status_id` beside it); `closed_at` says since when it has
    been in the closed column, moved there now or before, and is NULL in any other."""
    if status != CLOSED_STATUS:
        report.closed_at = None
    elif report.status != CLOSED_STATUS:
        report.closed_at = datetime.now(UTC)
    report.status, report.status_id = status, status_id


def authorship(actor: Identity) -> dict[str, UUID | None]:
    """Who wrote a comment or made a change, as both keep it: a person (`author_id`), or an integration's
    organization API token (`author_token_id`), which acts for the organization and no person."""
    token_id = actor.credential_id if actor.kind is CredentialKind.TOKEN else None
    return {"author_id": actor.user_id, "author_token_id": token_id}


def _triage(report: Report) -> dict[str, Any]:
    """What a change may touch: the fields `apply` sets."""
    return {name: getattr(report, name) for name in _CHANGEABLE}


def _changed_fields(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """What the history keeps of a change (`ReportChange.changes`): each field changed, by the API's name, as
    [before, after] as JSON holds them; a column's number goes with its name, and a description's text is not
    copied."""
    changed: dict[str, list[Any]] = {}
    for name in _CHANGEABLE:
        if name == "status_id" or before[name] == after[name]:
            continue
        values = [None, None] if name == "description" else [before[name], after[name]]
        changed[_API_NAMES.get(name, name)] = [str(value) if isinstance(value, UUID) else value for value in values]
    return changed


def filed_fields(report: Report) -> dict[str, list[Any]]:
    """What the history keeps of a report the team filed: each field it was filed with, as `[null, value]`
    (a description as `[null, null]`, as for a change)."""
    after = _triage(report)
    return _changed_fields({name: None if value else value for name, value in after.items()}, after)


_API_NAMES = {"assignee_id": "assigneeId", "external_id": "externalId"}


_CHANGEABLE = (
    "status", "status_id", "severity", "priority", "category", "title", "assignee_id", "external_id", "description",
    "tags",
)  # fmt: skip


def _set_fields(report: Report, changes: ReportUpdate) -> None:
    """The changes that need no lookup: the labels, title, assignee (checked already), tags and texts."""
    for name in ("severity", "priority", "category"):
        value = getattr(changes, name)
        if value is not msgspec.UNSET:
            setattr(report, name, value.value)
    if changes.title is not msgspec.UNSET:
        report.title = trimmed_title(changes.title)
    for name in ("assignee_id", "external_id", "description"):
        value = getattr(changes, name)
        if value is not msgspec.UNSET:
            setattr(report, name, value)
    if changes.tags is not msgspec.UNSET:
        report.tags = changes.tags


@dataclass(frozen=True, slots=True)
class NumberedBatch:
    """One numbering pass: the (report id, tracking id) pairs in number order, and whether reports stored
    before the numbering began are still waiting for an older transaction (PostgreSQL)."""

    numbered: list[tuple[UUID, str]]
    held_back: bool

    @classmethod
    def of(cls, rows: Sequence[Row[Any]], *, held_back: bool) -> NumberedBatch:
        return cls([(row.id, row.tracking_id) for row in sorted(rows, key=lambda row: row.number)], held_back)


class HeldChange(NamedTuple):
    """What `ReportService.hold` found for a change: the column it moves the report into, as (status, status
    id), and the person its assignee's address names (an assignee by id is in the change already)."""

    column: tuple[str, int | None] | None
    assignee_id: UUID | None


class _Held(NamedTuple):
    """What a numbering pass's hold found: its organization (none once deleted), and when the numbering began."""

    found: bool
    began: int | None


# What to do with a batch of new numbers, in their transaction: (project id, [(report id, tracking id)]).
Numbered = Callable[[UUID, list[tuple[UUID, str]]], Awaitable[None]]


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

    async def assign(self, project_id: UUID, on_numbered: Numbered | None = None) -> list[tuple[UUID, str]]:
        """Number every stored report of the project; returns (report id, tracking id) pairs.

        `on_numbered(project_id, pairs)` runs in each batch's transaction, so what it writes commits with
        the numbers or not at all.

        On PostgreSQL a report committed while an older transaction still runs is held back until that one
        ends, and nothing may ask again then: reports stored before the first pass are waited for briefly.
        """
        assigned: list[tuple[UUID, str]] = []
        began: int | None = None
        pauses = iter(HELD_BACK_PAUSES)
        while True:
            # One transaction per pass: each statement costs a round trip, and a flood runs many passes.
            async with self.session.begin():
                held = await self._hold(project_id, began)
                began = held.began
                batch = await self._assign_batch(project_id, began) if held.found else None
                if batch is not None and batch.numbered and on_numbered is not None:
                    await on_numbered(project_id, batch.numbered)
            if batch is None:
                break
            assigned.extend(batch.numbered)
            if len(batch.numbered) == NUMBERING_BATCH:
                continue
            pause = next(pauses, None)
            if not batch.held_back or pause is None:
                break
            await asyncio.sleep(pause)
        return assigned

    async def rename(self, project_id: UUID, prefix: str) -> None:
        """The project's numbered reports carry `prefix`, its new one, in their tracking IDs (their numbers stay;
        the IDs they had still find them, see ProjectPrefix). Call it once the project's new prefix is written, in
        the same transaction. The project's numbering is held first: a batch numbering under the old prefix ends
        before, and its reports are renamed too; a later one waits, and reads the new prefix.

        Their `updatedAt` stays: the reports did not change, their project's prefix did, and a rename would
        otherwise float every report of the project to the top of "recently updated"."""
        await self.hold_numbering(project_id)
        numbered = (Report.project_id == project_id, Report.number.is_not(None))
        await lock_in_id_order(self.session, *numbered)
        await self.session.execute(
            update(Report)
            .where(*numbered)
            .values(tracking_id=prefix + "-" + cast(Report.number, String), updated_at=Report.updated_at)
            .execution_options(synchronize_session=False)
        )

    async def hold_numbering(self, project_id: UUID) -> None:
        """Take the project's numbering for this transaction, before its project's row: a numbering takes it
        before the row (a new project's counter refers to the row), so a change of the row's prefix, or the
        project's deletion, that took it after would wait for it while holding the row, and deadlock with that
        numbering. The organization's row is held before it (see `_hold`): one deleted meanwhile is not found."""
        if not (await self._hold(project_id, None)).found:
            raise not_found()

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

    async def _hold(self, project_id: UUID, began: int | None) -> _Held:
        """Take the organization's row, then the project's numbering, for this transaction: one batch at a time, on
        any number of workers.

        The organization's row is held as a change to a report holds it (`ReportService.hold_organization`), in
        the numbering's own statement on PostgreSQL (a pass is two statements): a batch holds its reports, then
        writes their webhook deliveries (a new project's counter too), which name the organization and so waited
        for its row, while the organization's deletion held the row and waited to delete those reports (a
        deadlock, which PostgreSQL ended by failing one). Now the second of the two waits for the first: a batch
        after the deletion finds no organization, and nothing to number. SQLite, whose writers take turns, takes
        no row lock.

        Returns whether the organization was found, and when the numbering began on PostgreSQL: the id the next
        transaction would have got at its first pass (every report stored before then has a lower one). None on
        SQLite.
        """
        if not self._postgres:
            await self.hold_for_append(project_id)
            return _Held(found=True, began=None)
        parameters = {"lock": numbering_lock(project_id), "organization": require_tenant()}
        locked = (await self.session.execute(_POSTGRES.hold, parameters)).one_or_none()
        if locked is None:
            return _Held(found=False, began=began)
        return _Held(found=True, began=began if began is not None else int(locked.next_transaction))

    async def _assign_batch(self, project_id: UUID, began: int | None) -> NumberedBatch | None:
        """Number the next batch, holding the project's numbering; None if the project is gone."""
        batch = await self._number(project_id, began)
        if batch is not None:
            return batch
        if await self.session.scalar(select(Project.id).where(Project.id == project_id)) is None:
            return None  # the project was deleted after the job was queued
        await self._add_counter(project_id)  # a new project's counter, made at its first numbering
        return await self._number(project_id, began)

    async def _add_counter(self, project_id: UUID) -> None:
        with contextlib.suppress(IntegrityError):  # another transaction made it first
            async with self.session.begin_nested():
                self.session.add(ProjectCounter(project_id=project_id, last_number=0))

    async def _number(self, project_id: UUID, began: int | None) -> NumberedBatch | None:
        """Give the next batch its numbers and move the counter; None if the project has no counter yet."""
        parameters = {"numbered_project": project_id, "numbering_began": began or 0, "numbered_at": datetime.now(UTC)}
        if self._postgres:
            rows = (await self.session.execute(_POSTGRES.number, parameters)).all()
            if not rows[0].has_counter:
                return None
            return NumberedBatch.of([row for row in rows if row.id is not None], held_back=rows[0].held_back)
        if not await self.session.scalar(_SQLITE.has_counter, parameters):
            return None
        # SQLite cannot change data inside a WITH: the numbers and the counter are two statements there.
        numbered = (await self.session.execute(_SQLITE.number, parameters)).all()
        if numbered:
            last = max(row.number for row in numbered)
            await self.session.execute(_SQLITE.move_counter, {**parameters, "last": last})
        return NumberedBatch.of(numbered, held_back=False)


# A numbering pass's statements are built once, with bound parameters: SQLAlchemy finds a statement's compiled
# form by the statement itself, where one built afresh for every pass was built and walked for its cache key
# each time (worker CPU per report under a flood: 0.296 -> 0.236 ms, medians of three alternating runs).
# Parameters: `numbered_project`, `numbering_began` and `numbered_at`, and `lock` (the hold) or `last`
# (SQLite's counter).
_PROJECT = bindparam("numbered_project", type_=Report.project_id.type)


@dataclass(frozen=True, slots=True)
class _Numbering:
    """The pieces both databases share: the counter, the next batch, and the update that numbers it."""

    counter: CTE
    pending: CTE
    update: ReturningUpdate[Any]

    @classmethod
    def build(cls, *, postgres: bool) -> _Numbering:
        counter = (
            select(ProjectCounter.last_number.label("last"), Project.tracking_prefix.label("prefix"))
            .join(Project, Project.id == ProjectCounter.project_id)
            .where(ProjectCounter.project_id == _PROJECT)
            .cte("counter")
        )
        order = (Report.stored_xid, Report.created_at, Report.id)
        pending = (
            select(Report.id, func.row_number().over(order_by=order).label("position"))
            .where(*_numberable(postgres=postgres))
            .order_by(*order)
            .limit(NUMBERING_BATCH)
            .cte("pending")
        )
        number = pending.c.position + select(counter.c.last).scalar_subquery()
        # No row is loaded: the whole batch is numbered by the database, so the worker keeps up with bursts.
        numbering = (
            update(Report)
            .where(Report.id == pending.c.id)
            .values(
                number=number,
                tracking_id=select(counter.c.prefix).scalar_subquery() + "-" + cast(number, String),
                updated_at=bindparam("numbered_at", type_=Report.updated_at.type),
            )
            .returning(Report.id, Report.number, Report.tracking_id)
        )
        return cls(counter, pending, numbering)

    def has_counter(self) -> Exists:
        return select(self.counter.c.last).exists()


def _numberable(*, postgres: bool) -> list[ColumnElement[bool]]:
    conditions = [Report.project_id == _PROJECT, Report.number.is_(None)]
    if postgres:
        # Every transaction below the snapshot's xmin has ended: nothing older can still be committed.
        horizon = cast(cast(func.pg_snapshot_xmin(func.pg_current_snapshot()), Text), BigInteger)
        conditions.append(Report.stored_xid < horizon)
    return conditions


def _counter_move() -> Update:
    return update(ProjectCounter).where(ProjectCounter.project_id == _PROJECT)


@dataclass(frozen=True, slots=True)
class _PostgresNumbering:
    hold: Select[Any]  # the organization's row, the numbering lock, and where the numbering began
    number: Select[Any]  # the numbers, the counter's move and the held-back check: one round trip

    @classmethod
    def build(cls) -> _PostgresNumbering:
        next_transaction = cast(cast(func.pg_snapshot_xmax(func.pg_current_snapshot()), Text), BigInteger)
        parts = _Numbering.build(postgres=True)
        numbered = parts.update.cte("numbered")
        moved = (
            _counter_move()
            .values(last_number=select(func.max(numbered.c.number)).scalar_subquery())
            .where(select(numbered.c.id).exists())
        )
        # `status` gives the statement its one row even when there is nothing to number.
        status = select(
            parts.has_counter().label("has_counter"), _held_back(parts.pending).label("held_back")
        ).subquery("status")
        organization = organization_held(bindparam("organization", type_=Organization.id.type)).subquery("held")
        return cls(
            # The organization's row, then the lock (taken for its row, so not once it is deleted: no row then);
            # the statement's snapshot only bounds `began`.
            hold=select(
                func.pg_advisory_xact_lock(bindparam("lock", type_=BigInteger)),
                next_transaction.label("next_transaction"),
            ).select_from(organization),
            number=select(
                status.c.has_counter, status.c.held_back, numbered.c.id, numbered.c.number, numbered.c.tracking_id
            )
            .select_from(status.outerjoin(numbered, true()))
            .add_cte(moved.cte("moved")),
        )


def _held_back(pending: CTE) -> Exists:
    """Whether a report stored before the numbering began is still waiting (for an older transaction),
    besides the batch being numbered."""
    return (
        select(Report.id)
        .where(
            Report.project_id == _PROJECT,
            Report.number.is_(None),
            Report.stored_xid < bindparam("numbering_began", type_=BigInteger),
            Report.id.not_in(select(pending.c.id)),
        )
        .exists()
    )


@dataclass(frozen=True, slots=True)
class _SqliteNumbering:
    has_counter: Select[Any]
    number: ReturningUpdate[Any]
    move_counter: Update

    @classmethod
    def build(cls) -> _SqliteNumbering:
        parts = _Numbering.build(postgres=False)
        return cls(
            has_counter=select(parts.has_counter()),
            number=parts.update.execution_options(synchronize_session=False),
            move_counter=_counter_move().values(last_number=bindparam("last")),
        )


_POSTGRES = _PostgresNumbering.build()
_SQLITE = _SqliteNumbering.build()


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

    async def names(self, project_ids: Sequence[UUID]) -> list[str]:
        """The custom columns' names of these projects, each once, in their boards' order."""
        found = await self.get_many(
            ProjectColumn.project_id.in_(project_ids),
            order_by=[ProjectColumn.position.asc(), ProjectColumn.status_id.asc()],
        )
        return list(dict.fromkeys(column.name for column in found))

    async def resolve_status(self, project_id: UUID, name: str | None) -> tuple[str, int | None]:
        """(status, status id) for a column name, None being the feedback column, or another product's name
        for a default column; unknown names are a field error."""
        wanted = name_key(name or NEW_STATUS)
        if wanted in DEFAULT_STATUS_IDS:
            return wanted, DEFAULT_STATUS_IDS[wanted]
        for column in await self.custom(project_id):
            if name_key(column.name) == wanted:
                if (held := await self._held(column)) is not None:
                    return held
                break
        if (alias := STATUS_ALIASES.get(wanted)) is not None:
            return alias, DEFAULT_STATUS_IDS[alias]
        raise LanternError(
            ErrorCode.VALIDATION_ERROR,
            details=[FieldError("status", _("There is no column with this name in the project."))],
        )

    async def resolve_status_id(self, project_id: UUID, status_id: int | None) -> tuple[str, int | None]:
        """(status, status id) for BugHerd's column number, None being the feedback column."""
        for name, default_id in DEFAULT_STATUS_IDS.items():
            if default_id == status_id:
                return name, status_id
        for column in await self.custom(project_id):
            if column.status_id == status_id:
                if (held := await self._held(column)) is not None:
                    return held
                break
        raise LanternError(
            ErrorCode.VALIDATION_ERROR,
            details=[FieldError("statusId", _("There is no column with this number in the project."))],
        )

    async def _held(self, column: ProjectColumn) -> tuple[str, int | None] | None:
        """(status, status id) of a column a report goes into, held until the transaction ends (FOR SHARE) and read
        afresh: its renaming or deletion (FOR UPDATE) waits and then carries the report, or was first and the
        report takes its new name; None once it is gone."""
        held = await self.session.scalar(
            select(ProjectColumn)
            .where(ProjectColumn.id == column.id)
            .with_for_update(read=True)
            .execution_options(populate_existing=True)
        )
        return None if held is None else (held.name, held.status_id)

    async def add(self, project_id: UUID, data: ColumnCreate) -> ProjectColumn:
        """A custom column of the project, its number taken from the project's row. The organization's row is held
        first (`ReportService.hold_organization`): the column's insert, which names the organization, waited for its
        row while holding the project's, which the organization's deletion, holding that row, waited to delete."""
        name = stored_name(data.name)
        await ReportService(session=self.session).hold_organization()
        existing = await self.custom(project_id)
        _check_name_free(name, existing)
        # Taken in one statement, so that two columns added at once get two numbers.
        status_id = await self.session.scalar(
            update(Project)
            .where(Project.id == project_id)
            .values(last_column_status_id=Project.last_column_status_id + 1)
            .returning(Project.last_column_status_id),
        )
        column = ProjectColumn(project_id=project_id, name=name, status_id=status_id)
        _place(column, data.position, among=existing)
        return await self.create(column)

    async def addressed(
        self, project_id: UUID, reference: UUID | str, *, locked: bool = False
    ) -> ProjectColumn | DefaultColumn:
        """The column a path names: a custom column by its UUID, a default one by its id (`status:todo`, its name
        in any case, or another product's), either by BugHerd's number for it (its `statusId`, which BugHerd
        calls a custom column's id). Anything else, another project's column included, is unknown here."""
        text = str(reference)
        if text.startswith(DEFAULT_COLUMN_ID_PREFIX):
            name = _default_name(text.removeprefix(DEFAULT_COLUMN_ID_PREFIX))
            named = _default_column(lambda column: column.name == name)
            if named is None:
                raise not_found()
            return named
        if text.isdecimal() and len(text) <= _MAX_STATUS_ID_DIGITS:
            number = int(text)
            numbered = _default_column(lambda column: column.status_id == number)
            return numbered or await self._custom(ProjectColumn.status_id == number, project_id, locked=locked)
        try:
            column_id = UUID(text)
        except ValueError:
            raise not_found() from None
        return await self.one(project_id, column_id, locked=locked)

    async def same_column(self, project_id: UUID, reference: str, other: str) -> bool:
        """Whether `other` names the column `reference` names, as `addressed` reads either (a JSON:API change's
        `data.id` against its address: `status:todo` and `3` name one column)."""
        addressed = await self.addressed(project_id, reference)  # a column of no address is a 404 all the same
        try:
            return (await self.addressed(project_id, other)).id == addressed.id
        except LanternError:
            return False

    async def one(self, project_id: UUID, column_id: UUID, *, locked: bool = False) -> ProjectColumn:
        """A custom column of the project by its UUID; another project's is unknown here. `locked` holds it until
        the transaction ends (FOR UPDATE), read afresh, before it is renamed or deleted: reports going into it
        meanwhile wait, or are carried (see `_held`)."""
        return await self._custom(ProjectColumn.id == column_id, project_id, locked=locked)

    async def _custom(self, which: ColumnElement[bool], project_id: UUID, *, locked: bool) -> ProjectColumn:
        column = await self.get_one_or_none(
            which,
            ProjectColumn.project_id == project_id,
            with_for_update=locked,
            execution_options={"populate_existing": locked},
        )
        if column is None:
            raise not_found()
        return column

    async def change(
        self,
        project_id: UUID,
        reference: UUID | str,
        data: ColumnUpdate,
        actor: Identity,
        precondition: Precondition[ProjectColumn | DefaultColumn] | None = None,
    ) -> ColumnChange:
        """A custom column's new name or place (see `addressed` for `reference`). A default column stays as it is:
        a change that leaves it so is answered with it, any other is refused. The organization's row is held
        first (see `_hold`), then the column, and `precondition` (a request's `If-Match`) is awaited."""
        column = await self._hold(project_id, reference)
        if precondition is not None:
            await precondition(column)
        moved = MovedReports([], {})
        if isinstance(column, DefaultColumn):
            _check_unchanged(column, data)
            return ColumnChange(column, moved)
        others = [other for other in await self.custom(project_id) if other.id != column.id]
        if data.name is not msgspec.UNSET and stored_name(data.name) != column.name:
            new_name = stored_name(data.name)
            _check_name_free(new_name, others)  # its own name in other capitals is a rename, not a clash
            moved = await self._move_reports(project_id, column, actor, status=new_name)
            column.name = new_name
        if data.position is not msgspec.UNSET:
            _place(column, data.position, among=others)
        await self.session.flush()
        return ColumnChange(column, moved)

    async def move(self, project_id: UUID, column_id: UUID, step: int) -> None:
        """A custom column one place earlier (`step` -1) or later (+1) among the project's own columns, which
        come after the default ones; at either end it stays. The organization's row is held first, as for a change
        of `position` (see `_hold`)."""
        await ReportService(session=self.session).hold_organization()
        moved = await self.one(project_id, column_id, locked=True)
        ordered = await self.custom(project_id)
        others = [other for other in ordered if other.id != moved.id]
        _place(moved, ordered.index(moved) + len(DEFAULT_COLUMNS) + step, among=others)
        await self.session.flush()

    async def remove(
        self,
        project_id: UUID,
        reference: UUID | str,
        actor: Identity,
        precondition: Precondition[ProjectColumn | DefaultColumn] | None = None,
    ) -> MovedReports:
        """A custom column gone (see `addressed` for `reference`); its reports go back to the feedback column, none
        is lost with it. Returns them (webhooks hear of each). A default column is never deleted. The organization's
        row is held first (see `_hold`), then the column, and `precondition` is awaited."""
        column = await self._hold(project_id, reference)
        if precondition is not None:
            await precondition(column)
        if isinstance(column, DefaultColumn):
            raise LanternError(ErrorCode.CONFLICT, _("A default column cannot be deleted."))
        moved = await self._move_reports(project_id, column, actor, status=NEW_STATUS, status_id=None)
        await self.delete(column.id)
        _number(await self.custom(project_id))  # the columns after it move up a place: no gap is left
        await self.session.flush()
        return moved

    async def _hold(self, project_id: UUID, reference: UUID | str) -> ProjectColumn | DefaultColumn:
        """The column `reference` names, held (see `one`) after the organization's row
        (`ReportService.hold_organization`): a rename or a deletion holds the column and its reports, then writes
        their history and webhook deliveries, which name the organization and wait for its row, which the
        organization's deletion held while it waited to delete the column and the reports. One deleted meanwhile,
        or whose organization was, is not found."""
        await ReportService(session=self.session).hold_organization()
        return await self.addressed(project_id, reference, locked=True)

    async def _move_reports(
        self, project_id: UUID, column: ProjectColumn, actor: Identity, *, status: str, **values: Any
    ) -> MovedReports:
        """The column's reports take `status` (its new name, or the feedback column's) and `values`, each a
        change in its history by `actor`; returns them."""
        await lock_in_id_order(self.session, Report.project_id == project_id, Report.status_id == column.status_id)
        moved = list(
            await self.session.scalars(
                update(Report)
                .where(Report.project_id == project_id, Report.status_id == column.status_id)
                .values(status=status, **values)
                .returning(Report.id),
            )
        )
        return await record_moves(self.session, moved, {"status": [column.name, status]}, actor)


async def lock_in_id_order(session: AsyncSession, *where: ColumnElement[bool]) -> None:
    """Hold the reports `where` picks in the order of their ids before one statement changes them all, as a change
    to many reports from the list does (`ReportService.lock`, one by one by id): an UPDATE locks rows in the order
    it meets them, and two transactions locking the same rows in crossed orders wait for each other for good (a
    deadlock, which PostgreSQL ends by failing one)."""
    await session.execute(select(Report.id).where(*where).order_by(Report.id).with_for_update())


async def record_moves(
    session: AsyncSession, report_ids: list[UUID], changes: dict[str, list[Any]], actor: Identity
) -> MovedReports:
    """Reports changed together (one statement, not `ReportService.apply`): the same change in the history of
    each, by `actor`."""
    if report_ids:
        rows = [{"report_id": report_id, "changes": changes, **authorship(actor)} for report_id in report_ids]
        await session.execute(insert(ReportChange), rows)
    return MovedReports(report_ids, changes)


class MovedReports(NamedTuple):
    """The reports a column's new name or deletion moved, and the change each had, as its history keeps it."""

    ids: list[UUID]
    changes: dict[str, list[Any]]


class ColumnChange(NamedTuple):
    """A column after a change, and the reports its new name moved (webhooks hear of each)."""

    column: ProjectColumn | DefaultColumn
    moved: MovedReports


# The digits of the largest column number a path may name: any more could not be a database integer.
_MAX_STATUS_ID_DIGITS = 9


def _default_column(matches: Callable[[DefaultColumn], bool]) -> DefaultColumn | None:
    return next((column for column in DEFAULT_COLUMNS if matches(column)), None)


def _default_name(name: str) -> str:
    """The default column `name` means, in any case or under another product's name (`feedback`)."""
    key = name_key(name)
    return STATUS_ALIASES.get(key, key)


def _check_unchanged(column: DefaultColumn, data: ColumnUpdate) -> None:
    """A default column's name is the status of its reports, and its place is the same on every board: a change
    that would make either another is refused, naming the fields."""
    renamed = data.name is not msgspec.UNSET and _default_name(data.name) != column.name
    moved = data.position is not msgspec.UNSET and data.position != column.position
    changed = [field for field, changes in (("name", renamed), ("position", moved)) if changes]
    if changed:
        message = _("A default column keeps its name and place; add a column of your own for another.")
        raise LanternError(ErrorCode.CONFLICT, message, details=[FieldError(field, message) for field in changed])


def _check_name_free(name: str, others: Sequence[ProjectColumn]) -> None:
    """A custom column's name, new or renamed, is none of the default columns' under any of the names they take
    (`feedback`, `in_progress`: a report moved there by that name would go to it, not to the default column) or
    show under (`完了`: a Japanese board showed two), and none of the project's `others`', in any case or Unicode
    form."""
    key = name_key(name)
    default = key in DEFAULT_STATUS_IDS or key in STATUS_ALIASES or key in _shown_default_column_names()
    if default or any(name_key(other.name) == key for other in others):
        raise _column_taken()


@cache
def _shown_default_column_names() -> frozenset[str]:
    """The keys of the default columns' names as boards show them, in every shipped language."""
    names: set[str] = set()
    for locale in SUPPORTED_LOCALES:
        with use_locale(locale):
            names.update(name_key(str(label)) for label in STATUS_LABELS.values())
    return frozenset(names)


def _place(column: ProjectColumn, position: int | None, *, among: Sequence[ProjectColumn]) -> None:
    """`column` at `position` (None: last) among the project's other custom columns, `among` in their board's order;
    those from that place on move one on. Custom columns come after the default ones, which keep their places: a
    position among them is the first after them, and one past the end is the last."""
    place = len(among) if position is None else min(max(position - len(DEFAULT_COLUMNS), 0), len(among))
    _number([*among[:place], column, *among[place:]])


def _number(ordered: Sequence[ProjectColumn]) -> None:
    """The project's custom columns numbered in `ordered`'s order from the first place after the default columns,
    each place once: the board and the list order by it."""
    for position, column in enumerate(ordered, start=len(DEFAULT_COLUMNS)):
        column.position = position


def _column_taken() -> LanternError:
    message = _("A column with this name already exists in the project.")
    return LanternError(ErrorCode.CONFLICT, message, details=[FieldError("name", message)])


class CommentService(TenantService[Comment]):
    class Repo(TenantRepository[Comment]):
        model_type = Comment

    repository_type = Repo

    async def of(self, report_id: UUID, reader: Identity) -> list[Comment]:
        """The report's comments that `reader` may read, oldest first."""
        return list(
            await self.get_many(
                Comment.report_id == report_id, *comment_visibility(reader), order_by=[Comment.created_at.asc()]
            )
        )

    async def page(self, report_id: UUID, reader: Identity, window: Window) -> Paged[Comment]:
        """A page of the report's comments that `reader` may read, oldest first."""
        statement = (
            select(Comment)
            .where(Comment.report_id == report_id, *comment_visibility(reader))
            .order_by(Comment.created_at, Comment.id)
        )
        return await page_of(self.session, statement, window)

    async def author_of(self, report: Report, caller: Identity, named: NamedAuthor | None) -> Identity:
        """Who a comment is by: the caller, or the person the body names (BugHerd's `user_id` or `email`) when the
        caller acts for the organization (an organization API token, kept beside them as on a change, or an
        owner's or admin's session) and that person sees the report: a member, or a guest who sees it on a
        project they were added to. A member or a guest naming someone else is a 403; a name of no one who sees
        the report, here or in another organization or nowhere, is one and the same 400."""
        if named is None or _names_caller(named, caller):
            return caller
        if caller.role not in {Role.OWNER, Role.ADMIN}:
            message = _("Only an owner, an admin or an organization API token writes a comment for someone else.")
            raise LanternError(ErrorCode.FORBIDDEN, message, details=[FieldError(named.field, message)])
        who = User.id == named.user_id if named.user_id else User.email == normalize_email(named.email or "")
        # A membership of this organization (the query is the tenant's): anyone else's address is no one here.
        member = (
            await self.session.execute(
                select(Membership.user_id, Membership.role, User.email)
                .join(User, User.id == Membership.user_id)
                .where(who)
            )
        ).first()
        if member is None or not await sees_report(self.session, report, member.user_id):
            message = (
                _("No one who can see this report has this ID.")
                if named.user_id
                else _("No one who can see this report has this e-mail address.")
            )
            raise LanternError(ErrorCode.VALIDATION_ERROR, details=[FieldError(named.field, message)])
        return replace(caller, user_id=member.user_id, role=Role(member.role), user_email=member.email)

    async def add(self, report: Report, author: Identity, text: str, *, internal: bool = False) -> Comment:
        """A comment by a person, or by an integration (its API token names it); the report's assignee hears
        of it (notifications). An internal one is the team's: a guest cannot write one."""
        if internal and author.role is Role.GUEST:
            raise LanternError(
                ErrorCode.FORBIDDEN, _("Only the team writes internal notes; a guest's are read by all.")
            )
        # Held while the comment is added: a deletion under way makes it 404, not a broken reference.
        await ReportService(session=self.session).lock(report, share=True)
        comment = await self.create(Comment(report_id=report.id, text=text, internal=internal, **authorship(author)))
        await notify_assignee(self.session, report, NoticeKind.COMMENTED, author, comment.id)
        return comment


def _names_caller(named: NamedAuthor, caller: Identity) -> bool:
    if named.user_id is not None:
        return named.user_id == caller.user_id
    return caller.user_email is not None and normalize_email(named.email or "") == normalize_email(caller.user_email)


def unnumbered_before(cutoff_seconds: float) -> ColumnElement[bool]:
    """Reports still without a number `cutoff_seconds` after they were stored (the sweeper's work)."""
    cutoff = datetime.now(UTC) - timedelta(seconds=cutoff_seconds)
    return Report.number.is_(None) & (Report.created_at < cutoff)


def comment_visibility(reader: Identity) -> list[ColumnElement[bool]]:
    """A guest (a client) never reads the team's internal notes."""
    return [Comment.internal.is_(False)] if reader.role is Role.GUEST else []


def visibility(identity: Identity, guest: GuestView | None) -> list[ColumnElement[bool]]:
    """Conditions that keep a guest to their view; nothing for members, admins and owners."""
    if identity.role is not Role.GUEST:
        return []
    return [guest.condition()] if guest else [Report.id.is_(None)]
