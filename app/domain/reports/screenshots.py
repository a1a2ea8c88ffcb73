"""Screenshot processing: the most dangerous input Lantern takes, turned into a plain, re-encoded image.

An upload is kept as the client sent it and marked `pending`; a worker then (in `ImageProcessor`):
- identifies the real format from the bytes (PNG, JPEG or WebP; never the client's name or header) and
  refuses markup (SVG, HTML, PDF, polyglots hiding them) and bytes that lie about their format;
- reads only the header's size first and refuses decompression bombs before anything is decoded;
- applies the EXIF orientation, then re-encodes in the same format: the new file carries no EXIF, GPS,
  XMP or bytes appended after the image. Keeping the format keeps PNG screenshots lossless (text stays
  sharp) and JPEG photos the size they were; converting everything to WebP would save bytes but blur text;
- makes a 400 px wide WebP thumbnail, records size, dimensions and format, and marks the row `ready`, or
  `failed` with a reason; the last of a report's screenshots to be done is announced to its webhooks in that
  same transaction (`OnProcessed`).
Output keys derive from the screenshot's id, so running the job twice writes the same two objects.

A file attached to a report whose bytes are a PNG, JPEG or WebP image goes through exactly the same steps
(`ImageProcessor`, shared by both); any other file is stored as sent and only ever offered as a download.
"""

from __future__ import annotations

import asyncio
import io
import os
import re
import sys
import threading
import warnings
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import cache
from typing import Final, Generic, TypeVar
from uuid import UUID

import structlog
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import ColumnElement, Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from app.domain.reports.ingest import sniff_image
from app.domain.reports.models import Attachment, ImageStatus, Report, Screenshot
from app.lib.errors import not_found
from app.lib.i18n import gettext as _
from app.lib.image_metadata import UnreadableImageError, without_metadata
from app.lib.storage import Storage, StorageUnavailableError, derived_key, storage
from app.settings import get_settings

logger = structlog.get_logger()

THUMBNAIL_WIDTH: Final = 400
# A run that starts this many times without finishing (the worker died or stalled each time) gives up.
MAX_ATTEMPTS: Final = 3
# Pillow's name of each format `sniff_image` accepts -> (extension, content type, save options).
_FORMATS: Final[dict[str, tuple[str, str, dict[str, object]]]] = {
    "png": ("PNG", "image/png", {"compress_level": 3}),
    "jpg": ("JPEG", "image/jpeg", {"quality": 90}),
    "webp": ("WEBP", "image/webp", {"quality": 85, "method": 2}),
}
_THUMBNAIL_OPTIONS: Final[dict[str, object]] = {"quality": 75, "method": 0}
# The most bytes the encoders above write per pixel, whatever the image: a PNG of noise with alpha, one pixel wide,
# takes 4 bytes of colour and a filter byte a pixel, then deflate's and the chunks' framing (under 0.1 %). JPEG at
# quality 90 and WebP write less (noise: 0.9 and 1.8 bytes a pixel) at every size they can encode (at most 65,500 and
# 16,383 pixels a side), and a thumbnail is a smaller image still. Rounded up, with the headers' bytes beside.
_MOST_BYTES_PER_PIXEL: Final = 6
_MOST_HEADER_BYTES: Final = 64 * 1024
# The types an image is served in: its own (re-encoded as it came), and its thumbnail's.
IMAGE_TYPES: Final = tuple(content_type for _name, content_type, _options in _FORMATS.values())
THUMBNAIL_TYPE: Final = "image/webp"
# Markup a browser or a PDF reader would act on, looked for outside what a decoder reads (`_carries_markup`);
# XMP packets (`<?xpacket`, `<x:xmpmeta`) are deliberately not listed.
_MARKUP: Final = re.compile(rb"<(?:script|html|svg|iframe|body|object|embed|!doctype)|%PDF-", re.IGNORECASE)
# Decoding is the memory-hungry part (4 bytes per pixel, twice during the orientation fix): at most this
# many images are decoded at once per process, whatever arq's max_jobs.
_DECODING: Final = threading.BoundedSemaphore(2)


class Refusal(StrEnum):
    """Why an image (a screenshot or an attached image) ended `failed`: stored as this stable code, shown in
    the reader's language."""

    MARKUP = "markup"
    UNSUPPORTED = "unsupported"
    INVALID = "invalid"
    TOO_LARGE = "too_large"
    DAMAGED = "damaged"
    ATTEMPTS = "attempts"
    MISSING = "missing"
    TIMEOUT = "timeout"


