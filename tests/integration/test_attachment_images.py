"""Files attached to a report whose bytes are an image: processed by a real arq worker exactly like a
screenshot (content decides, never the name or declared type); any other file stays a plain download."""

from __future__ import annotations

import asyncio
import io
import json
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from PIL import ExifTags, Image
from sqlalchemy import update

from app.domain.reports.models import Attachment, ImageStatus
from app.domain.reports.screenshots import ImageProcessor
from app.lib.redis import get_redis
from app.settings import get_settings
from tests.integration.test_reports import BUGPIN_EXAMPLE
from tests.integration.test_screenshots import encode, tenant_session
from tests.support.clients import BASE_URL, ApiClient, Tenant, TenantFactory
from tests.support.screenshots import PROCESSING_WAIT_SECONDS
from tests.support.worker import running_worker


def gps_jpeg() -> bytes:
    """A 600x1200 JPEG with GPS coordinates, stored sideways (orientation 6: shown as 1200x600)."""
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.IFD.GPSInfo] = {ExifTags.GPS.GPSLatitudeRef: "N", ExifTags.GPS.GPSLatitude: (25.0, 2.0, 0.0)}
    return encode(Image.new("RGB", (600, 1200), "teal"), "JPEG", exif=exif.tobytes())


async def new_report(tenant: Tenant) -> tuple[str, str]:
    """(report id, project id) of a report sent with the project's widget key."""
    project = await tenant.create_project(name=f"Shop {secrets.token_hex(3)}")
    created = await tenant.client.post(
        "/api/v1/reports", json={"title": "The cart is empty"}, headers={"X-API-Key": project["apiKey"]}
    )
    assert created.status_code == 201, created.text
    return created.json()["data"]["id"], project["id"]


async def attach(tenant: Tenant, report_id: str, filename: str, data: bytes, content_type: str) -> dict[str, Any]:
    uploaded = await tenant.client.post(
        f"/api/v1/reports/{report_id}/attachments", files={"file": (filename, data, content_type)}
    )
    assert uploaded.status_code == 201, uploaded.text
    return uploaded.json()["data"]  # type: ignore[no-any-return]


async def listed(tenant: Tenant, report_id: str, attachment_id: str, lang: str = "en") -> dict[str, Any]:
    response = await tenant.client.get(f"/api/v1/reports/{report_id}/attachments?lang={lang}")
    assert response.status_code == 200, response.text
    [found] = [a for a in response.json()["data"] if a["id"] == attachment_id]
    return found  # type: ignore[no-any-return]


async def processed(tenant: Tenant, report_id: str, attachment_id: str) -> dict[str, Any]:
    """The attachment as the API lists it once a worker has finished with it (ready or failed)."""
    for _ in range(int(PROCESSING_WAIT_SECONDS / 0.1)):
        attachment = await listed(tenant, report_id, attachment_id)
        if attachment["status"] != ImageStatus.PENDING.value:
            return attachment
        await asyncio.sleep(0.1)
    msg = "the attachment was never processed"
    raise AssertionError(msg)


def thumbnail_url(attachment: dict[str, Any]) -> str:
    """The whole address the API answers for an attachment's thumbnail, under the public URL."""
    return f"{BASE_URL}/api/v1/reports/{attachment['reportId']}/attachments/{attachment['id']}/thumbnail"


def assert_download_headers(headers: Any) -> None:
    assert headers["content-type"] == "application/octet-stream"
    assert headers["content-disposition"].startswith("attachment;")
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["content-security-policy"] == "sandbox"


