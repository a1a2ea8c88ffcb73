"""Screenshot processing: the most dangerous input Lantern takes, turned into a plain, re-encoded image.

An upload is kept as the client sent it and marked `pending`; a worker then (in `ScreenshotService`):
- identifies the real format from the bytes (PNG, JPEG or WebP; never the client's name or header) and
  refuses markup (SVG, HTML, PDF, polyglots hiding them) and bytes that lie about their format;
- reads only the header's size first and refuses decompression bombs before anything is decoded;
- applies the EXIF orientation, then re-encodes in the same format: the new file carries no EXIF, GPS,
  XMP or bytes appended after the image. Keeping the format keeps PNG screenshots lossless (text stays
  sharp) and JPEG photos the size they were; converting everything to WebP would save bytes but blur text;
- makes a 400 px wide WebP thumbnail, records size, dimensions and format, and marks the row `ready`, or
  `failed` with a reason.
Output keys derive from the screenshot's id, so running the job twice writes the same two objects.
"""

from __future__ import annotations

import asyncio
import io
import re
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Final
from uuid import UUID

import structlog
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import ColumnElement, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.reports.ingest import sniff_image
from app.domain.reports.models import Screenshot, ScreenshotStatus
from app.lib.errors import not_found
from app.lib.i18n import gettext as _
from app.lib.storage import Storage, derived_key, storage
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
# Markup a browser or a PDF reader would act on. A real image's compressed data matches these by chance
# about once in 2^56 positions; XMP packets (`<?xpacket`, `<x:xmpmeta`) are deliberately not listed.
_MARKUP: Final = re.compile(rb"<(?:script|html|svg|iframe|body|object|embed|!doctype)|%PDF-", re.IGNORECASE)
# Decoding is the memory-hungry part (4 bytes per pixel, twice during the orientation fix): at most this
# many images are decoded at once per process, whatever arq's max_jobs.
_DECODING: Final = threading.BoundedSemaphore(2)


class Refusal(StrEnum):
    """Why a screenshot ended `failed`: stored as this stable code, shown in the reader's language."""

    MARKUP = "markup"
    UNSUPPORTED = "unsupported"
    INVALID = "invalid"
    TOO_LARGE = "too_large"
    DAMAGED = "damaged"
    ATTEMPTS = "attempts"
    MISSING = "missing"
    TIMEOUT = "timeout"


