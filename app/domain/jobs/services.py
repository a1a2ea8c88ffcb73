"""The job dashboard: the background work of an organization (or, for the instance's operators, of every
organization), waiting, running, done and failed.

Outcomes are read from the database, which records every piece of background work durably: a screenshot's
or attached image's status and processing runs, a webhook delivery's status and attempts, a report's
tracking number. The queue is read from Redis as arq keeps it, for what waits and runs at this moment.
"""

from __future__ import annotations

import enum
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement

from app.domain.accounts.models import PasswordReset, User
from app.domain.emails.models import OutgoingEmail
from app.domain.integrations.models import GitHubIssue, IssueStatus
from app.domain.jobs import schemas
from app.domain.organizations.models import Organization
from app.domain.reports.models import Attachment, ImageStatus, Report, Screenshot
from app.domain.transfer.models import ExportStatus, OrganizationExport
from app.domain.webhooks.models import DeliveryStatus, WebhookDelivery
from app.lib.errors import ErrorCode, LanternError
from app.lib.i18n import gettext as _
from app.lib.queue import JobState, QueuedJob, queue_snapshot
from tenants.context import system_scope
from tenants.db import scoped
from tenants.identity import Identity

PENDING = "pending"  # the status of waiting work, for images and deliveries alike
MAX_WINDOW_HOURS = 7 * 24
ORGANIZATIONS_SHOWN = 100


class Scope(enum.StrEnum):
    ORGANIZATION = "organization"
    INSTANCE = "instance"  # every organization: the instance's operators only


@dataclass(frozen=True, slots=True)
class _Tracked:
    """Work whose rows record it: `pending` until the status is `done` or `failed`; `attempts` counts runs."""

    kind: str
    model: Any
    done: str
    failed: str
    # Which pending rows are work: an upload no report has taken yet is waiting for its report, not the worker.
    queued: Any = None

    @property
    def pending(self) -> Any:
        waiting = self.model.status == PENDING
        return waiting if self.queued is None else and_(waiting, self.queued)


TRACKED = (
    _Tracked(
        "screenshot",
        Screenshot,
        ImageStatus.READY.value,
        ImageStatus.FAILED.value,
        queued=Screenshot.report_id.is_not(None),
    ),
    _Tracked("attachmentImage", Attachment, ImageStatus.READY.value, ImageStatus.FAILED.value),
    _Tracked("webhookDelivery", WebhookDelivery, DeliveryStatus.DELIVERED.value, DeliveryStatus.FAILED.value),
    _Tracked("githubIssue", GitHubIssue, IssueStatus.CREATED.value, IssueStatus.FAILED.value),
)
TRACKING_IDS = "trackingId"
# The jobs whose work the database records: (job, its argument naming the work, the rows that are that work,
# which of them are still to do).
JOB_WORK: tuple[tuple[str, str, Any, ColumnElement[bool]], ...] = (
    ("process_screenshot", "screenshot_id", Screenshot.id, Screenshot.status == PENDING),
    ("process_attachment_image", "attachment_id", Attachment.id, Attachment.status == PENDING),
    ("deliver_webhook", "delivery_id", WebhookDelivery.id, WebhookDelivery.status == PENDING),
    ("create_github_issue", "issue_id", GitHubIssue.id, GitHubIssue.status == PENDING),
    ("send_invitation_email", "email_id", OutgoingEmail.id, OutgoingEmail.status == PENDING),
    ("send_notification_email", "email_id", OutgoingEmail.id, OutgoingEmail.status == PENDING),
    ("send_password_reset_email", "reset_id", PasswordReset.id, PasswordReset.status == PENDING),
    ("assign_tracking_ids", "project_id", Report.project_id, Report.number.is_(None)),
    ("export_organization", "export_id", OrganizationExport.id, OrganizationExport.status == ExportStatus.RUNNING),
)


