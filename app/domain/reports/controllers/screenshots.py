"""HTTP for a report's screenshots: the image and its thumbnail, only through the app and its tenant check.

Each answer is an image the browser may show but never run: the type Lantern verified, `nosniff`, a
sandboxing CSP, and a file name made from the id (never the client's).
"""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Response, get
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath
from litestar.status_codes import HTTP_202_ACCEPTED, HTTP_409_CONFLICT
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.projects.services import ProjectService
from app.domain.reports.controllers.deps import DEPENDENCIES, guest_projects
from app.domain.reports.controllers.files import image_still_processing, inline_image, still_processing
from app.domain.reports.models import ImageStatus, Screenshot
from app.domain.reports.screenshots import IMAGE_TYPES, THUMBNAIL_TYPE, ScreenshotService
from app.domain.reports.services import ReportService
from app.lib.asgi import FILE_DOWNLOAD
from app.lib.openapi import file_answer
from tenants.guards import requires_admin_client
from tenants.identity import Identity


async def provide_screenshots(db_session: NamedDependency[AsyncSession]) -> ScreenshotService:
    return ScreenshotService(db_session)


async def provide_shot(  # noqa: PLR0913 - the ids and the services they touch
    *,
    identity: NamedDependency[Identity],
    reference: FromPath[str],
    screenshot_id: FromPath[UUID],
    reports: NamedDependency[ReportService],
    projects: NamedDependency[ProjectService],
    screenshots: NamedDependency[ScreenshotService],
) -> Screenshot:
    """The screenshot the path names, if the caller may see its report; a foreign tenant's id is unknown."""
    report = await reports.by_reference(reference, await guest_projects(identity, projects))
    return await screenshots.of_report(report.id, screenshot_id)


class ScreenshotController(Controller):
    path = "/api/v1/reports/{reference:str}/screenshots/{screenshot_id:uuid}"
    tags = ["Reports"]
    guards = [requires_admin_client]
    dependencies = {
        **DEPENDENCIES,
        "screenshots": Provide(provide_screenshots),
        "shot": Provide(provide_shot),
    }

    @get(
        "/",
        operation_id="GetScreenshot",
        opt={FILE_DOWNLOAD: True},
        operation_class=file_answer(
            IMAGE_TYPES, "The image, in the type it was taken in.", while_processing=HTTP_409_CONFLICT
        ),
    )
    async def screenshot(
        self, shot: NamedDependency[Screenshot], screenshots: NamedDependency[ScreenshotService]
    ) -> Response[bytes]:
        """The image itself, fetched with the API's credentials; while it waits for its worker, without its
        metadata, or `409` with `Retry-After` when that cannot be taken out safely."""
        image = await screenshots.image(shot)
        if image is None:
            raise image_still_processing()
        data, content_type = image
        filename = f"{shot.id}.{shot.key.rsplit('.', 1)[-1]}"
        return inline_image(data, content_type, filename, final=shot.status != ImageStatus.PENDING.value)

    @get(
        "/thumbnail",
        operation_id="GetScreenshotThumbnail",
        opt={FILE_DOWNLOAD: True},
        operation_class=file_answer(
            [THUMBNAIL_TYPE], "A 400 px wide WebP of the image.", while_processing=HTTP_202_ACCEPTED
        ),
    )
    async def thumbnail(
        self, shot: NamedDependency[Screenshot], screenshots: NamedDependency[ScreenshotService]
    ) -> Response[bytes]:
        """A 400 px wide WebP of the image; `202` with `Retry-After` while the image waits for its worker."""
        thumbnail = await screenshots.thumbnail(shot)
        if thumbnail is None:
            return still_processing()
        return inline_image(thumbnail, THUMBNAIL_TYPE, f"{shot.id}-thumbnail.webp")
