"""Attachments of a report: uploaded files (stored like screenshots) and links (stored, never fetched).

A file whose bytes are a PNG, JPEG or WebP image (the content decides, never the name or declared type) is
stored `pending` and processed by the worker exactly like a screenshot (`screenshots.ImageProcessor`): it
ends `ready` (re-encoded, no EXIF/GPS, with a thumbnail) or `failed` with a refusal code, and a failed one is
never served. Any other file keeps `status` NULL: stored as sent, never processed, a plain download.
"""

from __future__ import annotations

import mimetypes
from pathlib import PurePosixPath
from uuid import UUID

import structlog
from redis.exceptions import RedisError
from sqlalchemy import select

from app.domain.organizations.models import Role
from app.domain.reports.ingest import (
    SentFile,
    WidgetFiles,
    delete_files,
    media_type,
    refuse_empty_file,
    save_upload,
    sniff_image,
    store_image,
)
from app.domain.reports.models import Attachment, AttachmentKind, ImageStatus, Report, Screenshot
from app.domain.reports.schemas import AttachmentLink
from app.domain.reports.screenshots import IMAGE_TYPES, pending_image
from app.domain.reports.services import ReportService
from app.lib.errors import ErrorCode, FieldError, LanternError, not_found
from app.lib.i18n import format_megabytes
from app.lib.i18n import gettext as _
from app.lib.paging import Paged, Window, page_of
from app.lib.queue import enqueue_for_tenant
from app.lib.storage import new_key, storage
from app.lib.web_addresses import check_web_address
from tenants.context import require_tenant
from tenants.identity import Identity
from tenants.service import TenantRepository, TenantService

logger = structlog.get_logger()

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024


# The standard library's own table, not the machine's /etc/mime.types: the same name on every server. Python
# 3.11's lacks WebP (3.13 has it), an image type Lantern stores.
_KNOWN_TYPES = mimetypes.MimeTypes()
_KNOWN_TYPES.add_type("image/webp", ".webp")


def display_name(filename: str | None, content_type: str | None = None) -> str:
    """The last path part of a client's file name, for display only (keys never use it). A file sent without a
    name is an `attachment`, with the usual extension of its content type when it is a known one
    (`attachment.png`), so that it opens with the right program once downloaded."""
    name = PurePosixPath((filename or "").replace("\\", "/")).name.strip()
    return name[:255] or f"attachment{_extension(content_type)}"


def _extension(content_type: str | None) -> str:
    """`.png` for `image/png`; nothing for a type the table does not know, nor for `application/octet-stream`,
    which says nothing of what the bytes are (its `.bin` would tell no program how to open them)."""
    declared = media_type(content_type)
    if declared == "application/octet-stream":
        return ""
    return _KNOWN_TYPES.guess_extension(declared) or ""


def _type_by_name(filename: str | None) -> str:
    """The type of a file sent without one, by its name's extension (`trace.json`: `application/json`); else
    `application/octet-stream`, which says only that it is bytes, not the `text/plain` a form's part is taken for:
    a zip sent so was stored as text. A compressed name (`logs.tar.gz`) is bytes too: its type is the archive's
    inside."""
    guessed, compressed = _KNOWN_TYPES.guess_type(filename or "")
    return guessed if guessed and not compressed else "application/octet-stream"


async def save_attachment(project_id: UUID, sent: SentFile) -> Attachment:
    """Keep an image a reporter attached to their report, under the name it was sent with, to be processed
    as an image attachment is (refused unless PNG, JPEG or WebP, as a screenshot is).

    Returns its row, not yet added to any session: it is stored with its report."""
    key, content_type = await store_image(project_id, sent.data, sent.field)
    return Attachment(
        organization_id=require_tenant(),
        kind=AttachmentKind.FILE.value,
        name=display_name(sent.name, content_type),
        key=key,
        content_type=content_type,
        size=len(sent.data),
        status=ImageStatus.PENDING.value,
    )


async def save_widget_files(
    project_id: UUID, files: WidgetFiles, *, annotated: bool
) -> tuple[list[Screenshot], list[Attachment]]:
    """Keep a widget submission's screenshot and attached images, all or none: a part refused after others were
    kept (a text file after an image) leaves no file of theirs behind. `annotated`: the screenshot shows marks."""
    uploads: list[Screenshot] = []
    attachments: list[Attachment] = []
    try:
        if (shot := files.screenshot) is not None:
            uploads.append(await save_upload(project_id, shot.data, field=shot.field, annotated=annotated))
        for sent in files.attachments:
            attachments.append(await save_attachment(project_id, sent))  # noqa: PERF401 - each kept as it is saved
    except Exception:
        await delete_files([*uploads, *attachments])
        raise
    return uploads, attachments


def _refuse_false_image(content_type: str | None) -> None:
    """A file sent as one of the images Lantern processes (`image/png`, `image/jpeg`, `image/webp`) whose bytes are
    no such image is a 415: kept, it was a download that the API said was an image, never processed. Any other
    file is taken as sent, whatever its type (a log, a PDF, a GIF)."""
    declared = media_type(content_type)
    if declared in IMAGE_TYPES:
        message = _(
            "The file is sent as %(content_type)s, but it is not a PNG, JPEG or WebP image.", content_type=declared
        )
        raise LanternError(ErrorCode.UNSUPPORTED_MEDIA_TYPE, message, details=[FieldError("file", message)])


