"""The jobs: thin wrappers that run a domain service inside the job's tenant."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from functools import wraps
from typing import Any, TypeVar
from uuid import UUID

import msgspec
import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.accounts.models import PasswordReset
from app.domain.accounts.services import forget_old_password_resets, password_reset_mail, reissue_password_reset
from app.domain.emails.models import EmailKind, OutgoingEmail
from app.domain.emails.services import (
    INVITATION_MAIL,
    NOTIFICATION_MAIL,
    PASSWORD_RESET_MAIL,
    attempt,
    forget_old_emails,
    job_of,
    outgoing,
    record_email,
)
from app.domain.integrations.models import GitHubIssue
from app.domain.integrations.services import GitHubIssues
from app.domain.notifications.services import Notice, notification_mail
from app.domain.organizations.services import invitation_mail, invitation_token
from app.domain.reports.ingest import forget_unattached_uploads
from app.domain.reports.models import Attachment, Report, Screenshot
from app.domain.reports.screenshots import ImageProcessor, ScreenshotService, pending_before
from app.domain.reports.search import refresh_gram_shares
from app.domain.reports.services import TrackingService, unnumbered_before
from app.domain.reports.tracking import announce
from app.domain.transfer.services import EXPORT_JOB, OrganizationExports, forget_expired_exports, lost_exports
from app.domain.webhooks.events import WebhookEvents
from app.domain.webhooks.models import WebhookDelivery
from app.domain.webhooks.services import DeliveryService, forget_old_deliveries
from app.lib import retries
from app.lib.database import alchemy_config
from app.lib.fair_share import outbound_slot, postpone
from app.lib.mail import Mail
from app.lib.queue import job_queue
from app.lib.redis import get_redis
from app.lib.revisions import current_revision
from app.lib.sealing import unseal
from app.lib.storage import InvalidKeyError, storage
from app.settings import get_settings
from tenants.context import require_tenant, system_scope, tenant_scope
from tenants.db import TenantOwned
from workers.tenancy import tenant_job

logger = structlog.get_logger()
R = TypeVar("R")


def fair_share(job: Callable[..., Awaitable[R]]) -> Callable[..., Awaitable[R | None]]:
    """An outbound job of a tenant runs in one of its organization's slots (app/lib/fair_share.py), or is
    postponed, returning None, when they are all in use."""

    @wraps(job)
    async def run(ctx: dict[str, Any], **kwargs: Any) -> R | None:
        async with outbound_slot(kwargs["organization_id"], ctx["job_id"]) as taken:
            if taken:
                return await job(ctx, **kwargs)
        await postpone(job.__name__, ctx["job_id"], kwargs)
        return None

    return run


# Pods of the version before e-mails were recorded, running beside this one during a rollout, queue an e-mail's job
# with what it was written from (an invitation and its sealed link, a notice, a reset's sealed link): the e-mail is
# recorded from that as this version records it, then attempted as any other.


async def _invitation(session: AsyncSession, email: OutgoingEmail) -> Mail | None:
    invitation_id = UUID(email.arguments["invitation_id"])
    # Queued by the former version, its token was drawn, not made from the id, and travelled sealed.
    sealed = email.arguments.get("sealed_token")
    token = invitation_token(invitation_id) if sealed is None else unseal(sealed)
    return None if token is None else await invitation_mail(session, invitation_id, token)


async def _notification(session: AsyncSession, email: OutgoingEmail) -> Mail | None:
    return await notification_mail(session, msgspec.convert(email.arguments, Notice))


async def _recorded(session: AsyncSession, kind: EmailKind, topic: str, arguments: dict[str, Any]) -> UUID:
    """An e-mail the former version queued, recorded (and committed) as this version records one."""
    email = await record_email(session, kind, topic, arguments)
    await session.commit()
    return email.id


@fair_share
@tenant_job
async def send_invitation_email(session: AsyncSession, *, email_id: str | None = None, **queued_before: Any) -> bool:
    """One attempt at an invitation's e-mail (see app/domain/emails/services.py `attempt`)."""
    if email_id is None:  # the former version's: `invitation_id`, `sealed_token`
        topic = f"invitation-mail:{queued_before['invitation_id']}"
        email_id = str(await _recorded(session, EmailKind.INVITATION, topic, queued_before))
    return await attempt(session, outgoing(EmailKind.INVITATION, UUID(email_id)), _invitation, INVITATION_MAIL)


