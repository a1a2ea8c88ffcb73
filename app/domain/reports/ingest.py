"""Ingest: turning a widget submission, an API report or an upload into stored rows, fast and safely.

The request path is an append and a commit; the tracking number comes from a worker job, and the request
waits a bounded time for it so that most answers already carry it.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Self
from uuid import UUID

import msgspec
import structlog
from redis.exceptions import RedisError
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.emails.models import OutgoingEmail
from app.domain.emails.services import job_of
from app.domain.reports.audience import reporter_address
from app.domain.reports.group_commit import Submission, UploadLink, report_writer
from app.domain.reports.models import (
    Attachment,
    Category,
    Priority,
    Report,
    ReportChange,
    Screenshot,
    Severity,
    Source,
)
from app.domain.reports.schemas import ApiReport, WidgetSubmission
from app.domain.reports.services import check_sizes, trimmed_title
from app.domain.reports.tracking import submission_in_flight, wait_for
from app.lib.errors import ErrorCode, FieldError, LanternError
from app.lib.i18n import format_megabytes
from app.lib.i18n import gettext as _
from app.lib.patterns import EMAIL
from app.lib.queue import enqueue_for_tenant
from app.lib.redis import get_redis, redis_health
from app.lib.storage import new_key, storage
from app.settings import get_settings
from tenants.context import require_tenant

logger = structlog.get_logger()

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
# An upload that no report takes within this is let go, row and file: a widget key is public in every page,
# and its uploads would otherwise fill the disk.
UNATTACHED_UPLOAD_HOURS = 24
# A report takes its uploads within seconds; a key's holder could otherwise fill the shared disk with uploads
# no report ever takes (each kept a day), 200 MB a minute from one address at the default rate limit.
MAX_UNATTACHED_UPLOAD_BYTES = 200 * 1024 * 1024
UNATTACHED_RETRY_AFTER_SECONDS = 60
_IMAGE_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "png", "image/png"),
    (b"\xff\xd8\xff", "jpg", "image/jpeg"),
)


def sniff_image(data: bytes) -> tuple[str, str] | None:
    """(extension, content type) from the first bytes, not from the client's name or header."""
    for signature, extension, content_type in _IMAGE_SIGNATURES:
        if data.startswith(signature):
            return extension, content_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp", "image/webp"
    return None