class AttachmentService(TenantService[Attachment]):
    class Repo(TenantRepository[Attachment]):
        model_type = Attachment

    repository_type = Repo

    async def of(self, report_id: UUID) -> list[Attachment]:
        return list(await self.get_many(Attachment.report_id == report_id, order_by=[Attachment.created_at.asc()]))

    async def page(self, report_id: UUID, window: Window) -> Paged[Attachment]:
        """A page of the report's attachments, oldest first."""
        statement = (
            select(Attachment).where(Attachment.report_id == report_id).order_by(Attachment.created_at, Attachment.id)
        )
        return await page_of(self.session, statement, window)

    async def one(self, report_id: UUID, attachment_id: UUID) -> Attachment:
        attachment = await self.get_one_or_none(Attachment.id == attachment_id, Attachment.report_id == report_id)
        if attachment is None:
            raise not_found()
        return attachment

    async def served(self, report_id: UUID, attachment_id: UUID) -> Attachment:
        """An uploaded file of this report that may be downloaded: a refused image never is."""
        attachment = await self.one(report_id, attachment_id)
        if attachment.key is None or attachment.status == ImageStatus.FAILED.value:
            raise not_found()
        return attachment

    async def content(self, attachment: Attachment) -> bytes | None:
        """The stored file: an image's clean copy once processed; before that, the upload without its EXIF,
        GPS and other metadata, as a pending screenshot is served. None when that cannot be done without
        decoding it (the worker decodes, after its checks)."""
        data = await storage().get(attachment.key or "")
        if attachment.status != ImageStatus.PENDING.value:
            return data
        return pending_image(data, attachment.content_type or "", attachment.id)

    async def thumbnail(self, attachment: Attachment) -> bytes | None:
        """The thumbnail of an image file; None while it waits for its worker. A file that is not an image
        has none (404)."""
        if attachment.status is None:
            raise not_found()
        if attachment.thumbnail_key is None:
            return None
        return await storage().get(attachment.thumbnail_key)

    async def upload(
        self, report: Report, filename: str | None, content_type: str | None, data: bytes, by: UUID | None
    ) -> Attachment:
        refuse_empty_file(data, "file")
        if len(data) > MAX_ATTACHMENT_BYTES:
            message = _("A file can be at most %(size)s.", size=format_megabytes(MAX_ATTACHMENT_BYTES))
            raise LanternError(ErrorCode.PAYLOAD_TOO_LARGE, details=[FieldError("file", message)])
        image = sniff_image(data)
        if image is None:
            _refuse_false_image(content_type)
        key = new_key(require_tenant(), report.project_id, image[0] if image else "bin")
        stored_type = image[1] if image else (content_type or _type_by_name(filename))[:100]
        await storage().put(key, data)
        try:
            await self._hold_organization()
            attachment = await self.create(
                Attachment(
                    report_id=report.id,
                    kind=AttachmentKind.FILE.value,
                    name=display_name(filename, stored_type),
                    key=key,
                    content_type=stored_type,
                    size=len(data),
                    status=ImageStatus.PENDING.value if image else None,
                    created_by_id=by,
                ),
            )
        except Exception:
            # No row names the file (its report or project deleted meanwhile): no deletion would find it.
            await storage().delete(key)
            raise
        if image:
            await self.session.commit()  # the worker must find the row; the sweeper covers a lost enqueue
            try:
                await enqueue_for_tenant(
                    "process_attachment_image", attachment_id=str(attachment.id), _job_id=attachment.job_id
                )
            except (RedisError, OSError):
                logger.warning("attachment image not queued: queue unavailable", attachment_id=str(attachment.id))
        return attachment

    async def link(self, report: Report, link: AttachmentLink, by: UUID | None) -> Attachment:
        check_web_address(link.url, "url")
        await self._hold_organization()
        return await self.create(
            Attachment(
                report_id=report.id,
                kind=AttachmentKind.LINK.value,
                name=link.name or link.file_name or display_name(link.url.split("?", 1)[0]),
                url=link.url,
                created_by_id=by,
            ),
        )

    async def _hold_organization(self) -> None:
        """The organization's row, held before a file or link is added (`ReportService.hold_organization`): the
        attachment's row names its author, the organization and the report, and its insert held the author's
        account, then waited for the organization's row, which the organization's deletion held while it waited to
        delete that account (and the report). Now the deletion waits for the attachment, or the attachment for the
        deletion, and finds the organization gone (404)."""
        await ReportService(session=self.session).hold_organization()

    async def remove(self, attachment: Attachment, identity: Identity) -> None:
        """A file or link, deleted by whoever added it, or by a manager (an owner, an admin, a token): a report's
        evidence is not anyone else's to take away."""
        if identity.role not in {Role.OWNER, Role.ADMIN} and attachment.created_by_id != identity.user_id:
            message = _("Only whoever added this attachment, or an admin, can delete it.")
            raise LanternError(ErrorCode.FORBIDDEN, message)
        await self.delete(attachment.id)
        for key in (attachment.key, attachment.thumbnail_key):
            if key:
                await storage().delete(key)
