"""Screenshots end to end: uploaded through the API, processed by real arq workers (in this process, or a
separate one that is killed), served only to their tenant."""

from __future__ import annotations

import asyncio
import io
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from arq.constants import job_key_prefix
from PIL import ExifTags, Image, PngImagePlugin
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.reports import ingest
from app.domain.reports.ingest import UNATTACHED_UPLOAD_HOURS, store_upload
from app.domain.reports.models import ImageStatus, Screenshot
from app.domain.reports.screenshots import _DECODING, MAX_ATTEMPTS, Refusal, ScreenshotService, run_seconds
from app.lib.database import alchemy_config
from app.lib.queue import IMAGE_QUEUE, enqueue_for_tenant
from app.lib.redis import get_redis
from app.lib.storage import LocalStorage, storage
from app.settings import get_settings, reset_settings
from tests.support.clients import Tenant, TenantFactory
from tests.support.logs import json_lines
from tests.support.processes import worker_process
from tests.support.screenshots import image_threads_busy, processed, read_report
from tests.support.worker import running_worker
from workers.jobs import (
    SCREENSHOT_RESWEEP_SECONDS,
    SCREENSHOT_SWEEP_AFTER_SECONDS,
    process_screenshot,
    sweep_expired_files,
    sweep_pending_screenshots,
)

WAIT_SECONDS = 180.0
POLL_SECONDS = 0.1


def encode(image: Image.Image, fmt: str, **options: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def screenshot_png(size: tuple[int, int] = (1920, 1080)) -> bytes:
    return encode(Image.effect_mandelbrot(size, (-2.0, -1.0, 1.0, 1.0), 40).convert("RGB"), "PNG")


def gps_jpeg() -> bytes:
    """A 60x30 JPEG with GPS coordinates, stored sideways (orientation 6: rotate 90 degrees to display)."""
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.IFD.GPSInfo] = {ExifTags.GPS.GPSLatitudeRef: "N", ExifTags.GPS.GPSLatitude: (25.0, 2.0, 0.0)}
    return encode(Image.new("RGB", (60, 30), "teal"), "JPEG", exif=exif.tobytes())


CAMERA_MAKE = "SpyCam Lantern Test"


