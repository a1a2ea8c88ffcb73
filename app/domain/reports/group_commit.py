"""Group commit: the reports of concurrent requests are stored in one transaction, one commit for many.

A durable commit waits for the database to flush its log; done once per request, that wait caps ingest.
Here a request hands its rows to the process's writer and waits until the transaction holding them has
committed, so every `201` still means "stored". While one transaction commits, the next requests gather;
the writer then stores all of them together. Rows of several tenants share a transaction, each tenant's
rows written under its own scope (row-level security checks every statement). The batch holds its
organizations' rows first, in one statement: a request whose organization is gone (deleted meanwhile) is left
out, not found, and the others are stored in the same transaction. If a batch fails, its requests are stored
one by one, so one bad request cannot fail the others; each in its own request's language, so that what refuses
it (an unknown upload key) is worded for its reader, not for the request that happened to start the writer.
"""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnDefault, insert, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.emails.models import OutgoingEmail
from app.domain.organizations.models import Organization
from app.domain.reports.models import Attachment, Report, ReportChange, Screenshot
from app.domain.reports.search import index_text
from app.domain.reports.services import TrackingService
from app.lib.database import alchemy_config
from app.lib.errors import ErrorCode, FieldError, LanternError, not_found
from app.lib.i18n import current_locale, use_locale
from app.lib.i18n import gettext as _
from tenants.context import system_scope, tenant_scope
from tenants.db import scoped

_REPORT_COLUMNS = tuple(Report.__table__.columns)


@dataclass(frozen=True, slots=True)
class UploadLink:
    """An earlier upload (BugSpark's `screenshot_url`) to attach to the report."""

    key: str
    field: str
    annotated: bool


@dataclass(slots=True)
class Submission:
    organization_id: UUID
    report: Report
    uploads: list[Screenshot] = field(default_factory=list)
    links: list[UploadLink] = field(default_factory=list)
    # Who filed a report the team files, in its history (a widget's report has none).
    history: list[ReportChange] = field(default_factory=list)
    # The linked uploads, loaded by the transaction that attached them.
    attached: list[Screenshot] = field(default_factory=list)
    # Images the reporter attached (the widget's), stored with the report.
    attachments: list[Attachment] = field(default_factory=list)
    # E-mails it calls for (the assignee's notice of a report the team files), stored with it.
    mails: list[OutgoingEmail] = field(default_factory=list)

    @property
    def screenshots(self) -> list[Screenshot]:
        return [*self.uploads, *self.attached]


@dataclass(frozen=True, slots=True)
class Stored:
    """What a request learns once its report is committed."""

    # The first request of each project in a batch asks the worker to number that project's new reports.
    numbers_project: bool


@dataclass(slots=True)
class _Waiting:
    submission: Submission
    stored: asyncio.Future[Stored]
    # The request's language: the writer's task speaks that of the request that started it.
    locale: str


