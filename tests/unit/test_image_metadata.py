"""Metadata taken out of PNG, JPEG and WebP containers without decoding them, on images Pillow writes here
with EXIF (GPS and camera make), XMP, ICC profiles, comments and text; Pillow then reads the result back."""

from __future__ import annotations

import io
import struct
import sys
import zlib
from types import FrameType
from typing import Any

import pytest
from PIL import ExifTags, Image, ImageCms, PngImagePlugin

from app.lib import image_metadata
from app.lib.image_metadata import UnreadableImageError, without_metadata

MAKE = b"SpyCam Lantern Test"
XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:Description tiff:Make="SpyCam Lantern Test"/></x:xmpmeta>'
SIZE = (96, 64)


def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def photo() -> Image.Image:
    return Image.effect_mandelbrot(SIZE, (-2.0, -1.0, 1.0, 1.0), 40).convert("RGB")


def exif() -> bytes:
    tags = Image.Exif()
    tags[ExifTags.Base.Make] = MAKE.decode()
    tags[ExifTags.IFD.GPSInfo] = {ExifTags.GPS.GPSLatitudeRef: "N", ExifTags.GPS.GPSLatitude: (25.0, 2.0, 0.0)}
    return tags.tobytes()


def icc() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def pixels(data: bytes) -> tuple[tuple[int, int], str, bytes]:
    image = Image.open(io.BytesIO(data))
    return image.size, image.mode, image.tobytes()


def assert_clean(stripped: bytes, original: bytes) -> None:
    """No metadata left, and the same pixels as the original."""
    image = Image.open(io.BytesIO(stripped))
    assert not image.getexif()
    assert "icc_profile" not in image.info
    assert MAKE not in stripped
    assert b"Exif\x00" not in stripped
    assert pixels(stripped) == pixels(original)


def gps_jpeg(**options: object) -> bytes:
    return encode(photo(), "JPEG", exif=exif(), icc_profile=icc(), comment=b"taken by " + MAKE, xmp=XMP, **options)


def jpeg_markers(data: bytes) -> list[int]:
    """The markers of the segments before the first scan."""
    markers, position = [], 2
    while data[position + 1] != 0xDA:
        markers.append(data[position + 1])
        position += 2 + struct.unpack(">H", data[position + 2 : position + 4])[0]
    return markers


def test_a_jpeg_loses_exif_gps_xmp_icc_and_comment_and_keeps_its_pixels() -> None:
    original = gps_jpeg()
    assert MAKE in original
    assert Image.open(io.BytesIO(original)).getexif()
    stripped = without_metadata(original, "image/jpeg")
    assert_clean(stripped, original)
    assert b"ICC_PROFILE" not in stripped
    assert b"x:xmpmeta" not in stripped
    markers = jpeg_markers(stripped)
    assert 0xE0 in markers  # JFIF stays
    assert not [marker for marker in markers if 0xE1 <= marker <= 0xEF or marker == 0xFE]


def test_a_segment_after_a_progressive_jpeg_s_first_scan_goes_too() -> None:
    """Segments may follow scans: stopping at the first scan and copying the rest would keep this EXIF."""
    progressive = encode(photo(), "JPEG", progressive=True)
    exif_segment = b"\xff\xe1" + struct.pack(">H", 2 + len(b"Exif\x00\x00") + len(exif())) + b"Exif\x00\x00" + exif()
    first_scan = progressive.index(b"\xff\xda")
    second_scan = progressive.index(b"\xff\xda", first_scan + 2)
    tampered = progressive[:second_scan] + exif_segment + b"\xff\xfe\x00\x05hi\x00" + progressive[second_scan:]
    assert MAKE in tampered
    stripped = without_metadata(tampered, "image/jpeg")
    assert_clean(stripped, progressive)
    assert stripped == progressive


