"""HTTP for a report's attachments: upload a file or add a link, list, download, delete; an image file's
thumbnail (see attachments.py: image files are processed like screenshots)."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any
from urllib.parse import quote
from uuid import UUID

from litestar import Controller, Request, Response, delete, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency, Provide
from litestar.openapi.spec import OpenAPIType, Schema
from litestar.params import FromPath, QueryParameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT, HTTP_409_CONFLICT
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.projects.services import ProjectService
from app.domain.reports import schemas
from app.domain.reports.attachments import AttachmentService
from app.domain.reports.controllers.deps import DEPENDENCIES, guest_projects
from app.domain.reports.controllers.files import image_still_processing, inline_image, still_processing, stored_file
from app.domain.reports.controllers.ingest import MAX_JSON_BODY
from app.domain.reports.jsonapi import (
    ATTACHMENT_DESCRIPTION,
    ATTACHMENT_RULES,
    ATTACHMENTS_DESCRIPTION,
    attachment_item,
    attachment_list,
)
from app.domain.reports.models import Attachment, Report
from app.domain.reports.screenshots import THUMBNAIL_TYPE, refusal_message, refusal_of
from app.domain.reports.services import ReportService
from app.lib import jsonapi
from app.lib.asgi import FILE_DOWNLOAD, JSONAPI_QUERY, OWN_BODY
from app.lib.content_types import sent_part_type, unsupported_content_type
from app.lib.errors import ErrorCode, FieldError, LanternError, too_large
from app.lib.i18n import gettext as _
from app.lib.openapi import BINARY, documented_body, either_spelling, file_answer, jsonapi_body, or_wrapped
from app.lib.paging import PAGES_DESCRIPTION, ListAnswer, Window, listed, provide_window
from app.lib.schema import LOCATION, Envelope, convert_body, created, decode_json, ok, refusals_named_as_sent, unwrapped
from app.lib.web_addresses import public_address
from tenants.guards import requires_admin_client
from tenants.identity import Identity

# A file of 10 MB and its multipart framing; a link, sent as JSON, takes what any JSON body takes (MAX_JSON_BODY).
MAX_UPLOAD_BODY = 11 * 1024 * 1024


async def provide_attachments(db_session: NamedDependency[AsyncSession]) -> AttachmentService:
    return AttachmentService(session=db_session)


async def provide_attachment(  # noqa: PLR0913 - the ids and the services they touch
    *,
    identity: NamedDependency[Identity],
    reference: FromPath[str],
    attachment_id: FromPath[UUID],
    reports: NamedDependency[ReportService],
    projects: NamedDependency[ProjectService],
    attachments: NamedDependency[AttachmentService],
) -> Attachment:
    """The uploaded file the path names, if the caller may see its report and the file may be served (a
    refused image may not); a foreign tenant's id is unknown."""
    report = await _report(identity, reference, reports, projects)
    return await attachments.served(report.id, attachment_id)


def attachment_read(attachment: Attachment, *, whole: bool = True) -> schemas.AttachmentRead:
    """An attachment with the addresses of its file and thumbnail (a link's `url` is its own): whole, under
    LANTERN_PUBLIC_URL, for API clients; paths (not `whole`) for the admin UI's pages."""
    path = f"/api/v1/reports/{attachment.report_id}/attachments/{attachment.id}"
    base = public_address(path) if whole else path
    refusal = refusal_of(attachment.error) if attachment.error else None
    return schemas.AttachmentRead(
        id=attachment.id,
        report_id=attachment.report_id,
        kind=attachment.kind,
        name=attachment.name,
        url=attachment.url or f"{base}/content",
        content_type=attachment.content_type,
        size=attachment.size,
        created_at=attachment.created_at,
        status=attachment.status,
        width=attachment.width,
        height=attachment.height,
        thumbnail_url=f"{base}/thumbnail" if attachment.thumbnail_key else None,
        error=refusal_message(refusal) if refusal else None,
        error_code=refusal.value if refusal else None,
    )


ATTACHMENT_MULTIPART = Schema(
    type=OpenAPIType.OBJECT,
    properties={"file": BINARY},
    required=["file"],
)