@fair_share
@tenant_job
async def send_notification_email(
    session: AsyncSession, *, email_id: str | None = None, notice: dict[str, Any] | None = None
) -> bool:
    """An assignee told of an assignment or a comment, if it is still theirs to hear (notifications)."""
    if email_id is None and notice is not None:  # the former version's
        topic = f"notification:{notice['kind']}:{notice.get('comment_id') or notice['report_id']}"
        email_id = str(await _recorded(session, EmailKind.NOTIFICATION, f"{topic}:{notice['recipient_id']}", notice))
    return await attempt(
        session, outgoing(EmailKind.NOTIFICATION, UUID(str(email_id))), _notification, NOTIFICATION_MAIL
    )


async def send_password_reset_email(
    _ctx: dict[str, Any], *, reset_id: str | None = None, sealed_token: str | None = None, **_queued_before: Any
) -> bool:
    """The link to choose a new password, mailed to whoever asked for it: a person's own, of no tenant."""
    async with alchemy_config().get_session() as session:
        if reset_id is None:  # the former version's: its reset named by its sealed link (and its person, its locale)
            reissued = await reissue_password_reset(session, sealed_token or "")
            if reissued is None:
                return False
            reset_id = str(reissued)
        reset = select(PasswordReset).where(PasswordReset.id == UUID(reset_id))
        return await attempt(session, reset, password_reset_mail, PASSWORD_RESET_MAIL)


@tenant_job
async def assign_tracking_ids(session: AsyncSession, *, project_id: str) -> int:
    """Number the project's unnumbered reports (announcing them to webhooks in the same transactions), then
    tell the requests waiting for their IDs."""
    assigned = await TrackingService(session).assign(UUID(project_id), WebhookEvents(session).reports_numbered)
    if assigned:
        await announce(get_redis(), require_tenant(), assigned)
    return len(assigned)


async def sweep_unnumbered_reports(_ctx: dict[str, Any]) -> int:
    """Number reports the queue lost (Redis restarted, enqueue failed, a worker died mid-batch).

    The database, not the queue, is the source of truth for pending work.
    """
    async with alchemy_config().get_session() as session:
        with system_scope("sweep unnumbered reports"):
            async with session.begin():
                pending = (
                    await session.execute(
                        select(Report.organization_id, Report.project_id)
                        # Younger reports are the normal path's, which numbers them in milliseconds.
                        .where(unnumbered_before(get_settings().sweep_after_seconds))
                        .distinct(),
                    )
                ).all()
        numbered = 0
        for organization_id, project_id in pending:
            with tenant_scope(organization_id):
                assigned = await TrackingService(session).assign(project_id, WebhookEvents(session).reports_numbered)
                if assigned:
                    await announce(get_redis(), organization_id, assigned)
                numbered += len(assigned)
    if numbered:
        logger.info("sweeper numbered reports", count=numbered)
    return numbered


async def refresh_search_gram_shares(_ctx: dict[str, Any]) -> int:
    """How common each bigram is, for search's index lookup (PostgreSQL; SQLite searches with FTS5)."""
    async with alchemy_config().get_session() as session:
        if session.get_bind().dialect.name != "postgresql":
            return 0
        with system_scope("count search bigrams"):
            async with session.begin():
                return await refresh_gram_shares(session)


async def sweep_expired_files(_ctx: dict[str, Any]) -> int:
    """Let go of the stored files whose time is up: the uploads no report took in time (see
    `forget_unattached_uploads`) and the organizations' export archives past their days (`forget_expired_exports`);
    rows, then files."""
    async with alchemy_config().get_session() as session:
        with system_scope("sweep expired files"):
            async with session.begin():
                uploads = await forget_unattached_uploads(session)
                archives = await forget_expired_exports(session)
    for key in (*uploads, *archives):
        await storage().delete(key)
    if uploads or archives:
        logger.info("sweeper deleted expired files", uploads=len(uploads), export_archives=len(archives))
    return len(uploads) + len(archives)