def test_bytes_after_a_jpeg_s_end_go() -> None:
    """Phones append a second picture (MPF) with its own EXIF after the first one's end."""
    plain = encode(photo(), "JPEG")
    stripped = without_metadata(plain + gps_jpeg(), "image/jpeg")
    assert stripped == plain


class _TooManyStepsError(Exception):
    """A walk that takes a step per byte or per segment: stopped rather than waited for."""


def python_steps(data: bytes, content_type: str) -> int:
    """How many lines of app/lib/image_metadata.py run to strip `data` (refused or not): the work done in Python,
    which holds the event loop, as opposed to the C of bytes' and regular expressions' searches. A walk that takes
    a step per byte or per segment of 10 MB is stopped early, as failed."""
    steps = 0

    def count(frame: FrameType, event: str, _arg: object) -> Any:
        nonlocal steps
        if event == "line":
            steps += 1
            if steps > 1_000_000:
                raise _TooManyStepsError
        return count

    def enter(frame: FrameType, _event: str, _arg: object) -> Any:
        return count if frame.f_code.co_filename == image_metadata.__file__ else None

    sys.settrace(enter)
    try:
        without_metadata(data, content_type)
    except UnreadableImageError:
        pass
    finally:
        sys.settrace(None)
    return steps


def test_a_scan_of_stuffed_bytes_is_walked_without_holding_the_event_loop() -> None:
    """The walk runs in the request's event loop: 10 MB of FF 00 took 0.9 s with a Python loop over its bytes.
    A regular expression walks it, in as many Python steps as a scan of ten bytes."""
    small = encode(Image.new("RGB", (16, 16)), "JPEG")
    scan_start = small.index(b"\xff\xda")
    scan_data = scan_start + 2 + struct.unpack(">H", small[scan_start + 2 : scan_start + 4])[0]

    def stuffed(pairs: int) -> bytes:
        return small[:scan_data] + b"\xff\x00" * pairs + b"\xff\xd9"

    assert without_metadata(stuffed(5_000_000), "image/jpeg") == stuffed(5_000_000)
    assert python_steps(stuffed(5_000_000), "image/jpeg") == python_steps(stuffed(5), "image/jpeg")


def test_a_jfif_thumbnail_goes_and_its_header_stays() -> None:
    plain = encode(photo(), "JPEG")
    assert plain[2:4] == b"\xff\xe0"
    header_end = 4 + struct.unpack(">H", plain[4:6])[0]
    thumbnail = b"\x01\x01" + MAKE[:3]  # 1x1 pixel, 3 bytes of RGB
    jfif = plain[6:18] + thumbnail
    with_thumbnail = plain[:2] + b"\xff\xe0" + struct.pack(">H", 2 + len(jfif)) + jfif + plain[header_end:]
    stripped = without_metadata(with_thumbnail, "image/jpeg")
    assert stripped == plain  # Pillow writes JFIF with an empty thumbnail: the same header again
    assert Image.open(io.BytesIO(stripped)).info["jfif_version"] == (1, 1)


def test_a_cmyk_jpeg_keeps_adobe_s_segment_and_its_colours() -> None:
    original = encode(photo().convert("CMYK"), "JPEG", exif=exif())
    stripped = without_metadata(original, "image/jpeg")
    assert 0xEE in jpeg_markers(stripped)
    assert_clean(stripped, original)
    assert Image.open(io.BytesIO(stripped)).mode == "CMYK"