async def test_a_gps_jpeg_ends_ready_clean_upright_and_with_a_thumbnail(tenants: TenantFactory, worker: Any) -> None:
    async with tenants.create() as tenant:
        report_id, _project = await new_report(tenant)
        uploaded = await attach(tenant, report_id, "holiday.jpg", gps_jpeg(), "image/jpeg")
        assert (uploaded["status"], uploaded["thumbnailUrl"]) == ("pending", None)
        attachment = await processed(tenant, report_id, uploaded["id"])
        assert (attachment["status"], attachment["width"], attachment["height"], attachment["error"]) == (
            "ready",
            1200,
            600,
            None,
        )
        assert attachment["thumbnailUrl"] == thumbnail_url(attachment)
        download = await tenant.client.get(attachment["url"])
        assert download.status_code == 200
        assert_download_headers(download.headers)
        assert len(download.content) == attachment["size"]
        clean = Image.open(io.BytesIO(download.content))
        assert (clean.format, clean.size) == ("JPEG", (1200, 600))
        assert not clean.getexif()
        assert b"Exif" not in download.content
        thumbnail = await tenant.client.get(attachment["thumbnailUrl"])
        assert thumbnail.status_code == 200
        assert thumbnail.headers["content-type"] == "image/webp"
        assert thumbnail.headers["x-content-type-options"] == "nosniff"
        assert thumbnail.headers["content-security-policy"] == "sandbox"
        small = Image.open(io.BytesIO(thumbnail.content))
        assert (small.format, small.size) == ("WEBP", (400, 200))
        assert max(small.size) <= 400


async def test_a_png_named_and_typed_as_text_is_processed_as_the_png_it_is(tenants: TenantFactory, worker: Any) -> None:
    async with tenants.create() as tenant:
        report_id, _project = await new_report(tenant)
        png = encode(Image.new("RGBA", (64, 48), (255, 0, 0, 128)), "PNG")
        uploaded = await attach(tenant, report_id, "notes.txt", png, "text/plain")
        attachment = await processed(tenant, report_id, uploaded["id"])
        assert (attachment["status"], attachment["width"], attachment["height"]) == ("ready", 64, 48)
        assert (attachment["name"], attachment["contentType"]) == ("notes.txt", "image/png")
        download = await tenant.client.get(attachment["url"])
        assert_download_headers(download.headers)
        assert Image.open(io.BytesIO(download.content)).format == "PNG"
        assert (await tenant.client.get(attachment["thumbnailUrl"])).status_code == 200


async def test_an_html_in_jpeg_polyglot_fails_with_a_localized_reason_and_is_never_served(
    tenants: TenantFactory, worker: Any
) -> None:
    polyglot = encode(Image.new("RGB", (16, 16), "red"), "JPEG", comment=b"<html><script>alert(1)</script></html>")
    async with tenants.create() as tenant:
        report_id, _project = await new_report(tenant)
        uploaded = await attach(tenant, report_id, "shot.jpg", polyglot, "image/jpeg")
        attachment = await processed(tenant, report_id, uploaded["id"])
        assert (attachment["status"], attachment["thumbnailUrl"]) == ("failed", None)
        assert "web page" in attachment["error"]
        in_german = await listed(tenant, report_id, uploaded["id"], lang="de")
        assert "Webseiten" in in_german["error"]  # stored as a code, shown in the reader's language
        assert attachment["errorCode"] == in_german["errorCode"] == "markup"  # and that code, in any language
        assert (await tenant.client.get(attachment["url"])).status_code == 404
        assert (await tenant.client.get(thumbnail_url(attachment))).status_code == 404


async def test_a_text_file_stays_a_plain_download_without_a_thumbnail(tenants: TenantFactory, worker: Any) -> None:
    async with tenants.create() as tenant:
        report_id, _project = await new_report(tenant)
        uploaded = await attach(tenant, report_id, "steps.txt", b"1. open the cart\n", "text/plain")
        assert (uploaded["status"], uploaded["width"], uploaded["thumbnailUrl"], uploaded["error"]) == (
            None,
            None,
            None,
            None,
        )
        download = await tenant.client.get(uploaded["url"])
        assert download.status_code == 200
        assert download.content == b"1. open the cart\n"
        assert_download_headers(download.headers)
        assert (await tenant.client.get(thumbnail_url(uploaded))).status_code == 404
        async with tenant_session(tenant) as session:
            row = await session.get_one(Attachment, UUID(uploaded["id"]))
            assert (row.status, row.attempts, row.thumbnail_key) == (None, 0, None)
            assert row.key is not None
            assert row.key.endswith(".bin")


