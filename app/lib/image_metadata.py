"""Take an image's metadata out (EXIF, GPS, XMP, comments, text, colour profiles) by walking its container,
for the web process to serve an upload that no worker has cleaned yet.

Nothing here decodes pixels: an unverified upload may be a decompression bomb, and decoding it is the
worker's job (`screenshots.process_image`). Each format keeps what a decoder needs to show the image and
drops the rest, including parts it does not know: a private chunk may carry anything. Embedded ICC profiles
go too: they carry free text (a description, a copyright, the maker and model of a calibrated display), and
the worker's re-encode drops them as well, so a pending image looks as its clean copy will. Bytes after the
image's end (a phone's second picture with its own EXIF, an appended archive) are dropped.

What does not parse cleanly raises `UnreadableImageError`, and the caller must not fall back to the original
bytes. Truncated files are refused too: the worker would refuse them as damaged anyway.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

__all__ = ["UnreadableImageError", "without_metadata"]

Parts = list[bytes | memoryview]


# The most segments or chunks a file may have. Each costs a turn of a Python loop in the request's event loop:
# 10 MB of empty comment segments held it for 1.5 s. Real images have tens (a PNG of 8 KiB IDAT chunks: 1,300);
# a file with more waits for its worker.
_MAX_PARTS: Final = 10_000


class UnreadableImageError(ValueError):
    """The bytes are not a well-formed container of the type they were stored as."""


def _too_many_parts() -> UnreadableImageError:
    return UnreadableImageError(f"more than {_MAX_PARTS} segments or chunks")


def without_metadata(data: bytes, content_type: str) -> bytes:
    """`data`, an image of `content_type` (image/png, image/jpeg or image/webp), without its metadata."""
    strip = _STRIPPERS.get(content_type)
    if strip is None:
        msg = f"no way to strip the metadata of {content_type}"
        raise UnreadableImageError(msg)
    return b"".join(strip(data))


# --- JPEG: marker segments, then entropy-coded scans ----------------------------------------------------------

_JPEG_START: Final = b"\xff\xd8"
_EOI: Final = 0xD9
_SOS: Final = 0xDA
_APP0: Final = 0xE0
_APP14: Final = 0xEE
_APP15: Final = 0xEF
_COM: Final = 0xFE
# Markers that stand alone, without a length: TEM and the restart markers RST0..RST7.
_STANDALONE: Final = frozenset({0x01, *range(0xD0, 0xD8)})
# Segments a decoder reads: frames SOF0..SOF15 with DHT and DAC among them (not C8, reserved), DQT, DNL, DRI,
# SOS, DHP and EXP. Any other marker but APPn and COM is reserved or for other codecs: the file is refused.
_DECODER_SEGMENTS: Final = frozenset({*range(0xC0, 0xC8), *range(0xC9, 0xD0), *range(0xDA, 0xE0)})
# Inside a scan, 0xFF followed by 0x00 (a stuffed zero) or a restart marker is data; any other 0xFF starts the
# next segment. A regular expression, not a loop over find(): a scan of nothing but stuffed bytes (10 MB of
# FF 00) takes 50 ms this way, 900 ms in Python, with the event loop blocked all along.
_MARKER_IN_SCAN: Final = re.compile(rb"\xff(?![\x00\xd0-\xd7])")
# JFIF's APP0 after its marker and length: identifier, version, density units, x and y density (12 bytes),
# then the thumbnail's width and height (2 bytes), then its pixels.
_JFIF_FIELDS: Final = 12


def _strip_jpeg(data: bytes) -> Parts:
    """Keep each segment a decoder reads (tables, frame, scans, restart interval), JFIF's APP0 without its
    thumbnail, and Adobe's APP14 (it says how to convert CMYK/YCCK colours); drop APP1..APP15 (EXIF, XMP,
    ICC, MPF, Photoshop's IPTC...) and COM wherever they are: a progressive file may have them between
    scans, which is why the walk goes on past the first scan instead of copying the rest."""
    if not data.startswith(_JPEG_START):
        raise UnreadableImageError("no JPEG start of image")
    view = memoryview(data)
    kept: Parts = [_JPEG_START]
    position = len(_JPEG_START)
    for _segment in range(_MAX_PARTS):
        marker_at = _next_marker(data, position)
        marker = data[marker_at + 1]
        if marker == _EOI:
            kept.append(view[marker_at : marker_at + 2])
            return kept
        position = marker_at + 2 if marker in _STANDALONE else _segment_end(data, marker_at)
        if marker == _SOS:
            position = _scan_end(data, position)
        kept.extend(_jpeg_segment_kept(marker, view[marker_at:position]))
    raise _too_many_parts()


def _next_marker(data: bytes, position: int) -> int:
    """Where the marker starting at `position` is, after any 0xFF fill bytes before it."""
    end = position
    while end < len(data) and data[end] == 0xFF:  # noqa: PLR2004 - a marker's prefix, or fill
        end += 1
    if end == position or end >= len(data) or data[end] == 0:
        raise UnreadableImageError("a JPEG segment does not start with a marker")
    return end - 1


def _segment_end(data: bytes, marker_at: int) -> int:
    length_at = marker_at + 2
    length = int.from_bytes(data[length_at : length_at + 2], "big")
    if length < 2 or length_at + length > len(data):  # noqa: PLR2004 - the length counts its own two bytes
        raise UnreadableImageError("a JPEG segment runs past the end")
    return length_at + length


def _scan_end(data: bytes, position: int) -> int:
    """Where a scan's entropy-coded data ends: at the first 0xFF that starts a marker."""
    found = _MARKER_IN_SCAN.search(data, position)
    if found is None or found.start() + 1 >= len(data):
        raise UnreadableImageError("a JPEG scan runs to the end without an end of image")
    return found.start()