def camera_photo(fmt: str) -> bytes:
    """A 64x48 photo as a camera writes it: EXIF with its make and GPS coordinates (and, in PNG, text too)."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = CAMERA_MAKE
    exif[ExifTags.IFD.GPSInfo] = {ExifTags.GPS.GPSLatitudeRef: "N", ExifTags.GPS.GPSLatitude: (25.0, 2.0, 0.0)}
    photo = Image.effect_mandelbrot((64, 48), (-2.0, -1.0, 1.0, 1.0), 40).convert("RGB")
    if fmt == "PNG":
        text = PngImagePlugin.PngInfo()
        text.add_text("Author", CAMERA_MAKE)
        return encode(photo, fmt, exif=exif.tobytes(), pnginfo=text)
    return encode(photo, fmt, exif=exif.tobytes())


@asynccontextmanager
async def tenant_session(tenant: Tenant) -> AsyncIterator[AsyncSession]:
    from tenants.context import tenant_scope  # noqa: PLC0415 - kept next to its only use

    with tenant_scope(UUID(tenant.organization_id)):
        async with alchemy_config().get_session() as session:
            yield session


async def project_headers(tenant: Tenant) -> tuple[str, dict[str, str]]:
    project = await tenant.create_project(name=f"Shop {secrets.token_hex(3)}")
    return project["id"], {"X-API-Key": project["apiKey"]}


async def report_with(tenant: Tenant, data: bytes, filename: str, content_type: str) -> dict[str, Any]:
    """A report sent with the widget key and one uploaded file; the report as the API shows it."""
    _project_id, headers = await project_headers(tenant)
    files = {"file": (filename, data, content_type)}
    upload = await tenant.client.post("/api/v1/upload/screenshot", files=files, headers=headers)
    assert upload.status_code == 201, upload.text
    body = {"title": "The cart is empty", "screenshot_url": upload.json()["key"]}
    created = await tenant.client.post("/api/v1/reports", json=body, headers=headers)
    assert created.status_code == 201, created.text
    return await read_report(tenant, created.json()["data"]["id"])


async def test_a_jpeg_with_gps_is_served_clean_upright_and_with_a_thumbnail(
    tenants: TenantFactory, worker: Any
) -> None:
    async with tenants.create() as tenant:
        report = await report_with(tenant, gps_jpeg(), "holiday.png", "image/png")
        shot = await processed(tenant, report["id"])
        assert (shot["status"], shot["width"], shot["height"], shot["error"]) == ("ready", 30, 60, None)
        image = await tenant.client.get(shot["url"])
        assert image.status_code == 200
        assert image.headers["content-type"] == "image/jpeg"
        assert image.headers["x-content-type-options"] == "nosniff"
        assert image.headers["content-security-policy"] == "sandbox"
        assert image.headers["content-disposition"] == f'inline; filename="{shot["id"]}.jpg"'
        clean = Image.open(io.BytesIO(image.content))
        assert clean.size == (30, 60)
        assert not clean.getexif()
        assert b"Exif" not in image.content
        thumbnail = await tenant.client.get(shot["thumbnailUrl"])
        assert thumbnail.status_code == 200
        assert thumbnail.headers["content-type"] == "image/webp"
        assert thumbnail.headers["x-content-type-options"] == "nosniff"
        assert Image.open(io.BytesIO(thumbnail.content)).format == "WEBP"


@pytest.mark.parametrize(
    ("fmt", "content_type"), [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp")]
)
async def test_a_pending_screenshot_is_served_without_its_exif_and_gps(
    tenants: TenantFactory, fmt: str, content_type: str
) -> None:
    """Until its worker ran, the url (also in `report.created` webhooks) answered the upload as sent, with the
    camera's make and where the photo was taken. No worker runs here: the screenshot stays pending."""
    original = camera_photo(fmt)
    assert CAMERA_MAKE.encode() in original
    async with tenants.create() as tenant:
        report = await report_with(tenant, original, "photo.bin", "application/octet-stream")
        [shot] = report["screenshots"]
        assert (shot["status"], shot["thumbnailUrl"]) == ("pending", None)
        image = await tenant.client.get(shot["url"])
        assert image.status_code == 200, image.text
        assert image.headers["content-type"] == content_type
        assert int(image.headers["content-length"]) == len(image.content)
        assert image.headers["cache-control"] == "no-store"  # the worker's copy replaces it at this address
        probed = await tenant.client.head(shot["url"])
        assert (probed.status_code, probed.headers["content-length"]) == (200, str(len(image.content)))
        assert CAMERA_MAKE.encode() not in image.content
        served = Image.open(io.BytesIO(image.content))
        assert not served.getexif()
        assert (served.format, served.size) == (fmt, (64, 48))
        assert served.tobytes() == Image.open(io.BytesIO(original)).tobytes()

        async with tenant_session(tenant) as session:
            assert await ScreenshotService(session).process(UUID(shot["id"])) == "ready"
            clean = (await session.get_one(Screenshot, UUID(shot["id"]))).key
        ready = (await read_report(tenant, report["id"]))["screenshots"][0]
        assert ready["thumbnailUrl"] is not None
        processed_image = await tenant.client.get(ready["url"])
        assert processed_image.headers["content-type"] == content_type
        assert processed_image.content == await storage().get(clean)
        assert processed_image.headers["cache-control"] == "private, max-age=300"


async def test_a_pending_screenshot_that_does_not_parse_is_not_served_until_its_worker_ran(
    tenants: TenantFactory,
) -> None:
    """A cut JPEG: its metadata cannot be told from the rest without decoding it, so no bytes of it are
    served; a 409 says to come back, and the worker then refuses it as damaged (404)."""
    cut = camera_photo("JPEG")[:-100]
    async with tenants.create() as tenant:
        report = await report_with(tenant, cut, "photo.jpg", "image/jpeg")
        [shot] = report["screenshots"]
        assert shot["status"] == "pending"
        refused = await tenant.client.get(shot["url"])
        assert refused.status_code == 409, refused.text
        assert refused.headers["retry-after"] == "2"
        assert refused.json()["error"] == "CONFLICT"
        assert refused.json()["message"] == "The image is still being processed. Please try again in a moment."
        assert CAMERA_MAKE.encode() not in refused.content
        async with tenant_session(tenant) as session:
            assert await ScreenshotService(session).process(UUID(shot["id"])) == "failed"
        assert (await tenant.client.get(shot["url"])).status_code == 404