def png_chunk(chunk_type: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + chunk_type + data + struct.pack(">I", zlib.crc32(chunk_type + data))


def png_chunk_types(data: bytes) -> list[bytes]:
    types, position = [], 8
    while position < len(data):
        length = struct.unpack(">I", data[position : position + 4])[0]
        types.append(data[position + 4 : position + 8])
        position += 12 + length
    return types


def gps_png(image: Image.Image) -> bytes:
    """A PNG with every kind of metadata chunk, a tIME chunk (which Pillow does not write) and trailing bytes."""
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", MAKE.decode())
    info.add_text("Comment", MAKE.decode(), zip=True)
    info.add_itxt("XML:com.adobe.xmp", XMP.decode())
    written = encode(image, "PNG", exif=exif(), icc_profile=icc(), pnginfo=info)
    header_end = 8 + 25  # the signature and IHDR
    time = png_chunk(b"tIME", struct.pack(">HBBBBB", 2024, 5, 1, 12, 0, 0))
    private = png_chunk(b"prVt", MAKE)
    return written[:header_end] + time + private + written[header_end:] + MAKE


def test_a_png_loses_exif_text_xmp_time_icc_and_private_chunks_and_keeps_its_pixels() -> None:
    original = gps_png(photo())
    assert {b"eXIf", b"tEXt", b"zTXt", b"iTXt", b"tIME", b"iCCP", b"prVt"} <= set(
        png_chunk_types(original[: -len(MAKE)])
    )
    stripped = without_metadata(original, "image/png")
    assert_clean(stripped, original)
    assert set(png_chunk_types(stripped)) == {b"IHDR", b"IDAT", b"IEND"}


def test_a_png_keeps_its_palette_and_transparency() -> None:
    palette = photo().quantize(16)
    original = encode(palette, "PNG", transparency=0, exif=exif())
    stripped = without_metadata(original, "image/png")
    assert_clean(stripped, original)
    assert png_chunk_types(stripped) == [b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND"]


def test_an_animated_png_keeps_its_frames() -> None:
    frames = [photo(), photo().rotate(180)]
    original = encode(frames[0], "PNG", save_all=True, append_images=frames[1:], exif=exif())
    stripped = without_metadata(original, "image/png")
    assert MAKE not in stripped
    animated = Image.open(io.BytesIO(stripped))
    assert getattr(animated, "n_frames", 1) == len(frames)


def webp_chunks(data: bytes) -> list[bytes]:
    chunks, position = [], 12
    while position < len(data):
        size = struct.unpack("<I", data[position + 4 : position + 8])[0]
        chunks.append(data[position : position + 4])
        position += 8 + size + (size & 1)
    return chunks


def test_a_webp_loses_exif_xmp_and_icc_and_its_header_says_so() -> None:
    original = encode(photo(), "WEBP", exif=exif(), xmp=XMP, icc_profile=icc(), quality=90)
    assert {b"EXIF", b"XMP ", b"ICCP"} <= set(webp_chunks(original))
    stripped = without_metadata(original + MAKE, "image/webp")
    assert_clean(stripped, original)
    assert b"xmpmeta" not in stripped
    assert webp_chunks(stripped) == [b"VP8X", b"VP8 "]
    assert stripped[20] & (0x20 | 0x08 | 0x04) == 0  # VP8X no longer announces ICC, EXIF or XMP
    assert struct.unpack("<I", stripped[4:8])[0] == len(stripped) - 8


def test_a_webp_with_alpha_keeps_it() -> None:
    translucent = photo()
    translucent.putalpha(Image.linear_gradient("L").resize(SIZE))
    original = encode(translucent, "WEBP", exif=exif(), quality=90)
    stripped = without_metadata(original, "image/webp")
    assert_clean(stripped, original)
    assert webp_chunks(stripped) == [b"VP8X", b"ALPH", b"VP8 "]
    assert stripped[20] & 0x10  # the alpha flag stays


def test_an_animated_webp_keeps_its_frames() -> None:
    frames = [photo(), photo().rotate(180)]
    original = encode(frames[0], "WEBP", save_all=True, append_images=frames[1:], exif=exif(), duration=100)
    stripped = without_metadata(original, "image/webp")
    assert MAKE not in stripped
    assert webp_chunks(stripped) == [b"VP8X", b"ANIM", b"ANMF", b"ANMF"]
    assert getattr(Image.open(io.BytesIO(stripped)), "n_frames", 1) == len(frames)


@pytest.mark.parametrize(
    ("fmt", "content_type"), [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp")]
)
def test_an_image_without_metadata_comes_back_byte_for_byte(fmt: str, content_type: str) -> None:
    plain = encode(photo(), fmt)
    assert without_metadata(plain, content_type) == plain


def truncated_png() -> bytes:
    return gps_png(photo())[:-40]


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (b"", "image/png"),
        (b"\xff\xd8\xff", "image/jpeg"),
        (gps_jpeg()[:-200], "image/jpeg"),  # cut inside the scan: no end of image
        (gps_jpeg()[:300], "image/jpeg"),  # cut inside the EXIF segment
        (b"\xff\xd8\x00\x00" + MAKE, "image/jpeg"),  # no marker where one must be
        (truncated_png(), "image/png"),
        (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", b"\x00" * 13), "image/png"),  # no IEND
        (b"\x89PNG\r\n\x1a\n" + png_chunk(b"1234", MAKE), "image/png"),  # not a chunk type
        (b"RIFF\xff\x00\x00\x00WEBPVP8 ", "image/webp"),  # RIFF larger than the file
        (b"RIFF\x0e\x00\x00\x00WEBPVP8X\x02\x00\x00\x00\x00\x00", "image/webp"),  # VP8X too short
        (encode(photo(), "PNG"), "image/jpeg"),  # not the type it was stored as
        (encode(photo(), "GIF"), "image/gif"),  # a type Lantern does not take
    ],
)
def test_what_does_not_parse_is_refused_not_returned(data: bytes, content_type: str) -> None:
    with pytest.raises(UnreadableImageError):
        without_metadata(data, content_type)


@pytest.mark.parametrize(
    ("original", "content_type"),
    [
        (gps_jpeg(), "image/jpeg"),
        (gps_jpeg(progressive=True), "image/jpeg"),
        (gps_png(photo()), "image/png"),
        (encode(photo(), "WEBP", exif=exif(), xmp=XMP), "image/webp"),
    ],
)
def test_no_cut_or_flipped_byte_brings_the_metadata_back(original: bytes, content_type: str) -> None:
    """Uploads can be anything that starts like an image: whatever a damaged one gives, it is never the EXIF."""
    damaged = [original[:cut] for cut in range(0, len(original), 7)]
    damaged += [original[:at] + bytes((original[at] ^ 0xFF,)) + original[at + 1 :] for at in range(0, 600, 3)]
    for data in damaged:
        try:
            stripped = without_metadata(data, content_type)
        except UnreadableImageError:
            continue
        assert MAKE not in stripped


@pytest.mark.parametrize(
    ("container", "content_type", "empty_part"),
    [
        ("JPEG", "image/jpeg", b"\xff\xfe\x00\x02"),  # an empty comment
        ("PNG", "image/png", png_chunk(b"tEXt", b"")),
        ("WEBP", "image/webp", b"XMP \x00\x00\x00\x00"),
    ],
)
def test_ten_megabytes_of_empty_metadata_are_refused_quickly(
    container: str, content_type: str, empty_part: bytes
) -> None:
    """A loop turn per segment or chunk: 10 MB of empty ones held the event loop for 1.5 s. The walk gives up
    after a bounded number of them, in as many Python steps for 10 MB as for 20 MB."""
    small = encode(Image.new("RGB", (16, 16)), container)
    after_header = {"JPEG": 2, "PNG": 8 + 25, "WEBP": 12}[container]

    def padded(size: int) -> bytes:
        parts = small[:after_header] + empty_part * (size // len(empty_part)) + small[after_header:]
        if container == "WEBP":
            parts = parts[:4] + struct.pack("<I", len(parts) - 8) + parts[8:]
        return parts

    with pytest.raises(UnreadableImageError):
        without_metadata(padded(10_000_000), content_type)
    assert python_steps(padded(10_000_000), content_type) == python_steps(padded(20_000_000), content_type)