def refusal_message(code: str) -> str:
    """The reason of a failed screenshot in the current locale (rendered on read, not in the worker's)."""
    messages: dict[str, Callable[[], str]] = {
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
    return messages.get(code, messages[Refusal.INVALID])()


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


def process_image(data: bytes, max_pixels: int) -> ProcessedImage:
    """The clean image and its thumbnail, or `ImageRefusedError`. CPU-bound: call it in a thread."""
    if _MARKUP.search(data):
        raise ImageRefusedError(Refusal.MARKUP)
    sniffed = sniff_image(data)
    if sniffed is None:
        raise ImageRefusedError(Refusal.UNSUPPORTED)
    extension, content_type = sniffed
    pillow_format, _type, options = _FORMATS[extension]
    with _DECODING, warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        image = _open(data, pillow_format, max_pixels)
        with image:
            upright = _decode_upright(image)
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
    try:
        image.load()
        upright = ImageOps.exif_transpose(image)
    except (OSError, SyntaxError, ValueError) as error:
        raise ImageRefusedError(Refusal.DAMAGED) from error
    has_alpha = upright.mode in {"RGBA", "LA", "PA"} or "transparency" in upright.info
    converted = upright.convert("RGBA" if has_alpha else "RGB")
    converted.info = {}  # nothing of the original's metadata may reach the encoder
    return converted


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
    image.save(buffer, "WEBP", **_THUMBNAIL_OPTIONS)
    return buffer.getvalue()


class ScreenshotService:
    """Process one screenshot of the tenant in context; a screenshot of another tenant is simply not found."""

    def __init__(self, session: AsyncSession, store: Storage | None = None) -> None:
        self.session = session
        self.store = store or storage()

    async def process(self, screenshot_id: UUID) -> str | None:
        """The screenshot's status afterwards; None when this tenant has no such pending screenshot, in which
        case nothing is written: a rerun, and a job naming another tenant's screenshot, change nothing.
        """
        shot = await self._pending(screenshot_id)
        if shot is None or _held(shot):
            return None
        if shot.attempts >= MAX_ATTEMPTS:
            return await self._fail(shot, Refusal.ATTEMPTS)
        if not await self._claim(shot):
            return None
        return await self._run(shot)

    async def _run(self, shot: Screenshot) -> str:
        try:
            data = await self.store.get(shot.key)
        except FileNotFoundError:
            return await self._fail(shot, Refusal.MISSING)
        settings = get_settings()
        try:
            processed = await asyncio.wait_for(
                asyncio.to_thread(process_image, data, settings.max_image_pixels),
                settings.screenshot_timeout_seconds,
            )
        except ImageRefusedError as refused:
            return await self._fail(shot, refused.refusal)
        except TimeoutError:
            return await self._fail(shot, Refusal.TIMEOUT)
        return await self._store(shot, processed)

    async def of_report(self, report_id: UUID, screenshot_id: UUID) -> Screenshot:
        """A screenshot of this report that may be shown: a refused upload is never served."""
        shot = await self.session.scalar(
            select(Screenshot).where(Screenshot.id == screenshot_id, Screenshot.report_id == report_id),
        )
        if shot is None or shot.status == ScreenshotStatus.FAILED.value:
            raise not_found()
        return shot

    async def image(self, shot: Screenshot) -> tuple[bytes, str]:
        """(bytes, content type): the clean copy once processed; before that, the upload (its sniffed type)."""
        return await self.store.get(shot.key), shot.content_type

    async def thumbnail(self, shot: Screenshot) -> bytes | None:
        """The thumbnail's bytes; None while the screenshot waits for its worker."""
        if shot.thumbnail_key is None:
            return None
        return await self.store.get(shot.thumbnail_key)

    async def _pending(self, screenshot_id: UUID) -> Screenshot | None:
        shot = await self.session.scalar(select(Screenshot).where(Screenshot.id == screenshot_id))
        return shot if shot is not None and shot.status == ScreenshotStatus.PENDING.value else None

    async def _claim(self, shot: Screenshot) -> bool:
        """Count this run and hold the screenshot for it, unless a concurrent run (a duplicate job) did first.

        Committed before the work, so that a run that kills its worker counts too.
        """
        claimed = await self.session.execute(
            update(Screenshot)
            .where(
                Screenshot.id == shot.id,
                Screenshot.status == ScreenshotStatus.PENDING.value,
                Screenshot.attempts == shot.attempts,
            )
            .values(attempts=Screenshot.attempts + 1, updated_at=datetime.now(UTC))
            .execution_options(synchronize_session=False),
        )
        await self.session.commit()
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            return False
        await self.session.refresh(shot)
        return True

    async def _store(self, shot: Screenshot, processed: ProcessedImage) -> str:
        organization_id, project_id = shot.organization_id, shot.project_id
        image_key = derived_key(organization_id, project_id, f"screenshot:{shot.id}", processed.extension)
        thumbnail_key = derived_key(organization_id, project_id, f"thumbnail:{shot.id}", "webp")
        await self.store.put(image_key, processed.data)
        await self.store.put(thumbnail_key, processed.thumbnail)
        original = shot.key
        shot.key = image_key
        shot.thumbnail_key = thumbnail_key
        shot.content_type = processed.content_type
        shot.size = len(processed.data)
        shot.format = processed.format
        shot.width, shot.height = processed.width, processed.height
        shot.status, shot.error = ScreenshotStatus.READY.value, None
        await self.session.commit()
        # Only after the commit: until then a rerun still needs the original. Its EXIF/GPS goes with it.
        await self.store.delete(original)
        return shot.status

    async def _fail(self, shot: Screenshot, refusal: Refusal) -> str:
        logger.info("screenshot refused", screenshot_id=str(shot.id), reason=refusal.value)
        shot.status, shot.error = ScreenshotStatus.FAILED.value, refusal.value
        await self.session.commit()
        return shot.status


def run_seconds() -> int:
    """The longest a run can take: its own timeout, plus the margin arq's timeout for the job adds to it."""
    return get_settings().screenshot_timeout_seconds + 30


def _held(shot: Screenshot) -> bool:
    """A run started less than `run_seconds()` ago may still be working: another run must not start."""
    return shot.attempts > 0 and shot.updated_at > datetime.now(UTC) - timedelta(seconds=run_seconds())


def pending_before(seconds: float) -> list[ColumnElement[bool]]:
    """Conditions of screenshots attached to a report and still pending `seconds` after their last change."""
    cutoff = datetime.now(UTC) - timedelta(seconds=seconds)
    return [
        Screenshot.status == ScreenshotStatus.PENDING.value,
        Screenshot.report_id.is_not(None),
        Screenshot.updated_at < cutoff,
    ]