def refusal_of(stored: str) -> Refusal:
    """The refusal a failed image's `error` column names. The worker has stored these codes from the first (never
    a sentence); a value this version does not know (an archive of a newer Lantern's) reads as `invalid`."""
    try:
        return Refusal(stored)
    except ValueError:
        return Refusal.INVALID


def refusal_message(refusal: Refusal) -> str:
    """The reason of a failed image in the current locale, rendered on read: the reader's language in the API and
    the UI, the organization's in its webhooks (never the worker's)."""
    messages: dict[Refusal, Callable[[], str]] = {
        Refusal.MARKUP: lambda: _("The file contains web page or document content, not only an image."),
        Refusal.UNSUPPORTED: lambda: _("Only PNG, JPEG and WebP images can be uploaded."),
        Refusal.INVALID: lambda: _("The file is not a valid image of the type its content starts as."),
        Refusal.TOO_LARGE: lambda: _(
            "The image has more than %(megapixels)d megapixels.",
            megapixels=get_settings().max_image_pixels // 1_000_000,
        ),
        Refusal.DAMAGED: lambda: _("The image is damaged and cannot be read."),
        Refusal.ATTEMPTS: lambda: _("Processing the image failed several times."),
        Refusal.MISSING: lambda: _("The uploaded file is missing."),
        Refusal.TIMEOUT: lambda: _("Processing the image took too long."),
    }
    return messages[refusal]()