class JobDashboard:
    """Read in the scope the caller set: its tenant's rows, or every tenant's in the system scope."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def seen_by(self, identity: Identity, hours: int, scope: Scope) -> schemas.JobsOverview:
        """The organization's work for its managers; every organization's for the instance's operators."""
        if scope is Scope.ORGANIZATION:
            return await self.overview(hours, scope, identity.organization_id)
        user = await self.session.get(User, identity.user_id) if identity.user_id else None
        if user is None or not user.is_superuser:
            raise LanternError(
                ErrorCode.FORBIDDEN, _("Only the instance's operators can see every organization's jobs.")
            )
        async with scoped(self.session, system_scope("the operator's job dashboard")):
            return await self.overview(hours, scope, identity.organization_id)

    async def overview(self, hours: int, scope: Scope, organization_id: UUID) -> schemas.JobsOverview:
        until = datetime.now(UTC)
        since = until - timedelta(hours=hours)
        buckets = _hours(since, until)
        kinds = [await self._tracked(tracked, since, buckets) for tracked in TRACKED]
        kinds.append(await self._tracking_ids(since, buckets))
        jobs, truncated = await queue_snapshot()
        if scope is Scope.ORGANIZATION:
            jobs = [job for job in jobs if job.organization_id == str(organization_id)]
        finished = await self._finished(jobs)
        jobs = [job for job in jobs if not (job.state is JobState.RUNNING and _work(job) in finished)]
        return schemas.JobsOverview(
            scope=scope.value,
            since=since,
            until=until,
            queue=_queue_now(jobs, truncated=truncated),
            kinds=kinds,
            organizations=await self._organizations(since) if scope is Scope.INSTANCE else None,
        )

    async def _finished(self, jobs: list[QueuedJob]) -> set[tuple[str, str]]:
        """The work (job, what it names) of running jobs that the database holds as done (or gone). Such a job
        is a dead worker's: one killed holds its claims until arq lets go of them, minutes after the job's
        timeout, while the sweepers had the work done by another worker; it was counted as running all along."""
        running = [_work(job) for job in jobs if job.state is JobState.RUNNING]
        finished: set[tuple[str, str]] = set()
        for function, _argument, rows, to_do in JOB_WORK:
            named = {work for job, work in running if job == function and work}
            if named:
                wanted = [UUID(work) for work in named]
                pending = await self.session.scalars(select(rows).where(rows.in_(wanted), to_do).distinct())
                finished |= {(function, work) for work in named - {str(row) for row in pending}}
        return finished

    async def _tracked(self, tracked: _Tracked, since: datetime, buckets: list[datetime]) -> schemas.KindSummary:
        model = tracked.model
        retries = func.coalesce(func.sum(case((model.attempts > 1, model.attempts - 1), else_=0)), 0)
        pending, pending_retries = (
            await self.session.execute(select(func.count(), retries).select_from(model).where(tracked.pending))
        ).one()
        hour = self._hour(model.updated_at)
        finished = (
            await self.session.execute(
                select(hour, model.status, func.count(), retries)
                .select_from(model)
                .where(model.status.in_([tracked.done, tracked.failed]), model.updated_at >= since)
                .group_by(hour, model.status),
            )
        ).all()
        done = Counter({_as_hour(at): count for at, status, count, _r in finished if status == tracked.done})
        failed = Counter({_as_hour(at): count for at, status, count, _r in finished if status == tracked.failed})
        return schemas.KindSummary(
            kind=tracked.kind,
            pending=pending,
            done=done.total(),
            failed=failed.total(),
            retries=int(pending_retries) + sum(int(row_retries) for *_row, row_retries in finished),
            hourly=[schemas.HourOutcomes(hour=at, done=done[at], failed=failed[at]) for at in buckets],
        )

    async def _tracking_ids(self, since: datetime, buckets: list[datetime]) -> schemas.KindSummary:
        """Numbering never fails (it is retried until done): pending reports, and those numbered among the
        reports stored within the window."""
        pending = await self.session.scalar(select(func.count()).select_from(Report).where(Report.number.is_(None)))
        hour = self._hour(Report.created_at)
        numbered = (
            await self.session.execute(
                select(hour, func.count())
                .select_from(Report)
                .where(Report.number.is_not(None), Report.created_at >= since)
                .group_by(hour),
            )
        ).all()
        done = Counter({_as_hour(at): count for at, count in numbered})
        return schemas.KindSummary(
            kind=TRACKING_IDS,
            pending=pending or 0,
            done=done.total(),
            failed=0,
            retries=0,
            hourly=[schemas.HourOutcomes(hour=at, done=done[at], failed=0) for at in buckets],
        )

    async def _organizations(self, since: datetime) -> list[schemas.OrganizationJobs]:
        """Pending and failed work per organization (the instance's view)."""
        pending: Counter[UUID] = Counter()
        failed: Counter[UUID] = Counter()
        for tracked in TRACKED:
            model = tracked.model
            for organization_id, count in await self._per_organization(model, tracked.pending):
                pending[organization_id] += count
            late = (model.status == tracked.failed, model.updated_at >= since)
            for organization_id, count in await self._per_organization(model, *late):
                failed[organization_id] += count
        for organization_id, count in await self._per_organization(Report, Report.number.is_(None)):
            pending[organization_id] += count
        busiest = sorted(pending.keys() | failed.keys(), key=lambda o: (-pending[o] - failed[o], str(o)))
        shown = busiest[:ORGANIZATIONS_SHOWN]
        rows = await self.session.execute(select(Organization.id, Organization.name).where(Organization.id.in_(shown)))
        names: dict[UUID, str] = dict(rows.tuples().all())
        return [
            schemas.OrganizationJobs(organization_id=o, name=names.get(o, ""), pending=pending[o], failed=failed[o])
            for o in shown
        ]

    async def _per_organization(self, model: Any, *conditions: ColumnElement[bool]) -> list[tuple[UUID, int]]:
        rows = await self.session.execute(
            select(model.organization_id, func.count()).where(*conditions).group_by(model.organization_id),
        )
        return [(organization_id, count) for organization_id, count in rows]

    def _hour(self, column: Any) -> ColumnElement[Any]:
        """The UTC hour a time stamp falls in."""
        if self.session.get_bind().dialect.name == "postgresql":
            return func.date_trunc("hour", column, "UTC")
        return func.strftime("%Y-%m-%d %H:00:00", column)