class AttachmentController(Controller):
    path = "/api/v1/reports/{reference:str}/attachments"
    tags = ["Attachments"]
    guards = [requires_admin_client]
    dependencies = {**DEPENDENCIES, "attachments": Provide(provide_attachments)}

    @get(
        "/",
        operation_id="ListAttachments",
        opt={JSONAPI_QUERY: ATTACHMENT_RULES},
        description=f"A report's attachments, oldest first. {PAGES_DESCRIPTION} {ATTACHMENTS_DESCRIPTION}",
        dependencies={"window": Provide(provide_window)},
    )
    async def list_attachments(  # noqa: PLR0913 - the request, its page and the services it touches
        self,
        *,
        request: Request[Any, Any, Any],
        identity: NamedDependency[Identity],
        reference: FromPath[str],
        reports: NamedDependency[ReportService],
        projects: NamedDependency[ProjectService],
        attachments: NamedDependency[AttachmentService],
        window: NamedDependency[Window],
    ) -> ListAnswer[schemas.AttachmentRead]:
        """A report's attachments; in JSON:API mode (see ListReports) with `fields[attachment]`."""
        report = await _report(identity, reference, reports, projects)
        found = await attachments.page(report.id, window)
        if window.whole:
            return jsonapi.document_response(attachment_list(request, found.items, attachment_read))
        return listed(request, [attachment_read(attachment) for attachment in found.items], found.total, window)

    @post(
        "/",
        operation_id="CreateAttachment",
        status_code=HTTP_201_CREATED,
        response_headers=LOCATION,
        request_max_body_size=MAX_UPLOAD_BODY,
        opt={OWN_BODY: True},
        operation_class=documented_body(
            {
                "application/json": or_wrapped(either_spelling(schemas.AttachmentLink), "attachment"),
                jsonapi.MEDIA_TYPE: jsonapi_body(schemas.AttachmentLink, "attachment", made=True),
                "multipart/form-data": ATTACHMENT_MULTIPART,
            },
            'A link (also BugHerd\'s `{"attachment": {"url", "file_name"}}`, or a JSON:API document\'s '
            "`data.attributes`), or a file in the part `file`.",
        ),
    )
    async def create(  # noqa: PLR0913 - the request and the services it touches
        self,
        *,
        request: Request[Any, Any, Any],
        identity: NamedDependency[Identity],
        reference: FromPath[str],
        reports: NamedDependency[ReportService],
        projects: NamedDependency[ProjectService],
        attachments: NamedDependency[AttachmentService],
    ) -> jsonapi.CreatedOrDocument[schemas.AttachmentRead]:
        """A file as multipart `file`, or a link as JSON `{"url", "name"}` (or BugHerd's
        `{"attachment": {"url", "file_name"}}`, or a JSON:API document's attributes)."""
        report = await _report(identity, reference, reports, projects)
        content_type, _params = request.content_type
        if content_type in {"application/json", jsonapi.MEDIA_TYPE}:
            body = decode_json(_within_json_limit(await request.body()), dict[str, Any])
            sent = await jsonapi.body_as_sent(
                request, body, "attachment", other_form=partial(unwrapped, name="attachment")
            )
            link = convert_body(sent, schemas.AttachmentLink)
            with refusals_named_as_sent(sent, schemas.AttachmentLink):  # an address no browser reads
                attachment = await attachments.link(report, link, identity.user_id)
            return _made(request, attachment)
        if content_type != "multipart/form-data":
            raise unsupported_content_type("application/json", jsonapi.MEDIA_TYPE, "multipart/form-data")
        upload = await _form_file(request)
        attachment = await attachments.upload(
            report, upload.filename, sent_part_type(upload), await upload.read(), identity.user_id
        )
        return _made(request, attachment)

    @post(
        "/upload",
        operation_id="UploadAttachment",
        status_code=HTTP_201_CREATED,
        response_headers=LOCATION,
        request_max_body_size=MAX_UPLOAD_BODY,
        opt={OWN_BODY: True},
        operation_class=documented_body(
            {"application/octet-stream": BINARY, "multipart/form-data": ATTACHMENT_MULTIPART},
            "The file itself as the request's body (BugHerd's upload), named by `file_name`; or a form's part "
            "`file`, named by `file_name` or else by its own name. Any type; one sent as `image/png`, `image/jpeg` "
            "or `image/webp` must be such an image (415).",
        ),
    )
    async def upload_raw(  # noqa: PLR0913 - the request and the services it touches
        self,
        *,
        request: Request[Any, Any, Any],
        identity: NamedDependency[Identity],
        reference: FromPath[str],
        file_name: Annotated[str | None, QueryParameter(max_length=255)] = None,
        reports: NamedDependency[ReportService],
        projects: NamedDependency[ProjectService],
        attachments: NamedDependency[AttachmentService],
    ) -> jsonapi.CreatedOrDocument[schemas.AttachmentRead]:
        report = await _report(identity, reference, reports, projects)
        content_type: str | None = request.headers.get("content-type")
        if request.content_type[0] == "multipart/form-data":
            # A form sent here rather than to CreateAttachment: its file is the part, not the whole body.
            upload = await _form_file(request)
            file_name, content_type, data = file_name or upload.filename, sent_part_type(upload), await upload.read()
        elif not (data := await request.body()):
            raise _file_required()
        attachment = await attachments.upload(report, file_name, content_type, data, identity.user_id)
        return _made(request, attachment)

    @get(
        "/{attachment_id:uuid}",
        operation_id="GetAttachment",
        description=f"A report's attachment, as the list shows it. {ATTACHMENT_DESCRIPTION}",
    )
    async def show(  # noqa: PLR0913 - the request, the ids and the services they touch
        self,
        *,
        request: Request[Any, Any, Any],
        identity: NamedDependency[Identity],
        reference: FromPath[str],
        attachment_id: FromPath[UUID],
        reports: NamedDependency[ReportService],
        projects: NamedDependency[ProjectService],
        attachments: NamedDependency[AttachmentService],
    ) -> Envelope[schemas.AttachmentRead] | Response[dict[str, Any]]:
        """One attachment (BugHerd's "show attachment"); in JSON:API mode with `fields[attachment]`."""
        report = await _report(identity, reference, reports, projects)
        attachment = await attachments.one(report.id, attachment_id)
        if jsonapi.requested(request):
            return jsonapi.document_response(attachment_item(request, attachment, attachment_read))
        return ok(attachment_read(attachment))

    @get(
        "/{attachment_id:uuid}/content",
        operation_id="DownloadAttachment",
        opt={FILE_DOWNLOAD: True},
        operation_class=file_answer(
            ["application/octet-stream"], "The file, as a download under its name.", while_processing=HTTP_409_CONFLICT
        ),
        dependencies={"attachment": Provide(provide_attachment)},
    )
    async def download(
        self, attachment: NamedDependency[Attachment], attachments: NamedDependency[AttachmentService]
    ) -> Response[bytes]:
        """The file, always as a download that the browser will not render in our origin (an image file: its
        re-encoded copy once processed, before that without its metadata, or `409` with `Retry-After` when that
        cannot be taken out safely; a refused one: 404)."""
        data = await attachments.content(attachment)
        if data is None:
            raise image_still_processing()
        disposition = f"attachment; filename*=UTF-8''{quote(attachment.name)}"
        return stored_file(data, "application/octet-stream", disposition)

    @get(
        "/{attachment_id:uuid}/thumbnail",
        operation_id="GetAttachmentThumbnail",
        opt={FILE_DOWNLOAD: True},
        operation_class=file_answer(
            [THUMBNAIL_TYPE], "A 400 px wide WebP of the image.", while_processing=HTTP_202_ACCEPTED
        ),
        dependencies={"attachment": Provide(provide_attachment)},
    )
    async def thumbnail(
        self, attachment: NamedDependency[Attachment], attachments: NamedDependency[AttachmentService]
    ) -> Response[bytes]:
        """A 400 px wide WebP of an image file; `202` with `Retry-After` while it waits for its worker; 404 for
        a file that is not an image, or a refused one."""
        thumbnail = await attachments.thumbnail(attachment)
        if thumbnail is None:
            return still_processing()
        return inline_image(thumbnail, THUMBNAIL_TYPE, f"{attachment.id}-thumbnail.webp")

    @delete("/{attachment_id:uuid}", operation_id="DeleteAttachment", status_code=HTTP_204_NO_CONTENT)
    async def remove(  # noqa: PLR0913 - the ids and the services they touch
        self,
        *,
        identity: NamedDependency[Identity],
        reference: FromPath[str],
        attachment_id: FromPath[UUID],
        reports: NamedDependency[ReportService],
        projects: NamedDependency[ProjectService],
        attachments: NamedDependency[AttachmentService],
    ) -> None:
        report = await _report(identity, reference, reports, projects)
        await attachments.remove(await attachments.one(report.id, attachment_id), identity)