async def test_another_tenant_cannot_download_the_image_or_its_thumbnail(tenants: TenantFactory, worker: Any) -> None:
    async with tenants.create() as tenant, tenants.create("Other") as other:
        report_id, _project = await new_report(tenant)
        uploaded = await attach(tenant, report_id, "holiday.jpg", gps_jpeg(), "image/jpeg")
        attachment = await processed(tenant, report_id, uploaded["id"])
        assert attachment["status"] == "ready"
        for url in (attachment["url"], attachment["thumbnailUrl"]):
            assert (await tenant.client.get(url)).status_code == 200
            assert (await other.client.get(url)).status_code == 404


def stored_files(organization_id: str, project_id: str) -> set[str]:
    folder = get_settings().data_dir / "uploads" / organization_id / project_id
    return {str(path.relative_to(folder.parents[1])) for path in Path(folder).iterdir()}


async def test_a_pending_image_downloads_without_its_gps_and_a_cut_one_not_at_all(tenants: TenantFactory) -> None:
    """As a pending screenshot: no worker runs here, and the download still gives no place or camera away."""
    async with tenants.create() as tenant:
        report_id, _project = await new_report(tenant)
        uploaded = await attach(tenant, report_id, "holiday.jpg", gps_jpeg(), "image/jpeg")
        cut = await attach(tenant, report_id, "cut.jpg", gps_jpeg()[:-100], "image/jpeg")
        download = await tenant.client.get(uploaded["url"])
        refused = await tenant.client.get(cut["url"])
    assert (uploaded["status"], download.status_code) == ("pending", 200)
    assert_download_headers(download.headers)
    assert b"Exif" not in download.content
    assert Image.open(io.BytesIO(download.content)).size == (600, 1200)  # as sent: the worker turns it upright
    assert (refused.status_code, refused.headers["retry-after"]) == (409, "2")


async def test_running_the_job_twice_changes_nothing_the_second_time(tenants: TenantFactory) -> None:
    async with tenants.create() as tenant:
        report_id, project_id = await new_report(tenant)
        uploaded = await attach(tenant, report_id, "holiday.jpg", gps_jpeg(), "image/jpeg")
        attachment_id = UUID(uploaded["id"])
        async with tenant_session(tenant) as session:
            assert await ImageProcessor(session, Attachment).process(attachment_id) == "ready"
        async with tenant_session(tenant) as session:
            first = await session.get_one(Attachment, attachment_id)
        files = stored_files(tenant.organization_id, project_id)
        assert files == {first.key, first.thumbnail_key}
        async with tenant_session(tenant) as session:
            assert await ImageProcessor(session, Attachment).process(attachment_id) is None
        async with tenant_session(tenant) as session:
            second = await session.get_one(Attachment, attachment_id)
        assert (second.key, second.thumbnail_key, second.updated_at, second.attempts, second.status) == (
            first.key,
            first.thumbnail_key,
            first.updated_at,
            first.attempts,
            "ready",
        )
        assert stored_files(tenant.organization_id, project_id) == files


