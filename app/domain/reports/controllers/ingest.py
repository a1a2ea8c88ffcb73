"""HTTP for ingest with a widget key: BugSpark's upload, BugPin's widget submit and config.

BugSpark's create (`POST /api/v1/reports`) shares its path with the triage list, so it lives with it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import CacheControlHeader, FormMultiDict, UploadFile
from litestar.di import NamedDependency
from litestar.openapi.spec import OpenAPIFormat, OpenAPIType, Schema
from litestar.params import FromPath, MultipartBody
from litestar.response import File
from litestar.status_codes import HTTP_201_CREATED
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.projects.schemas import WidgetConfig, WidgetConfigAnswer, WidgetSettings
from app.domain.reports import schemas
from app.domain.reports.attachments import save_widget_files
from app.domain.reports.controllers.deps import DEPENDENCIES, widget_project_id
from app.domain.reports.ingest import (
    MAX_UPLOAD_BYTES,
    SentFile,
    WidgetFiles,
    accept,
    has_marks,
    refuse_attachments_turned_off,
    refuse_declared_non_image,
    report_from_widget,
    store_upload,
)
from app.domain.reports.widget import SCRIPT, widget_texts
from app.lib import jsonapi
from app.lib.asgi import KEY_IN_PATH, OWN_BODY, PUBLIC_INGEST, SCREENSHOT_UPLOAD
from app.lib.content_types import sent_part_type, unsupported_content_type
from app.lib.cors import TryPassQuery, origin_refusal
from app.lib.errors import ErrorCode, FieldError, LanternError, too_large
from app.lib.i18n import format_megabytes
from app.lib.i18n import gettext as _
from app.lib.openapi import BINARY, PUBLIC, WIDGET, documented_body, json_schema, may_answer
from app.lib.schema import decode_json, decode_lenient, operation_id
from app.settings import get_settings
from tenants.guards import requires_widget_key
from tenants.identity import Identity
from tenants.resolve import widget_project

# A report's JSON, on every route that takes one; a multipart submission's images may take more.
MAX_JSON_BODY = 1024 * 1024
MAX_MULTIPART_BODY = 25 * 1024 * 1024
MAX_MEDIA_FILES = 5  # in all the file parts: a screenshot and 4 attached images, or 5 attached without one
FILE_PARTS = ("screenshot", "attachments", "media")
# Sites pick up a new widget within minutes of an upgrade, without every page view asking for it.
SCRIPT_MAX_AGE_SECONDS = 300
WIDGET_MULTIPART = Schema(
    type=OpenAPIType.OBJECT,
    properties={
        "data": Schema(
            type=OpenAPIType.STRING,
            content_media_type="application/json",
            content_schema=json_schema(schemas.WidgetSubmission),
            description="The report as JSON, as in the JSON body.",
        ),
        "screenshot": Schema(
            type=OpenAPIType.STRING,
            format=OpenAPIFormat.BINARY,
            description="The page's screenshot, marked up if `annotations` has marks: PNG, JPEG or WebP.",
        ),
        "attachments": Schema(
            type=OpenAPIType.ARRAY,
            items=BINARY,
            max_items=MAX_MEDIA_FILES,
            description=(
                "Images the reporter attached, kept as the report's attachments under their file names. At most "
                f"{MAX_MEDIA_FILES} files in all the parts: {MAX_MEDIA_FILES - 1} beside a `screenshot`."
            ),
        ),
        "media": Schema(
            type=OpenAPIType.ARRAY,
            items=BINARY,
            max_items=MAX_MEDIA_FILES,
            description=(
                "BugPin's images: without a `screenshot` part the first is the screenshot; the others are "
                "attachments. PNG, JPEG or WebP; at most 5 files in all the parts."
            ),
        ),
    },
    required=["data"],
)


class IngestController(Controller):
    path = "/api/v1"
    tags = ["Ingest"]
    dependencies = DEPENDENCIES

    @post(
        "/upload/screenshot",
        operation_id="UploadScreenshot",
        opt={PUBLIC_INGEST: True, SCREENSHOT_UPLOAD: True},
        guards=[requires_widget_key],
        security=WIDGET,
        request_max_body_size=MAX_MULTIPART_BODY,
        status_code=HTTP_201_CREATED,
    )
    async def upload(
        self,
        request: Request[Any, Any, Any],
        identity: NamedDependency[Identity],
        data: MultipartBody[schemas.ScreenshotUpload],
        db_session: NamedDependency[AsyncSession],
    ) -> schemas.ScreenshotKey | Response[dict[str, Any]]:
        """BugSpark's upload: `{"key"}` to pass as `screenshot_url` (only this project can use it). In JSON:API
        mode, a `screenshot` with its `key` among its attributes. The file is a PNG, JPEG or WebP image by its bytes,
        sent as an image type (whichever) or as `application/octet-stream`; anything else is a 415."""
        refuse_declared_non_image(sent_part_type(data.file), "file")
        screenshot = await store_upload(db_session, widget_project_id(identity), await data.file.read())
        if jsonapi.requested(request):  # the native answer is BugSpark's bare object, not the envelope
            read = schemas.ScreenshotUploaded(id=screenshot.id, key=screenshot.key)
            kind = schemas.ScreenshotUploaded
            answer = jsonapi.native_or_document(request, "screenshot", read, kind=kind, made=True)
            assert isinstance(answer, Response)  # noqa: S101 - a document, in JSON:API mode
            return answer
        return schemas.ScreenshotKey(key=screenshot.key)


class WidgetController(Controller):
    """BugPin's widget API, under /api/v1/widget and, for sites moving from BugPin, /api/widget."""

    path = "/"
    tags = ["Widget"]
    dependencies = DEPENDENCIES

    @post(
        ["/api/v1/widget/submit", "/api/widget/submit"],
        operation_id=operation_id("WidgetSubmit"),
        opt={PUBLIC_INGEST: True, OWN_BODY: True},
        guards=[requires_widget_key],
        security=WIDGET,
        operation_class=documented_body(
            {"application/json": schemas.WidgetSubmission, "multipart/form-data": WIDGET_MULTIPART},
            "BugPin's report, as JSON or as multipart: the same JSON in the part `data`, its screenshot in "
            "`screenshot`, attached images in `attachments` (or BugPin's `media` parts: the first is the screenshot).",
        ),
        request_max_body_size=MAX_MULTIPART_BODY,
        status_code=HTTP_201_CREATED,
    )
    async def submit(
        self,
        request: Request[Any, Any, Any],
        identity: NamedDependency[Identity],
        try_pass: TryPassQuery = None,  # noqa: ARG002 - read by the CORS middleware, before this runs
    ) -> schemas.WidgetSubmitted:
        """A report as JSON, or as multipart with `data` (the JSON) and its images (see `WidgetFiles.of`)."""
        project_id = widget_project_id(identity)
        sent = await _read_submission(request)
        refuse_attachments_turned_off(sent.files, taken=identity.widget is not None and identity.widget.attachments)
        report = report_from_widget(project_id, sent.submission, sent.metadata)
        annotated = has_marks(sent.submission.annotations)
        uploads, attachments = await save_widget_files(project_id, sent.files, annotated=annotated)
        accepted = await accept(report, uploads=uploads, attachments=attachments)
        return schemas.WidgetSubmitted(
            report_id=accepted.report.id,
            tracking_id=accepted.tracking_id,
            message=_("Bug report submitted successfully."),
        )

    @get(
        ["/api/v1/widget/config/{api_key:str}", "/api/widget/config/{api_key:str}"],
        operation_id=operation_id("WidgetConfig"),
        security=PUBLIC,
        responses=may_answer(ErrorCode.FORBIDDEN),  # a site not allowed, a paused project
        opt={KEY_IN_PATH: True},
    )
    async def config(
        self,
        request: Request[Any, Any, Any],
        api_key: FromPath[str],
        db_session: NamedDependency[AsyncSession],
        try_pass: TryPassQuery = None,  # noqa: ARG002 - read by `origin_refusal`, as the submit's middleware reads it
    ) -> WidgetConfigAnswer:
        """The widget's appearance and features for a project key (public: the key is in every page). A page
        on a site the project does not allow gets a 403, so that the widget stays hidden and says why in the
        console, instead of letting a visitor fill in a report that will be refused."""
        project = await widget_project(db_session, api_key)
        origin = request.headers.get("origin")
        if origin and (
            refusal := await origin_refusal(
                request, origin, tuple(project.allowed_origins), project.id, project.organization_id
            )
        ):
            raise refusal
        # Read through the schema: a project saved before a field existed is served that field's default.
        stored = msgspec.convert(project.widget_config, WidgetConfig)
        settings = WidgetSettings(
            **msgspec.structs.asdict(stored),
            project_name=project.name,
            max_image_bytes=MAX_UPLOAD_BYTES,
            max_image_pixels=get_settings().max_image_pixels,
            texts=widget_texts(),
        )
        return WidgetConfigAnswer(data=settings, config=settings)

    @get(
        "/widget.js",
        operation_id="WidgetScript",
        security=PUBLIC,
        media_type="text/javascript",
        responses=may_answer(ErrorCode.NOT_FOUND),  # not built
        cache_control=CacheControlHeader(public=True, max_age=SCRIPT_MAX_AGE_SECONDS),
    )
    async def script(self) -> File:
        """The embeddable widget: `<script src=".../widget.js" data-api-key="lt_pub_…" defer></script>`."""
        if not SCRIPT.is_file():
            raise LanternError(ErrorCode.NOT_FOUND, _("The widget script is not built: run `make install`."))
        return File(path=SCRIPT, filename=SCRIPT.name, media_type="text/javascript", content_disposition_type="inline")


