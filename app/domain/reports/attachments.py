"""Attachments of a report: uploaded files (stored like screenshots) and links (stored, never fetched)."""

from __future__ import annotations

from pathlib import PurePosixPath
from uuid import UUID

from app.domain.reports.models import Attachment, AttachmentKind, Report
from app.domain.reports.schemas import AttachmentLink
from app.lib.errors import ErrorCode, LanternError, not_found
from app.lib.storage import new_key, storage
from tenants.context import require_tenant
from tenants.service import TenantRepository, TenantService

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024


def display_name(filename: str | None) -> str:
    """The last path part of a client's file name, for display only (keys never use it)."""
    name = PurePosixPath((filename or "").replace("\\", "/")).name.strip()
    return name[:255] or "attachment"


class AttachmentService(TenantService[Attachment]):
    class Repo(TenantRepository[Attachment]):
        model_type = Attachment

    repository_type = Repo

    async def of(self, report_id: UUID) -> list[Attachment]:
        return list(await self.get_many(Attachment.report_id == report_id, order_by=[Attachment.created_at.asc()]))

    async def one(self, report_id: UUID, attachment_id: UUID) -> Attachment:
        attachment = await self.get_one_or_none(Attachment.id == attachment_id, Attachment.report_id == report_id)
        if attachment is None:
            raise not_found()
        return attachment

    async def upload(
        self, report: Report, filename: str | None, content_type: str | None, data: bytes, by: UUID | None
    ) -> Attachment:
        if len(data) > MAX_ATTACHMENT_BYTES:
            raise LanternError(ErrorCode.PAYLOAD_TOO_LARGE)
        key = new_key(require_tenant(), report.project_id, "bin")
        await storage().put(key, data)
        return await self.create(
            Attachment(
                report_id=report.id,
                kind=AttachmentKind.FILE.value,
                name=display_name(filename),
                key=key,
                content_type=(content_type or "application/octet-stream")[:100],
                size=len(data),
                created_by_id=by,
            ),
        )

    async def link(self, report: Report, link: AttachmentLink, by: UUID | None) -> Attachment:
        return await self.create(
            Attachment(
                report_id=report.id,
                kind=AttachmentKind.LINK.value,
                name=link.name or display_name(link.url.split("?", 1)[0]),
                url=link.url,
                created_by_id=by,
            ),
        )

    async def remove(self, attachment: Attachment) -> None:
        await self.delete(attachment.id)
        if attachment.key:
            await storage().delete(attachment.key)