async def test_a_full_hd_png_sent_as_jpeg_is_handled_as_the_png_it_is(tenants: TenantFactory, worker: Any) -> None:
    async with tenants.create() as tenant:
        report = await report_with(tenant, screenshot_png(), "screen.jpg", "image/jpeg")
        shot = await processed(tenant, report["id"])
        assert (shot["status"], shot["width"], shot["height"]) == ("ready", 1920, 1080)
        image = await tenant.client.get(shot["url"])
        assert image.headers["content-type"] == "image/png"
        assert Image.open(io.BytesIO(image.content)).format == "PNG"
        thumbnail = Image.open(io.BytesIO((await tenant.client.get(shot["thumbnailUrl"])).content))
        assert thumbnail.size == (400, 225)
        async with tenant_session(tenant) as session:
            row = await session.get_one(Screenshot, UUID(shot["id"]))
            assert (row.format, row.content_type, row.size) == ("png", "image/png", len(image.content))


async def test_svg_html_and_pdf_uploads_are_refused_by_their_content(tenants: TenantFactory) -> None:
    async with tenants.create() as tenant:
        _project_id, headers = await project_headers(tenant)
        for data in (
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            b"<!DOCTYPE html><html><body>hello</body></html>",
            b"%PDF-1.7\n%%EOF",
        ):
            files = {"file": ("shot.png", data, "image/png")}
            response = await tenant.client.post("/api/v1/upload/screenshot", files=files, headers=headers)
            assert response.status_code == 415, response.text


async def test_an_html_in_jpeg_polyglot_fails_with_a_reason_and_is_never_served(
    tenants: TenantFactory,
    worker: Any,
) -> None:
    polyglot = encode(Image.new("RGB", (16, 16), "red"), "JPEG", comment=b"<html><script>alert(1)</script></html>")
    async with tenants.create() as tenant:
        report = await report_with(tenant, polyglot, "shot.jpg", "image/jpeg")
        shot = await processed(tenant, report["id"])
        assert shot["status"] == "failed"
        assert "web page" in shot["error"]
        in_german = (await tenant.client.get(f"/api/v1/reports/{report['id']}?lang=de")).json()["data"]
        assert "Webseiten" in in_german["screenshots"][0]["error"]  # stored as a code, shown in the reader's language
        assert (shot["url"], shot["thumbnailUrl"]) == (None, None)
        path = f"/api/v1/reports/{report['id']}/screenshots/{shot['id']}"
        assert (await tenant.client.get(path)).status_code == 404
        assert (await tenant.client.get(f"{path}/thumbnail")).status_code == 404


async def test_pixels_that_read_as_markup_by_chance_are_an_image_and_markup_around_them_is_not(
    tenants: TenantFactory, worker: Any
) -> None:
    """The whole file was searched for markup: compressed pixels hold `<svg` in some case about once in 2^29
    positions, and one 9 MB photo in 60 was refused as a web page. Only what no decoder reads is searched now;
    markup there (after the image's end, here) is still refused."""
    pixels = Image.new("P", (64, 64))
    pixels.putpalette([level for level in range(256) for _channel in range(3)])
    pixels.putdata(list(b"<svg" * 1024))
    stored_as_is = encode(pixels, "PNG", compress_level=0)  # no filter, no compression: the bytes are the pixels
    assert b"<svg" in stored_as_is
    async with tenants.create() as tenant:
        image = await processed(tenant, (await report_with(tenant, stored_as_is, "shot.png", "image/png"))["id"])
        trailing = stored_as_is + b"<html><script>alert(1)</script></html>"
        refused = await processed(tenant, (await report_with(tenant, trailing, "shot.png", "image/png"))["id"])
    assert (image["status"], image["width"]) == ("ready", 64)
    assert refused["status"] == "failed"
    assert "web page" in refused["error"]