def _made(request: Request[Any, Any, Any], attachment: Attachment) -> jsonapi.CreatedOrDocument[schemas.AttachmentRead]:
    """A new attachment, linked or uploaded (whatever the body's type, a client that asks for JSON:API by its
    `Accept` gets its document), at the address a GET reads it: its 201's `Location` and the document's self
    link."""
    location = f"/api/v1/reports/{attachment.report_id}/attachments/{attachment.id}"
    if jsonapi.requested(request):
        return jsonapi.written(attachment_item(request, attachment, attachment_read), location)
    return created(attachment_read(attachment), location)


async def _report(identity: Identity, reference: str, reports: ReportService, projects: ProjectService) -> Report:
    return await reports.by_reference(reference, await guest_projects(identity, projects))


def _file_required() -> LanternError:
    return LanternError(ErrorCode.VALIDATION_ERROR, details=[FieldError("file", _("A file is required."))])


def _within_json_limit(body: bytes) -> bytes:
    """A link's JSON takes what every JSON body takes: the route's larger allowance is for a file."""
    if len(body) > MAX_JSON_BODY:
        raise too_large(MAX_JSON_BODY)
    return body


async def _form_file(request: Request[Any, Any, Any]) -> UploadFile:
    """The file of a multipart form's part `file`."""
    upload = (await request.form()).get("file")
    if not isinstance(upload, UploadFile):
        raise _file_required()
    return upload