async def test_the_sweeper_requeues_an_image_attachment_the_queue_lost(tenants: TenantFactory) -> None:
    png = encode(Image.new("RGB", (32, 32), "blue"), "PNG")
    async with tenants.create() as tenant:
        report_id, _project = await new_report(tenant)
        image = UUID((await attach(tenant, report_id, "cart.png", png, "image/png"))["id"])
        text = UUID((await attach(tenant, report_id, "steps.txt", b"1. open the cart", "text/plain"))["id"])
        # Only this test's database: on a shared Redis server every helper has its own. (It also drops the
        # client's session, so the rows are read from the database from here on.)
        await get_redis().flushdb()
        async with tenant_session(tenant) as session:
            await session.execute(
                update(Attachment)
                .where(Attachment.report_id == UUID(report_id))
                .values(updated_at=datetime.now(UTC) - timedelta(minutes=5)),
            )
            await session.commit()
        async with running_worker():
            for _ in range(int(PROCESSING_WAIT_SECONDS / 0.1)):
                async with tenant_session(tenant) as session:
                    row = await session.get_one(Attachment, image)
                if row.status != ImageStatus.PENDING.value:
                    break
                await asyncio.sleep(0.1)
        async with tenant_session(tenant) as session:
            assert (await session.get_one(Attachment, image)).status == ImageStatus.READY.value
            plain = await session.get_one(Attachment, text)
            assert (plain.status, plain.attempts) == (None, 0)


async def test_a_link_in_bugherds_body_keeps_its_file_name(tenants: TenantFactory) -> None:
    async with tenants.create() as tenant:
        report_id, _project_id = await new_report(tenant)
        url = f"/api/v1/reports/{report_id}/attachments"
        bugherd = {"attachment": {"file_name": "resolution.gif", "url": "http://i.imgur.com/U9h3jZI.gif"}}
        answers = [
            await tenant.client.post(url, json=bugherd),
            await tenant.client.post(url, json={"fileName": "trace.har", "url": "https://files.example.com/1"}),
            await tenant.client.post(url, json={"url": "https://files.example.com/logs/app.log?sig=1"}),
        ]
    assert [answer.status_code for answer in answers] == [201, 201, 201], [answer.text for answer in answers]
    assert [answer.json()["data"]["name"] for answer in answers] == ["resolution.gif", "trace.har", "app.log"]
    assert answers[0].json()["data"]["url"] == "http://i.imgur.com/U9h3jZI.gif"


async def test_a_file_sent_as_a_png_jpeg_or_webp_image_must_be_one(tenants: TenantFactory) -> None:
    """Text sent as `image/png` was kept as a plain download whose `contentType` said `image/png`, an image never
    processed nor shown. A file sent as one of the images Lantern processes is now one (by its bytes, whichever of
    them: a PNG sent as `image/jpeg` is the PNG it is), or a 415 that says so; any other type is still taken as
    sent, a GIF or a log as much as a file sent as bytes."""
    text = b"checkout failed\n"
    gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"
    async with tenants.create() as tenant:
        report_id, _project_id = await new_report(tenant)
        url = f"/api/v1/reports/{report_id}/attachments"
        refused = {
            "raw png": await tenant.client.post(
                f"{url}/upload", content=text, headers={"Content-Type": "image/png", "Accept-Language": "de"}
            ),
            "raw webp": await tenant.client.post(f"{url}/upload", content=text, headers={"Content-Type": "image/webp"}),
            "form jpeg": await tenant.client.post(url, files={"file": ("notes.jpg", text, "image/jpeg")}),
        }
        taken = {
            "png as jpeg": await tenant.client.post(
                f"{url}/upload",
                content=encode(Image.new("RGB", (8, 8), "red"), "PNG"),
                headers={"Content-Type": "image/jpeg"},
            ),
            "gif": await tenant.client.post(f"{url}/upload", content=gif, headers={"Content-Type": "image/gif"}),
            "text": await tenant.client.post(f"{url}/upload", content=text, headers={"Content-Type": "text/plain"}),
            "bytes": await tenant.client.post(url, files={"file": ("notes", text, "application/octet-stream")}),
        }
        listed = (await tenant.client.get(url)).json()["data"]
    assert {name: answer.status_code for name, answer in refused.items()} == dict.fromkeys(refused, 415)
    assert refused["raw png"].json() == {
        "success": False,
        "error": "UNSUPPORTED_MEDIA_TYPE",
        "message": "Die Datei wird als image/png gesendet, ist aber kein PNG-, JPEG- oder WebP-Bild.",
        "details": [
            {
                "field": "file",
                "message": "Die Datei wird als image/png gesendet, ist aber kein PNG-, JPEG- oder WebP-Bild.",
            }
        ],
    }
    assert refused["form jpeg"].json()["details"] == [
        {"field": "file", "message": "The file is sent as image/jpeg, but it is not a PNG, JPEG or WebP image."}
    ]
    assert {name: answer.status_code for name, answer in taken.items()} == dict.fromkeys(taken, 201)
    assert {
        name: (answer.json()["data"]["contentType"], answer.json()["data"]["status"]) for name, answer in taken.items()
    } == {
        "png as jpeg": ("image/png", "pending"),
        "gif": ("image/gif", None),
        "text": ("text/plain", None),
        "bytes": ("application/octet-stream", None),
    }
    assert len(listed) == len(taken)


