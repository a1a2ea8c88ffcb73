"""The image pipeline on real Pillow images made here: what it refuses, and what the clean copy keeps."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap
import threading

import pytest
from PIL import ExifTags, Image, PngImagePlugin

from app.domain.reports.screenshots import (
    IMAGE_NICENESS,
    THUMBNAIL_WIDTH,
    ImageRefusedError,
    Refusal,
    image_executor,
    process_image,
    refusal_of,
)

LIMIT = 40_000_000


def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def bomb() -> bytes:
    """A PNG of a few KiB that declares 10,000 x 10,000 pixels (1 bit each, all zero: it compresses well)."""
    return encode(Image.new("1", (10_000, 10_000)), "PNG", optimize=True)


def gps_jpeg(orientation: int = 1) -> bytes:
    """A 40x20 JPEG, red left half and blue right half, with GPS coordinates and an orientation tag."""
    image = Image.new("RGB", (40, 20), "blue")
    image.paste((255, 0, 0), (0, 0, 20, 20))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.IFD.GPSInfo] = {ExifTags.GPS.GPSLatitudeRef: "N", ExifTags.GPS.GPSLatitude: (25.0, 2.0, 0.0)}
    return encode(image, "JPEG", exif=exif.tobytes(), quality=95)


def test_a_small_png_declaring_100_megapixels_is_refused_without_decoding_it() -> None:
    data = bomb()
    assert len(data) < 16 * 1024
    with pytest.raises(ImageRefusedError) as refused:
        process_image(data, LIMIT)
    assert refused.value.refusal is Refusal.TOO_LARGE


def test_refusing_the_bomb_takes_little_memory() -> None:
    """Measured in a fresh process (Pillow allocates outside Python's allocator): peak RSS growth."""
    script = textwrap.dedent(
        """
        import resource, sys
        from app.domain.reports.screenshots import ImageRefusedError, process_image
        from tests.unit.test_image_processing import LIMIT, bomb
        data = bomb()
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        try:
            process_image(data, LIMIT)
        except ImageRefusedError:
            pass
        else:
            sys.exit("not refused")
        print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)
        """,
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)  # noqa: S603
    growth_kib = int(result.stdout.strip())
    assert growth_kib < 50 * 1024


@pytest.mark.parametrize(
    ("data", "refusal"),
    [
        pytest.param(b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"></svg>', Refusal.MARKUP, id="svg"),
        pytest.param(b"<!DOCTYPE html><html><script>alert(1)</script></html>", Refusal.MARKUP, id="html"),
        pytest.param(b"%PDF-1.7\n1 0 obj << >> endobj\n%%EOF", Refusal.MARKUP, id="pdf"),
        pytest.param(
            encode(Image.new("RGB", (16, 16), "red"), "JPEG", comment=b"<script>alert(document.cookie)</script>"),
            Refusal.MARKUP,
            id="html-in-jpeg-polyglot",
        ),
        pytest.param(
            b"\xff\xd8\xff" + encode(Image.new("RGB", (16, 16)), "PNG"), Refusal.INVALID, id="png-claiming-jpeg-magic"
        ),
        pytest.param(encode(Image.new("RGB", (16, 16)), "GIF"), Refusal.UNSUPPORTED, id="gif"),
    ],
)
def test_anything_but_a_plain_png_jpeg_or_webp_is_refused(data: bytes, refusal: Refusal) -> None:
    with pytest.raises(ImageRefusedError) as refused:
        process_image(data, LIMIT)
    assert refused.value.refusal is refusal


def test_a_stored_refusal_reads_as_its_code_and_one_this_version_does_not_know_as_invalid() -> None:
    """Rows hold codes, never sentences: an archive of a newer Lantern may hold a code this one lacks."""
    assert [refusal_of(refusal.value) for refusal in Refusal] == list(Refusal)
    assert refusal_of("too_wide") is Refusal.INVALID


def test_the_format_comes_from_the_content() -> None:
    processed = process_image(encode(Image.new("RGB", (30, 10), "green"), "PNG"), LIMIT)
    assert (processed.format, processed.content_type, processed.extension) == ("png", "image/png", "png")
    assert Image.open(io.BytesIO(processed.data)).format == "PNG"


def test_exif_and_gps_are_gone_and_the_orientation_is_applied() -> None:
    data = gps_jpeg(orientation=6)  # "rotate 90 degrees clockwise to display"
    assert b"Exif" in data
    processed = process_image(data, LIMIT)
    assert (processed.width, processed.height) == (20, 40)
    clean = Image.open(io.BytesIO(processed.data))
    assert clean.format == "JPEG"
    assert clean.size == (20, 40)
    assert not clean.getexif()
    assert b"Exif" not in processed.data
    red, _green, blue = clean.convert("RGB").getpixel((10, 5))  # type: ignore[misc]
    assert red > 200 > blue  # the left (red) half is now on top


def test_bytes_after_the_image_are_gone() -> None:
    png = encode(Image.new("RGB", (30, 10), "green"), "PNG")
    processed = process_image(png + b"TRAILING-PAYLOAD" * 64, LIMIT)
    assert b"TRAILING-PAYLOAD" not in processed.data
    assert processed.data.endswith(b"IEND\xaeB`\x82")


def test_webp_stays_webp_and_the_thumbnail_is_400_pixels_wide() -> None:
    screenshot = Image.effect_mandelbrot((1920, 1080), (-2.0, -1.0, 1.0, 1.0), 50).convert("RGB")
    processed = process_image(encode(screenshot, "WEBP"), LIMIT)
    assert (processed.format, processed.width, processed.height) == ("webp", 1920, 1080)
    thumbnail = Image.open(io.BytesIO(processed.thumbnail))
    assert thumbnail.format == "WEBP"
    assert thumbnail.size == (THUMBNAIL_WIDTH, 225)


def test_a_png_loses_its_exif_text_chunks_and_trailing_bytes_and_is_turned_upright() -> None:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6  # rotate 90° clockwise to display
    exif[ExifTags.IFD.GPSInfo] = {ExifTags.GPS.GPSLatitudeRef: "N", ExifTags.GPS.GPSLatitude: (25.0, 2.0, 0.0)}
    text = PngImagePlugin.PngInfo()
    text.add_text("Comment", "home address")
    data = encode(Image.new("RGB", (50, 30), "red"), "PNG", exif=exif.tobytes(), pnginfo=text) + b"APPENDED"
    processed = process_image(data, LIMIT)
    assert (processed.width, processed.height) == (30, 50)
    for leftover in (b"eXIf", b"tEXt", b"home address", b"APPENDED"):
        assert leftover not in processed.data
    with Image.open(io.BytesIO(processed.data)) as clean:
        assert clean.format == "PNG"
        assert not clean.getexif()
        assert clean.text == {}


def test_images_are_processed_on_threads_that_yield_the_cpu_to_ingest() -> None:
    """Under a flood of uploads the worker's image threads take only the CPU nothing else wants."""

    def niceness() -> int:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    before = niceness()
    assert image_executor().submit(niceness).result() == min(19, before + IMAGE_NICENESS)
    assert niceness() == before  # the calling thread (the worker's event loop) keeps its priority