async def test_another_tenant_cannot_fetch_the_screenshot_or_its_thumbnail(
    tenants: TenantFactory,
    worker: Any,
) -> None:
    async with tenants.create() as tenant, tenants.create("Other") as other:
        report = await report_with(tenant, screenshot_png((640, 360)), "shot.png", "image/png")
        shot = await processed(tenant, report["id"])
        for url in (shot["url"], shot["thumbnailUrl"]):
            assert (await tenant.client.get(url)).status_code == 200
            foreign = await other.client.get(url)
            assert foreign.status_code == 404, foreign.text
            assert foreign.json()["error"] == "NOT_FOUND"


async def pending_screenshots(tenant: Tenant, count: int, image: bytes) -> list[Screenshot]:
    """`count` uploads attached to one report, committed and pending, their jobs not yet enqueued."""
    project_id, headers = await project_headers(tenant)
    created = await tenant.client.post("/api/v1/reports", json={"title": "Many screenshots"}, headers=headers)
    assert created.status_code == 201, created.text
    async with tenant_session(tenant) as session:
        shots = [await store_upload(session, UUID(project_id), image) for _ in range(count)]
        for shot in shots:
            shot.report_id = UUID(created.json()["data"]["id"])
        await session.commit()
    return shots


async def enqueue(tenant: Tenant, shots: list[Screenshot]) -> None:
    from tenants.context import tenant_scope  # noqa: PLC0415 - kept next to its only use

    with tenant_scope(UUID(tenant.organization_id)):
        for shot in shots:
            await enqueue_for_tenant("process_screenshot", screenshot_id=str(shot.id), _job_id=shot.job_id)


async def rows(tenant: Tenant, shots: list[Screenshot]) -> list[Screenshot]:
    async with tenant_session(tenant) as session:
        found = await session.scalars(select(Screenshot).where(Screenshot.id.in_([shot.id for shot in shots])))
        return list(found)


async def ready_count(tenant: Tenant, shots: list[Screenshot]) -> int:
    # Counted by the database: loading a thousand rows each poll held the event loop the worker in this
    # process runs on, and slowed the very jobs waited for.
    ready = (
        select(func.count())
        .select_from(Screenshot)
        .where(Screenshot.id.in_([shot.id for shot in shots]), Screenshot.status == ImageStatus.READY.value)
    )
    async with tenant_session(tenant) as session:
        return int(await session.scalar(ready) or 0)


async def some_ready(tenant: Tenant, shots: list[Screenshot], wanted: int) -> None:
    for _ in range(int(WAIT_SECONDS / POLL_SECONDS)):
        if await ready_count(tenant, shots) >= wanted:
            return
        await asyncio.sleep(POLL_SECONDS)
    msg = f"only {await ready_count(tenant, shots)} of {len(shots)} screenshots were processed"
    raise AssertionError(msg)


async def all_ready(tenant: Tenant, shots: list[Screenshot]) -> None:
    await some_ready(tenant, shots, len(shots))


def stored_files(shot: Screenshot) -> set[str]:
    folder = get_settings().data_dir / "uploads" / str(shot.organization_id) / str(shot.project_id)
    return {str(path.relative_to(folder.parents[1])) for path in Path(folder).iterdir()}


async def test_running_the_job_twice_changes_nothing_the_second_time(tenants: TenantFactory) -> None:
    async with tenants.create() as tenant:
        [shot] = await pending_screenshots(tenant, 1, screenshot_png((800, 450)))
        async with tenant_session(tenant) as session:
            assert await ScreenshotService(session).process(shot.id) == "ready"
        [first] = await rows(tenant, [shot])
        files = stored_files(shot)
        assert files == {first.key, first.thumbnail_key}
        async with tenant_session(tenant) as session:
            assert await ScreenshotService(session).process(shot.id) is None
        [second] = await rows(tenant, [shot])
        assert (second.key, second.thumbnail_key, second.updated_at, second.attempts) == (
            first.key,
            first.thumbnail_key,
            first.updated_at,
            first.attempts,
        )
        assert stored_files(shot) == files