@dataclass(frozen=True, slots=True)
class _Sent:
    submission: schemas.WidgetSubmission
    # The `metadata` object as sent, with the fields `PageMetadata` does not read (a client's `language`), which
    # the report keeps.
    metadata: dict[str, Any]
    files: WidgetFiles


def _decoded(raw: bytes, part: str | None = None) -> tuple[schemas.WidgetSubmission, dict[str, Any]]:
    submission = decode_json(raw, schemas.WidgetSubmission, part=part)
    return submission, decode_lenient(raw, schemas.SentMetadata).metadata


async def _read_submission(request: Request[Any, Any, Any]) -> _Sent:
    content_type, _params = request.content_type
    if content_type == "application/json":
        return _Sent(*_decoded(_within_json_limit(await request.body())), WidgetFiles(None, []))
    if content_type != "multipart/form-data":
        raise unsupported_content_type("application/json", "multipart/form-data")
    form = await request.form()
    submission, metadata = _decoded(_within_json_limit(await _data_part(form), part="data"), part="data")
    # A file sent under another name would be dropped without a word: the sender is told where files go.
    misplaced = sorted(
        {name for name, item in form.multi_items() if isinstance(item, UploadFile)} - {"data", *FILE_PARTS}
    )
    if misplaced:
        message = _("Files are sent in the `screenshot`, `attachments` or `media` parts.")
        raise LanternError(ErrorCode.VALIDATION_ERROR, details=[FieldError(name, message) for name in misplaced])
    parts = {name: [item for item in form.getall(name, []) if isinstance(item, UploadFile)] for name in FILE_PARTS}
    if sum(map(len, parts.values())) > MAX_MEDIA_FILES:
        message = _("At most %(count)s files can be attached.", count=MAX_MEDIA_FILES)
        sent_in = [FieldError(name, message) for name, items in parts.items() if items]  # as a part too large is
        raise LanternError(ErrorCode.PAYLOAD_TOO_LARGE, details=sent_in)
    if len(parts["screenshot"]) > 1:
        message = _("A report has one screenshot: other images are sent in `attachments`.")
        raise LanternError(ErrorCode.VALIDATION_ERROR, details=[FieldError("screenshot", message)])
    for name, items in parts.items():
        for item in items:
            refuse_declared_non_image(sent_part_type(item), name)
    sent = {name: [SentFile(item.filename, await item.read(), name) for item in items] for name, items in parts.items()}
    return _Sent(submission, metadata, WidgetFiles.of(sent["screenshot"], sent["attachments"], sent["media"]))