def media_type(content_type: str | None) -> str:
    """A declared `Content-Type`'s media type alone, in lower case (`image/png` of `image/png; name=a`); "" for none."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def not_an_image(field: str) -> LanternError:
    """A 415 naming `field`, the part an upload came in: it is no image Lantern takes."""
    message = _("Only PNG, JPEG and WebP images can be uploaded.")
    return LanternError(ErrorCode.UNSUPPORTED_MEDIA_TYPE, message, details=[FieldError(field, message)])


def refuse_declared_non_image(content_type: str | None, field: str) -> None:
    """An image upload (a screenshot, a widget's attached image) declared as something else than an image
    (`text/plain`, `application/pdf`) is refused whatever its bytes: its sender meant another file. A type that
    says nothing (`application/octet-stream`, or none) is taken, and so is another image type than the bytes' (a
    PNG sent as `image/jpeg`): the bytes decide which image it is (`store_image`)."""
    declared = media_type(content_type)
    if declared not in {"", "application/octet-stream"} and not declared.startswith("image/"):
        raise not_an_image(field)


def refuse_empty_file(data: bytes, field: str) -> None:
    """A file part with no bytes (a form's file field left empty, a file that was not written yet) is a 400
    on its part: stored, it was an attachment of 0 bytes, or an image said to be of the wrong type."""
    if not data:
        raise LanternError(ErrorCode.VALIDATION_ERROR, details=[FieldError(field, _("This file is empty."))])


def report_from_widget(project_id: UUID, submission: WidgetSubmission, sent_metadata: dict[str, Any]) -> Report:
    """The report of a widget's submission; its page metadata keeps the fields BugPin's does not name (a client's
    `language`, `screen`), as the submission takes them: taken and then dropped, they were lost without a word."""
    metadata = _read_over_sent(msgspec.to_builtins(submission.metadata), sent_metadata)
    console = metadata.pop("consoleErrors", None) or []
    network = metadata.pop("networkErrors", None) or []
    actions = metadata.pop("userActions", None) or []
    # The page's custom data has bounds of its own (`CustomData`): the page's own metadata may fill the 64 KB.
    page = {name: value for name, value in metadata.items() if name != "custom"}
    check_sizes(logs=[*console, *network, *actions], metadata=page, annotations=submission.annotations)
    return Report(
        project_id=project_id,
        title=trimmed_title(submission.title),
        description=submission.description or "",
        priority=(submission.priority or Priority.MEDIUM).value,
        source=Source.WIDGET.value,
        reporter_name=submission.reporter_name or None,
        reporter_email=reporter_address(submission.reporter_email),
        page_url=submission.metadata.url,
        page_metadata=metadata,
        console_logs=console,
        network_logs=network,
        user_actions=actions,
        annotations=submission.annotations,
    )


def _read_over_sent(read: dict[str, Any], sent: dict[str, Any]) -> dict[str, Any]:
    """What the schema read, in the objects as sent: each field read (checked, in its stored form) replaces the
    one sent, in nested objects too (`browser`), and the fields it does not read stay as sent."""
    kept = dict(sent)
    for name, value in read.items():
        nested = isinstance(value, dict) and isinstance(sent.get(name), dict)
        kept[name] = _read_over_sent(value, sent[name]) if nested else value
    return kept


@dataclass(frozen=True, slots=True)
class SentFile:
    """A file part of a multipart submission: the client's file name, its bytes, and the part it came in."""

    name: str | None
    data: bytes
    field: str


@dataclass(frozen=True, slots=True)
class WidgetFiles:
    """What a widget submission's images are: the page's screenshot, and the files its reporter attached."""

    screenshot: SentFile | None
    attachments: list[SentFile]

    @classmethod
    def of(cls, screenshot: Sequence[SentFile], attachments: Sequence[SentFile], media: Sequence[SentFile]) -> Self:
        """Lantern's widget names its parts: `screenshot` (the captured, marked-up picture) and `attachments`
        (the visitor's files). BugPin's clients send images in `media`, the screenshot first, as its API shows
        (and so did Lantern's widget before): without a `screenshot` part, the first `media` part is the
        screenshot; every other `media` part is attached, under its file name."""
        if screenshot:
            return cls(screenshot[0], [*attachments, *media])
        if media:
            return cls(media[0], [*attachments, *media[1:]])
        return cls(None, list(attachments))


def refuse_attachments_turned_off(files: WidgetFiles, *, taken: bool) -> None:
    """A project whose widget configuration turns attachments off (`features.attachments`) takes none, naming the
    parts that brought them: they were kept all the same, which the project's managers had chosen not to."""
    if taken or not files.attachments:
        return
    message = _("This project's widget takes no attachments: send the report without them.")
    parts = sorted({sent.field for sent in files.attachments})
    raise LanternError(ErrorCode.VALIDATION_ERROR, details=[FieldError(part, message) for part in parts])


def has_marks(annotations: dict[str, Any] | None) -> bool:
    """Whether a submission's `annotations` hold any mark: the screenshot it came with shows them. Lantern's
    widget lists its marks in `shapes`; another editor's data counts by any list in it that is not empty."""
    return any(isinstance(value, list) and value for value in (annotations or {}).values())


def report_from_api(project_id: UUID, body: ApiReport) -> Report:
    console, network, actions = body.console_logs or [], body.network_logs or [], body.user_actions or []
    metadata = body.metadata or {}
    check_sizes(logs=[*console, *network, *actions], metadata=metadata)
    return Report(
        project_id=project_id,
        title=trimmed_title(body.title),
        description=body.description or "",
        severity=(body.severity or Severity.MEDIUM).value,
        priority=(body.priority or Priority.MEDIUM).value,
        category=(body.category or Category.BUG).value,
        source=Source.API.value,
        reporter_identifier=body.reporter_identifier,
        # BugSpark's identifier is "the reporter's e-mail or ID": an address is the reporter's e-mail, which
        # search, the list, the export and a guest's own reports go by.
        reporter_email=reporter_address(_address_or_none(body.reporter_identifier)),
        page_url=_page_url(metadata),
        page_metadata=metadata,
        console_logs=console,
        network_logs=network,
        user_actions=actions,
    )


def _address_or_none(identifier: str | None) -> str | None:
    return identifier if identifier is not None and re.match(EMAIL, identifier) else None


def _page_url(metadata: dict[str, object]) -> str | None:
    for name in ("url", "page", "pageUrl", "page_url"):
        if isinstance(value := metadata.get(name), str):
            return value[:2048]
    return None


@dataclass(frozen=True, slots=True)
class Accepted:
    report: Report
    tracking_id: str | None


async def accept(  # noqa: PLR0913 - the report and each kind of row stored with it
    report: Report,
    *,
    uploads: Sequence[Screenshot] = (),
    links: Sequence[UploadLink] = (),
    history: Sequence[ReportChange] = (),
    attachments: Sequence[Attachment] = (),
    mails: Sequence[OutgoingEmail] = (),
) -> Accepted:
    """Commit the report (durable before we answer), ask a worker to number it, wait briefly for it.

    The commit is shared with concurrent requests (see `group_commit`), so no request session is needed;
    `uploads` are new screenshots stored with the report, `links` earlier uploads it takes over, `history`
    its first entries (who filed a report the team files), `attachments` images its reporter attached, `mails`
    e-mails it calls for (sent once it is numbered, or the wait is over).
    """
    with submission_in_flight():
        organization_id = require_tenant()
        submission = Submission(
            organization_id,
            report,
            list(uploads),
            list(links),
            list(history),
            attachments=list(attachments),
            mails=list(mails),
        )
        try:
            stored = await report_writer().store(submission)
        except Exception:
            await delete_files([*uploads, *attachments])
            raise
        tracking_id = None
        # The report is stored: with the queue down, the sweeper queues its jobs once it is back.
        if redis_health().available:
            tracking_id = await _queue_jobs(organization_id, report, submission, stored.numbers_project)
        else:
            logger.warning("jobs not queued: Redis unavailable", report_id=str(report.id))
    return Accepted(report, tracking_id)


async def _queue_jobs(
    organization_id: UUID, report: Report, submission: Submission, numbers_project: bool
) -> str | None:
    """Queue a stored report's jobs, in one round trip, and wait briefly for its tracking ID."""
    jobs = [
        enqueue_for_tenant("process_screenshot", screenshot_id=str(screenshot.id), _job_id=screenshot.job_id)
        for screenshot in submission.screenshots
    ]
    jobs += [
        enqueue_for_tenant("process_attachment_image", attachment_id=str(attachment.id), _job_id=attachment.job_id)
        for attachment in submission.attachments
    ]
    if numbers_project:
        jobs.append(enqueue_for_tenant("assign_tracking_ids", project_id=str(report.project_id)))
    try:
        await asyncio.gather(*jobs)
        tracking_id = await wait_for(get_redis(), organization_id, report.id, get_settings().tracking_wait_ms)
        # After the wait: a notice names the report by its tracking ID when it has one.
        await asyncio.gather(
            *(
                enqueue_for_tenant(job_of(mail).function, _job_id=mail.job_id, email_id=str(mail.id))
                for mail in submission.mails
            )
        )
    except (RedisError, OSError):
        redis_health().failed()
        logger.warning("tracking id not requested: queue unavailable", report_id=str(report.id))
        return None
    redis_health().answered()
    return tracking_id


async def forget_unattached_uploads(session: AsyncSession) -> list[str]:
    """Delete the uploads no report took within `UNATTACHED_UPLOAD_HOURS` (BugSpark's upload, then a report
    that never came), in every tenant; their storage keys, for the files to go once this commits."""
    cutoff = datetime.now(UTC) - timedelta(hours=UNATTACHED_UPLOAD_HOURS)
    deleted = await session.execute(
        delete(Screenshot)
        .where(Screenshot.report_id.is_(None), Screenshot.created_at < cutoff)
        .returning(Screenshot.key)
        .execution_options(synchronize_session=False),
    )
    return list(deleted.scalars())


async def store_upload(session: AsyncSession, project_id: UUID, data: bytes) -> Screenshot:
    """Keep an upload that a later report takes over (BugSpark's upload, then `screenshot_url`), while the
    project's uploads waiting for their report stay within `MAX_UNATTACHED_UPLOAD_BYTES`."""
    waiting = await session.scalar(
        select(func.coalesce(func.sum(Screenshot.size), 0)).where(
            Screenshot.project_id == project_id, Screenshot.report_id.is_(None)
        )
    )
    if (waiting or 0) + len(data) > MAX_UNATTACHED_UPLOAD_BYTES:
        message = _(
            "Too many uploaded images are waiting for their report. Send the reports that use them, or try again later."
        )
        raise LanternError(
            ErrorCode.RATE_LIMITED, message, headers={"Retry-After": str(UNATTACHED_RETRY_AFTER_SECONDS)}
        )
    screenshot = await save_upload(project_id, data)
    try:
        session.add(screenshot)
        # Committed before the answer, not as it starts: the route is outside `UnsentAnswerMiddleware`, and a
        # commit that fails must not leave the file behind, which no row names.
        await session.commit()
    except Exception:
        await delete_files([screenshot])
        raise
    return screenshot


async def delete_files(rows: Sequence[Screenshot | Attachment]) -> None:
    """The files of uploads or attachments whose rows were not stored (their project deleted meanwhile, say):
    no row names them, and the project's file deletion may have come already, so nothing else would delete them."""
    for row in rows:
        if row.key:  # an attachment that is a link has no file
            await storage().delete(row.key)


async def save_upload(project_id: UUID, data: bytes, *, field: str = "file", annotated: bool = False) -> Screenshot:
    """Keep an uploaded image's bytes for its project; anything that is not PNG, JPEG or WebP is refused
    (the error names `field`, the form part the image came in). `annotated`: it shows the reporter's marks
    (BugSpark's report marks the annotated one only when it takes the upload over).

    Returns its row, not yet added to any session: it is stored with its report, or by `store_upload`.
    """
    key, content_type = await store_image(project_id, data, field)
    return Screenshot(
        organization_id=require_tenant(),  # its own, whichever tenant's scope it is written in
        project_id=project_id,
        key=key,
        content_type=content_type,
        size=len(data),
        annotated=annotated,
    )


async def store_image(project_id: UUID, data: bytes, field: str) -> tuple[str, str]:
    """The storage key and content type of an image kept for its project, its kind told by its bytes."""
    refuse_empty_file(data, field)
    if len(data) > MAX_UPLOAD_BYTES:
        message = _("An image can be at most %(size)s.", size=format_megabytes(MAX_UPLOAD_BYTES))
        raise LanternError(ErrorCode.PAYLOAD_TOO_LARGE, details=[FieldError(field, message)])
    sniffed = sniff_image(data)
    if sniffed is None:
        raise not_an_image(field)
    extension, content_type = sniffed
    key = new_key(require_tenant(), project_id, extension)
    await storage().put(key, data)
    return key, content_type