class ImageRefusedError(ValueError):
    """The bytes are not an image Lantern will keep; `refusal` says why."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.value)
        self.refusal = refusal


@dataclass(frozen=True, slots=True)
class ProcessedImage:
    data: bytes
    extension: str
    content_type: str
    width: int
    height: int
    thumbnail: bytes

    @property
    def format(self) -> str:
        return "jpeg" if self.extension == "jpg" else self.extension


def _carries_markup(data: bytes, content_type: str | None) -> bool:
    """Whether `data` holds markup outside what a decoder reads of an image of `content_type` (None: no image):
    in its metadata, a chunk no decoder knows, bytes after its end. Compressed pixels match by chance (`<svg` in
    any case about once in 2^29 positions: one 9 MB photo in 60, one 2 MB screenshot in 250 was refused), and
    nothing shows them as markup; so matches that the image without its metadata still holds do not count."""
    found = len(_MARKUP.findall(data))
    if not found or content_type is None:
        return found > 0
    try:
        return found > len(_MARKUP.findall(without_metadata(data, content_type)))
    except UnreadableImageError:
        return True


def largest_processed_image(max_pixels: int) -> int:
    """The most bytes a processed image of at most `max_pixels`, or its thumbnail, can take: more than it was sent
    in, at times (a 9 MB JPEG of quality 45 is 18 MB at quality 90)."""
    return max_pixels * _MOST_BYTES_PER_PIXEL + _MOST_HEADER_BYTES


def process_image(data: bytes, max_pixels: int) -> ProcessedImage:
    """The clean image and its thumbnail, or `ImageRefusedError`. CPU-bound: call it in a thread."""
    sniffed = sniff_image(data)
    if _carries_markup(data, sniffed[1] if sniffed else None):
        raise ImageRefusedError(Refusal.MARKUP)
    if sniffed is None:
        raise ImageRefusedError(Refusal.UNSUPPORTED)
    extension, content_type = sniffed
    pillow_format, _type, options = _FORMATS[extension]
    with _DECODING, warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        # No `with`: the bytes are in memory, and closing would also drop the decoded pixels kept below.
        upright = _decode_upright(_open(data, pillow_format, max_pixels))
    clean = _encode(upright, pillow_format, options)
    return ProcessedImage(
        data=clean,
        extension=extension,
        content_type=content_type,
        width=upright.width,
        height=upright.height,
        thumbnail=_thumbnail(upright),
    )


def _open(data: bytes, pillow_format: str, max_pixels: int) -> Image.Image:
    """Read the header only (Image.open decodes nothing) and refuse what would not fit in memory."""
    try:
        image = Image.open(io.BytesIO(data), formats=[pillow_format])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ImageRefusedError(Refusal.TOO_LARGE) from error
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise ImageRefusedError(Refusal.INVALID) from error
    width, height = image.size
    if width < 1 or height < 1 or width * height > max_pixels:
        image.close()
        raise ImageRefusedError(Refusal.TOO_LARGE)
    return image


def _decode_upright(image: Image.Image) -> Image.Image:
    """The decoded pixels, upright, as RGB or RGBA. In place where it can be: a copy of a 1080p frame costs
    as much as a tenth of the whole job."""
    try:
        image.load()
        ImageOps.exif_transpose(image, in_place=True)
    except (OSError, SyntaxError, ValueError) as error:
        raise ImageRefusedError(Refusal.DAMAGED) from error
    has_alpha = image.mode in {"RGBA", "LA", "PA"} or "transparency" in image.info
    target = "RGBA" if has_alpha else "RGB"
    upright = image if image.mode == target else image.convert(target)
    upright.info = {}  # nothing of the original's metadata may reach the encoder
    return upright


def _encode(image: Image.Image, pillow_format: str, options: dict[str, object]) -> bytes:
    buffer = io.BytesIO()
    rgb = image.convert("RGB") if pillow_format == "JPEG" and image.mode != "RGB" else image
    rgb.save(buffer, pillow_format, **options)
    return buffer.getvalue()


def _thumbnail(image: Image.Image) -> bytes:
    """400 px wide (smaller images keep their width: no upscaling), as WebP."""
    if image.width > THUMBNAIL_WIDTH:
        height = max(1, round(image.height * THUMBNAIL_WIDTH / image.width))
        image = image.resize((THUMBNAIL_WIDTH, height), Image.Resampling.BILINEAR, reducing_gap=1.0)
    buffer = io.BytesIO()
    image.save(buffer, "WEBP", **_THUMBNAIL_OPTIONS)  # THUMBNAIL_TYPE
    return buffer.getvalue()


ImageRow = TypeVar("ImageRow", Screenshot, Attachment)
# What an image's outcome tells (a report's webhooks), written in the transaction that records it, or not at all.
# It is called with the outcome set on the row but not yet written, and autoflush off: it holds the rows it waits
# on before it writes the row (`session.flush()`), in the order every change to a report takes them.
OnProcessed = Callable[[ImageRow], Awaitable[None]]


class ImageProcessor(Generic[ImageRow]):
    """The one way an uploaded image is processed, whether a screenshot or a file attached to a report.

    Both rows carry the same columns for it (`status`, `attempts`, `width`, `height`, `format`,
    `thumbnail_key`, `error`); this class is all the claim, retry, idempotency and refusal logic there is.
    It works in the tenant in context: another tenant's row is simply not found.
    """

    def __init__(
        self,
        session: AsyncSession,
        model: type[ImageRow],
        store: Storage | None = None,
        on_processed: OnProcessed[ImageRow] | None = None,
    ) -> None:
        self.session = session
        self.model: type[ImageRow] = model
        self.store = store or storage()
        self.on_processed: OnProcessed[ImageRow] | None = on_processed

    async def process(self, row_id: UUID) -> str | None:
        """The row's status afterwards; None when this tenant has no such pending image, in which case
        nothing is written: a rerun, and a job naming another tenant's row, change nothing.
        """
        pending = await self._pending(row_id)
        if pending is None:
            return None
        row, project_id = pending
        if _held(row):
            return None
        if row.attempts >= MAX_ATTEMPTS:
            return await self._fail(row, Refusal.ATTEMPTS)
        if not await self._claim(row):
            return None
        try:
            return await self._run(row, project_id)
        except StorageUnavailableError:
            # The store failed, not the image: the attempt is given back, and the sweeper runs it again later
            # (three failed minutes of a full disk would otherwise fail every image waiting meanwhile).
            logger.warning("image not processed: storage unavailable", row_id=str(row.id))
            await self._give_back(row)
            return None

    async def _run(self, row: ImageRow, project_id: UUID) -> str | None:
        if row.key is None:
            return await self._fail(row, Refusal.MISSING)
        # No connection held while the image is read, processed and written (SQLite's pool has one), and the
        # row is updated afterwards in a transaction of its own, which sees a deletion committed meanwhile.
        await self.session.commit()
        try:
            data = await self.store.get(row.key)
        except FileNotFoundError:
            return await self._fail(row, Refusal.MISSING)
        settings = get_settings()
        try:
            processed = await asyncio.wait_for(
                asyncio.get_running_loop().run_in_executor(
                    image_executor(), process_image, data, settings.max_image_pixels
                ),
                settings.screenshot_timeout_seconds,
            )
        except ImageRefusedError as refused:
            return await self._fail(row, refused.refusal)
        except TimeoutError:
            return await self._fail(row, Refusal.TIMEOUT)
        return await self._store(row, project_id, processed)

    async def _pending(self, row_id: UUID) -> tuple[ImageRow, UUID] | None:
        """The pending row and the project its files go under, read in one statement: read after the claim's
        commit, an attached image's project (its report's) could be gone with its report, and the job failed."""
        found = (await self.session.execute(self._with_project().where(self.model.id == row_id))).tuples().first()
        return found if found is not None and found[0].status == ImageStatus.PENDING.value else None

    def _with_project(self) -> Select[tuple[ImageRow, UUID]]:
        if self.model is Screenshot:
            return select(self.model, Screenshot.project_id)
        return select(self.model, Report.project_id).join(Report, Report.id == Attachment.report_id)

    async def _claim(self, row: ImageRow) -> bool:
        """Count this run and hold the row for it, unless a concurrent run (a duplicate job) did first.

        Committed before the work, so that a run that kills its worker counts too. The row's new values come back
        with the claim (RETURNING): read after its commit, the row could be gone with its report already.
        """
        claimed = await self.session.execute(
            update(self.model)
            .where(
                self.model.id == row.id,
                self.model.status == ImageStatus.PENDING.value,
                self.model.attempts == row.attempts,
            )
            .values(attempts=self.model.attempts + 1, updated_at=datetime.now(UTC))
            .returning(self.model)
            .execution_options(synchronize_session=False, populate_existing=True),
        )
        won = claimed.first() is not None
        await self.session.commit()
        return won

    async def _give_back(self, row: ImageRow) -> None:
        await self.session.rollback()
        await self.session.execute(
            update(self.model)
            .where(self.model.id == row.id, self.model.status == ImageStatus.PENDING.value)
            .values(attempts=self.model.attempts - 1)
            .execution_options(synchronize_session=False),
        )
        await self.session.commit()

    async def _store(self, row: ImageRow, project_id: UUID, processed: ProcessedImage) -> str | None:
        """Write the processed image and its thumbnail, then point the row at them; None, and the files
        deleted again, when the row went meanwhile (its report was deleted while the image was processed)."""
        organization_id = row.organization_id
        # Ids are unique across tables (UUIDv7), so these seeds never collide between screenshots and files.
        seed = f"{self.model.__tablename__}:{row.id}"
        image_key = derived_key(organization_id, project_id, seed, processed.extension)
        thumbnail_key = derived_key(organization_id, project_id, f"thumbnail:{row.id}", "webp")
        await self.store.put(image_key, processed.data)
        await self.store.put(thumbnail_key, processed.thumbnail)
        original = row.key
        row.key = image_key
        row.thumbnail_key = thumbnail_key
        row.content_type = processed.content_type
        row.size = len(processed.data)
        row.format = processed.format
        row.width, row.height = processed.width, processed.height
        row.status, row.error = ImageStatus.READY.value, None
        if not await self._record(row):  # no row to update: the deletion's own job knew nothing of these files
            await self.store.delete(image_key)
            await self.store.delete(thumbnail_key)
            return None
        # Only after the commit: until then a rerun still needs the original. Its EXIF/GPS goes with it.
        if original is not None:
            await self.store.delete(original)
        return row.status

    async def _fail(self, row: ImageRow, refusal: Refusal) -> str | None:
        """Mark the row failed with its reason; None when the row went meanwhile (its report was deleted)."""
        logger.info("image refused", table=self.model.__tablename__, id=str(row.id), reason=refusal.value)
        row.status, row.error = ImageStatus.FAILED.value, refusal.value
        # Not recorded: nothing left to mark, and no reason to run again.
        return ImageStatus.FAILED.value if await self._record(row) else None

    async def _record(self, row: ImageRow) -> bool:
        """Commit the outcome set on the row, with what `on_processed` writes of it; False, and nothing written,
        when the row went meanwhile (its report was deleted while the image was processed)."""
        try:
            if self.on_processed is not None:
                with self.session.no_autoflush:  # see `OnProcessed`: the row is written once it holds its rows
                    await self.on_processed(row)
            await self.session.commit()
        except StaleDataError:
            await self.session.rollback()
            return False
        return True


def pending_image(data: bytes, content_type: str, row_id: UUID) -> bytes | None:
    """An upload no worker has cleaned yet (a screenshot, an image attachment), as it may be served: without its
    EXIF, GPS and other metadata, taken out of the container without decoding a pixel (the worker decodes,
    after its checks). None when that cannot be done: it is not served until its worker has looked at it,
    rather than with whatever metadata the unparsed part may hold."""
    try:
        return without_metadata(data, content_type)
    except UnreadableImageError as error:
        logger.info("pending image withheld: unreadable container", id=str(row_id), why=str(error))
        return None


class ScreenshotService:
    """Process one screenshot of the tenant in context; a screenshot of another tenant is simply not found."""

    def __init__(self, session: AsyncSession, store: Storage | None = None) -> None:
        self.session = session
        self.store = store or storage()

    async def process(self, screenshot_id: UUID, on_processed: OnProcessed[Screenshot] | None = None) -> str | None:
        """See `ImageProcessor.process`; `on_processed` tells of the outcome (see `OnProcessed`)."""
        return await ImageProcessor(self.session, Screenshot, self.store, on_processed).process(screenshot_id)

    async def of_report(self, report_id: UUID, screenshot_id: UUID) -> Screenshot:
        """A screenshot of this report that may be shown: a refused upload is never served."""
        shot = await self.session.scalar(
            select(Screenshot).where(Screenshot.id == screenshot_id, Screenshot.report_id == report_id),
        )
        if shot is None or shot.status == ImageStatus.FAILED.value:
            raise not_found()
        return shot

    async def image(self, shot: Screenshot) -> tuple[bytes, str] | None:
        """(bytes, content type): the clean copy once processed; before that, the upload (its sniffed type) as
        `pending_image` leaves it, or None."""
        data = await self.store.get(shot.key)
        if shot.status != ImageStatus.PENDING.value:
            return data, shot.content_type
        shown = pending_image(data, shot.content_type, shot.id)
        return None if shown is None else (shown, shot.content_type)

    async def thumbnail(self, shot: Screenshot) -> bytes | None:
        """The thumbnail's bytes; None while the screenshot waits for its worker."""
        if shot.thumbnail_key is None:
            return None
        return await self.store.get(shot.thumbnail_key)