def _jpeg_segment_kept(marker: int, segment: memoryview) -> Parts:
    """What of a segment (marker, length, payload, and a scan's data after it) is written back."""
    if marker == _APP0:
        return _jfif_without_thumbnail(segment)
    if marker == _APP14:
        return [segment] if segment[4:9].tobytes() == b"Adobe" else []
    if _APP0 < marker <= _APP15 or marker == _COM:
        return []
    if marker in _DECODER_SEGMENTS or marker in _STANDALONE:
        return [segment]
    # Kept verbatim, an unknown segment could carry the EXIF a damaged marker byte no longer names.
    raise UnreadableImageError(f"unexpected JPEG marker {marker:#04x}")


def _jfif_without_thumbnail(segment: memoryview) -> Parts:
    """A JFIF header that declares no thumbnail: an embedded one may show the photo before it was cropped.
    Any other APP0 (JFXX, vendors') holds thumbnails or vendor data no decoder needs, and goes."""
    fields = segment[4 : 4 + _JFIF_FIELDS]
    if fields[:5].tobytes() != b"JFIF\x00" or len(fields) < _JFIF_FIELDS:
        return []
    return [b"\xff\xe0", (2 + _JFIF_FIELDS + 2).to_bytes(2, "big"), fields, b"\x00\x00"]


# --- PNG: length, type, data, CRC; chunks are copied whole, so their CRCs stay right -------------------------

_PNG_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"
# Ancillary chunks that change how the pixels look (transparency, gamma and colour space, bit depth,
# background, pixel size, HDR) or animate them (APNG). Everything else ancillary goes: eXIf, tEXt, zTXt,
# iTXt (XMP), tIME, iCCP, and private chunks.
_PNG_RENDERING: Final = frozenset(
    {b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"cICP", b"mDCV", b"cLLI", b"sBIT", b"bKGD", b"pHYs", b"hIST", b"sPLT"}
    | {b"acTL", b"fcTL", b"fdAT"}
)
# A decoder must refuse a critical chunk (upper-case first letter) it does not know, and so does this walk.
_PNG_CRITICAL: Final = frozenset({b"IHDR", b"PLTE", b"IDAT", b"IEND"})
_PNG_CHUNK_OVERHEAD: Final = 12  # length, type and CRC
_PNG_MAX_CHUNK: Final = 2**31 - 1
_PNG_TYPE_SIZE: Final = 4


def _strip_png(data: bytes) -> Parts:
    if not data.startswith(_PNG_SIGNATURE):
        raise UnreadableImageError("no PNG signature")
    view = memoryview(data)
    kept: Parts = [view[: len(_PNG_SIGNATURE)]]
    position = len(_PNG_SIGNATURE)
    for _chunk in range(_MAX_PARTS):
        chunk_type, end = _png_chunk(data, position)
        if chunk_type in _PNG_CRITICAL or chunk_type in _PNG_RENDERING:
            kept.append(view[position:end])
        elif _is_critical(chunk_type):
            raise UnreadableImageError(f"unknown critical PNG chunk {chunk_type!r}")
        if chunk_type == b"IEND":
            return kept
        position = end
    raise _too_many_parts()


def _png_chunk(data: bytes, position: int) -> tuple[bytes, int]:
    """The type of the chunk at `position` and where it ends."""
    length = int.from_bytes(data[position : position + 4], "big")
    chunk_type = data[position + 4 : position + 8]
    end = position + length + _PNG_CHUNK_OVERHEAD
    if length > _PNG_MAX_CHUNK or end > len(data) or len(chunk_type) != _PNG_TYPE_SIZE or not chunk_type.isalpha():
        raise UnreadableImageError("a PNG chunk is malformed or runs past the end")
    return chunk_type, end