async def _data_part(form: FormMultiDict) -> bytes:
    """The report's JSON, sent in one `data` part: taking one of two dropped the other without a word."""
    sent = form.getall("data", [])
    if len(sent) > 1:
        message = _("A report is sent in one `data` part.")
        raise LanternError(ErrorCode.VALIDATION_ERROR, details=[FieldError("data", message)])
    raw = sent[0] if sent else None
    if isinstance(raw, UploadFile):  # a browser's FormData sends a Blob of JSON as a file
        raw = (await raw.read()).decode(errors="replace")  # as a text part's bytes are read
    if not isinstance(raw, str):
        raise LanternError(ErrorCode.VALIDATION_ERROR, details=[_data_required()])
    return raw.encode()


def _within_json_limit(body: bytes, part: str | None = None) -> bytes:
    """A report's JSON takes what the JSON create route takes: the route's larger allowance is for images. Sent
    as a multipart's `part`, the refusal names it, as an image's names its part."""
    if len(body) <= MAX_JSON_BODY:
        return body
    if part is None:
        raise too_large(MAX_JSON_BODY)
    message = _("The report's JSON can be at most %(size)s.", size=format_megabytes(MAX_JSON_BODY))
    raise LanternError(ErrorCode.PAYLOAD_TOO_LARGE, details=[FieldError(part, message)])


def _data_required() -> FieldError:
    return FieldError("data", _("The `data` field with the report as JSON is required."))
