"""Screenshot processing throughput, one run, bounded: `PYTHONPATH=. .venv/bin/python bench/screenshots.py`.

Per core: images/s of the real processing function (`process_image`: verify, decode, orient, re-encode,
thumbnail) for a 1920x1080 screenshot, PNG and JPEG, next to Pillow's bare decode of the same bytes; the
ratio says what the pipeline costs over decoding alone. Timed on this process's CPU clock, so it is per
core whatever else the machine runs. Prints one JSON object.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable
from typing import Any

from PIL import Image, ImageDraw

from app.domain.reports.screenshots import process_image

ROUNDS = 20
MAX_PIXELS = 40_000_000


def screenshot() -> Image.Image:
    """A 1920x1080 page-like image: flat areas, bars and text, as screenshots mostly are."""
    image = Image.new("RGB", (1920, 1080), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 1920, 64), fill=(30, 60, 120))
    for row in range(40):
        y = 96 + row * 24
        draw.text((40, y), f"Order #{row:04d}  Checkout button does nothing when the cart is empty", fill="black")
        draw.rectangle((1400, y, 1400 + (row * 37) % 400, y + 16), fill=(200, 80 + row * 4, 60))
    photo = Image.effect_mandelbrot((480, 320), (-2.0, -1.0, 1.0, 1.0), 60).convert("RGB")
    image.paste(photo, (1400, 700))
    return image


def per_second(work: Callable[[], object]) -> float:
    work()  # warm-up: codecs loaded, caches filled
    started = time.process_time()
    for _ in range(ROUNDS):
        work()
    return ROUNDS / (time.process_time() - started)


def decode(data: bytes) -> None:
    with Image.open(io.BytesIO(data)) as image:
        image.load()


def measure(data: bytes) -> dict[str, float]:
    processed = per_second(lambda: process_image(data, MAX_PIXELS))
    decoded = per_second(lambda: decode(data))
    return {
        "bytes": len(data),
        "processed_per_s_per_core": round(processed, 1),
        "decoded_per_s_per_core": round(decoded, 1),
        "decode_over_process_ratio": round(decoded / processed, 2),
    }


def results() -> dict[str, Any]:
    image = screenshot()
    measured = {}
    for name, options in (("png", {}), ("jpeg", {"quality": 90})):
        buffer = io.BytesIO()
        image.save(buffer, name.upper(), **options)
        measured[name] = measure(buffer.getvalue())
    return {"image": "1920x1080", "rounds": ROUNDS, **measured}


def main() -> None:
    print(json.dumps(results(), indent=2))


if __name__ == "__main__":
    main()