async def test_a_store_that_fails_costs_an_image_no_attempt(tenants: TenantFactory, tmp_path: Path) -> None:
    """A full or read-only disk failed every image waiting meanwhile: each run counted an attempt, and three
    minutes of it failed them for good though their files were whole."""
    broken = tmp_path / "not-a-directory"
    broken.write_bytes(b"")  # a store rooted in a file: every write fails as a real disk's would
    async with tenants.create() as tenant:
        [shot] = await pending_screenshots(tenant, 1, screenshot_png((320, 180)))
        for _ in range(MAX_ATTEMPTS + 1):
            async with tenant_session(tenant) as session:
                assert await ScreenshotService(session, LocalStorage(broken)).process(shot.id) is None
        [waiting] = await rows(tenant, [shot])
        async with tenant_session(tenant) as session:
            recovered = await ScreenshotService(session).process(shot.id)
    assert (waiting.status, waiting.attempts) == ("pending", 0)
    assert recovered == "ready"


async def test_an_upload_the_store_cannot_keep_is_a_503_to_send_again(
    tenants: TenantFactory, capfd: pytest.CaptureFixture[str]
) -> None:
    """It was a 500 saying something went wrong on our side, with nothing for a client to do but guess; and
    the operator read nothing but the 503 in the log."""
    uploads = get_settings().data_dir / "uploads"
    async with tenants.create() as tenant:
        _project_id, headers = await project_headers(tenant)
        files = {"file": ("shot.png", screenshot_png((64, 48)), "image/png")}
        uploads.mkdir(parents=True, exist_ok=True)  # the first upload of the session makes it
        aside = uploads.rename(uploads.with_name("uploads-aside"))
        uploads.write_bytes(b"")  # the uploads directory is no directory: every write fails
        capfd.readouterr()
        try:
            refused = await tenant.client.post(
                "/api/v1/upload/screenshot", files=files, headers={**headers, "Accept-Language": "de"}
            )
        finally:
            uploads.unlink()
            aside.rename(uploads)
        logged = json_lines(capfd.readouterr().out)
        accepted = await tenant.client.post("/api/v1/upload/screenshot", files=files, headers=headers)
    [warning] = [line for line in logged if line["event"] == "storage unavailable"]
    assert (warning["level"], warning["tenant_id"]) == ("warning", tenant.organization_id)
    assert "NotADirectoryError" in warning["error"]
    assert refused.status_code == 503, refused.text
    assert refused.headers["retry-after"] == "30"
    assert refused.json()["error"] == "SERVICE_UNAVAILABLE"
    assert (
        refused.json()["message"]
        == "Dateien können gerade nicht gespeichert werden. Bitte versuchen Sie es gleich noch einmal."
    )
    assert accepted.status_code == 201, accepted.text


async def test_an_upload_no_report_takes_within_a_day_is_let_go(tenants: TenantFactory) -> None:
    """Uploads whose report never came stayed pending for ever, files and all: a widget key, public in every
    page, could fill the disk with them."""
    async with tenants.create() as tenant, tenants.create("Other") as other:
        [attached] = await pending_screenshots(tenant, 1, screenshot_png((64, 48)))
        project_id, _headers = await project_headers(tenant)
        others_project, _ = await project_headers(other)
        async with tenant_session(tenant) as session:
            stale, fresh = [await store_upload(session, UUID(project_id), screenshot_png((64, 48))) for _ in range(2)]
            await session.commit()
        async with tenant_session(other) as session:
            elsewhere = await store_upload(session, UUID(others_project), screenshot_png((64, 48)))
            await session.commit()
        day_ago = datetime.now(UTC) - timedelta(hours=UNATTACHED_UPLOAD_HOURS, minutes=1)
        for owner, shots in ((tenant, [stale, attached]), (other, [elsewhere])):
            async with tenant_session(owner) as session:
                ids = [shot.id for shot in shots]
                await session.execute(update(Screenshot).where(Screenshot.id.in_(ids)).values(created_at=day_ago))
                await session.commit()
        uploads = get_settings().data_dir / "uploads"
        assert (uploads / stale.key).is_file()
        forgotten = await sweep_expired_files({})
        kept = {row.id for row in await rows(tenant, [stale, fresh, attached])}
        others_kept = await rows(other, [elsewhere])
    assert forgotten >= 2  # this test's two, and any other test's left a day behind
    assert kept == {fresh.id, attached.id}
    assert others_kept == []
    assert not (uploads / stale.key).exists()
    assert (uploads / fresh.key).is_file()