@tenant_job
async def export_organization(session: AsyncSession, *, export_id: str) -> str:
    """The organization's archive for its owners to download (see OrganizationExports.write)."""
    return await OrganizationExports(session=session).write(UUID(export_id), current_revision())


async def queue_again(work: Sequence[tuple[str, dict[str, Any], Any]], every_seconds: int) -> int:
    """Queue again, under a new job id at most once per `every_seconds`, the work (function, arguments, row)
    whose job the queue lost or a worker holds, but not the work whose job still waits in the queue: a long
    backlog was queued again every minute, and each of its jobs waited there several times over."""
    queue = job_queue()
    waiting: set[str] = set()
    for function in {function for function, _arguments, _row in work}:
        waiting |= await queue.waiting(function, [row.job_id for name, _arguments, row in work if name == function])
    window = int(time.time() // every_seconds)
    due = [(function, arguments, row, f"{row.job_id}:{window}") for function, arguments, row in work]
    due = [entry for entry in due if entry[2].job_id not in waiting]
    # A job the sweeper queued keeps no result once it ran (keep_result=0), so its id is free again at once: the
    # window's first queueing is remembered apart, or work a killed worker still claims was queued at every sweep.
    async with queue.redis.pipeline(transaction=False) as pipeline:
        for _function, _arguments, row, job_id in due:
            owner = _tenant_of(row).get("organization_id", "person")
            pipeline.set(f"lantern:requeued:{owner}:{job_id}", 1, nx=True, ex=every_seconds)
        first = await pipeline.execute()
    queued = await asyncio.gather(
        *(
            queue.enqueue(function, job_id, **_tenant_of(row), **arguments)
            for (function, arguments, row, job_id), new in zip(due, first, strict=True)
            if new
        )
    )
    return sum(queued)


def _tenant_of(row: Any) -> dict[str, Any]:
    """The tenant a row's job runs in: its organization; none for a person's own work (a password reset's e-mail)."""
    return {"organization_id": str(row.organization_id)} if isinstance(row, TenantOwned) else {}


# Work against other servers, and the job that attempts it: (the work's rows, the job, or what tells a row's job,
# the job's argument).
OUTBOUND_WORK: tuple[tuple[Any, str | Callable[[Any], str], str], ...] = (
    (WebhookDelivery, "deliver_webhook", "delivery_id"),
    (GitHubIssue, "create_github_issue", "issue_id"),
    (OutgoingEmail, lambda email: job_of(email).function, "email_id"),
    (PasswordReset, PASSWORD_RESET_MAIL.function, PASSWORD_RESET_MAIL.argument),
)
# Work the sweeper queued again is queued again at most once per this many seconds (see the images').
OUTBOUND_RESWEEP_SECONDS = 60


@fair_share
@tenant_job
async def deliver_webhook(session: AsyncSession, *, delivery_id: str) -> str:
    """One attempt at a webhook delivery (see DeliveryService.attempt)."""
    return await DeliveryService(session=session).attempt(UUID(delivery_id))


@fair_share
@tenant_job
async def create_github_issue(session: AsyncSession, *, issue_id: str) -> str:
    """One attempt at making a report's GitHub issue (see GitHubIssues.attempt)."""
    return await GitHubIssues(session=session).attempt(UUID(issue_id))


async def sweep_outbound_work(_ctx: dict[str, Any]) -> int:
    """Queue again the webhook deliveries, GitHub issues and e-mails the queue lost (long overdue while pending)
    and the organization exports it lost before a worker started them, and forget old finished deliveries and
    e-mails."""
    async with alchemy_config().get_session() as session:
        with system_scope("sweep outbound work"):
            async with session.begin():
                overdue: list[tuple[str, dict[str, Any], Any]] = [
                    (job if isinstance(job, str) else job(row), {argument: str(row.id)}, row)
                    for model, job, argument in OUTBOUND_WORK
                    for row in await retries.overdue(session, model)
                ]
                overdue += [(EXPORT_JOB, {"export_id": str(row.id)}, row) for row in await lost_exports(session)]
                forgotten = await forget_old_deliveries(session)
                forgotten_emails = await forget_old_emails(session) + await forget_old_password_resets(session)
    queued = await queue_again(overdue, OUTBOUND_RESWEEP_SECONDS)
    if queued or forgotten or forgotten_emails:
        logger.info(
            "sweeper queued outbound work",
            count=queued,
            forgotten_deliveries=forgotten,
            forgotten_emails=forgotten_emails,
        )
    return queued


# Screenshots pending this long after their last change (upload, or the start of a run) are the sweeper's.
SCREENSHOT_SWEEP_AFTER_SECONDS = 10.0
SCREENSHOT_SWEEP_BATCH = 1000
# The sweeper queues a screenshot again at most once per this many seconds while no job of it waits in the
# queue. It cannot tell a job a worker runs from one that a killed worker held (arq frees that one only after
# its in-progress timeout, 310 s): it queues one more run, and the run that comes second finds nothing to do.
SCREENSHOT_RESWEEP_SECONDS = 60


@tenant_job
async def process_screenshot(session: AsyncSession, *, screenshot_id: str) -> str | None:
    """Verify, clean and thumbnail one screenshot of the job's tenant (another tenant's id finds nothing); the
    last of its report's to be done is announced to webhooks in the transaction that records it."""
    return await ScreenshotService(session).process(UUID(screenshot_id), WebhookEvents(session).screenshot_processed)


@tenant_job
async def process_attachment_image(session: AsyncSession, *, attachment_id: str) -> str | None:
    """The same processing for a file attached to a report whose bytes are an image. Nothing is announced: a
    report's payload lists its screenshots, not its files, which the team may attach at any time."""
    return await ImageProcessor(session, Attachment).process(UUID(attachment_id))


@tenant_job
async def delete_stored_files(_session: AsyncSession, *, keys: list[str]) -> int:
    """The files of a deleted report, each of them the job's tenant's (its keys begin with the organization)."""
    organization_id = require_tenant()
    foreign = [key for key in keys if not key.startswith(f"{organization_id}/")]
    if foreign:
        raise InvalidKeyError(foreign[0])
    for key in keys:
        await storage().delete(key)
    return len(keys)


@tenant_job
async def delete_project_files(_session: AsyncSession, *, project_id: str) -> None:
    """Every file stored under a deleted project of the job's tenant."""
    await storage().delete_project(require_tenant(), UUID(project_id))


async def sweep_pending_screenshots(_ctx: dict[str, Any]) -> int:
    """Re-enqueue screenshots and image attachments the queue lost (Redis flushed or restarted, enqueue
    failed after the commit)."""
    async with alchemy_config().get_session() as session:
        with system_scope("sweep pending screenshots"):
            async with session.begin():
                screenshots = (
                    await session.scalars(
                        select(Screenshot)
                        .where(*pending_before(Screenshot, SCREENSHOT_SWEEP_AFTER_SECONDS))
                        .order_by(Screenshot.updated_at)
                        .limit(SCREENSHOT_SWEEP_BATCH),
                    )
                ).all()
                attachments = (
                    await session.scalars(
                        select(Attachment)
                        .where(*pending_before(Attachment, SCREENSHOT_SWEEP_AFTER_SECONDS))
                        .order_by(Attachment.updated_at)
                        .limit(SCREENSHOT_SWEEP_BATCH),
                    )
                ).all()
    pending: list[tuple[str, dict[str, Any], Screenshot | Attachment]] = [
        *(("process_screenshot", {"screenshot_id": str(row.id)}, row) for row in screenshots),
        *(("process_attachment_image", {"attachment_id": str(row.id)}, row) for row in attachments),
    ]
    enqueued = await queue_again(pending, SCREENSHOT_RESWEEP_SECONDS)
    if enqueued:
        logger.info("sweeper re-enqueued images", count=enqueued)
    return enqueued