def _is_critical(chunk_type: bytes) -> bool:
    return chunk_type[:1].isupper()


# --- WebP: a RIFF file of little-endian sized, even-padded chunks ------------------------------------------

_RIFF_HEADER: Final = 12  # "RIFF", the size of what follows, "WEBP"
_WEBP_CHUNK_HEADER: Final = 8  # FourCC and size
# Image data, alpha, animation and the extended header; ICCP, EXIF, "XMP " and unknown chunks go.
_WEBP_KEPT: Final = frozenset({b"VP8 ", b"VP8L", b"VP8X", b"ALPH", b"ANIM", b"ANMF"})
_WEBP_FRAME_DATA: Final = frozenset({b"VP8 ", b"VP8L", b"ALPH"})
_ANMF_HEADER: Final = 16  # position, size, duration and flags of the frame
_FRAME_CHUNKS: Final = 2  # ALPH and VP8 at most
# VP8X's first payload byte flags what the file holds: ICC profile, alpha, EXIF, XMP, animation.
_VP8X_METADATA_FLAGS: Final = 0x20 | 0x08 | 0x04  # ICC, EXIF, XMP
_VP8X_SIZE: Final = 10


def _strip_webp(data: bytes) -> Parts:
    """Drop the metadata chunks, clear VP8X's flags for them, and write the RIFF size of what is left."""
    if len(data) < _RIFF_HEADER or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise UnreadableImageError("no RIFF WebP header")
    riff_end = 8 + int.from_bytes(data[4:8], "little")
    if riff_end > len(data):
        raise UnreadableImageError("the WebP file is shorter than its RIFF size")
    chunks = _webp_chunks_kept(data, riff_end)
    size = 4 + sum(len(chunk) for chunk in chunks)  # "WEBP" and the chunks
    return [b"RIFF", size.to_bytes(4, "little"), b"WEBP", *chunks]


def _webp_chunks_kept(data: bytes, riff_end: int) -> Parts:
    view = memoryview(data)
    kept: Parts = []
    position = _RIFF_HEADER
    for _chunk in range(_MAX_PARTS):
        if position >= riff_end:
            return kept
        fourcc, end = _webp_chunk(data, position, riff_end)
        if fourcc == b"VP8X":
            kept.extend(_vp8x_without_metadata(view[position:end]))
        elif fourcc == b"ANMF":
            _check_frame(data, position, end)
            kept.append(view[position:end])
        elif fourcc in _WEBP_KEPT:
            kept.append(view[position:end])
        position = end
    raise _too_many_parts()


def _webp_chunk(data: bytes, position: int, riff_end: int) -> tuple[bytes, int]:
    """The FourCC of the chunk at `position` and where it ends, its padding byte included."""
    size = int.from_bytes(data[position + 4 : position + 8], "little")
    end = position + _WEBP_CHUNK_HEADER + size + (size & 1)
    if position + _WEBP_CHUNK_HEADER > riff_end or end > riff_end:
        raise UnreadableImageError("a WebP chunk runs past the end")
    return data[position : position + 4], end


def _check_frame(data: bytes, position: int, end: int) -> None:
    """An animation frame holds a frame header, then its image data: ALPH and VP8, or VP8L. Other chunks there
    are refused rather than dropped: no encoder writes them, and copied they could carry anything."""
    position += _WEBP_CHUNK_HEADER + _ANMF_HEADER
    for _chunk in range(_FRAME_CHUNKS):
        if position >= end:
            return
        fourcc, position = _webp_chunk(data, position, end)
        if fourcc not in _WEBP_FRAME_DATA:
            raise UnreadableImageError(f"unexpected chunk {fourcc!r} in a WebP animation frame")
    if position < end:
        raise UnreadableImageError("a WebP animation frame holds more than its image data")


def _vp8x_without_metadata(chunk: memoryview) -> Parts:
    if len(chunk) < _WEBP_CHUNK_HEADER + _VP8X_SIZE:
        raise UnreadableImageError("the WebP VP8X header is too short")
    flags = chunk[_WEBP_CHUNK_HEADER] & ~_VP8X_METADATA_FLAGS
    return [chunk[:_WEBP_CHUNK_HEADER], bytes((flags,)), chunk[_WEBP_CHUNK_HEADER + 1 :]]


_STRIPPERS: Final[dict[str, Callable[[bytes], Parts]]] = {
    "image/jpeg": _strip_jpeg,
    "image/png": _strip_png,
    "image/webp": _strip_webp,
}