async def test_bugherds_upload_takes_the_file_as_the_body(tenants: TenantFactory) -> None:
    async with tenants.create() as tenant:
        report_id, _project_id = await new_report(tenant)
        url = f"/api/v1/reports/{report_id}/attachments/upload"
        log = b"2026-12-03 checkout failed\n"
        uploaded = await tenant.client.post(
            url, params={"file_name": "server.log"}, content=log, headers={"Content-Type": "text/plain"}
        )
        unnamed = await tenant.client.post(
            url, content=b"\x00\x01", headers={"Content-Type": "application/octet-stream"}
        )
        empty = await tenant.client.post(url, content=b"", headers={"Content-Type": "application/octet-stream"})
        assert uploaded.status_code == 201, uploaded.text
        download = await tenant.client.get(uploaded.json()["data"]["url"])
    assert uploaded.json()["data"]["name"] == "server.log"
    assert download.content == log
    assert (unnamed.status_code, unnamed.json()["data"]["name"]) == (201, "attachment")
    assert empty.status_code == 400
    assert empty.json()["details"][0]["field"] == "file"


async def test_a_file_uploaded_without_a_name_is_named_with_its_types_extension(tenants: TenantFactory) -> None:
    """A raw upload without `file_name` was stored as `attachment`, with no extension: downloaded, no program
    knew it. A known content type gives its extension: an image's, by its bytes (as it is stored); another's,
    as declared. A type that tells nothing (`application/octet-stream`) or that the table does not know, none."""
    picture = encode(Image.new("RGB", (16, 16), "red"), "PNG")
    photo = encode(Image.new("RGB", (16, 16), "red"), "WEBP")
    sent = {
        "png": (picture, "image/png"),
        "png, declared as bytes": (picture, "application/octet-stream"),
        "webp": (photo, "image/webp"),
        "text": (b"checkout failed\n", "text/plain; charset=utf-8"),
        "json": (b"{}", "application/json"),
        "bytes": (b"\x00\x01", "application/octet-stream"),
        "unknown": (b"\x00\x01", "application/x-lantern-unknown"),
    }
    async with tenants.create() as tenant:
        report_id, _project_id = await new_report(tenant)
        url = f"/api/v1/reports/{report_id}/attachments/upload"
        answers = {
            name: await tenant.client.post(url, content=data, headers={"Content-Type": content_type})
            for name, (data, content_type) in sent.items()
        }
    assert {name: answer.status_code for name, answer in answers.items()} == dict.fromkeys(sent, 201)
    assert {name: answer.json()["data"]["name"] for name, answer in answers.items()} == {
        "png": "attachment.png",
        "png, declared as bytes": "attachment.png",
        "webp": "attachment.webp",
        "text": "attachment.txt",
        "json": "attachment.json",
        "bytes": "attachment",
        "unknown": "attachment",
    }