async def test_a_job_whose_tenant_does_not_own_the_screenshot_writes_nothing(tenants: TenantFactory) -> None:
    async with tenants.create() as tenant, tenants.create("Other") as other:
        [shot] = await pending_screenshots(tenant, 1, screenshot_png((320, 180)))
        files = stored_files(shot)
        result = await process_screenshot({}, organization_id=other.organization_id, screenshot_id=str(shot.id))
        assert result is None
        [row] = await rows(tenant, [shot])
        assert (row.status, row.attempts, row.updated_at, row.key) == ("pending", 0, shot.updated_at, shot.key)
        assert stored_files(shot) == files
        base = f"/api/v1/reports/{shot.report_id}/screenshots/{shot.id}"
        waiting = await tenant.client.get(f"{base}/thumbnail")
        assert (waiting.status_code, waiting.headers["retry-after"]) == (202, "2")
        mine = await process_screenshot({}, organization_id=tenant.organization_id, screenshot_id=str(shot.id))
        assert mine == "ready"


async def test_an_image_that_never_finishes_processing_ends_failed(tenants: TenantFactory) -> None:
    async with tenants.create() as tenant:
        [shot] = await pending_screenshots(tenant, 1, screenshot_png((320, 180)))
        async with tenant_session(tenant) as session:
            row = await session.get_one(Screenshot, shot.id)
            # Every earlier run died or stalled before it could finish, the last one long ago.
            row.attempts = MAX_ATTEMPTS
            await session.commit()
            await session.execute(
                update(Screenshot)
                .where(Screenshot.id == shot.id)
                .values(updated_at=datetime.now(UTC) - timedelta(seconds=run_seconds() + 1)),
            )
            await session.commit()
            assert await ScreenshotService(session).process(shot.id) == "failed"
        [row] = await rows(tenant, [shot])
        assert row.error == Refusal.ATTEMPTS