def _work(job: QueuedJob) -> tuple[str, str]:
    """A job's function and the work its argument names, for the jobs whose work the database records (else
    no work: "")."""
    argument = next((argument for function, argument, *_rows in JOB_WORK if function == job.function), None)
    return job.function, str(job.arguments.get(argument, "")) if argument else ""


def _hours(since: datetime, until: datetime) -> list[datetime]:
    """Every UTC hour from the one holding `since` to the one holding `until`, for charts without gaps."""
    first = since.replace(minute=0, second=0, microsecond=0)
    count = int((until - first) / timedelta(hours=1)) + 1
    return [first + timedelta(hours=index) for index in range(count)]


def _as_hour(value: datetime | str) -> datetime:
    """An hour as PostgreSQL (a time stamp) or SQLite (text) answers it, in UTC."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _queue_now(jobs: list[QueuedJob], *, truncated: bool) -> schemas.QueueNow:
    per_function: dict[str, list[QueuedJob]] = {}
    for job in jobs:
        per_function.setdefault(job.function, []).append(job)
    whole = _function_queue("", jobs)  # the whole queue, counted as each function's jobs are
    return schemas.QueueNow(
        queued=whole.queued,
        scheduled=whole.scheduled,
        waiting=whole.waiting,
        running=whole.running,
        retrying=whole.retrying,
        functions=[_function_queue(function, its_jobs) for function, its_jobs in sorted(per_function.items())],
        truncated=truncated,
    )


def _function_queue(function: str, jobs: list[QueuedJob]) -> schemas.FunctionQueue:
    """The jobs' counts by state, and of those arq is retrying (each function's too, as the whole queue's)."""
    states = Counter(job.state for job in jobs)
    return schemas.FunctionQueue(
        function=function,
        queued=states[JobState.QUEUED],
        scheduled=states[JobState.SCHEDULED],
        waiting=states[JobState.WAITING],
        running=states[JobState.RUNNING],
        retrying=sum(1 for job in jobs if job.tries > 1),
    )