async def test_an_empty_file_is_refused_wherever_a_file_is_sent(tenants: TenantFactory, anonymous: ApiClient) -> None:
    """A form's file part with no bytes was an attachment of 0 bytes (201), where an empty body to the raw
    upload was refused; as a widget's image or BugSpark's upload it was said to be of the wrong type (415)."""
    empty = ("empty.png", b"", "image/png")
    async with tenants.create() as tenant:
        report_id, project_id = await new_report(tenant)
        key = (await tenant.client.get(f"/api/v1/projects/{project_id}")).json()["data"]["apiKey"]
        widget = {"X-API-Key": key}
        url = f"/api/v1/reports/{report_id}/attachments"
        answers = {
            "attachment": await tenant.client.post(url, files={"file": empty}),
            "raw upload": await tenant.client.post(f"{url}/upload", files={"file": empty}),
            "widget": await anonymous.post(
                "/api/v1/widget/submit",
                data={"data": json.dumps(BUGPIN_EXAMPLE)},
                files={"media": empty},
                headers=widget,
            ),
            "upload": await anonymous.post("/api/v1/upload/screenshot", files={"file": empty}, headers=widget),
        }
        listed = (await tenant.client.get(url)).json()["data"]
    assert {name: answer.status_code for name, answer in answers.items()} == dict.fromkeys(answers, 400)
    assert {name: answer.json()["details"] for name, answer in answers.items()} == {
        name: [{"field": field, "message": "This file is empty."}]
        for name, field in (("attachment", "file"), ("raw upload", "file"), ("widget", "media"), ("upload", "file"))
    }
    assert listed == []


async def test_a_file_too_large_is_named_in_the_details(tenants: TenantFactory) -> None:
    """A `413` names the part too large, as the widget's images and report JSON do: its details were empty."""
    too_large = ("big.log", b"x" * (10 * 1024 * 1024 + 1), "text/plain")
    async with tenants.create() as tenant:
        report_id, _project_id = await new_report(tenant)
        url = f"/api/v1/reports/{report_id}/attachments"
        answers = [
            await tenant.client.post(f"{url}?lang=de", files={"file": too_large}),
            await tenant.client.post(f"{url}/upload?lang=de", files={"file": too_large}),
        ]
        listed = (await tenant.client.get(url)).json()["data"]
    assert [answer.status_code for answer in answers] == [413, 413]
    assert [answer.json()["details"] for answer in answers] == [
        [{"field": "file", "message": "Eine Datei darf höchstens 10 MB groß sein."}]
    ] * 2
    assert listed == []


def _form_without_part_types(name: str, data: bytes) -> tuple[bytes, str]:
    """A multipart body whose `file` part declares no Content-Type, as Python's `requests` sends a file given
    without one (httpx always names one)."""
    boundary = secrets.token_hex(8)
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n\r\n'.encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


async def test_a_file_sent_without_a_type_is_typed_by_its_name_else_as_bytes(tenants: TenantFactory) -> None:
    """A form's file part without a Content-Type was stored as `text/plain` (RFC 7578's default, which Litestar
    fills in): a zip was served as text. It is typed by its name's extension, else as bytes, on both routes that
    take a form."""
    sent = {
        "crash.zip": "application/zip",
        "notes.txt": "text/plain",
        "trace.har": "application/octet-stream",
        "logs.tar.gz": "application/octet-stream",
    }
    async with tenants.create() as tenant:
        report_id, _project_id = await new_report(tenant)
        stored: dict[str, list[str]] = {}
        for path in ("", "/upload"):
            for name in sent:
                body, content_type = _form_without_part_types(name, b"PK\x03\x04 not text")
                answer = await tenant.client.post(
                    f"/api/v1/reports/{report_id}/attachments{path}",
                    content=body,
                    headers={"Content-Type": content_type},
                )
                assert answer.status_code == 201, answer.text
                stored.setdefault(name, []).append(answer.json()["data"]["contentType"])
    assert stored == {name: [content_type, content_type] for name, content_type in sent.items()}