async def test_a_job_that_runs_out_of_time_ends_failed_with_a_reason(
    tenants: TenantFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with tenants.create() as tenant:
        [shot] = await pending_screenshots(tenant, 1, screenshot_png((1920, 1080)))
        monkeypatch.setenv("LANTERN_SCREENSHOT_TIMEOUT_SECONDS", "1")
        reset_settings()
        try:
            with image_threads_busy():  # its turn would come after the timeout, whatever the machine's speed
                result = await process_screenshot(
                    {}, organization_id=tenant.organization_id, screenshot_id=str(shot.id)
                )
        finally:
            monkeypatch.delenv("LANTERN_SCREENSHOT_TIMEOUT_SECONDS")
            reset_settings()
        assert result == "failed"
        [row] = await rows(tenant, [shot])
        assert (row.status, row.error) == ("failed", Refusal.TIMEOUT)


async def test_sigterm_lets_running_jobs_finish_without_spending_a_try(tenants: TenantFactory) -> None:
    count = 60
    async with tenants.create() as tenant:
        shots = await pending_screenshots(tenant, count, screenshot_png((1280, 720)))
        await enqueue(tenant, shots)
        async with worker_process() as worker:
            await some_ready(tenant, shots, 5)
            worker.terminate()
            await worker.restart()
            await all_ready(tenant, shots)
        assert {row.attempts for row in await rows(tenant, shots)} == {1}


async def test_killing_the_worker_mid_queue_loses_and_duplicates_nothing(tenants: TenantFactory) -> None:
    count = 200
    async with tenants.create() as tenant:
        shots = await pending_screenshots(tenant, count, screenshot_png((1280, 720)))
        originals = {shot.key for shot in shots}
        await enqueue(tenant, shots)
        # A short run timeout: a run the kill interrupted may be taken over 15 s after it started.
        async with worker_process(env={"LANTERN_SCREENSHOT_TIMEOUT_SECONDS": "5"}) as worker:
            await some_ready(tenant, shots, count // 10)
            worker.kill()
            assert await ready_count(tenant, shots) < count, "the worker finished before it was killed"
            await worker.restart()
            await all_ready(tenant, shots)
        done = await rows(tenant, shots)
        assert len(done) == count
        outputs = {row.key for row in done} | {row.thumbnail_key for row in done if row.thumbnail_key}
        assert len(outputs) == 2 * count
        # Each screenshot: exactly its image and its thumbnail (an original whose deletion the kill
        # interrupted is the only other file that may remain).
        assert stored_files(shots[0]) - originals == outputs


async def test_after_flushdb_the_sweeper_finds_every_pending_screenshot(tenants: TenantFactory) -> None:
    """1,000 queued screenshots, the queue flushed: the sweeper finds them all in the database."""
    count = 1000
    async with tenants.create() as tenant:
        shots = await pending_screenshots(tenant, count, screenshot_png((160, 90)))
        await enqueue(tenant, shots)
        # Only this test's database: on a shared Redis server every helper has its own.
        await get_redis().flushdb()
        # The flush happened a while ago: the sweeper leaves screenshots alone for their first 10 s.
        async with tenant_session(tenant) as session:
            await session.execute(
                update(Screenshot)
                .where(Screenshot.report_id == shots[0].report_id)
                .values(updated_at=datetime.now(UTC) - timedelta(seconds=SCREENSHOT_SWEEP_AFTER_SECONDS)),
            )
            await session.commit()
        started = time.monotonic()
        async with running_worker():
            await all_ready(tenant, shots)
        # Reported, not asserted (timings belong to bench/).
        print(f"{count} screenshots processed {time.monotonic() - started:.1f} s after the worker started")  # noqa: T201
        async with tenant_session(tenant) as session:
            total = await session.scalar(
                select(func.count()).select_from(Screenshot).where(Screenshot.report_id == shots[0].report_id),
            )
        assert total == count


async def test_the_sweeper_queues_again_only_the_screenshots_whose_job_the_queue_lost(tenants: TenantFactory) -> None:
    """During a long backlog every pending screenshot was queued again each minute under a new job id, though its
    job waited in the queue: the queue held several jobs for each. Now a waiting job is left alone, and only a
    flushed queue's are queued again (once)."""
    count = 30
    async with tenants.create() as tenant:
        shots = await pending_screenshots(tenant, count, screenshot_png((160, 90)))
        await enqueue(tenant, shots)
        async with tenant_session(tenant) as session:  # pending long enough for the sweeper
            await session.execute(
                update(Screenshot)
                .where(Screenshot.report_id == shots[0].report_id)
                .values(updated_at=datetime.now(UTC) - timedelta(seconds=SCREENSHOT_SWEEP_AFTER_SECONDS)),
            )
            await session.commit()
        await sweep_pending_screenshots({})
        assert await queued_jobs(shots) == {shot.job_id: [shot.job_id] for shot in shots}
        redis = get_redis()
        if time.time() % SCREENSHOT_RESWEEP_SECONDS > SCREENSHOT_RESWEEP_SECONDS - 5:  # one window for what follows
            await asyncio.sleep(5)
        await redis.flushdb()  # only this test's database: on a shared Redis server each has its own
        await sweep_pending_screenshots({})
        await sweep_pending_screenshots({})
        again = await queued_jobs(shots)
        assert sorted(map(len, again.values())) == [1] * count, again
        # Those jobs run and end, keeping no result, while a killed worker's claim still holds the work: its id
        # was free again, and every sweep (each 10 s) queued the work anew. Once in the window, now.
        ran = [job_id for job_ids in again.values() for job_id in job_ids]
        await redis.zrem(IMAGE_QUEUE, *ran)
        await redis.delete(*(job_key_prefix + job_id for job_id in ran))
        await sweep_pending_screenshots({})
        assert await queued_jobs(shots) == {shot.job_id: [] for shot in shots}
        await redis.flushdb()  # then lost again: queued again, whatever the window
        await sweep_pending_screenshots({})
        assert sorted(map(len, (await queued_jobs(shots)).values())) == [1] * count
        async with running_worker():
            await all_ready(tenant, shots)
        assert {row.attempts for row in await rows(tenant, shots)} == {1}


async def queued_jobs(shots: list[Screenshot]) -> dict[str, list[str]]:
    """The ids of the jobs waiting in the images' queue for each of these screenshots."""
    queued = [job_id.decode() for job_id in await get_redis().zrange(IMAGE_QUEUE, 0, -1)]
    return {shot.job_id: [job_id for job_id in queued if job_id.startswith(shot.job_id)] for shot in shots}


async def test_a_flood_of_images_holds_back_no_other_organizations_work(tenants: TenantFactory, worker: Any) -> None:
    """Images wait for one of the process's two decoders. From the one queue they held every job slot meanwhile,
    and another organization's tracking IDs, webhook deliveries and e-mails waited behind them for minutes."""
    async with tenants.create("Gallery") as flooding, tenants.create("Shop") as other:
        gallery = await flooding.create_project("Gallery", rateLimitPerMinute=1000)
        shop = await other.create_project("Shop", trackingPrefix="SHOP")
        for _ in range(2):
            _DECODING.acquire()  # every decoder busy, as with large images: the images wait
        try:
            flood = [await _image_report(flooding, gallery["apiKey"]) for _ in range(12)]
            sent = await other.client.post(
                "/api/v1/reports", json={"title": "Cart is empty"}, headers={"X-API-Key": shop["apiKey"]}
            )
            assert sent.status_code == 201, sent.text
            numbered = await _numbered(other, sent.json()["data"]["id"])
            assert numbered["trackingId"] == "SHOP-1"
            waiting = [(await read_report(flooding, report_id))["screenshots"][0]["status"] for report_id in flood]
            assert waiting == ["pending"] * len(flood), "the images were not held up: the test proves nothing"
        finally:
            for _ in range(2):
                _DECODING.release()
        for report_id in flood:
            assert (await processed(flooding, report_id))["status"] == "ready"


async def _image_report(tenant: Tenant, api_key: str) -> str:
    headers = {"X-API-Key": api_key}
    upload = await tenant.client.post(
        "/api/v1/upload/screenshot", files={"file": ("shot.png", screenshot_png((64, 48)))}, headers=headers
    )
    assert upload.status_code == 201, upload.text
    body = {"title": "A picture", "screenshot_url": upload.json()["key"]}
    created = await tenant.client.post("/api/v1/reports", json=body, headers=headers)
    assert created.status_code == 201, created.text
    return str(created.json()["data"]["id"])


async def _numbered(tenant: Tenant, report_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        report = await read_report(tenant, report_id)
        if report["trackingId"] is not None:
            return report
        await asyncio.sleep(0.05)
    msg = "the report got no tracking ID while images waited"
    raise AssertionError(msg)


async def test_uploads_waiting_for_their_report_are_capped_per_project(
    tenants: TenantFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Uploads no report takes are kept a day: a widget key's holder could fill the shared disk with them."""
    image = screenshot_png((64, 48))
    monkeypatch.setattr(ingest, "MAX_UNATTACHED_UPLOAD_BYTES", len(image) * 5 // 2)
    async with tenants.create() as tenant:
        _project_id, headers = await project_headers(tenant)
        _other_project, other_headers = await project_headers(tenant)

        async def upload(sent_headers: dict[str, str]) -> Any:
            files = {"file": ("shot.png", image)}
            return await tenant.client.post("/api/v1/upload/screenshot", files=files, headers=sent_headers)

        first, second, refused = [await upload(headers) for _ in range(3)]
        assert (first.status_code, second.status_code) == (201, 201)
        assert (refused.status_code, refused.json()["error"]) == (429, "RATE_LIMITED"), refused.text
        assert "waiting for their report" in refused.json()["message"]
        assert refused.headers["retry-after"] == "60"
        assert (await upload(other_headers)).status_code == 201  # each project has its own room

        body = {"title": "The cart is empty", "screenshot_url": first.json()["key"]}
        assert (await tenant.client.post("/api/v1/reports", json=body, headers=headers)).status_code == 201
        assert (await upload(headers)).status_code == 201  # a report took one: room for one more