class ReportWriter:
    """One per event loop (process): gathers submissions while the previous batch commits."""

    def __init__(self) -> None:
        self._waiting: list[_Waiting] = []
        self._flusher: asyncio.Task[None] | None = None

    async def store(self, submission: Submission) -> Stored:
        """Return once the submission is committed; raise what storing it raised."""
        waiting = _Waiting(submission, asyncio.get_running_loop().create_future(), current_locale())
        self._waiting.append(waiting)
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        # A client that goes away does not take its report with it: the batch commits regardless.
        return await asyncio.shield(waiting.stored)

    async def _flush(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                gone = await _commit([waiting.submission for waiting in batch])
            except Exception:  # noqa: BLE001 - every request gets its own outcome below
                await self._one_by_one(batch)
            else:
                _settle(batch, gone)

    async def _one_by_one(self, batch: list[_Waiting]) -> None:
        for waiting in batch:
            try:
                with use_locale(waiting.locale):
                    gone = await _commit([waiting.submission])
            except Exception as error:  # noqa: BLE001 - handed to the request, which answers with it
                if not waiting.stored.done():
                    waiting.stored.set_exception(error)
            else:
                _settle([waiting], gone)


def _settle(batch: list[_Waiting], gone: set[UUID]) -> None:
    """Each request told its outcome: stored, or not found (its organization was deleted before the batch)."""
    numbered: set[UUID] = set()
    for waiting in batch:
        if waiting.stored.done():
            continue
        if waiting.submission.organization_id in gone:
            waiting.stored.set_exception(not_found())
            continue
        project_id = waiting.submission.report.project_id
        waiting.stored.set_result(Stored(numbers_project=project_id not in numbered))
        numbered.add(project_id)


async def _commit(submissions: list[Submission]) -> set[UUID]:
    """Store the submissions in one transaction; returns the organizations that are gone, whose submissions
    were left out."""
    ordered = sorted(submissions, key=lambda submission: str(submission.organization_id))
    groups = [(tenant, list(group)) for tenant, group in groupby(ordered, key=lambda s: s.organization_id)]
    # The transaction begins holding its organizations; each tenant then scopes it in turn (one statement).
    with system_scope("the organizations of a batch of reports"):
        async with alchemy_config().get_session() as session, session.begin():
            held = await _hold_organizations(session, [tenant for tenant, _group in groups])
            for tenant, group in groups:
                if tenant in held:
                    async with scoped(session, tenant_scope(tenant)):
                        await _add(session, tenant, group)
    return {tenant for tenant, _group in groups} - held


async def _hold_organizations(session: AsyncSession, organization_ids: list[UUID]) -> set[UUID]:
    """The batch's organizations that still exist, their rows held until it commits (FOR KEY SHARE), before any
    other lock it takes, as every change that writes rows naming an organization holds its row first
    (`ReportService.hold_organization`): one statement for the batch, in id order.

    The insert of a report checks its foreign keys in the order they were made, its assignee's account before
    its organization: a report the team files for someone held that account, then waited for the organization's
    row, which the organization's deletion held while it went on to delete the account, and PostgreSQL failed one
    of the two. Now the batch waits for the deletion, or the deletion for the batch. And a batch that came after
    a deletion broke its foreign key, was rolled back and stored again one request at a time: its organization's
    requests are left out instead (not found), and the others' stored in the batch's transaction."""
    held = await session.scalars(
        select(Organization.id)
        .where(Organization.id.in_(organization_ids))
        .order_by(Organization.id)
        .with_for_update(read=True, key_share=True)
    )
    return set(held)


async def _add(session: AsyncSession, organization_id: UUID, submissions: list[Submission]) -> None:
    tracking = TrackingService(session)
    for project_id in dict.fromkeys(submission.report.project_id for submission in submissions):
        await tracking.hold_for_append(project_id)
    # A bulk insert of the rows, not a flush of the objects: the unit of work's bookkeeping per object cost
    # more than the insert itself. The reports stay transient; what a flush would fill in is stamped here.
    await session.execute(insert(Report), [_row(submission.report, organization_id) for submission in submissions])
    for submission in submissions:
        for upload in submission.uploads:
            upload.report_id = submission.report.id
            session.add(upload)
        for attachment in submission.attachments:
            attachment.report_id = submission.report.id
            session.add(attachment)
        submission.attached = [await _attach(session, submission.report, link) for link in submission.links]
        session.add_all(submission.history)
        session.add_all(submission.mails)
    # Written while this tenant is the transaction's: left to the commit, these rows were flushed in the next
    # tenant's scope, and a new row took that tenant (a batch of two organizations' submissions).
    await session.flush()


def _row(report: Report, organization_id: UUID) -> dict[str, Any]:
    """The report's column values for a bulk insert. What a flush would fill in is set on the report too,
    for the answer: its tenant, search text and bigrams and column defaults (id and time stamps among them)."""
    report.organization_id = organization_id
    index_text(report)
    values = inspect(report).dict  # the attributes set so far (and those set below)
    for column in _REPORT_COLUMNS:
        default = column.default
        if column.key not in values and isinstance(default, ColumnDefault):
            setattr(report, column.key, default.arg(None) if default.is_callable else default.arg)
    return {column.key: values[column.key] for column in _REPORT_COLUMNS if column.key in values}


async def _attach(session: AsyncSession, report: Report, link: UploadLink) -> Screenshot:
    """An upload of this project not yet attached to a report; another project's key is unknown here."""
    screenshot = await session.scalar(
        select(Screenshot).where(
            Screenshot.key == link.key,
            Screenshot.project_id == report.project_id,
            Screenshot.report_id.is_(None),
        ),
    )
    if screenshot is None:
        # An attached upload's key goes when the worker stores the processed image: a used key is unknown too.
        message = _("No upload with this key awaits a report in this project (an upload is attached to one report).")
        raise LanternError(ErrorCode.VALIDATION_ERROR, details=[FieldError(link.field, message)])
    screenshot.report_id = report.id
    screenshot.annotated = link.annotated
    return screenshot


_writers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, ReportWriter] = weakref.WeakKeyDictionary()


def report_writer() -> ReportWriter:
    """This event loop's writer (a process serves from one loop; tests may run several in turn)."""
    loop = asyncio.get_running_loop()
    writer = _writers.get(loop)
    if writer is None:
        writer = _writers[loop] = ReportWriter()
    return writer