# Image work yields the CPU to everything else (ingest, numbering, triage): under a flood of uploads on a
# small machine those go first, and the processing backlog drains when they are quiet.
IMAGE_NICENESS = 10


def _yield_cpu() -> None:
    # Linux keeps a nice value per thread; elsewhere nice() would slow the whole worker, so only here.
    if sys.platform == "linux":
        os.nice(IMAGE_NICENESS)


@cache
def image_executor() -> ThreadPoolExecutor:
    """The threads that decode and re-encode images (Pillow releases the GIL): one per CPU, at low priority."""
    return ThreadPoolExecutor(max_workers=os.cpu_count() or 1, thread_name_prefix="image", initializer=_yield_cpu)


STORAGE_MARGIN_MIN_SECONDS = 10


def run_seconds() -> int:
    """The longest a run can take: its own timeout (image work), plus the margin arq's timeout for the job adds
    for reading the upload and writing the outputs around it: half as long again, at least 10 s (90 s in all
    by default; 15 s for a 5 s timeout)."""
    timeout = get_settings().screenshot_timeout_seconds
    return timeout + max(STORAGE_MARGIN_MIN_SECONDS, timeout // 2)


def _held(row: Screenshot | Attachment) -> bool:
    """A run started less than `run_seconds()` ago may still be working: another run must not start."""
    return row.attempts > 0 and row.updated_at > datetime.now(UTC) - timedelta(seconds=run_seconds())


def pending_before(model: type[Screenshot | Attachment], seconds: float) -> list[ColumnElement[bool]]:
    """Conditions of images attached to a report and still pending `seconds` after their last change."""
    cutoff = datetime.now(UTC) - timedelta(seconds=seconds)
    return [
        model.status == ImageStatus.PENDING.value,
        model.report_id.is_not(None),
        model.updated_at < cutoff,
    ]
