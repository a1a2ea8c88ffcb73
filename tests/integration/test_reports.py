"""Reports: the reference products' own examples, tracking IDs by a real worker, triage."""

from __future__ import annotations

import asyncio
import codecs
import io
import json
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import httpx
import pytest
from PIL import Image

from app.lib import jsonapi
from app.lib.i18n import gettext, use_locale
from tests.support.admin_ui import report
from tests.support.clients import PASSWORD, ApiClient, Tenant, TenantFactory
from tests.support.environment import environment
from tests.support.isolation import invite, member_of
from tests.support.jsonapi import validate_document
from tests.support.screenshots import PROCESSING_WAIT_SECONDS, numbered, processed, read_report
from tests.support.worker import PATIENT_NUMBERING
from workers.jobs import sweep_unnumbered_reports

BUGSPARK_EXAMPLE = {
    "title": "結帳按鈕無回應",
    "description": "在行動版 Safari 上點擊「立即付款」沒有反應",
    "severity": "high",
    "category": "bug",
    "reporter_identifier": "user@example.com",
    "metadata": {"page": "/checkout", "cart_total": 49.99},
}

JSONAPI = "application/vnd.api+json"

BUGPIN_EXAMPLE = {
    "title": "Button not working on checkout page",
    "description": "When I click the submit button, nothing happens.",
    "priority": "high",
    "reporterName": "John Doe",
    "reporterEmail": "john@example.com",
    "metadata": {
        "url": "https://example.com/checkout",
        "title": "Checkout - Example Store",
        "referrer": "https://example.com/cart",
        "browser": {"name": "Chrome", "version": "120.0.0", "userAgent": "Mozilla/5.0..."},
        "device": {"type": "desktop", "os": "macOS", "osVersion": "14.0"},
        "viewport": {"width": 1920, "height": 1080, "devicePixelRatio": 2, "orientation": "landscape"},
        "timestamp": "2024-01-15T10:30:00.000Z",
        "timezone": "America/New_York",
        "pageLoadTime": 1234,
        "consoleErrors": [
            {
                "type": "error",
                "message": "Uncaught TypeError: Cannot read property 'submit' of null",
                "source": "checkout.js",
                "line": 42,
                "timestamp": "2024-01-15T10:29:55.000Z",
            },
        ],
    },
}


async def _sent_report(tenant: Tenant, anonymous: ApiClient) -> tuple[dict[str, Any], str]:
    """A new project of the tenant, and the address of a report sent to it with BugSpark's example."""
    project = await _project(tenant)
    sent = await anonymous.post("/api/v1/reports", json=BUGSPARK_EXAMPLE, headers={"X-API-Key": project["apiKey"]})
    assert sent.status_code == 201, sent.text
    return project, f"/api/v1/reports/{sent.json()['data']['id']}"


def png(width: int = 64, height: int = 48) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


async def _project(tenant: Tenant, name: str = "BugSpark", prefix: str = "BSK") -> dict[str, Any]:
    return await tenant.create_project(name, trackingPrefix=prefix)


async def _project_taking_attachments(tenant: Tenant) -> dict[str, Any]:
    """A project whose widget lets visitors attach files (`features.attachments`, off by default)."""
    project = await _project(tenant)
    change = {"widgetConfig": {"features": {"attachments": True}}}
    assert (await tenant.client.patch(f"/api/v1/projects/{project['id']}", json=change)).status_code == 200
    return project


async def test_bugspark_example_creates_a_report_with_a_tracking_id(
    tenants: TenantFactory,
    anonymous: ApiClient,
    worker: Any,
) -> None:
    async with tenants.create() as tenant:
        project = await _project(tenant)
        with environment(**PATIENT_NUMBERING):
            response = await anonymous.post(
                "/api/v1/reports",
                json=BUGSPARK_EXAMPLE,
                headers={"X-API-Key": project["apiKey"]},
            )
        assert response.status_code == 201, response.text
        data = response.json()["data"]
        assert data["projectId"] == project["id"]
        assert data["title"] == "結帳按鈕無回應"
        assert (data["severity"], data["category"], data["status"]) == ("high", "bug", "new")
        assert data["trackingId"] == "BSK-1"
        assert data["createdAt"].endswith("Z") or "+" in data["createdAt"]
        shown = await tenant.client.get("/api/v1/reports/BSK-1")
        assert shown.status_code == 200, shown.text
        assert shown.json()["data"]["id"] == data["id"]
        assert shown.json()["data"]["metadata"] == {"page": "/checkout", "cart_total": 49.99}


async def test_bugsparks_reporter_identifier_is_the_reporters_address_when_it_is_one(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    """BugSpark's `reporter_identifier` is "the reporter's e-mail or ID": kept, it was found by no search and shown
    on no page or export. The address is kept in the form accounts' are (a guest's own reports are found by it)."""
    async with tenants.create() as tenant:
        project = await _project(tenant)
        key = {"X-API-Key": project["apiKey"]}
        by_address = {**BUGSPARK_EXAMPLE, "title": "Cart empties", "reporter_identifier": "Zed@Example.com"}
        by_id = {**BUGSPARK_EXAMPLE, "title": "Coupon refused", "reporter_identifier": "customer-4711"}
        for body in (by_address, by_id):
            assert (await anonymous.post("/api/v1/reports", json=body, headers=key)).status_code == 201
        found = (await tenant.client.get("/api/v1/reports?search=zed@example.com")).json()["data"]["items"]
        listed = {item["title"]: item for item in (await tenant.client.get("/api/v1/reports")).json()["data"]["items"]}
        page = await tenant.client.get(f"/ui/reports/{listed['Coupon refused']['id']}")
        export = await tenant.client.get("/ui/reports.csv")
    assert [item["title"] for item in found] == ["Cart empties"]
    assert (listed["Cart empties"]["reporterEmail"], listed["Coupon refused"]["reporterEmail"]) == (
        "zed@example.com",
        None,
    )
    assert listed["Coupon refused"]["reporterIdentifier"] == "customer-4711"
    assert "customer-4711" in page.text
    assert "zed@example.com" in export.text
    assert "customer-4711" in export.text


async def test_a_bugspark_reports_priority_is_taken_and_one_it_does_not_know_refused(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    """A priority sent with BugSpark's body (BugPin's widget sends one) was dropped without a word: the report was
    medium. It is taken as the widget's is, and one that is no priority is a 400 naming it, never dropped."""
    async with tenants.create() as tenant:
        project = await _project(tenant)
        key = {"X-API-Key": project["apiKey"]}
        sent = {
            priority: await anonymous.post(
                "/api/v1/reports", json={**BUGSPARK_EXAMPLE, "priority": priority}, headers=key
            )
            for priority in ("highest", "low")
        }
        left_out = await anonymous.post("/api/v1/reports", json=BUGSPARK_EXAMPLE, headers=key)
        unknown = await anonymous.post("/api/v1/reports", json={**BUGSPARK_EXAMPLE, "priority": "urgent"}, headers=key)
        shown = {
            name: (await tenant.client.get(f"/api/v1/reports/{answer.json()['data']['id']}")).json()["data"]["priority"]
            for name, answer in {**sent, "left out": left_out}.items()
        }
    assert shown == {"highest": "highest", "low": "low", "left out": "medium"}
    assert unknown.status_code == 400, unknown.text
    assert [detail["field"] for detail in unknown.json()["details"]] == ["priority"]


async def test_missing_title_answers_in_traditional_chinese_naming_the_field(
    tenants: TenantFactory,
    anonymous: ApiClient,
) -> None:
    async with tenants.create() as tenant:
        project = await _project(tenant)
        body = {key: value for key, value in BUGSPARK_EXAMPLE.items() if key != "title"}
        response = await anonymous.post(
            "/api/v1/reports",
            json=body,
            headers={"X-API-Key": project["apiKey"], "Accept-Language": "zh-TW"},
        )
    assert response.status_code == 400
    error = response.json()
    assert error["error"] == "VALIDATION_ERROR"
    assert error["details"][0]["field"] == "title"
    assert response.headers["content-language"] == "zh-Hant-TW"
    english = "This field is required."
    assert error["details"][0]["message"] != english


async def test_bugpin_json_example_on_the_compatible_path(
    tenants: TenantFactory,
    anonymous: ApiClient,
    worker: Any,
) -> None:
    async with tenants.create() as tenant:
        project = await _project(tenant, "Example Store", "SHOP")
        with environment(**PATIENT_NUMBERING):
            response = await anonymous.post(f"/api/widget/submit?apiKey={project['apiKey']}", json=BUGPIN_EXAMPLE)
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["success"] is True
        assert body["trackingId"] == "SHOP-1"
        assert body["message"]
        report = (await tenant.client.get(f"/api/v1/reports/{body['reportId']}")).json()["data"]
        assert report["priority"] == "high"
        assert report["pageUrl"] == "https://example.com/checkout"
        assert report["consoleLogs"][0]["line"] == 42
        assert report["reporterEmail"] == "john@example.com"
        # As sent: 1920, not 1920.0
        viewport = BUGPIN_EXAMPLE["metadata"]["viewport"]
        assert json.dumps(report["metadata"]["viewport"], sort_keys=True) == json.dumps(viewport, sort_keys=True)
        assert report["metadata"]["pageLoadTime"] == 1234


async def test_page_metadata_keeps_the_fields_bugpin_does_not_name(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    """A client's own page context (`language`, `screen`, a browser's `brand`) was taken and then dropped without a
    word; it is kept beside what Lantern reads, as JSON and as multipart's `data`, in nested objects too."""
    metadata = BUGPIN_EXAMPLE["metadata"]
    sent = {
        **metadata,
        "language": "en-US",
        "screen": {"width": 2560, "height": 1440, "colorDepth": 24},
        "browser": {**metadata["browser"], "brand": "Chromium"},
        "viewport": {**metadata["viewport"], "scrollY": 480},
    }
    body = {**BUGPIN_EXAMPLE, "metadata": sent}
    async with tenants.create() as tenant:
        project = await _project(tenant)
        url = f"/api/widget/submit?apiKey={project['apiKey']}"
        answers = [
            await anonymous.post(url, json=body),
            await anonymous.post(url, data={"data": json.dumps(body)}, files={"media": ("s.png", png(), "image/png")}),
        ]
        assert [answer.status_code for answer in answers] == [201, 201], [answer.text for answer in answers]
        reports = [await read_report(tenant, answer.json()["reportId"]) for answer in answers]
    for shown in reports:
        stored = shown["metadata"]
        assert (stored["language"], stored["screen"]) == ("en-US", {"width": 2560, "height": 1440, "colorDepth": 24})
        assert stored["browser"]["brand"] == "Chromium"
        assert (stored["viewport"]["scrollY"], stored["viewport"]["width"]) == (480, 1920)
        assert stored["pageLoadTime"] == 1234
        assert "consoleErrors" not in stored  # the console's entries are the report's console log


async def _bugpin_multipart(anonymous: ApiClient, project: dict[str, Any]) -> httpx.Response:
    """BugPin's example sent as its widget sends it: the JSON in `data`, a PNG in `media`."""
    response = await anonymous.post(
        f"/api/v1/widget/submit?apiKey={project['apiKey']}",
        data={"data": json.dumps(BUGPIN_EXAMPLE)},
        files={"media": ("screenshot.png", png(), "image/png")},
    )
    assert response.status_code == 201, response.text
    return response


async def test_bugpin_multipart_example_stores_the_screenshot(
    tenants: TenantFactory,
    anonymous: ApiClient,
    worker: Any,
) -> None:
    async with tenants.create() as tenant:
        response = await _bugpin_multipart(anonymous, await _project(tenant))
        report = await read_report(tenant, response.json()["reportId"])
        assert len(report["screenshots"]) == 1
        shot = await processed(tenant, report["id"])
        assert shot["status"] == "ready"
        image = await tenant.client.get(shot["url"])
        assert image.status_code == 200
        assert image.headers["content-type"] == "image/png"
        assert image.headers["x-content-type-options"] == "nosniff"
        assert Image.open(io.BytesIO(image.content)).size == (64, 48)  # re-encoded by the worker, same picture


MARKS = {"version": 1, "width": 64, "height": 48, "shapes": [{"tool": "box", "color": "#e11d48", "points": []}]}


async def _images_of(tenant: Tenant, report_id: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The report's screenshots and its attachments, once a worker has processed every one of them."""
    for _ in range(int(PROCESSING_WAIT_SECONDS / 0.1)):
        shots = (await read_report(tenant, report_id))["screenshots"]
        listed = await tenant.client.get(f"/api/v1/reports/{report_id}/attachments")
        assert listed.status_code == 200, listed.text
        attachments = listed.json()["data"]
        if all(image["status"] != "pending" for image in [*shots, *attachments]):
            return shots, attachments
        await asyncio.sleep(0.1)
    msg = "the report's images were never processed"
    raise AssertionError(msg)


def _multipart(body: dict[str, Any], *files: tuple[str, str, bytes]) -> list[tuple[str, Any]]:
    """`data` and each (part, file name, bytes), in order (httpx's `files` as a list keeps repeated parts)."""
    return [("data", (None, json.dumps(body))), *((part, (name, data, "image/png")) for part, name, data in files)]


async def test_the_widgets_screenshot_is_the_screenshot_and_its_attached_images_are_attachments(
    tenants: TenantFactory, anonymous: ApiClient, worker: Any
) -> None:
    """Images a visitor attached in the widget were sent as further `media` parts and became screenshots without a
    name; the marked-up screenshot was `annotated: false`; and none was an attachment. Lantern's widget names
    its parts; without a screenshot, its attached images are not taken for one."""
    async with tenants.create() as tenant:
        project = await _project_taking_attachments(tenant)
        url = f"/api/v1/widget/submit?apiKey={project['apiKey']}"
        marked = {**BUGPIN_EXAMPLE, "annotations": MARKS}
        sent = await anonymous.post(
            url,
            files=_multipart(
                marked,
                ("screenshot", "screenshot.png", png(64, 48)),
                ("attachments", "cart.png", png(30, 20)),
                ("attachments", "C:\\Users\\me\\receipt.png", png(20, 30)),
            ),
        )
        assert sent.status_code == 201, sent.text
        shots, attachments = await _images_of(tenant, sent.json()["reportId"])
        without_screenshot = await anonymous.post(
            url, files=_multipart(BUGPIN_EXAMPLE, ("attachments", "cart.png", png(30, 20)))
        )
        assert without_screenshot.status_code == 201, without_screenshot.text
        none_shot, attached = await _images_of(tenant, without_screenshot.json()["reportId"])
        jobs = await tenant.client.get("/api/v1/jobs")
        assert jobs.status_code == 200, jobs.text
    attached_images = next(kind for kind in jobs.json()["data"]["kinds"] if kind["kind"] == "attachmentImage")
    assert attached_images["done"] == 3  # the job dashboard's "Attached images"
    assert [(shot["annotated"], shot["status"], shot["width"]) for shot in shots] == [(True, "ready", 64)]
    assert [(a["name"], a["status"], a["width"]) for a in attachments] == [
        ("cart.png", "ready", 30),
        ("receipt.png", "ready", 20),
    ]
    assert (none_shot, [a["name"] for a in attached]) == ([], ["cart.png"])


async def test_a_project_whose_widget_takes_no_attachments_refuses_them_naming_the_part(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    """With `features.attachments` off (the default), a submission's attached files were kept all the same."""
    async with tenants.create() as tenant:
        project = await _project(tenant)
        url = f"/api/v1/widget/submit?apiKey={project['apiKey']}"
        shot = ("screenshot", "screenshot.png", png(64, 48))
        cases = [
            ([shot, ("attachments", "cart.png", png(30, 20))], ["attachments"]),
            ([("media", "shot.png", png(64, 48)), ("media", "cart.png", png(30, 20))], ["media"]),  # BugPin's
            ([shot, ("attachments", "a.png", png(8, 8)), ("media", "b.png", png(8, 8))], ["attachments", "media"]),
        ]
        for files, parts in cases:
            refused = await anonymous.post(
                url, files=_multipart(BUGPIN_EXAMPLE, *files), headers={"Accept-Language": "de"}
            )
            assert refused.status_code == 400, refused.text
            assert [detail["field"] for detail in refused.json()["details"]] == parts
            assert "Anhänge" in refused.json()["details"][0]["message"], refused.text
        screenshot_only = await anonymous.post(url, files=_multipart(BUGPIN_EXAMPLE, shot))
        assert screenshot_only.status_code == 201, screenshot_only.text
        listed = (await tenant.client.get("/api/v1/reports")).json()["data"]
        assert listed["total"] == 1


async def test_bugpins_first_media_part_is_the_screenshot_and_the_others_are_attachments(
    tenants: TenantFactory, anonymous: ApiClient, worker: Any
) -> None:
    """BugPin's clients, and Lantern's widget before it named its parts, send every image in `media`, the
    screenshot first: it stays the screenshot (annotated when `annotations` has marks), the others are attached
    under their names."""
    async with tenants.create() as tenant:
        project = await _project_taking_attachments(tenant)
        url = f"/api/widget/submit?apiKey={project['apiKey']}"
        plain = await anonymous.post(url, files=_multipart(BUGPIN_EXAMPLE, ("media", "screenshot.png", png())))
        marked = await anonymous.post(
            url,
            files=_multipart(
                {**BUGPIN_EXAMPLE, "annotations": MARKS},
                ("media", "screenshot.png", png(64, 48)),
                ("media", "cart.png", png(30, 20)),
            ),
        )
        unmarked = {**BUGPIN_EXAMPLE, "annotations": {**MARKS, "shapes": []}}
        cleared = await anonymous.post(url, files=_multipart(unmarked, ("media", "screenshot.png", png())))
        outcomes = []
        for answer in (plain, marked, cleared):
            assert answer.status_code == 201, answer.text
            outcomes.append(await _images_of(tenant, answer.json()["reportId"]))
    (plain_shots, plain_attached), (shots, attachments), (cleared_shots, _none) = outcomes
    assert ([shot["annotated"] for shot in plain_shots], plain_attached) == ([False], [])
    assert [(shot["annotated"], shot["width"]) for shot in shots] == [(True, 64)]
    assert [(a["name"], a["status"]) for a in attachments] == [("cart.png", "ready")]
    assert [shot["annotated"] for shot in cleared_shots] == [False]


async def test_a_submission_sends_one_screenshot_and_five_images_at_most(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    async with tenants.create() as tenant:
        project = await _project(tenant)
        url = f"/api/v1/widget/submit?apiKey={project['apiKey']}"
        two_shots = await anonymous.post(
            url, files=_multipart(BUGPIN_EXAMPLE, *[("screenshot", "screenshot.png", png())] * 2)
        )
        six_images = await anonymous.post(
            url,
            files=_multipart(
                BUGPIN_EXAMPLE, ("screenshot", "screenshot.png", png()), *[("attachments", "a.png", png())] * 5
            ),
        )
    assert two_shots.status_code == 400, two_shots.text
    assert two_shots.json()["details"] == [
        {"field": "screenshot", "message": "A report has one screenshot: other images are sent in `attachments`."}
    ]
    assert six_images.status_code == 413, six_images.text
    # The parts that carried them are named, as a part too large is: the details were empty.
    too_many = "At most 5 files can be attached."
    assert six_images.json()["details"] == [
        {"field": "screenshot", "message": too_many},
        {"field": "attachments", "message": too_many},
    ]


async def test_a_submission_sends_its_report_in_one_data_part(tenants: TenantFactory, anonymous: ApiClient) -> None:
    """A second `data` part was dropped without a word (the first was taken): which report was meant, no one knew."""
    async with tenants.create() as tenant:
        project = await _project(tenant)
        other = {**BUGPIN_EXAMPLE, "title": "Another report"}
        files = [*_multipart(BUGPIN_EXAMPLE), ("data", (None, json.dumps(other)))]
        answer = await anonymous.post(f"/api/v1/widget/submit?apiKey={project['apiKey']}&lang=de", files=files)
        listed = (await tenant.client.get("/api/v1/reports")).json()["data"]
    assert answer.status_code == 400, answer.text
    assert answer.json()["details"] == [
        {"field": "data", "message": "Ein Bericht wird in einem einzigen `data`-Teil gesendet."}
    ]
    assert listed["total"] == 0


async def test_what_a_get_answers_a_head_answers_without_the_body(
    tenants: TenantFactory, anonymous: ApiClient, worker: Any
) -> None:
    """Link checkers and proxies ask with HEAD whether a screenshot's address still answers; another
    tenant's answers 404 as its GET does."""
    async with tenants.create() as tenant, tenants.create("Other") as other:
        sent = await _bugpin_multipart(anonymous, await _project(tenant))
        shot = await processed(tenant, sent.json()["reportId"])
        for path in (shot["url"], f"/api/v1/reports/{sent.json()['reportId']}", "/api/v1/reports"):
            got, probed = await tenant.client.get(path), await tenant.client.head(path)
            assert (probed.status_code, probed.content) == (200, b""), path
            assert probed.headers["content-length"] == str(len(got.content)), path
            assert (await other.client.head(path)).status_code == (200 if path == "/api/v1/reports" else 404)
        assert (await anonymous.head(shot["url"])).status_code == 401


async def test_widget_rejects_missing_metadata_fields(tenants: TenantFactory, anonymous: ApiClient) -> None:
    async with tenants.create() as tenant:
        project = await _project(tenant)
        body = {**BUGPIN_EXAMPLE, "metadata": {"url": "https://example.com"}, "title": "abc"}
        response = await anonymous.post("/api/v1/widget/submit", json=body, headers={"X-API-Key": project["apiKey"]})
    assert response.status_code == 400
    fields = {detail["field"] for detail in response.json()["details"]}
    assert fields & {"title", "metadata.browser"}


async def test_broken_json_is_a_400_even_after_a_wrong_field(tenants: TenantFactory, anonymous: ApiClient) -> None:
    """msgspec meets the wrong title before the JSON breaks off: still a 400 that says the JSON is broken."""
    async with tenants.create() as tenant:
        project = await _project(tenant)
        key = {"X-API-Key": project["apiKey"]}
        headers = {**key, "Content-Type": "application/json"}
        for broken in ('{"title": 5,', '{"title":"abcd"} trailing', '{"title":"abcd","metadata":{"url":1}'):
            answer = await anonymous.post("/api/widget/submit", content=broken, headers=headers)
            assert answer.status_code == 400, answer.text
            assert answer.json()["details"] == [{"field": "body", "message": "The request body is not valid JSON."}]
        # In a multipart form the JSON is the `data` part: that is the field named.
        for broken in ("notjson", '{"title": 5, "x":'):
            answer = await anonymous.post("/api/widget/submit", files={"data": (None, broken)}, headers=key)
            assert answer.status_code == 400, answer.text
            assert answer.json()["details"] == [{"field": "data", "message": "Must be valid JSON."}]


async def test_a_widget_route_takes_its_key_beside_a_token_a_client_always_sends(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    async with tenants.create() as tenant:
        project = await _project(tenant)
        token = await tenant.create_token()
        both = {"Authorization": f"Bearer {token['token']}", "X-API-Key": project["apiKey"]}
        reported = await anonymous.post("/api/v1/reports", json=BUGSPARK_EXAMPLE, headers=both)
        listed = await anonymous.get("/api/v1/reports", headers=both)  # an admin route: the token it is
    assert reported.status_code == 201, reported.text
    assert listed.status_code == 200, listed.text
    assert [item["id"] for item in listed.json()["data"]["items"]] == [reported.json()["data"]["id"]]


async def test_a_field_error_names_the_field_as_the_client_spelled_it(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    """BugSpark's snake_case and our camelCase are both taken: the error names what was sent."""
    async with tenants.create() as tenant:
        project = await _project(tenant)
        key = {"X-API-Key": project["apiKey"]}
        camel = await anonymous.post("/api/v1/reports", json={"title": "Logs", "consoleLogs": "x"}, headers=key)
        snake = await anonymous.post("/api/v1/reports", json={"title": "Logs", "console_logs": "x"}, headers=key)
        created = await anonymous.post("/api/v1/reports", json=BUGSPARK_EXAMPLE, headers=key)
        patched = await tenant.client.patch(
            f"/api/v1/reports/{created.json()['data']['id']}", json={"assignee_id": "someone", "severity": "dire"}
        )
    assert [detail["field"] for detail in camel.json()["details"]] == ["consoleLogs"]
    assert [detail["field"] for detail in snake.json()["details"]] == ["console_logs"]
    assert sorted(detail["field"] for detail in patched.json()["details"]) == ["assignee_id", "severity"]


async def test_a_field_sent_under_two_of_its_names_is_refused_naming_both(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    """One of the two won without a word (`assignee_id: null` unassigned a report sent `assigneeId` too, the
    document says "send one of the two"): a body or a query that sends a field twice, in both spellings, under
    BugHerd's name beside ours, or as a JSON:API attribute and relationship, is a 400 naming each as sent, and
    nothing is changed. So is a column named both by `status` and by `status_id`."""
    async with tenants.create() as tenant:
        project, url = await _sent_report(tenant, anonymous)
        key = {"X-API-Key": project["apiKey"]}
        me = tenant.user_id
        changes = [
            ({"assigneeId": me, "assignee_id": None}, ["assigneeId", "assignee_id"]),
            ({"externalId": "A", "external_id": "B"}, ["externalId", "external_id"]),
            ({"task": {"assigned_to_id": me, "assignee_id": None}}, ["task.assigned_to_id", "task.assignee_id"]),
            ({"task": {"assigned_to_id": me, "assigneeId": None}}, ["task.assigned_to_id", "task.assigneeId"]),
            # One field under two names, both named as sent: the second was "not allowed", though it is alone.
            ({"status": "todo", "status_id": 4}, ["status", "status_id"]),
            ({"status": None, "statusId": 4}, ["status", "statusId"]),
            ({"statusId": 3, "status": "doing"}, ["statusId", "status"]),  # even when they agree
            ({"task": {"status_id": 4, "status": "todo"}}, ["task.status_id", "task.status"]),
        ]
        refused = [(await tenant.client.patch(url, json=body), fields) for body, fields in changes]
        document = {
            "data": {
                "type": "report",
                "attributes": {"assigneeId": None},
                "relationships": {"assignee": {"data": {"type": "user", "id": me}}},
            }
        }
        jsonapi = await tenant.client.patch(url, json=document, headers={"Content-Type": JSONAPI})
        refused.append((jsonapi, ["data.attributes.assigneeId", "data.relationships.assignee.data.id"]))
        twice = {"title": "Checkout fails", "reporterIdentifier": "x", "reporter_identifier": "y"}
        refused.append((await anonymous.post("/api/v1/reports", json=twice, headers=key), list(twice)[1:]))
        site = {"project": {"name": "Blog", "devurl": "https://a.example", "siteUrl": "https://b.example"}}
        refused.append((await tenant.client.post("/api/v1/projects", json=site), ["project.devurl", "project.siteUrl"]))
        listed = await tenant.client.get("/api/v1/reports?page_size=2&pageSize=3", headers={"Accept-Language": "de"})
        refused.append((listed, ["page_size", "pageSize"]))
        report = (await tenant.client.get(url)).json()["data"]
    for answer, fields in refused:
        assert (answer.status_code, answer.json()["error"]) == (400, "VALIDATION_ERROR"), answer.text
        assert [detail["field"] for detail in answer.json()["details"]] == fields, answer.text
    assert listed.json()["details"][0]["message"] == "Dasselbe Feld wie pageSize: Senden Sie nur eines der beiden."
    column_twice = refused[len(changes) - 2][0].json()
    assert column_twice["message"] == "One field was sent under two names: send one of the two."
    assert column_twice["details"][0]["message"] == "The same field as status: send one of the two."
    assert (report["status"], report["assigneeId"], report["externalId"]) == ("new", None, None)


async def test_a_number_too_large_to_read_is_named_where_it_can_be(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    """1e999 is JSON no number type holds: the widget's answer said the JSON was broken, BugSpark's route named
    a field `[...]`."""
    async with tenants.create() as tenant:
        project = await _project(tenant)
        key = {"X-API-Key": project["apiKey"], "Content-Type": "application/json"}
        widget_body = json.dumps(BUGPIN_EXAMPLE).replace('"width": 1920', '"width": 1e999')
        assert "1e999" in widget_body
        widget = await anonymous.post("/api/v1/widget/submit", content=widget_body, headers=key)
        bugspark = await anonymous.post("/api/v1/reports", content=b'{"title": 1e999}', headers=key)
    too_large = "This number is too large to be read."
    assert widget.status_code == bugspark.status_code == 400
    assert widget.json()["details"] == [{"field": "metadata.viewport.width", "message": too_large}]
    assert bugspark.json()["details"] == [{"field": "body", "message": too_large}]


async def test_json_nested_too_deeply_is_a_400_not_a_crash(tenants: TenantFactory, anonymous: ApiClient) -> None:
    """2 KB of `[[[…]]]` made the decoder give up with a RecursionError: a 500 and a traceback, for anyone."""
    deep = "[" * 1000 + "]" * 1000
    metadata = '{"title":"Deep","metadata":' + '{"x":' * 5000 + "1" + "}" * 5000 + "}"
    async with tenants.create() as tenant:
        project = await _project(tenant)
        json_body = {"Content-Type": "application/json", "Accept-Language": "de"}
        answers = [
            await anonymous.post("/api/v1/auth/login", content=deep, headers=json_body),
            await anonymous.post(
                "/api/v1/reports", content=metadata, headers={**json_body, "X-API-Key": project["apiKey"]}
            ),
            await anonymous.post(
                "/api/widget/submit", content=deep, headers={**json_body, "X-API-Key": project["apiKey"]}
            ),
        ]
    assert [answer.status_code for answer in answers] == [400, 400, 400]
    assert {answer.json()["details"][0]["field"] for answer in answers} == {"body"}
    assert answers[0].json()["details"][0]["message"] == "Das JSON ist zu tief verschachtelt."


async def test_oversized_annotations_are_refused_naming_the_field(tenants: TenantFactory, anonymous: ApiClient) -> None:
    """The widget's annotations are capped at 256 KB, as logs and metadata are capped."""
    strokes = {"shapes": [{"tool": "pen", "points": [{"x": 0.123456, "y": 0.654321}] * 10_000}]}
    async with tenants.create() as tenant:
        project = await _project(tenant)
        response = await anonymous.post(
            "/api/widget/submit?lang=de",
            json={**BUGPIN_EXAMPLE, "annotations": strokes},
            headers={"X-API-Key": project["apiKey"]},
        )
    assert response.status_code == 413, response.text
    assert response.json()["details"] == [
        {"field": "annotations", "message": "Die Anmerkungen dürfen höchstens 256 KB groß sein."}
    ]


async def test_a_body_that_is_not_utf8_is_a_400_not_a_crash(tenants: TenantFactory, anonymous: ApiClient) -> None:
    """A byte that is no UTF-8 inside a JSON string made msgspec raise UnicodeDecodeError: a 500, for anyone."""
    login = b'{"email":"a\xff@example.com","password":"0123456789"}'
    report = b'{"title":"Broken \xff text","description":"x"}'
    async with tenants.create() as tenant:
        project = await _project(tenant)
        json_body = {"Content-Type": "application/json", "Accept-Language": "es"}
        key = {**json_body, "X-API-Key": project["apiKey"]}
        answers = [
            await anonymous.post("/api/v1/auth/login", content=login, headers=json_body),
            await anonymous.post("/api/v1/reports", content=report, headers=key),
            await anonymous.post("/api/widget/submit", content=report, headers=key),
            await tenant.client.post("/api/v1/projects", content=b'{"name":"\xfe"}', headers=json_body),
        ]
    assert [answer.status_code for answer in answers] == [400, 400, 400, 400]
    assert {answer.json()["details"][0]["field"] for answer in answers} == {"body"}
    assert answers[0].json()["details"][0]["message"] == "El texto no es UTF-8 válido."


async def test_a_lone_surrogate_is_stored_as_a_replacement_character(
    tenants: TenantFactory,
    anonymous: ApiClient,
) -> None:
    """A browser's JSON.stringify writes a page's string cut inside an emoji ("Grüße 😀".slice(0, 7)) with a lone
    surrogate's escape: the text is taken with U+FFFD in its place (the whole body was refused as not JSON). An
    escaped backslash before "ud83d" is no escape and stays as sent."""
    cut, kept = "Grüße \ud83d", "C:\\ud83d\\udfff"
    console = [{"type": "error", "message": "\udfff low half first, then \ud83d\ude00 a pair"}]
    widget_body = {**BUGPIN_EXAMPLE, "title": cut, "description": kept}
    widget_body["metadata"] = {**BUGPIN_EXAMPLE["metadata"], "title": cut, "consoleErrors": console}
    async with tenants.create() as tenant:
        project = await _project(tenant)
        key = {"X-API-Key": project["apiKey"]}
        as_json = {**key, "Content-Type": "application/json"}
        widget = await anonymous.post("/api/widget/submit", content=json.dumps(widget_body), headers=as_json)
        multipart = await anonymous.post(
            "/api/widget/submit", files={"data": (None, json.dumps(widget_body))}, headers=key
        )
        bugspark_body = {"title": cut, "metadata": {cut: cut}, "console_logs": console}
        bugspark = await anonymous.post("/api/v1/reports", content=json.dumps(bugspark_body), headers=as_json)
        assert [r.status_code for r in (widget, multipart, bugspark)] == [201, 201, 201], bugspark.text
        for report_id in (widget.json()["reportId"], multipart.json()["reportId"]):
            stored = await read_report(tenant, report_id)
            assert (stored["title"], stored["description"]) == ("Grüße \ufffd", kept)
            assert stored["metadata"]["title"] == "Grüße \ufffd"
            assert stored["consoleLogs"][0]["message"] == "\ufffd low half first, then \U0001f600 a pair"
        url = f"/api/v1/reports/{bugspark.json()['data']['id']}"
        stored = (await tenant.client.get(url)).json()["data"]
        assert (stored["title"], stored["metadata"]) == ("Grüße \ufffd", {"Grüße \ufffd": "Grüße \ufffd"})
        admin_json = {"Content-Type": "application/json"}
        tagged = await tenant.client.patch(url, content=json.dumps({"tags": [cut]}), headers=admin_json)
        assert tagged.status_code == 200, tagged.text
        assert tagged.json()["data"]["tags"] == ["Grüße \ufffd"]
        comment = await tenant.client.post(f"{url}/comments", content=json.dumps({"text": cut}), headers=admin_json)
        assert comment.status_code == 201, comment.text
        assert comment.json()["data"]["text"] == "Grüße \ufffd"


async def test_a_body_after_a_byte_order_mark_is_read(tenants: TenantFactory, anonymous: ApiClient) -> None:
    """A JSON file saved as "UTF-8 with BOM" and sent as it is (PowerShell 5's `-InFile`) was "not valid JSON"."""
    marked = codecs.BOM_UTF8
    async with tenants.create() as tenant:
        project = await _project(tenant)
        as_json = {"X-API-Key": project["apiKey"], "Content-Type": "application/json"}
        answers = [
            await anonymous.post(
                "/api/v1/reports", content=marked + json.dumps(BUGSPARK_EXAMPLE).encode(), headers=as_json
            ),
            await anonymous.post(
                "/api/widget/submit", content=marked + json.dumps(BUGPIN_EXAMPLE).encode(), headers=as_json
            ),
            await tenant.client.post(
                "/api/v1/projects", content=marked + b'{"name": "Marked"}', headers={"Content-Type": "application/json"}
            ),
        ]
    assert [answer.status_code for answer in answers] == [201, 201, 201], [answer.text for answer in answers]


async def test_a_widget_submission_names_what_it_cannot_use(tenants: TenantFactory, anonymous: ApiClient) -> None:
    """A file under a part the submit does not take was dropped without a word, and any text passed as the page's
    address; both are refused, each naming its field."""
    async with tenants.create() as tenant:
        project = await _project(tenant)
        key = {"X-API-Key": project["apiKey"]}
        files = {"data": (None, json.dumps(BUGPIN_EXAMPLE)), "file": ("shot.png", png(), "image/png")}
        misplaced = await anonymous.post("/api/widget/submit", files=files, headers=key)
        assert misplaced.status_code == 400, misplaced.text
        assert misplaced.json()["details"] == [
            {"field": "file", "message": "Files are sent in the `screenshot`, `attachments` or `media` parts."}
        ]
        for address in ("", "not a url", "/checkout", "javascript:alert(1)"):
            body = {**BUGPIN_EXAMPLE, "metadata": {**BUGPIN_EXAMPLE["metadata"], "url": address}}
            refused = await anonymous.post("/api/widget/submit", json=body, headers=key)
            assert refused.status_code == 400, (address, refused.text)
            assert refused.json()["details"] == [
                {"field": "metadata.url", "message": "Must be a full address, such as https://example.com/checkout."}
            ]


PLAIN_VALUE = "Muss ein Text, eine Zahl oder ein Wahrheitswert (true oder false) sein."


async def test_a_pages_custom_data_is_kept_whole_and_refused_past_its_limits_naming_it(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    """`metadata.custom` (the widget's `Lantern.setCustomData`): up to 50 keys of at most 100 characters, each a
    text of at most 1,000 characters, a number or a boolean, kept apart from the 64 KB of the page's own metadata
    (50 texts of 1,000 CJK characters are 150 KB); past any of those a 400 in the sender's language names it."""
    custom: dict[str, Any] = {"plan": "pro", "seats": 12, "ratio": 0.5, "trial": False, "k" * 100: "<b>bold</b>"}
    custom |= {f"note {number}": "語" * 1_000 for number in range(45)}
    refusals = {
        "51 keys": ({**custom, "one": 1, "two": 2}, "Darf höchstens 50 Einträge enthalten."),
        "a long key": ({"k" * 101: 1}, "Darf höchstens 100 Zeichen lang sein."),
        "a long value": ({"note": "x" * 1_001}, "Darf höchstens 1.000 Zeichen lang sein."),
        "a list": ({"tags": ["a"]}, PLAIN_VALUE),
        "an object": ({"user": {"id": 1}}, PLAIN_VALUE),
        "null": ({"plan": None}, PLAIN_VALUE),
        "not an object": (["plan", "pro"], "Muss ein JSON-Objekt sein."),
    }
    async with tenants.create() as tenant:
        project = await _project(tenant)
        key = {"X-API-Key": project["apiKey"]}
        body = {**BUGPIN_EXAMPLE, "metadata": {**BUGPIN_EXAMPLE["metadata"], "custom": custom}}
        sent = await anonymous.post("/api/widget/submit", files={"data": (None, json.dumps(body))}, headers=key)
        assert sent.status_code == 201, sent.text
        report_id = sent.json()["reportId"]
        assert (await read_report(tenant, report_id))["metadata"]["custom"] == custom
        as_jsonapi = await tenant.client.get(f"/api/v1/reports/{report_id}", headers={"Accept": JSONAPI})
        assert as_jsonapi.status_code == 200, as_jsonapi.text
        assert as_jsonapi.json()["data"]["attributes"]["metadata"]["custom"] == custom
        for case, (refused, message) in refusals.items():
            body = {**BUGPIN_EXAMPLE, "metadata": {**BUGPIN_EXAMPLE["metadata"], "custom": refused}}
            answer = await anonymous.post("/api/widget/submit?lang=de", json=body, headers=key)
            assert answer.status_code == 400, (case, answer.text)
            assert answer.json()["details"] == [{"field": "metadata.custom", "message": message}], case


async def test_widget_trims_titles_and_takes_empty_optional_fields(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    """A title is what is left without its spaces; an empty e-mail or name (a form's empty field) and a null
    priority are as if left out."""
    async with tenants.create() as tenant:
        project = await _project(tenant)
        key = {"X-API-Key": project["apiKey"]}
        for blank in ("    ", "  ab  "):
            answer = await anonymous.post("/api/widget/submit", json={**BUGPIN_EXAMPLE, "title": blank}, headers=key)
            assert answer.status_code == 400, answer.text
            assert answer.json()["details"] == [{"field": "title", "message": "Must be at least 4 characters long."}]
        body = {
            **BUGPIN_EXAMPLE,
            "title": "  Cart is empty  ",
            "reporterEmail": "",
            "reporterName": "",
            "priority": None,
        }
        answer = await anonymous.post("/api/widget/submit", json=body, headers=key)
        assert answer.status_code == 201, answer.text
        report = await read_report(tenant, answer.json()["reportId"])
        assert (report["title"], report["reporterEmail"], report["reporterName"], report["priority"]) == (
            "Cart is empty",
            None,
            None,
            "medium",
        )
        bugspark = await anonymous.post("/api/v1/reports", json={**BUGSPARK_EXAMPLE, "title": " \t "}, headers=key)
        assert bugspark.status_code == 400, bugspark.text
        renamed = await tenant.client.patch(f"/api/v1/reports/{report['id']}", json={"title": "   "})
        assert renamed.status_code == 400, renamed.text
        assert [detail["field"] for detail in renamed.json()["details"]] == ["title"]


async def test_an_address_written_with_a_display_names_signs_is_no_reporter_email(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    """`<john@example.com>` was stored as the reporter's address, brackets and all: a guest signing in as
    john@example.com never saw the report, and no notice could reach it."""
    async with tenants.create() as tenant:
        project = await _project(tenant)
        key = {"X-API-Key": project["apiKey"]}
        answers = [
            await anonymous.post("/api/widget/submit", json={**BUGPIN_EXAMPLE, "reporterEmail": sent}, headers=key)
            for sent in ("<john@example.com>", "john@example.com;", "john,doe@example.com", '"john"@example.com')
        ]
        listed = (await tenant.client.get("/api/v1/reports")).json()["data"]
    assert [answer.status_code for answer in answers] == [400] * 4
    assert {detail["field"] for answer in answers for detail in answer.json()["details"]} == {"reporterEmail"}
    assert listed["total"] == 0


async def test_upload_key_works_only_for_its_project_and_once(
    tenants: TenantFactory,
    anonymous: ApiClient,
    worker: Any,
) -> None:
    async with tenants.create() as tenant, tenants.create("Other") as other:
        project = await _project(tenant)
        foreign = await _project(other)
        upload = await anonymous.post(
            "/api/v1/upload/screenshot",
            files={"file": ("shot.png", png(), "image/png")},
            headers={"X-API-Key": project["apiKey"]},
        )
        assert upload.status_code == 201, upload.text
        key = upload.json()["key"]
        stolen = await anonymous.post(
            "/api/v1/reports",
            json={**BUGSPARK_EXAMPLE, "screenshot_url": key},
            headers={"X-API-Key": foreign["apiKey"]},
        )
        assert stolen.status_code == 400, stolen.text
        assert stolen.json()["details"][0]["field"] == "screenshot_url"
        own, again = [
            await anonymous.post(
                "/api/v1/reports",
                json={**BUGSPARK_EXAMPLE, "screenshot_url": key},
                headers={"X-API-Key": project["apiKey"]},
            )
            for _ in range(2)
        ]
        assert own.status_code == 201, own.text
    assert again.status_code == 400, again.text
    unknown = "No upload with this key awaits a report in this project (an upload is attached to one report)."
    assert stolen.json()["details"] == again.json()["details"] == [{"field": "screenshot_url", "message": unknown}]


async def test_one_upload_sent_as_screenshot_and_annotated_screenshot_is_attached_once(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    """A client whose visitor drew nothing sends its one key in both fields: it was refused, the key used."""
    async with tenants.create() as tenant:
        project = await _project(tenant)
        upload = await anonymous.post(
            "/api/v1/upload/screenshot",
            files={"file": ("shot.png", png(), "image/png")},
            headers={"X-API-Key": project["apiKey"]},
        )
        key = upload.json()["key"]
        sent = await anonymous.post(
            "/api/v1/reports",
            json={**BUGSPARK_EXAMPLE, "screenshot_url": key, "annotated_screenshot_url": key},
            headers={"X-API-Key": project["apiKey"]},
        )
        assert sent.status_code == 201, sent.text
        shown = (await tenant.client.get(f"/api/v1/reports/{sent.json()['data']['id']}")).json()["data"]
        assert [shot["annotated"] for shot in shown["screenshots"]] == [False]


async def test_upload_refuses_what_is_not_an_image(tenants: TenantFactory, anonymous: ApiClient) -> None:
    async with tenants.create() as tenant:
        project = await _project(tenant)
        response = await anonymous.post(
            "/api/v1/upload/screenshot",
            files={"file": ("shot.png", b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/png")},
            headers={"X-API-Key": project["apiKey"]},
        )
    assert response.status_code == 415
    assert response.json()["error"] == "UNSUPPORTED_MEDIA_TYPE"


def _form_with_file(part: str, data: bytes, content_type: str | None) -> tuple[bytes, str]:
    """A multipart body whose file part carries `content_type`, or no `Content-Type` at all (as Python's `requests`
    sends a file given without one), which httpx never leaves out."""
    boundary = secrets.token_hex(8)
    declared = f"Content-Type: {content_type}\r\n" if content_type else ""
    head = f'--{boundary}\r\nContent-Disposition: form-data; name="{part}"; filename="shot.png"\r\n{declared}\r\n'
    return head.encode() + data + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


async def test_a_screenshot_upload_is_an_image_by_its_declared_type_and_by_its_bytes(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    """A screenshot sent as text (`text/plain`, `text/html`) was kept when its bytes were an image, and a raw image
    body was refused with a bare "not supported". Now an image part is declared as an image, or as nothing in
    particular (`application/octet-stream`, no type), and the bytes decide which image it is (a PNG declared
    `image/jpeg` is kept as the PNG it is); anything else is a 415 whose message names what is taken."""
    async with tenants.create() as tenant:
        project = await _project(tenant)
        key = {"X-API-Key": project["apiKey"], "Accept-Language": "de"}
        url = "/api/v1/upload/screenshot"
        sent = {
            declared: await anonymous.post(url, files={"file": ("shot.png", png(), declared)}, headers=key)
            for declared in ("image/png", "image/jpeg", "application/octet-stream", "text/plain", "text/html")
        }
        body, form_type = _form_with_file("file", png(), None)
        untyped = await anonymous.post(url, content=body, headers={**key, "Content-Type": form_type})
        raw = await anonymous.post(url, content=png(), headers={**key, "Content-Type": "image/png"})
        widget = await anonymous.post(
            "/api/v1/widget/submit",
            data={"data": json.dumps(BUGPIN_EXAMPLE)},
            files={"media": ("screenshot.png", png(), "text/html")},
            headers=key,
        )
        reports = (await tenant.client.get("/api/v1/reports")).json()["data"]["items"]
    assert {declared: answer.status_code for declared, answer in sent.items()} == {
        "image/png": 201,
        "image/jpeg": 201,
        "application/octet-stream": 201,
        "text/plain": 415,
        "text/html": 415,
    }
    assert sent["image/jpeg"].json()["key"].endswith(".png")
    assert (untyped.status_code, untyped.json()["key"].endswith(".png")) == (201, True)
    only_images = "Es können nur PNG-, JPEG- und WebP-Bilder hochgeladen werden."
    for refused, part in ((sent["text/plain"], "file"), (sent["text/html"], "file"), (widget, "media")):
        assert refused.status_code == 415, refused.text
        assert refused.json() == {
            "success": False,
            "error": "UNSUPPORTED_MEDIA_TYPE",
            "message": only_images,
            "details": [{"field": part, "message": only_images}],
        }
    assert (raw.status_code, raw.json()["error"]) == (415, "UNSUPPORTED_MEDIA_TYPE")
    assert raw.json()["details"] == [
        {"field": "Content-Type", "message": "Senden Sie den Anfragetext als multipart/form-data."}
    ]
    assert reports == []


async def test_concurrent_submissions_are_numbered_gapless_per_project(
    tenants: TenantFactory,
    anonymous: ApiClient,
    worker: Any,
) -> None:
    async with tenants.create() as tenant:
        projects = [await _project(tenant, f"Site {i}", f"S{'ABC'[i]}") for i in range(3)]
        submissions = [
            anonymous.post("/api/v1/reports", json=BUGSPARK_EXAMPLE, headers={"X-API-Key": p["apiKey"]})
            for p in projects
            for _ in range(20)
        ]
        responses = await asyncio.gather(*submissions)
        assert all(response.status_code == 201 for response in responses)
        await _settle(tenant, expected=60)
        for project in projects:
            listed = await tenant.client.get(f"/api/v1/reports?project_id={project['id']}&page_size=100")
            numbers = sorted(int(item["trackingId"].split("-")[1]) for item in listed.json()["data"]["items"])
            assert numbers == list(range(1, 21))


async def _settle(tenant: Tenant, expected: int) -> None:
    """Wait until the worker has numbered every report (bounded: 10 s)."""
    for _ in range(200):
        items = (await tenant.client.get("/api/v1/reports?page_size=100")).json()["data"]["items"]
        if len(items) == expected and all(item["trackingId"] for item in items):
            return
        await asyncio.sleep(0.05)
    msg = "reports were not numbered in time"
    raise AssertionError(msg)


async def test_sweeper_numbers_reports_the_queue_lost(
    tenants: TenantFactory,
    anonymous: ApiClient,
    embedded_services: dict[str, str],
) -> None:
    async with tenants.create() as tenant:
        project = await _project(tenant)
        response = await anonymous.post(
            "/api/v1/reports", json=BUGSPARK_EXAMPLE, headers={"X-API-Key": project["apiKey"]}
        )
        assert response.json()["data"]["trackingId"] is None  # no worker is running
        report_id = response.json()["data"]["id"]
        await asyncio.sleep(5.2)
        assert await sweep_unnumbered_reports({}) >= 1
        shown = await tenant.client.get(f"/api/v1/reports/{report_id}")
        assert shown.json()["data"]["trackingId"] == "BSK-1"


async def test_triage_moves_a_report_between_columns(
    tenants: TenantFactory,
    anonymous: ApiClient,
    worker: Any,
) -> None:
    async with tenants.create() as tenant:
        project = await _project(tenant)
        sent = await anonymous.post("/api/v1/reports", json=BUGSPARK_EXAMPLE, headers={"X-API-Key": project["apiKey"]})
        await numbered(tenant, sent.json()["data"]["id"])  # BSK-1 below: the worker may be busy with others' jobs
        created = await tenant.client.post(f"/api/v1/projects/{project['id']}/columns", json={"name": "testing"})
        assert created.status_code == 201, created.text
        assert created.json()["data"]["statusId"] == 6
        moved = await tenant.client.patch("/api/v1/reports/BSK-1", json={"status": "testing", "assignee_id": None})
        assert moved.status_code == 200, moved.text
        assert (moved.json()["data"]["status"], moved.json()["data"]["statusId"]) == ("testing", 6)
        done = await tenant.client.patch("/api/v1/reports/bsk-1", json={"status": "done", "tags": ["ui", "checkout"]})
        assert (done.json()["data"]["status"], done.json()["data"]["statusId"]) == ("done", 4)
        feedback = await tenant.client.patch("/api/v1/reports/BSK-1", json={"status": "feedback"})
        assert (feedback.json()["data"]["status"], feedback.json()["data"]["statusId"]) == ("new", None)
        unknown = await tenant.client.patch("/api/v1/reports/BSK-1", json={"status": "nowhere"})
        assert unknown.status_code == 400
        tagged = await tenant.client.get("/api/v1/reports?tag=checkout")
        assert tagged.json()["data"]["total"] == 1
        found = await tenant.client.get("/api/v1/reports?search=結帳")
        assert found.json()["data"]["total"] == 1
        for term in ("BSK-1", "bsk-001"):  # a tracking ID typed into the search finds its report
            by_id = (await tenant.client.get("/api/v1/reports", params={"search": term})).json()["data"]
            assert [item["trackingId"] for item in by_id["items"]] == ["BSK-1"], term
        await tenant.client.patch("/api/v1/reports/BSK-1", json={"status": "testing"})
        column = f"/api/v1/projects/{project['id']}/columns/{created.json()['data']['id']}"
        # Its own name in other capitals is a rename (it was refused as taken), and its reports follow.
        recased = await tenant.client.patch(column, json={"name": "Testing"})
        assert recased.status_code == 200, recased.text
        assert (await tenant.client.get("/api/v1/reports/BSK-1")).json()["data"]["status"] == "Testing"
        assert (await tenant.client.patch(column, json={"name": "DONE"})).status_code == 409  # a default's name
        # A custom column deleted: its reports go back to the feedback column, none is lost.
        assert (await tenant.client.delete(column)).status_code == 204
        back = (await tenant.client.get("/api/v1/reports/BSK-1")).json()["data"]
        assert (back["status"], back["statusId"]) == ("new", None)
        assert (await tenant.client.get(column)).status_code == 404
        deleted = await tenant.client.delete("/api/v1/reports/BSK-1")
        assert deleted.status_code == 204
        assert (await tenant.client.get("/api/v1/reports/BSK-1")).status_code == 404
        assert (await tenant.client.get("/api/v1/reports")).json()["data"]["total"] == 0


def full_width(text: str) -> str:
    """`text` as a Japanese keyboard types Latin letters."""
    return "".join(chr(ord(letter) + 0xFEE0) for letter in text)


async def test_a_column_is_one_name_in_every_unicode_form(tenants: TenantFactory, anonymous: ApiClient) -> None:
    """ "Café" composed and decomposed (an e and a combining accent, as macOS types it) and full-width letters
    were separate columns, and a filter in one form missed the reports in the other: they are one name now,
    kept composed."""
    composed, decomposed = "Café", "Cafe\u0301"
    async with tenants.create() as tenant:
        project, url = await _sent_report(tenant, anonymous)
        columns = f"/api/v1/projects/{project['id']}/columns"
        created = await tenant.client.post(columns, json={"name": decomposed})
        assert created.status_code == 201, created.text
        assert created.json()["data"]["name"] == composed
        for twin in (composed, decomposed, full_width("CAF") + "É", full_width("done"), full_width("New")):
            refused = await tenant.client.post(columns, json={"name": twin})
            assert refused.status_code == 409, (twin, refused.text)
        moved = await tenant.client.patch(url, json={"status": full_width("cafe") + "\u0301"})
        assert moved.status_code == 200, moved.text
        assert moved.json()["data"]["status"] == composed
        for spelling in (decomposed, composed, "CAFÉ"):
            listed = (await tenant.client.get("/api/v1/reports", params={"status": spelling})).json()["data"]
            assert listed["total"] == 1, spelling
        renamed = await tenant.client.patch(f"{columns}/{created.json()['data']['id']}", json={"name": decomposed})
        assert (renamed.status_code, renamed.json()["data"]["name"]) == (200, composed)


async def test_a_rename_is_refused_every_name_a_new_column_is(tenants: TenantFactory, anonymous: ApiClient) -> None:
    """A rename took the names a new column is refused: a default column's under any of its names (`feedback`,
    `in_progress`) and another column's in other capitals, after which BugHerd's `{"status": "feedback"}` moved a
    report into the renamed column, not back to feedback. A rename is refused as a new column is, in the same
    words."""
    async with tenants.create() as tenant:
        project, url = await _sent_report(tenant, anonymous)
        columns = f"/api/v1/projects/{project['id']}/columns"
        await tenant.client.post(columns, json={"name": "Herd Col"})
        custom = (await tenant.client.post(columns, json={"name": "Blocked"})).json()["data"]
        await tenant.client.patch(url, json={"status": "Blocked"})
        for name in ("feedback", "Feedback", "in_progress", "Resolved", "TRIAGING", "new", "herd col"):
            for locale in ("en", "de"):
                language = {"Accept-Language": locale}
                added = await tenant.client.post(columns, json={"name": name}, headers=language)
                renamed = await tenant.client.patch(f"{columns}/{custom['id']}", json={"name": name}, headers=language)
                assert added.status_code == renamed.status_code == 409, (name, renamed.text)
                assert renamed.json() == added.json(), name
                assert [detail["field"] for detail in renamed.json()["details"]] == ["name"]
        assert renamed.json()["message"] != "A column with this name already exists in the project."  # in German
        back = await tenant.client.patch(url, json={"status": "feedback"})
        listed = (await tenant.client.get("/api/v1/reports", params={"status": "feedback"})).json()["data"]
        kept = [column["name"] for column in (await tenant.client.get(columns)).json()["data"] if column["custom"]]
    assert (back.json()["data"]["status"], back.json()["data"]["statusId"]) == ("new", None)
    assert [item["status"] for item in listed["items"]] == ["new"]
    assert kept == ["Herd Col", "Blocked"]


async def test_a_custom_column_takes_no_name_a_default_column_shows_in_any_language(tenants: TenantFactory) -> None:
    """A board in Japanese shows the done column as 完了; a custom column named 完了 was taken, and the board,
    its move menus and the filters showed two (`status=完了` then found the empty custom one)."""
    async with tenants.create() as tenant:
        project = await tenant.create_project()
        columns = f"/api/v1/projects/{project['id']}/columns"
        shown = {"ja": "完了", "de": "Erledigt", "es": "Por hacer", "zh-Hant": "已關閉", "en": "To do"}
        refused = {
            name: await tenant.client.post(columns, json={"name": name}, headers={"Accept-Language": "ja"})
            for name in shown.values()
        }
        custom = await tenant.client.post(columns, json={"name": "QA"})
        renamed = await tenant.client.patch(f"{columns}/{custom.json()['data']['id']}", json={"name": "完了"})
    assert {name: answer.status_code for name, answer in refused.items()} == dict.fromkeys(refused, 409)
    assert renamed.status_code == 409, renamed.text


async def test_a_columns_position_is_its_own_place_on_the_board(tenants: TenantFactory) -> None:
    """A deleted column left its place empty and the next one added took the last one's (`Blocked 8, Herd Col 8,
    New After 8`), and a position was kept as sent (2 or 99) while the board showed the column after the defaults.
    A position is the column's place, each once: a column put somewhere takes that place and those after it move
    one on, one put among the defaults (which keep theirs) is the first after them, and one past the end is the
    last."""
    async with tenants.create() as tenant:
        project = await tenant.create_project()
        columns = f"/api/v1/projects/{project['id']}/columns"

        async def added(name: str, **position: int) -> dict[str, Any]:
            answer = await tenant.client.post(columns, json={"name": name, **position})
            assert answer.status_code == 201, answer.text
            return answer.json()["data"]

        async def placed(column: dict[str, Any], position: int) -> int:
            answer = await tenant.client.patch(f"{columns}/{column['id']}", json={"position": position})
            assert answer.status_code == 200, answer.text
            return answer.json()["data"]["position"]

        async def board() -> list[tuple[str, int]]:
            listed = (await tenant.client.get(columns)).json()["data"]
            return [(column["name"], column["position"]) for column in listed if column["custom"]]

        defaults = [column["position"] for column in (await tenant.client.get(columns)).json()["data"]]
        herd, blocked, later = await added("Herd Col"), await added("Blocked"), await added("Later")
        assert (await tenant.client.delete(f"{columns}/{herd['id']}")).status_code == 204
        after = await added("New After")
        assert after["position"] == 8
        assert await board() == [("Blocked", 6), ("Later", 7), ("New After", 8)]
        assert await placed(after, 2) == 6  # the defaults keep their places
        assert await board() == [("New After", 6), ("Blocked", 7), ("Later", 8)]
        assert await placed(after, 99) == 8
        assert await board() == [("Blocked", 6), ("Later", 7), ("New After", 8)]
        assert await placed(blocked, 7) == 7
        assert await board() == [("Later", 6), ("Blocked", 7), ("New After", 8)]
        assert (await added("First", position=6))["position"] == 6
        assert (await added("Last", position=99))["position"] == 10
        assert await board() == [("First", 6), ("Later", 7), ("Blocked", 8), ("New After", 9), ("Last", 10)]
        assert (await tenant.client.delete(f"{columns}/{later['id']}")).status_code == 204
        listed = (await tenant.client.get(columns)).json()["data"]
    assert defaults == [0, 1, 2, 3, 4, 5]
    assert [column["position"] for column in listed] == list(range(10))
    assert [column["name"] for column in listed[6:]] == ["First", "Blocked", "New After", "Last"]


async def test_a_tag_is_one_name_in_every_case_width_and_unicode_form(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    """Full-width "Ui", "ui", "UI" and " ui " were four tags, one with spaces, and `tag=ui` missed "UI": tags are
    kept as column names are (trimmed, composed, once by what they read as, in the spelling first given), and
    the filter finds a tag in any case or width, natively and in JSON:API mode."""
    async with tenants.create() as tenant:
        project, url = await _sent_report(tenant, anonymous)
        tags = [full_width("Ui"), "ui", "UI", " ui ", "Cafe\u0301 ", "café"]
        tagged = await tenant.client.patch(url, json={"tags": tags})
        filed = await tenant.client.post(
            f"/api/v1/projects/{project['id']}/reports",
            json={"description": "Checkout button", "tags": ["UI", full_width("checkout"), "Checkout"]},
        )

        async def found(tag: str) -> list[str]:
            listed = await tenant.client.get("/api/v1/reports", params={"tag": tag})
            return [item["id"] for item in listed.json()["data"]["items"]]

        by_tag = {tag: await found(tag) for tag in ("ui", full_width("UI"), "CAFÉ", "checkout")}
        jsonapi = await tenant.client.get("/api/v1/reports", params={"filter[tag]": "uI"})
    assert tagged.status_code == 200, tagged.text
    assert tagged.json()["data"]["tags"] == ["Café", full_width("Ui")]
    assert filed.status_code == 201, filed.text
    assert filed.json()["data"]["tags"] == [full_width("checkout"), "UI"]
    report_id, filed_id = tagged.json()["data"]["id"], filed.json()["data"]["id"]
    assert by_tag == {
        "ui": [filed_id, report_id],
        full_width("UI"): [filed_id, report_id],
        "CAFÉ": [report_id],
        "checkout": [filed_id],
    }
    assert {item["id"] for item in jsonapi.json()["data"]} == {report_id, filed_id}


async def test_other_products_ways_of_naming_a_column(tenants: TenantFactory, anonymous: ApiClient) -> None:
    """BugSpark's PATCH example (its status names), BugHerd's status_id, and null for the feedback column."""
    async with tenants.create() as tenant:
        project, url = await _sent_report(tenant, anonymous)
        await tenant.client.post(f"/api/v1/projects/{project['id']}/columns", json={"name": "testing"})

        async def moved(change: dict[str, Any]) -> tuple[str, int | None, str]:
            answer = await tenant.client.patch(url, json=change)
            assert answer.status_code == 200, answer.text
            data = answer.json()["data"]
            return data["status"], data["statusId"], data["severity"]

        assert await moved({"status": "in_progress", "severity": "critical"}) == ("doing", 2, "critical")
        assert await moved({"status_id": 6}) == ("testing", 6, "critical")
        assert await moved({"statusId": 5}) == ("closed", 5, "critical")
        assert await moved({"status": None}) == ("new", None, "critical")
        assert await moved({"status": "resolved"}) == ("done", 4, "critical")
        assert await moved({"status_id": None}) == ("new", None, "critical")
        unknown = await tenant.client.patch(url, json={"status_id": 42}, headers={"Accept-Language": "es"})
        nobody = await tenant.client.patch(url, json={"assignee_id": str(uuid4())})
    assert unknown.status_code == 400
    [detail] = unknown.json()["details"]
    # Named as sent, as a refused -1 was (it was `statusId` once the column was looked up).
    assert detail["field"] == "status_id"
    assert detail["message"] != "There is no column with this number in the project."  # in Spanish
    assert [detail["field"] for detail in nobody.json()["details"]] == ["assignee_id"]


async def test_an_attachment_is_deleted_only_by_whoever_added_it_or_a_manager(
    tenants: TenantFactory, anonymous: ApiClient, app: Any
) -> None:
    """A report's evidence is not anyone's to take away: a member deleted the owner's files as their own."""
    async with tenants.create() as tenant, member_of(tenant, app) as member:
        project = await _project(tenant)
        created = await anonymous.post(
            "/api/v1/reports", json=BUGSPARK_EXAMPLE, headers={"X-API-Key": project["apiKey"]}
        )
        base = f"/api/v1/reports/{created.json()['data']['id']}/attachments"
        owners = (await tenant.client.post(base, json={"url": "https://files.example.com/owner.har"})).json()["data"]
        members = (await member.post(base, json={"url": "https://files.example.com/member.har"})).json()["data"]
        refused = await member.delete(f"{base}/{owners['id']}")
        own = await member.delete(f"{base}/{members['id']}")
        kept = [attachment["id"] for attachment in (await tenant.client.get(base)).json()["data"]]
        by_owner = await tenant.client.delete(f"{base}/{owners['id']}")
    assert refused.status_code == 403
    assert refused.json()["message"] == "Only whoever added this attachment, or an admin, can delete it."
    assert (own.status_code, kept, by_owner.status_code) == (204, [owners["id"]], 204)


async def test_attachments_upload_link_download_delete(tenants: TenantFactory, anonymous: ApiClient) -> None:
    async with tenants.create() as tenant, tenants.create("Other") as other:
        project = await _project(tenant)
        created = await anonymous.post(
            "/api/v1/reports", json=BUGSPARK_EXAMPLE, headers={"X-API-Key": project["apiKey"]}
        )
        report_id = created.json()["data"]["id"]
        base = f"/api/v1/reports/{report_id}/attachments"
        uploaded = await tenant.client.post(
            base, files={"file": ("../../etc/notes.html", b"<script>x</script>", "text/html")}
        )
        assert uploaded.status_code == 201, uploaded.text
        attachment = uploaded.json()["data"]
        assert attachment["name"] == "notes.html"
        linked = await tenant.client.post(base, json={"url": "https://files.example.com/trace.har?sig=1"})
        assert linked.status_code == 201, linked.text
        assert linked.json()["data"]["url"] == "https://files.example.com/trace.har?sig=1"
        listed = await tenant.client.get(base)
        assert [a["kind"] for a in listed.json()["data"]] == ["file", "link"]
        download = await tenant.client.get(attachment["url"])
        assert download.content == b"<script>x</script>"
        assert download.headers["content-type"] == "application/octet-stream"
        assert download.headers["content-disposition"].startswith("attachment;")
        assert (await other.client.get(attachment["url"])).status_code == 404
        assert (await other.client.delete(f"{base}/{attachment['id']}")).status_code == 404
        assert (await tenant.client.delete(f"{base}/{attachment['id']}")).status_code == 204
        assert [a["kind"] for a in (await tenant.client.get(base)).json()["data"]] == ["link"]
        # A form sent to BugHerd's raw upload: the file is its part, not the whole multipart body.
        form = await tenant.client.post(
            f"{base}/upload?file_name=trace.txt", files={"file": ("ignored.txt", b"GET /cart 500", "text/plain")}
        )
        assert form.status_code == 201, form.text
        assert (form.json()["data"]["name"], form.json()["data"]["contentType"]) == ("trace.txt", "text/plain")
        assert (await tenant.client.get(form.json()["data"]["url"])).content == b"GET /cart 500"


async def test_a_link_with_a_broken_ipv6_host_is_refused_naming_the_field_as_sent(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    """It was attached as it was sent, never read, where a webhook's such address is refused: the same localized
    400 names it now, in each spelling. An IPv6 host written whole is taken."""
    async with tenants.create() as tenant:
        project = await _project(tenant)
        created = await anonymous.post(
            "/api/v1/reports", json=BUGSPARK_EXAMPLE, headers={"X-API-Key": project["apiKey"]}
        )
        base = f"/api/v1/reports/{created.json()['data']['id']}/attachments"
        with use_locale("es"):
            message = gettext("Enter an absolute http:// or https:// URL.")
        for link in ("http://[::1/x", "http://[fe80::1%zz]/", "http://[12345::]/"):
            document = {"data": {"type": "attachment", "attributes": {"url": link}}}
            for body, field, media_type in (
                ({"url": link}, "url", "application/json"),
                ({"attachment": {"url": link, "file_name": "trace.har"}}, "attachment.url", "application/json"),
                (document, "data.attributes.url", "application/vnd.api+json"),
            ):
                headers = {"Accept-Language": "es", "Content-Type": media_type}
                refused = await tenant.client.post(base, content=json.dumps(body), headers=headers)
                assert refused.status_code == 400, (link, field, refused.text)
                assert refused.json()["details"] == [{"field": field, "message": message}], (link, refused.text)
        linked = await tenant.client.post(base, json={"url": "http://[::1]:8080/trace.har"})
        assert linked.status_code == 201, linked.text
        listed = (await tenant.client.get(base)).json()["data"]
        assert [attachment["url"] for attachment in listed] == ["http://[::1]:8080/trace.har"]


async def test_names_and_texts_must_not_be_blank_and_numbers_stay_bounded(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    async with tenants.create() as tenant:
        project, url = await _sent_report(tenant, anonymous)
        columns = f"/api/v1/projects/{project['id']}/columns"
        one_line = "Must be one line of text, not blank."
        for path, body, field, message in (
            (columns, {"name": "  "}, "name", one_line),
            (f"{url}/comments", {"text": " \n "}, "text", "Must not be blank."),
            ("/api/v1/projects", {"name": "   "}, "name", one_line),
            ("/api/v1/tokens", {"name": "\t"}, "name", one_line),
            # A name is written into e-mails: its own lines read as the instance's notice.
            (
                "/api/v1/projects",
                {"name": "Shop.\n\nSECURITY NOTICE: log in at https://evil.example"},
                "name",
                one_line,
            ),
        ):
            refused = await tenant.client.post(path, json=body)
            assert refused.status_code == 400, (path, refused.text)
            assert refused.json()["details"] == [{"field": field, "message": message}]
        renamed = await tenant.client.patch("/api/v1/organization", json={"name": "Acme\n\nYour account closes today"})
        assert renamed.status_code == 400, renamed.text
        for body in ({"status": " "}, {"tags": ["ok", "  "]}):
            assert (await tenant.client.patch(url, json=body)).status_code == 400, body
        huge = 99_999_999_999_999_999_999
        for method, path, body in (
            ("POST", columns, {"name": "QA", "position": huge}),
            ("PATCH", url, {"statusId": huge}),
        ):
            refused = await tenant.client.request(method, path, json=body)
            assert refused.status_code == 400, (path, refused.text)


async def test_optional_fields_sent_as_null_are_left_out(tenants: TenantFactory, anonymous: ApiClient) -> None:
    """pydantic's `model_dump()`, .NET's and Gson's serializers send an optional field they were not given as null:
    BugSpark's `console_logs`, `metadata` or `priority` and BugPin's `consoleErrors` so were a 400, while other
    optional fields of the same bodies were taken null."""
    optional = ("description", "severity", "priority", "category", "console_logs", "network_logs", "user_actions")
    bugspark = {"title": "Checkout fails", **dict.fromkeys((*optional, "metadata")), "reporter_identifier": None}
    metadata = {**BUGPIN_EXAMPLE["metadata"], "consoleErrors": None, "networkErrors": None, "userActions": None}
    async with tenants.create() as tenant:
        project = await _project(tenant)
        key = {"X-API-Key": project["apiKey"]}
        sent = await anonymous.post("/api/v1/reports", json=bugspark, headers=key)
        submitted = await anonymous.post(
            "/api/v1/widget/submit", json={**BUGPIN_EXAMPLE, "metadata": metadata}, headers=key
        )
        assert (sent.status_code, submitted.status_code) == (201, 201), (sent.text, submitted.text)
        stored = [await read_report(tenant, id_) for id_ in (sent.json()["data"]["id"], submitted.json()["reportId"])]
    assert [
        (report["severity"], report["priority"], report["category"], report["consoleLogs"], report["userActions"])
        for report in stored
    ] == [("medium", "medium", "bug", [], []), ("medium", BUGPIN_EXAMPLE["priority"], "bug", [], [])]


async def test_text_of_invisible_characters_is_blank_and_a_title_is_trimmed_of_them(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    """Zero-width spaces, direction overrides and a byte-order mark take no room on screen: a title of four
    zero-width spaces was taken, and listed as an empty line; so were names and comments of them."""
    invisible = "\u200b\u200b\u202e\ufeff"
    async with tenants.create() as tenant:
        project, url = await _sent_report(tenant, anonymous)
        key = {"X-API-Key": project["apiKey"]}
        refused = {
            "title": await anonymous.post("/api/v1/reports", json={"title": invisible}, headers=key),
            "comment": await tenant.client.post(f"{url}/comments", json={"text": invisible}),
            "project": await tenant.client.post("/api/v1/projects", json={"name": f" {invisible}\u2060"}),
            "untitled": await tenant.client.post(  # filed by the team: the description's first line is its title
                f"/api/v1/projects/{project['id']}/reports", json={"description": f"{invisible}\nab"}
            ),
        }
        trimmed = await anonymous.post("/api/v1/reports", json={"title": "\u200b Checkout fails\ufeff"}, headers=key)
        kept = await anonymous.post("/api/v1/reports", json={"title": "Zero\u200bwidth inside"}, headers=key)
    assert {name: answer.status_code for name, answer in refused.items()} == dict.fromkeys(refused, 400)
    assert [detail["field"] for answer in refused.values() for detail in answer.json()["details"]] == [
        "title",
        "text",
        "name",
        "description",
    ]
    assert (trimmed.status_code, trimmed.json()["data"]["title"]) == (201, "Checkout fails")
    assert (kept.status_code, kept.json()["data"]["title"]) == (201, "Zero\u200bwidth inside")


async def test_guests_see_their_projects_reports_and_only_their_own_unless_allowed(
    tenants: TenantFactory,
    anonymous: ApiClient,
    app: Any,
) -> None:
    async with tenants.create() as tenant:
        shared = await tenant.create_project("Shared", trackingPrefix="SHR", guestsSeeGuests=True)
        private = await tenant.create_project("Private", trackingPrefix="PRV")
        hidden = await tenant.create_project("Hidden", trackingPrefix="HDN")
        invited = await tenant.client.post(
            "/api/v1/organization/members",
            json={"email": (guest_email := f"guest-{secrets.token_hex(4)}@example.com"), "role": "guest"},
        )
        guest_user = invited.json()["data"]["member"]["userId"]
        for project in (shared, private):
            await tenant.client.post(f"/api/v1/projects/{project['id']}/members", json={"userId": guest_user})
        for project in (shared, private, hidden):
            for email in (guest_email, "someone@example.com"):
                body = {**BUGPIN_EXAMPLE, "reporterEmail": email, "title": f"{project['name']} by {email}"}
                await anonymous.post("/api/v1/widget/submit", json=body, headers={"X-API-Key": project["apiKey"]})
        # The address typed in the widget in another case is theirs all the same (it was hidden from them).
        shouting = {**BUGPIN_EXAMPLE, "reporterEmail": guest_email.upper(), "title": "Private in capitals"}
        await anonymous.post("/api/v1/widget/submit", json=shouting, headers={"X-API-Key": private["apiKey"]})
        async with ApiClient.for_app(app) as guest:
            token = invited.json()["data"]["invitationToken"]
            await guest.post("/api/v1/auth/invitations/accept", json={"token": token, "password": "a long password!"})
            titles = sorted(item["title"] for item in (await guest.get("/api/v1/reports")).json()["data"]["items"])
            assert titles == [
                f"Private by {guest_email}",
                "Private in capitals",
                f"Shared by {guest_email}",
                "Shared by someone@example.com",
            ]
            hidden_report = (await tenant.client.get("/api/v1/reports", params={"search": "Hidden by"})).json()
            assert (await guest.get(f"/api/v1/reports/{hidden_report['data']['items'][0]['id']}")).status_code == 404
            # A guest reads and comments on their reports; triage is the team's, their own report's too.
            own = (await guest.get("/api/v1/reports", params={"search": "Private in capitals"})).json()
            own_id, before = own["data"]["items"][0]["id"], own["data"]["items"][0]["severity"]
            triaged = await guest.patch(f"/api/v1/reports/{own_id}", json={"status": "done", "severity": "low"})
            commented = await guest.post(f"/api/v1/reports/{own_id}/comments", json={"text": "It happens daily."})
            history = await guest.get(f"/api/v1/reports/{own_id}/history")
        assert triaged.status_code == 403, triaged.text
        assert history.status_code == 403, history.text
        assert commented.status_code == 201, commented.text
        unchanged = (await tenant.client.get(f"/api/v1/reports/{own_id}")).json()["data"]
        assert (unchanged["status"], unchanged["severity"]) == ("new", before)


async def test_a_guest_reads_no_reporters_address_but_their_own(
    tenants: TenantFactory, anonymous: ApiClient, app: Any
) -> None:
    """Guests read people's names, never their addresses: where a project lets its guests see each other's
    reports, a guest read the other guests' and the customers' addresses on them (`reporterEmail`, BugSpark's
    identifier), in the API's lists, items and documents and on the report's page. The team reads them, and so
    do the organization's webhooks."""
    async with tenants.create() as tenant:
        shop = await tenant.create_project("Shop", trackingPrefix="SHP", guestsSeeGuests=True)
        webhook = await tenant.client.post(
            "/api/v1/webhooks", json={"url": "https://hooks.example.invalid/lantern", "events": ["report.updated"]}
        )
        assert webhook.status_code == 201, webhook.text
        guests = {}
        for name in ("first", "second"):
            address = f"{name}-{secrets.token_hex(4)}@example.com"
            invited = (
                await tenant.client.post("/api/v1/organization/members", json={"email": address, "role": "guest"})
            ).json()
            added = await tenant.client.post(
                f"/api/v1/projects/{shop['id']}/members", json={"userId": invited["data"]["member"]["userId"]}
            )
            assert added.status_code == 201, added.text
            guests[name] = (invited["data"]["member"]["email"], invited["data"]["invitationToken"])
        key = {"X-API-Key": shop["apiKey"]}
        senders = {"first": guests["first"][0], "second": guests["second"][0], "customer": "customer@shop.example"}
        for sender, email in senders.items():
            body = {**BUGPIN_EXAMPLE, "reporterEmail": email, "title": f"Sent by the {sender}"}
            assert (await anonymous.post("/api/v1/widget/submit", json=body, headers=key)).status_code == 201
        bugspark = {"title": "Sent from the app", "reporter_identifier": "app-user@shop.example"}
        assert (await anonymous.post("/api/v1/reports", json=bugspark, headers=key)).status_code == 201
        team = {item["title"]: item for item in (await tenant.client.get("/api/v1/reports")).json()["data"]["items"]}
        for item in team.values():  # a change, which the webhook hears of with the report as the team reads it
            changed = await tenant.client.patch(f"/api/v1/reports/{item['id']}", json={"priority": "low"})
            assert changed.status_code == 200, changed.text
        async with ApiClient.for_app(app) as guest:
            email, token = guests["first"]
            accepted = await guest.post("/api/v1/auth/invitations/accept", json={"token": token, "password": PASSWORD})
            assert accepted.status_code == 200, accepted.text
            listed = (await guest.get("/api/v1/reports")).json()["data"]["items"]
            items = [(await guest.get(f"/api/v1/reports/{item['id']}")).json()["data"] for item in listed]
            documents = [
                (await guest.get("/api/v1/reports", headers={"Accept": JSONAPI})).json()["data"],
                *[
                    (await guest.get(f"/api/v1/reports/{item['id']}", headers={"Accept": JSONAPI})).json()["data"]
                    for item in listed
                ],
            ]
            pages = [(await guest.get(f"/ui/reports/{item['id']}")).text for item in listed]
        deliveries = (await tenant.client.get(f"/api/v1/webhooks/{webhook.json()['data']['id']}/deliveries")).json()

    def contacts(reads: list[dict[str, Any]]) -> dict[str, tuple[str | None, str | None]]:
        return {read["title"]: (read["reporterEmail"], read["reporterIdentifier"]) for read in reads}

    theirs = "Sent by the first"
    shown = {theirs: (email, None), **{title: (None, None) for title in team if title != theirs}}
    assert contacts(listed) == contacts(items) == shown
    for document in documents:
        resources = document if isinstance(document, list) else [document]
        assert contacts([resource["attributes"] for resource in resources]) == {
            resource["attributes"]["title"]: shown[resource["attributes"]["title"]] for resource in resources
        }
    assert len(documents) == len(shown) + 1
    others = [guests["second"][0], "customer@shop.example", "app-user@shop.example"]
    assert [address for address in others if address in str(pages)] == []
    assert email in pages[[item["title"] for item in listed].index(theirs)]
    # The team reads every address, and the organization's webhooks hear of them.
    assert contacts(list(team.values()))["Sent from the app"] == ("app-user@shop.example", "app-user@shop.example")
    heard = {d["payload"]["data"]["report"]["title"]: d["payload"]["data"]["report"] for d in deliveries["data"]}
    assert contacts(list(heard.values())) == contacts(list(team.values()))


async def test_a_guest_finds_no_report_by_anyone_elses_address(
    tenants: TenantFactory, anonymous: ApiClient, app: Any
) -> None:
    """A search or an assignee filter that named an address told a guest whose it was (the report a customer or
    another guest sent, the one a team member was assigned), where the reports show them no address: to a guest
    only their own address names anyone, natively, in JSON:API mode and on the list page."""
    async with tenants.create() as tenant, member_of(tenant, app, "guest") as guest:
        me = (await guest.get("/api/v1/auth/me")).json()["data"]["user"]
        shop = await tenant.create_project("Shop", trackingPrefix="SHP", guestsSeeGuests=True)
        added = await tenant.client.post(f"/api/v1/projects/{shop['id']}/members", json={"userId": me["id"]})
        assert added.status_code == 201, added.text
        key = {"X-API-Key": shop["apiKey"]}
        for title, email in (("Mine", me["email"]), ("The customer's", "customer@shop.example")):
            body = {**BUGPIN_EXAMPLE, "reporterEmail": email, "title": title}
            assert (await anonymous.post("/api/v1/widget/submit", json=body, headers=key)).status_code == 201
        listed = (await tenant.client.get("/api/v1/reports")).json()["data"]["items"]
        for item in listed:
            assigned = await tenant.client.patch(f"/api/v1/reports/{item['id']}", json={"assigneeId": tenant.user_id})
            assert assigned.status_code == 200, assigned.text

        async def found(client: ApiClient, name: str, address: str) -> list[list[str]]:
            native = (await client.get("/api/v1/reports", params={name: address})).json()["data"]["items"]
            document = (await client.get("/api/v1/reports", params={f"filter[{name}]": address})).json()["data"]
            page = (await client.get("/ui/reports", params={name: address})).text
            return [
                sorted(item["title"] for item in native),
                sorted(resource["attributes"]["title"] for resource in document),
                sorted(title for title in ("Mine", "The customer's") if title.replace("'", "&#39;") in page),
            ]

        by_guest = {
            "customer": await found(guest, "search", "customer@shop.example"),
            "own": await found(guest, "search", me["email"].upper()),
            "assignee": await found(guest, "assignee", tenant.email),
        }
        by_team = await found(tenant.client, "search", "customer@shop.example")
    assert by_guest == {"customer": [[], [], []], "own": [["Mine"]] * 3, "assignee": [[], [], []]}
    assert by_team == [["The customer's"]] * 3


async def test_a_guests_own_reports_are_theirs_in_whatever_form_their_address_was_typed(
    tenants: TenantFactory, anonymous: ApiClient, app: Any
) -> None:
    """A guest kept to their own reports saw only those whose address was theirs but for its case: one typed in
    full-width letters, or with its domain's xn-- form (or that in capitals), was someone else's to them, though
    their account's address is kept, and found, in one form whatever way it is typed. The widget's, BugSpark's
    and the team's reports are theirs in any of these forms; an address that differs in more is not."""
    local = f"guest-{secrets.token_hex(4)}"
    async with tenants.create() as tenant:
        shop = await tenant.create_project("Shop", trackingPrefix="SHP")
        invited = await tenant.client.post(
            "/api/v1/organization/members", json={"email": f"{local.upper()}@XN--R8JZ45G.jp", "role": "guest"}
        )
        assert invited.status_code == 201, invited.text
        member = invited.json()["data"]["member"]
        assert member["email"] == f"{local}@例え.jp"
        added = await tenant.client.post(f"/api/v1/projects/{shop['id']}/members", json={"userId": member["userId"]})
        assert added.status_code == 201, added.text
        key = {"X-API-Key": shop["apiKey"]}
        full_width = "".join(chr(ord(letter) + 0xFEE0) if letter.isalnum() else letter for letter in local)
        for title, email in (
            ("In capitals", f"{local.upper()}@例え.JP"),
            ("In full-width letters", f"{full_width}@例え.\uff4a\uff50"),
            ("By its xn-- form", f"{local}@xn--r8jz45g.jp"),
            ("By someone else", f"other-{local}@例え.jp"),
            ("From another domain", f"{local}@example.jp"),
        ):
            body = {**BUGPIN_EXAMPLE, "reporterEmail": email, "title": title}
            assert (await anonymous.post("/api/v1/widget/submit", json=body, headers=key)).status_code == 201
        bugspark = {"title": "From the app", "reporter_identifier": f"{local.title()}@XN--R8JZ45G.JP"}
        assert (await anonymous.post("/api/v1/reports", json=bugspark, headers=key)).status_code == 201
        filed = {"title": "Filed by the team", "reporterEmail": f"{full_width}@xn--r8jz45g.jp"}
        assert (await tenant.client.post(f"/api/v1/projects/{shop['id']}/reports", json=filed)).status_code == 201
        async with ApiClient.for_app(app) as guest:
            token = invited.json()["data"]["invitationToken"]
            accepted = await guest.post("/api/v1/auth/invitations/accept", json={"token": token, "password": PASSWORD})
            assert accepted.status_code == 200, accepted.text
            listed = (await guest.get("/api/v1/reports")).json()["data"]["items"]
            found = (await guest.get("/api/v1/reports", params={"search": f"{local}@XN--R8JZ45G.JP"})).json()
    theirs = ["By its xn-- form", "Filed by the team", "From the app", "In capitals", "In full-width letters"]
    assert sorted(item["title"] for item in listed) == theirs
    assert {item["reporterEmail"] for item in listed} == {f"{local}@例え.jp"}
    assert sorted(item["title"] for item in found["data"]["items"]) == theirs


async def test_an_integrations_change_is_credited_only_to_someone_who_may_make_it(
    tenants: TenantFactory, anonymous: ApiClient, app: Any
) -> None:
    """BugHerd's `updater_email` credited an integration's change to a guest who could not even see the report
    (and triage is never a guest's). It names the change's author only when they may make it: the team; a
    guest, one who sees the report too, or someone still invited, is ignored as an unknown address is."""
    async with tenants.create() as tenant:
        shop = await tenant.create_project("Shop", trackingPrefix="SHP", guestsSeeGuests=True)
        report_url = f"/api/v1/reports/{(await report(tenant.client, shop['apiKey'], 'Cart'))['id']}"
        elsewhere = await tenant.create_project("Blog")  # a guest of Blog does not see Shop's reports
        addresses = {}
        for name, project in (("blind", elsewhere), ("seeing", shop)):
            async with member_of(tenant, app, "guest") as guest:
                me = (await guest.get("/api/v1/auth/me")).json()["data"]["user"]
            added = await tenant.client.post(f"/api/v1/projects/{project['id']}/members", json={"userId": me["id"]})
            assert added.status_code == 201, added.text
            addresses[name] = me["email"]
        addresses["invited"] = (await invite(tenant))["member"]["email"]
        async with member_of(tenant, app) as member:
            addresses["member"] = (await member.get("/api/v1/auth/me")).json()["data"]["user"]["email"]
        token = await tenant.create_token("BugHerd sync")
        bot = {"Authorization": f"Bearer {token['token']}"}
        for priority, name in zip(("minor", "important", "critical", "normal"), addresses, strict=True):
            body = {"task": {"priority": priority, "updater_email": addresses[name]}}
            changed = await tenant.client.patch(report_url, json=body, headers=bot)
            assert changed.status_code == 200, changed.text
        changes = (await tenant.client.get(f"{report_url}/history")).json()["data"]
        members = (await tenant.client.get("/api/v1/organization/members")).json()["data"]
    member_id = next(member["userId"] for member in members if member["email"] == addresses["member"])
    assert [(change["authorId"], change["authorTokenId"]) for change in changes] == [
        (None, token["id"]),  # a guest who does not see the report: the token's change, as for an unknown address
        (None, token["id"]),  # a guest who sees it: triage is the team's
        (None, token["id"]),  # someone still invited
        (member_id, token["id"]),  # the team's: theirs, beside the token
    ]


async def test_a_reports_history_keeps_each_change_who_made_it_and_each_field_before_and_after(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop", trackingPrefix="SHP")
        sent = await anonymous.post(
            "/api/v1/widget/submit", json=BUGPIN_EXAMPLE, headers={"X-API-Key": project["apiKey"]}
        )
        report_id = sent.json()["reportId"]
        path = f"/api/v1/reports/{report_id}"
        assert (await tenant.client.get(f"{path}/history")).json()["data"] == []
        by_person = {"status": "doing", "assigneeId": tenant.user_id, "description": "Happens on Safari only."}
        assert (await tenant.client.patch(path, json=by_person)).status_code == 200
        assert (await tenant.client.patch(path, json={"status": "doing"})).status_code == 200  # no change: no entry
        token = await tenant.create_token("CI bot")
        bot = {"Authorization": f"Bearer {token['token']}"}
        # BugHerd's spelling is a change like any other; its `updater_email` says who it is for.
        bugherd = {"task": {"priority": "critical", "tag_names": ["checkout"], "updater_email": tenant.email.upper()}}
        assert (await tenant.client.patch(path, json=bugherd, headers=bot)).status_code == 200
        stranger = {"task": {"severity": "low", "updater_email": "nobody-here@example.com"}}
        assert (await tenant.client.patch(path, json=stranger, headers=bot)).status_code == 200
        changes = (await tenant.client.get(f"{path}/history")).json()["data"]
        assert [(change["authorId"], change["authorTokenId"]) for change in changes] == [
            (tenant.user_id, None),
            (tenant.user_id, token["id"]),  # made by the token, for the person it names
            (None, token["id"]),  # an integration's: the token acts for the organization, not a person
        ]
        assert changes[0]["changes"] == {
            "status": ["new", "doing"],
            "assigneeId": [None, tenant.user_id],
            "description": [None, None],
        }
        assert changes[1]["changes"] == {"priority": ["high", "highest"], "tags": [[], ["checkout"]]}
        assert all(change["reportId"] == report_id for change in changes)

        document = (
            await tenant.client.get(
                f"{path}/history", params={"include": "author", "fields[reportChange]": "changes,author,authorToken"}
            )
        ).json()
        validate_document(document)
        assert [item["type"] for item in document["data"]] == ["reportChange"] * 3
        assert document["data"][0]["attributes"] == {"changes": changes[0]["changes"]}
        assert document["data"][1]["relationships"]["authorToken"]["data"] == {"type": "token", "id": token["id"]}
        assert [item["id"] for item in document["included"] if item["type"] == "user"] == [tenant.user_id]


async def test_someone_removed_from_the_organization_leaves_their_reports_to_nobody_in_their_history(
    tenants: TenantFactory, anonymous: ApiClient, app: Any
) -> None:
    """Their reports were unassigned by one statement, out of the history and unheard by webhooks."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop", trackingPrefix="SHP")
        hook = await tenant.client.post(
            "/api/v1/webhooks", json={"url": "https://hooks.example.com/lantern", "events": ["report.updated"]}
        )
        assert hook.status_code == 201, hook.text
        async with member_of(tenant, app) as member:
            mia = (await member.get("/api/v1/auth/me")).json()["data"]["user"]["id"]
        members = (await tenant.client.get("/api/v1/organization/members")).json()["data"]
        [membership_id] = [member["id"] for member in members if member["userId"] == mia]
        sent = await anonymous.post(
            "/api/v1/widget/submit", json=BUGPIN_EXAMPLE, headers={"X-API-Key": project["apiKey"]}
        )
        path = f"/api/v1/reports/{sent.json()['reportId']}"
        assert (await tenant.client.patch(path, json={"assigneeId": mia})).status_code == 200
        removed = await tenant.client.delete(f"/api/v1/organization/members/{membership_id}")
        assert removed.status_code == 204, removed.text
        assert (await tenant.client.get(path)).json()["data"]["assigneeId"] is None
        history = (await tenant.client.get(f"{path}/history")).json()["data"]
        assert [(change["changes"], change["authorId"]) for change in history] == [
            ({"assigneeId": [None, mia]}, tenant.user_id),
            ({"assigneeId": [mia, None]}, tenant.user_id),
        ]
        deliveries = (await tenant.client.get(f"/api/v1/webhooks/{hook.json()['data']['id']}/deliveries")).json()
        told = [delivery["payload"]["data"]["changes"] for delivery in deliveries["data"]]
        assert len(told) == 2
        assert {"assigneeId": [None, mia]} in told
        assert {"assigneeId": [mia, None]} in told


async def test_a_status_filter_takes_a_column_in_any_case_and_refuses_one_no_project_has(
    tenants: TenantFactory,
) -> None:
    """A custom column was found only as spelled, and a value naming no column answered an empty list (a typo
    looked like "no reports"). As PATCH, the filter now takes any case: two projects' "Blocked" and "blocked"
    are both found by either; a value no project of the organization (or the filtered one) has is a 400 that
    names the parameter and the columns there are, never another organization's."""
    async with tenants.create() as tenant, tenants.create("Other") as other:
        foreign = await other.create_project("Foreign", trackingPrefix="FRN")
        added = await other.client.post(f"/api/v1/projects/{foreign['id']}/columns", json={"name": "Secret"})
        assert added.status_code == 201, added.text
        found: dict[str, str] = {}
        projects: dict[str, dict[str, Any]] = {}
        for name, column in (("Shop", "Blocked"), ("Blog", "blocked")):
            projects[name] = project = await tenant.create_project(name)
            added = await tenant.client.post(f"/api/v1/projects/{project['id']}/columns", json={"name": column})
            assert added.status_code == 201, added.text
            sent = await report(tenant.client, project["apiKey"], f"Stuck in {name}")
            moved = await tenant.client.patch(f"/api/v1/reports/{sent['id']}", json={"status": column})
            assert moved.status_code == 200, moved.text
            found[name] = f"Stuck in {name}"
        await report(tenant.client, projects["Shop"]["apiKey"], "Just in")

        async def titles(client: ApiClient = tenant.client, **params: str) -> list[str]:
            listed = await client.get("/api/v1/reports", params=params)
            assert listed.status_code == 200, listed.text
            return sorted(item["title"] for item in listed.json()["data"]["items"])

        async def refused(client: ApiClient = tenant.client, **params: str) -> list[dict[str, str]]:
            answer = await client.get("/api/v1/reports", params=params)
            assert (answer.status_code, answer.json()["error"]) == (400, "VALIDATION_ERROR"), answer.text
            return answer.json()["details"]  # type: ignore[no-any-return]

        both = sorted(found.values())
        assert await titles(status="Blocked") == both
        assert await titles(status="BLOCKED") == both
        assert await titles(status="blocked", project_id=projects["Blog"]["id"]) == [found["Blog"]]
        assert await titles(status="NEW") == ["Just in"]
        assert await titles(status="feedback") == ["Just in"]  # another product's name for it
        defaults = "new, backlog, todo, doing, done, closed"
        assert await refused(status="Blokced") == [
            {
                "field": "status",
                "message": f"This value is not one of the allowed choices. Use one of: {defaults}, Blocked, blocked.",
            }
        ]
        # The filtered project's columns alone, in JSON:API mode too (named as sent); another organization's
        # project is none the caller sees, so it narrows nothing and finds nothing.
        assert await titles(status="Blocked", project_id=foreign["id"]) == []
        only_blog = await refused(**{"filter[status]": "Blocked,Secret", "project_id": projects["Blog"]["id"]})
        assert only_blog == [
            {
                "field": "filter[status]",
                "message": f"This value is not one of the allowed choices. Use one of: {defaults}, blocked.",
            }
        ]
        # Another organization's columns are neither taken nor listed, nor these ones there.
        assert "Secret" not in str(await refused(status="Secret"))
        theirs = await refused(other.client, status="blocked")
        assert theirs == [
            {
                "field": "status",
                "message": f"This value is not one of the allowed choices. Use one of: {defaults}, Secret.",
            }
        ]
        assert await titles(other.client, status="secret") == []


@pytest.mark.parametrize(
    ("change", "field", "german"),
    [
        ({"console_logs": [{"level": "error", "message": "x" * 1000}] * 600}, "logs", "512"),
        ({"metadata": {"dump": "y" * 70_000}}, "metadata", "64"),
    ],
)
async def test_oversized_logs_or_metadata_are_refused_naming_the_field(
    tenants: TenantFactory,
    anonymous: ApiClient,
    change: dict[str, Any],
    field: str,
    german: str,
) -> None:
    """Logs are capped at 512 KB and metadata at 64 KB per report, inside a body the server does accept."""
    async with tenants.create() as tenant:
        project = await _project(tenant)
        response = await anonymous.post(
            "/api/v1/reports?lang=de",
            json={**BUGSPARK_EXAMPLE, **change},
            headers={"X-API-Key": project["apiKey"]},
        )
        assert response.status_code == 413, response.text
        assert response.json()["error"] == "PAYLOAD_TOO_LARGE"
        [detail] = response.json()["details"]
        assert detail["field"] == field
        assert german in detail["message"]
        assert "höchstens" in detail["message"]
        listed = await tenant.client.get("/api/v1/reports")
        assert listed.json()["data"]["total"] == 0


async def test_a_reports_page_shows_whatever_a_client_sent(tenants: TenantFactory, anonymous: ApiClient) -> None:
    """A time at the calendar's edge (past year 9999 in the reader's zone) and numbers past Babel's decimal
    digits are valid JSON a client may send; each made the report's page a 500 for the whole team."""
    edge_of_time = "9999-12-31T23:59:59-14:00"
    metadata = {**BUGPIN_EXAMPLE["metadata"], "timestamp": edge_of_time, "pageLoadTime": 1e27}
    metadata["consoleErrors"] = [{"type": "error", "message": "boom", "timestamp": "0001-01-01T00:00:00+14:00"}]
    async with tenants.create() as tenant:
        project = await _project(tenant)
        key = {"X-API-Key": project["apiKey"]}
        widget = await anonymous.post("/api/widget/submit", json={**BUGPIN_EXAMPLE, "metadata": metadata}, headers=key)
        network = [{"method": "GET", "url": "/a", "status": 500, "duration": 1e300}]
        bugspark = await anonymous.post(
            "/api/v1/reports", json={**BUGSPARK_EXAMPLE, "network_logs": network}, headers=key
        )
        assert (widget.status_code, bugspark.status_code) == (201, 201), (widget.text, bugspark.text)
        me = await tenant.client.patch("/api/v1/auth/me", json={"timezone": "Asia/Tokyo", "locale": "de"})
        assert me.status_code == 200, me.text
        for report_id in (widget.json()["reportId"], bugspark.json()["data"]["id"]):
            page = await tenant.client.get(f"/ui/reports/{report_id}")
            assert page.status_code == 200, page.text
        assert (
            "31.12.9999, 23:59:59 GMT-14:00"
            in (await tenant.client.get(f"/ui/reports/{widget.json()['reportId']}")).text
        )
        assert "1E300 ms" in page.text


async def test_bugpin_multipart_without_media_or_with_its_json_as_a_blob(
    tenants: TenantFactory,
    anonymous: ApiClient,
) -> None:
    """The screenshot is optional; a browser's FormData sends a JSON Blob as a file part named `blob`."""
    async with tenants.create() as tenant:
        project = await _project(tenant)
        url = f"/api/v1/widget/submit?apiKey={project['apiKey']}"
        as_field = await anonymous.post(url, files={"data": (None, json.dumps(BUGPIN_EXAMPLE))})
        as_blob = await anonymous.post(url, files={"data": ("blob", json.dumps(BUGPIN_EXAMPLE), "application/json")})
        not_an_image = await anonymous.post(
            url,
            files={"data": (None, json.dumps(BUGPIN_EXAMPLE)), "media": ("notes.txt", b"hello", "text/plain")},
        )
        for answer in (as_field, as_blob):
            assert answer.status_code == 201, answer.text
            report = await read_report(tenant, answer.json()["reportId"])
            assert (report["title"], report["screenshots"]) == (BUGPIN_EXAMPLE["title"], [])
    assert not_an_image.status_code == 415
    assert [detail["field"] for detail in not_an_image.json()["details"]] == ["media"]


async def test_only_someone_who_sees_the_report_can_be_assigned(
    tenants: TenantFactory, anonymous: ApiClient, app: Any
) -> None:
    """Another organization's person, nobody, a guest not added to the project, a guest still invited, and a
    guest whose project keeps guests to their own reports are refused alike; a guest who sees the report is not."""
    async with tenants.create() as tenant, tenants.create("Other") as other:
        project, report_url = await _sent_report(tenant, anonymous)
        invited = await invite(tenant, "guest")
        guest_id = invited["member"]["userId"]

        async def assign(user_id: str) -> httpx.Response:
            return await tenant.client.patch(
                report_url, json={"assigneeId": user_id}, headers={"Accept-Language": "ja"}
            )

        refused = [await assign(user_id) for user_id in (other.user_id, str(uuid4()), guest_id)]
        added = await tenant.client.post(f"/api/v1/projects/{project['id']}/members", json={"userId": guest_id})
        assert added.status_code == 201, added.text
        refused.append(await assign(guest_id))  # still only invited
        async with ApiClient.for_app(app) as guest:
            token = invited["invitationToken"]
            accepted = await guest.post("/api/v1/auth/invitations/accept", json={"token": token, "password": PASSWORD})
            assert accepted.status_code == 200, accepted.text
        guest_id = accepted.json()["data"]["user"]["id"]  # their account's id, now that they accepted
        refused.append(await assign(guest_id))  # someone else's report, in a project that keeps guests apart
        await tenant.client.patch(f"/api/v1/projects/{project['id']}", json={"guestsSeeGuests": True})
        allowed = [await assign(user_id) for user_id in (guest_id, tenant.user_id)]
        assignee = (await tenant.client.get(report_url)).json()["data"]["assigneeId"]
    for answer in refused:
        assert answer.status_code == 400, answer.text
        [detail] = answer.json()["details"]
        assert detail["field"] == "assigneeId"
        assert detail["message"] == "このレポートを閲覧できるユーザーに、この ID の人はいません。"
    assert [answer.status_code for answer in allowed] == [200, 200]
    assert assignee == tenant.user_id


async def test_a_change_assigns_by_address_as_a_filed_report_does(tenants: TenantFactory, anonymous: ApiClient) -> None:
    """A report filed with `assigneeEmail` (BugHerd's `assigned_to_email`) could not be reassigned the same way:
    the change refused the field. It assigns whoever sees the report, by their address in any case; an address
    of no one who does is a 400 naming the field as sent, another organization's person's too; an address beside
    an id is a 400, as a column named both ways is."""
    async with tenants.create() as tenant, tenants.create("Other") as other:
        _, url = await _sent_report(tenant, anonymous)
        assigned = await tenant.client.patch(url, json={"assigneeEmail": tenant.email.upper()})
        await tenant.client.patch(url, json={"assigneeId": None})
        bugherd = await tenant.client.put(url, json={"task": {"assigned_to_email": tenant.email}})
        await tenant.client.patch(url, json={"assigneeId": None})
        refusals = [
            ({"assignee_email": other.email}, "assignee_email"),
            ({"task": {"assigned_to_email": "nobody@example.com"}}, "task.assigned_to_email"),
        ]
        refused = [(await tenant.client.patch(url, json=body), field) for body, field in refusals]
        both = await tenant.client.patch(url, json={"assigneeId": tenant.user_id, "assigneeEmail": tenant.email})
        assignee = (await tenant.client.get(url)).json()["data"]["assigneeId"]
    assert assigned.status_code == 200, assigned.text
    assert assigned.json()["data"]["assigneeId"] == tenant.user_id
    assert bugherd.status_code == 200, bugherd.text
    assert bugherd.json()["data"]["assigneeId"] == tenant.user_id
    for answer, field in refused:
        assert answer.status_code == 400, answer.text
        message = "No one who can see this report has this e-mail address."
        assert answer.json()["details"] == [{"field": field, "message": message}]
    assert both.status_code == 400, both.text
    assert [detail["field"] for detail in both.json()["details"]] == ["assigneeEmail"]
    assert assignee is None


async def test_native_list_filters_refuse_unknown_values_and_take_whole_days(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    async with tenants.create() as tenant:
        project = await _project(tenant)
        await anonymous.post("/api/v1/reports", json=BUGSPARK_EXAMPLE, headers={"X-API-Key": project["apiKey"]})
        today = datetime.now(UTC).date()

        async def total(**params: str) -> int:
            answer = await tenant.client.get("/api/v1/reports", params=params)
            assert answer.status_code == 200, answer.text
            return int(answer.json()["data"]["total"])

        counts = [
            await total(severity="high"),
            await total(severity="low"),
            await total(created_since=str(today)),
            await total(created_since=str(today + timedelta(days=1))),
            await total(updated_since=f"{today}T00:00:00Z"),
        ]
        refused = [
            await tenant.client.get("/api/v1/reports", params={name: "yesterday-ish", "lang": "es"})
            for name in ("severity", "created_since")
        ]
    assert counts == [1, 0, 1, 0, 1]
    assert [answer.status_code for answer in refused] == [400, 400]
    details = [answer.json()["details"] for answer in refused]
    assert [[detail["field"] for detail in listed] for listed in details] == [["severity"], ["created_since"]]
    assert details[0][0]["message"] == (
        "Este valor no es una de las opciones permitidas. Usa uno de estos: critical, high, medium, low."
    )  # which values are, as a body's field is told
    assert details[1][0]["message"].startswith("Debe ser una fecha")


async def test_a_moment_at_the_calendars_edge_is_a_400_in_every_date_filter_and_cursor(tenants: TenantFactory) -> None:
    """A moment whose offset takes it past year 9999 or before year 1 in UTC was a 500: the conversion to UTC
    overflowed when the query was built, after the parameter had been taken."""
    past_the_end, before_the_start = "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+01:00"
    cursor = jsonapi.encode_cursor("-createdAt", [past_the_end, str(uuid4())])
    async with tenants.create() as tenant:
        answers = [
            await tenant.client.get("/api/v1/reports", params=params)
            for params in (
                {"created_since": past_the_end},
                {"updated_since": before_the_start},
                {"filter[created]": f"from.{past_the_end}"},
                {"filter[updated]": f"to.{before_the_start}"},
                {"page[after]": cursor},
                {"page[before]": cursor},
            )
        ]
    assert [(answer.status_code, answer.json()["details"][0]["field"]) for answer in answers] == [
        (400, "created_since"),
        (400, "updated_since"),
        (400, "filter[created]"),
        (400, "filter[updated]"),
        (400, "page[after]"),
        (400, "page[before]"),
    ]


async def test_native_list_parameters_take_camel_case_as_the_answer_spells_them(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    """`pageSize` as the list answers it, `projectId`, `createdSince`: read as their snake_case spellings, never
    ignored (a whole organization listed for one project's `projectId`), and named as sent when refused."""
    async with tenants.create() as tenant:
        shop, blog = await tenant.create_project("Shop"), await tenant.create_project("Blog")
        for project in (shop, shop, blog):
            answer = await anonymous.post(
                "/api/v1/widget/submit", params={"apiKey": project["apiKey"]}, json=BUGPIN_EXAMPLE
            )
            assert answer.status_code == 201, answer.text
        tomorrow = str(datetime.now(UTC).date() + timedelta(days=1))

        async def listed(**params: str) -> dict[str, Any]:
            answer = await tenant.client.get("/api/v1/reports", params=params)
            assert answer.status_code == 200, answer.text
            return answer.json()["data"]  # type: ignore[no-any-return]

        camel = await listed(projectId=shop["id"], pageSize="1")
        snake = await listed(project_id=shop["id"], page_size="1")
        later = await listed(createdSince=tomorrow)
        refused = [
            await tenant.client.get("/api/v1/reports", params=params)
            for params in ({"createdSince": "soon"}, {"pageSize": "0", "projectId": "shop"})
        ]
    assert (camel["total"], camel["pageSize"], len(camel["items"])) == (2, 1, 1)
    assert camel == snake
    assert later["total"] == 0
    assert [answer.status_code for answer in refused] == [400, 400]
    assert [sorted(detail["field"] for detail in answer.json()["details"]) for answer in refused] == [
        ["createdSince"],
        ["pageSize", "projectId"],
    ]


async def test_a_query_parameter_no_route_reads_is_refused_and_named(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    """`?serverity=high`, another API's `per_page` or `status_id`: dropped without a word, they listed every
    report as if filtered. Refused in either mode, named as sent, with the route's own listed; the documented
    ones (camelCase too, `lang`, JSON:API's) still taken, and the widget's routes take what a widget adds."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Queried")
        submitted = await anonymous.post(
            "/api/v1/widget/submit", params={"apiKey": project["apiKey"], "v": "2"}, json=BUGPIN_EXAMPLE
        )
        assert submitted.status_code == 201, submitted.text
        taken = await tenant.client.get(
            "/api/v1/reports", params={"projectId": project["id"], "pageSize": "5", "severity": "high", "lang": "de"}
        )
        jsonapi_taken = await tenant.client.get("/api/v1/reports", params={"filter[severity]": "high", "tag": "x"})
        refused = {
            path: await tenant.client.get(path, params=params, headers={"Accept-Language": "de"})
            for path, params in (
                ("/api/v1/reports", {"serverity": "high", "per_page": "1", "projectId": project["id"]}),
                ("/api/v1/reports?filter[severity]=high", {"status_id": "5"}),
                ("/api/v1/organization", {"limit": "1"}),
                ("/api/v1/organization/members", {"offset": "5"}),
                ("/api/v1/webhooks", {"updated_after": "2026-01-01"}),
                (f"/api/v1/reports/{submitted.json()['reportId']}", {"include_deleted": "1"}),
            )
        }
    assert taken.status_code == 200, taken.text
    assert taken.json()["data"]["pageSize"] == 5
    assert jsonapi_taken.status_code == 200, jsonapi_taken.text
    assert {path: answer.status_code for path, answer in refused.items()} == dict.fromkeys(refused, 400)
    details = {path: answer.json()["details"] for path, answer in refused.items()}
    assert [detail["field"] for detail in details["/api/v1/reports"]] == ["serverity", "per_page"]
    assert details["/api/v1/reports"][0]["message"] == (
        "Unbekannter Abfrageparameter: serverity. Möglich sind: assigned_to_id, assignee, category, "
        "created_since, external_id, page, page_size, priority, project_id, search, severity, status, tag, "
        "updated_since."
    )
    assert [detail["field"] for detail in details["/api/v1/reports?filter[severity]=high"]] == ["status_id"]
    assert details["/api/v1/organization"] == [
        {"field": "limit", "message": "Unbekannter Abfrageparameter: limit. Diese Adresse nimmt keine an."}
    ]
    assert refused["/api/v1/organization"].json()["error"] == "VALIDATION_ERROR"


async def test_the_native_assignee_parameter_takes_what_its_json_api_filter_takes(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    """`?assignee=` takes `me`, `none` and an e-mail address besides a UUID, as `filter[assignee]` does; BugHerd's
    `assigned_to_id` too. A value that is none of them is a 400 on `assignee`."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Assigned")
        ids = []
        for _ in range(2):
            answer = await anonymous.post(
                "/api/v1/widget/submit", params={"apiKey": project["apiKey"]}, json=BUGPIN_EXAMPLE
            )
            ids.append(answer.json()["reportId"])
        assigned = await tenant.client.patch(f"/api/v1/reports/{ids[0]}", json={"assigneeId": tenant.user_id})
        assert assigned.status_code == 200, assigned.text

        async def found(**params: str) -> list[str]:
            answer = await tenant.client.get("/api/v1/reports", params=params)
            assert answer.status_code == 200, answer.text
            return [item["id"] for item in answer.json()["data"]["items"]]

        mine, nobody = await found(assignee="me"), await found(assignee="none")
        by_address, by_id = await found(assignee=tenant.email.upper()), await found(assignee=tenant.user_id)
        bugherd = await found(assigned_to_id=tenant.user_id)
        refused = await tenant.client.get("/api/v1/reports", params={"assignee": "someone"})
    assert mine == by_address == by_id == bugherd == [ids[0]]
    assert nobody == [ids[1]]
    assert refused.status_code == 400
    expected = "Must be a person's ID or e-mail address, me or none."  # it said a UUID, the only one of four
    assert refused.json()["details"] == [{"field": "assignee", "message": expected}]


async def test_assignee_me_with_an_organization_token_is_refused_as_it_names_nobody(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    """An organization token has no person behind it: `assignee=me` answered an empty list, as if nothing were
    assigned to it. It is a 400 naming the parameter, natively and as `filter[assignee]`."""
    async with tenants.create() as tenant:
        project = await _project(tenant)
        await anonymous.post("/api/v1/reports", json=BUGSPARK_EXAMPLE, headers={"X-API-Key": project["apiKey"]})
        token = await tenant.create_token("CI bot")
        bot = {"Authorization": f"Bearer {token['token']}"}
        native = await anonymous.get("/api/v1/reports", params={"assignee": "me"}, headers=bot)
        document = await anonymous.get("/api/v1/reports", params={"filter[assignee]": "ME"}, headers=bot)
        among_others = await anonymous.get("/api/v1/reports", params={"filter[assignee]": "none,me"}, headers=bot)
        nobody = await anonymous.get("/api/v1/reports", params={"assignee": "none"}, headers=bot)
    expected = "“me” needs a signed-in person; an organization token is not one."
    assert (native.status_code, native.json()["error"]) == (400, "VALIDATION_ERROR"), native.text
    assert native.json()["details"] == [{"field": "assignee", "message": expected}]
    assert document.status_code == 400, document.text
    assert document.json()["details"] == [{"field": "filter[assignee]", "message": expected}]
    assert among_others.json()["details"] == document.json()["details"]
    assert nobody.status_code == 200, nobody.text
    assert nobody.json()["data"]["total"] == 1


async def test_a_comment_made_with_an_api_token_names_the_token(tenants: TenantFactory, anonymous: ApiClient) -> None:
    """An integration's comment is no person's: it names the token it was made with, in both modes."""
    async with tenants.create() as tenant:
        project = await _project(tenant)
        created = await anonymous.post(
            "/api/v1/reports", json=BUGSPARK_EXAMPLE, headers={"X-API-Key": project["apiKey"]}
        )
        report_id = created.json()["data"]["id"]
        token = await tenant.create_token("CI bot")
        bot = {"Authorization": f"Bearer {token['token']}"}
        path = f"/api/v1/reports/{report_id}/comments"
        by_bot = await anonymous.post(path, json={"text": "Fixed in build 812"}, headers=bot)
        by_owner = await tenant.client.post(path, json={"text": "Thanks"})
        document = await tenant.client.get(path, params={"include": "author"})
    assert by_bot.status_code == 201, by_bot.text
    assert (by_bot.json()["data"]["authorId"], by_bot.json()["data"]["authorTokenId"]) == (None, token["id"])
    assert (by_owner.json()["data"]["authorId"], by_owner.json()["data"]["authorTokenId"]) == (tenant.user_id, None)
    relationships = [resource["relationships"] for resource in document.json()["data"]]
    assert [related["authorToken"]["data"] for related in relationships] == [{"type": "token", "id": token["id"]}, None]
    assert [related["author"]["data"] for related in relationships] == [None, {"type": "user", "id": tenant.user_id}]


async def test_bugherds_comment_body(tenants: TenantFactory, anonymous: ApiClient) -> None:
    async with tenants.create() as tenant:
        _shop, report_url = await _sent_report(tenant, anonymous)
        url = f"{report_url}/comments"
        bugherd = await tenant.client.post(url, json={"comment": {"text": "comment here", "user_id": tenant.user_id}})
        ours = await tenant.client.post(url, json={"text": "and ours"})
        empty = await tenant.client.post(url, json={"comment": {"text": ""}})
        nothing = await tenant.client.post(url, json={}, headers={"Accept-Language": "de"})
        # BugHerd's number for a person is none of ours (a UUID): refused, not dropped.
        numbered = await tenant.client.post(url, json={"comment": {"text": "comment here", "user_id": 123}})
        listed = (await tenant.client.get(url)).json()["data"]
    assert (bugherd.status_code, ours.status_code) == (201, 201), bugherd.text
    assert [comment["text"] for comment in listed] == ["comment here", "and ours"]
    assert empty.status_code == 400
    assert empty.json()["details"][0]["field"] == "comment.text"
    assert nothing.json()["details"] == [{"field": "text", "message": "Dieses Feld ist erforderlich."}]
    assert numbered.status_code == 400
    assert [detail["field"] for detail in numbered.json()["details"]] == ["comment.user_id"]


async def test_a_comment_is_by_the_person_its_body_names_when_the_caller_acts_for_the_organization(
    tenants: TenantFactory, anonymous: ApiClient, app: Any
) -> None:
    """BugHerd's `{"comment": {"text", "email"}}` was the caller's comment whoever it named. Now an organization
    token, an owner or an admin writes it for a person who sees the report; a member or a guest only for
    themselves (403 for anyone else); and an address of no one who sees it is one 400, whether it is nobody's,
    another organization's or a guest's who does not see the report."""
    async with (
        tenants.create() as tenant,
        tenants.create("Other") as other,
        member_of(tenant, app) as member,
        member_of(tenant, app, "guest") as guest,
    ):
        shop = await tenant.create_project("Shop", trackingPrefix="SHP", guestsSeeGuests=True)
        blog = await tenant.create_project("Blog", trackingPrefix="BLG")
        mia = (await member.get("/api/v1/auth/me")).json()["data"]["user"]
        gus = (await guest.get("/api/v1/auth/me")).json()["data"]["user"]
        added = await tenant.client.post(f"/api/v1/projects/{shop['id']}/members", json={"userId": gus["id"]})
        assert added.status_code in {200, 201}, added.text
        hook = await tenant.client.post(
            "/api/v1/webhooks", json={"url": "https://hooks.example.com/lantern", "events": ["comment.created"]}
        )
        assert hook.status_code == 201, hook.text
        in_shop = f"/api/v1/reports/{(await report(tenant.client, shop['apiKey'], 'Checkout fails'))['id']}/comments"
        in_blog = f"/api/v1/reports/{(await report(tenant.client, blog['apiKey'], 'Feed is empty'))['id']}/comments"
        token = await tenant.create_token("BugHerd sync")
        bot = {"Authorization": f"Bearer {token['token']}"}

        async def by_bot(url: str, **comment: str) -> httpx.Response:
            return await anonymous.post(url, json={"comment": {"text": "Synced", **comment}}, headers=bot)

        for_mia = await by_bot(in_shop, email=mia["email"].upper())
        for_gus = await by_bot(in_shop, user_id=gus["id"])
        by_owner = await tenant.client.post(in_blog, json={"text": "For Mia", "userId": mia["id"]})
        by_mia = await member.post(in_blog, json={"comment": {"text": "Mine", "email": mia["email"]}})
        unknown = [
            await by_bot(in_shop, email="nobody-at-all@example.com"),
            await by_bot(in_shop, email=other.email),  # an account, of another organization
            await by_bot(in_blog, email=gus["email"]),  # a guest who does not see this report
        ]
        foreign_id = await by_bot(in_shop, user_id=other.user_id)
        internal = {"comment": {"text": "Team only", "user_id": gus["id"]}, "internal": True}
        guests_note = await anonymous.post(in_shop, json=internal, headers=bot)  # a guest writes no internal note
        for_someone_else = [
            await member.post(in_blog, json={"comment": {"text": "As the owner", "email": tenant.email}}),
            await guest.post(in_shop, json={"text": "As Mia", "userId": mia["id"]}),
        ]
        listed = (await tenant.client.get(in_shop)).json()["data"] + (await tenant.client.get(in_blog)).json()["data"]
        deliveries = (await tenant.client.get(f"/api/v1/webhooks/{hook.json()['data']['id']}/deliveries")).json()
    assert [answer.status_code for answer in (for_mia, for_gus, by_owner, by_mia)] == [201] * 4, for_mia.text
    assert [(comment["authorId"], comment["authorTokenId"]) for comment in listed] == [
        (mia["id"], token["id"]),  # the token made it, for Mia: both are kept, as on a change
        (gus["id"], token["id"]),
        (mia["id"], None),
        (mia["id"], None),
    ]
    told = sorted(
        (delivery["payload"]["data"]["comment"]["text"], delivery["payload"]["data"]["comment"]["authorId"])
        for delivery in deliveries["data"]
    )
    assert told == sorted([("Synced", mia["id"]), ("Synced", gus["id"]), ("For Mia", mia["id"]), ("Mine", mia["id"])])
    no_one = {"field": "comment.email", "message": "No one who can see this report has this e-mail address."}
    assert [(answer.status_code, answer.json()["details"]) for answer in unknown] == [(400, [no_one])] * 3
    assert foreign_id.status_code == 400
    assert foreign_id.json()["details"] == [
        {"field": "comment.user_id", "message": "No one who can see this report has this ID."}
    ]
    assert [answer.status_code for answer in for_someone_else] == [403, 403]
    assert guests_note.status_code == 403
    assert [answer.json()["details"][0]["field"] for answer in for_someone_else] == ["comment.email", "userId"]


async def test_bugherds_task_changes(tenants: TenantFactory, anonymous: ApiClient) -> None:
    """BugHerd's own update examples, with Lantern's ids for people."""
    async with tenants.create() as tenant:
        project, url = await _sent_report(tenant, anonymous)
        await tenant.client.post(f"/api/v1/projects/{project['id']}/columns", json={"name": "testing"})
        seen = []
        for task in (
            {"priority": "critical", "status": "backlog", "assigned_to_id": tenant.user_id},
            {"status": "todo", "updater_email": "someone@example.com", "tag_names": ["ui", "feature"]},
            {"assigned_to_id": None},
            {"status": "testing", "priority": "normal"},
            {"status": "feedback"},
        ):
            answer = await tenant.client.patch(url, json={"task": task})
            assert answer.status_code == 200, answer.text
            data = answer.json()["data"]
            seen.append((data["status"], data["priority"], data["assigneeId"], data["tags"]))
    assert seen == [
        ("backlog", "highest", tenant.user_id, []),
        ("todo", "highest", tenant.user_id, ["feature", "ui"]),
        ("todo", "highest", None, ["feature", "ui"]),
        ("testing", "medium", None, ["feature", "ui"]),
        ("new", "medium", None, ["feature", "ui"]),
    ]


async def test_bugherds_task_filters_external_id_and_assigned_to_id(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    """A sync client finds the report it linked by its own id, and the reports of a person, by BugHerd's names
    (they were ignored, and the whole organization listed)."""
    async with tenants.create() as tenant:
        project, linked = await _sent_report(tenant, anonymous)
        await anonymous.post("/api/v1/reports", json=BUGSPARK_EXAMPLE, headers={"X-API-Key": project["apiKey"]})
        changed = await tenant.client.patch(linked, json={"externalId": "JIRA-77", "assigneeId": tenant.user_id})
        assert changed.status_code == 200, changed.text
        report_id = changed.json()["data"]["id"]
        for params in ({"external_id": "JIRA-77"}, {"assigned_to_id": tenant.user_id}):
            listed = (await tenant.client.get("/api/v1/reports", params=params)).json()["data"]
            assert ([item["id"] for item in listed["items"]], listed["total"]) == ([report_id], 1), params
        found = await tenant.client.get("/api/v1/reports", params={"filter[externalId]": "JIRA-77,JIRA-78"})
        assert [item["id"] for item in found.json()["data"]] == [report_id]
        missing = (await tenant.client.get("/api/v1/reports", params={"external_id": "JIRA-78"})).json()["data"]
        assert missing["total"] == 0


@pytest.mark.postgres
async def test_text_with_a_nul_character_is_a_400_on_postgresql(tenants: TenantFactory, anonymous: ApiClient) -> None:
    """PostgreSQL stores no NUL in text or JSON: a report, a project and a form that carry one are refused as
    the client's mistake (they were 500s and 503s), and the reports sent with it are kept. A search drops it,
    as no stored text holds one."""
    async with tenants.create() as tenant:
        project = await _project(tenant)
        key = {"X-API-Key": project["apiKey"]}
        fine = anonymous.post("/api/v1/reports", json=BUGSPARK_EXAMPLE, headers=key)
        nul = anonymous.post("/api/v1/reports", json={"title": "Nul\u0000", "metadata": {"a": "\u0000"}}, headers=key)
        sent, refused_report = await asyncio.gather(fine, nul)
        assert refused_report.status_code == 400, refused_report.text
        assert refused_report.json()["message"] == "Text cannot contain the NUL character (\\u0000)."
        searched = await tenant.client.get("/api/v1/reports", params={"search": "a\u0000b"})
        assert searched.status_code == 200, searched.text
        # A name is one line of text: another control character is refused with the name's own reason.
        named = await tenant.client.post("/api/v1/projects", json={"name": "A\u0007B"})
        assert named.status_code == 400, named.text
        assert named.json()["details"] == [{"field": "name", "message": "Must be one line of text, not blank."}]
        page = await tenant.client.post("/ui/projects", data={"name": "A\u0000B"})
        assert page.status_code == 400
        assert sent.status_code == 201, sent.text


async def test_json_text_with_a_nul_character_is_refused_on_every_database_naming_where(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    """SQLite stored a NUL that PostgreSQL refuses: the same body was a report on one and a 400 on the other."""
    nul = "\u0000"
    async with tenants.create() as tenant:
        project = await _project(tenant)
        key = {"X-API-Key": project["apiKey"]}
        report = await anonymous.post("/api/v1/reports", json={**BUGSPARK_EXAMPLE, "title": f"Nul{nul}"}, headers=key)
        metadata = await anonymous.post(
            "/api/v1/reports", json={**BUGSPARK_EXAMPLE, "metadata": {"cart": [{f"k{nul}": 1}]}}, headers=key
        )
        logged = await anonymous.post(
            "/api/v1/reports", json={**BUGSPARK_EXAMPLE, "console_logs": [{"msg": "ok"}, {"msg": nul}]}, headers=key
        )
        widget = await anonymous.post(
            "/api/v1/widget/submit",
            data={"data": json.dumps({**BUGPIN_EXAMPLE, "description": f"a{nul}b"})},
            files={"media": ("shot.png", png(), "image/png")},
            headers=key,
        )
        sent = await anonymous.post("/api/v1/reports", json=BUGSPARK_EXAMPLE, headers=key)
        comment = await tenant.client.post(
            f"/api/v1/reports/{sent.json()['data']['id']}/comments", json={"text": f"a{nul}"}
        )
        escaped = await anonymous.post(  # a backslash and "u0000" are text like any other
            "/api/v1/reports", json={**BUGSPARK_EXAMPLE, "title": "The API sends \\u0000 in names"}, headers=key
        )
        total = (await tenant.client.get("/api/v1/reports")).json()["data"]["total"]
    assert escaped.status_code == 201, escaped.text
    assert total == 2  # the fine ones
    message = "Text cannot contain the NUL character (\\u0000)."
    # An index in brackets, as every other refusal names one (this one said `metadata.cart.0`).
    refusals = [(report, "title"), (metadata, "metadata.cart[0]"), (logged, "console_logs[1].msg")]
    for answer, field in (*refusals, (widget, "description"), (comment, "text")):
        assert answer.status_code == 400, answer.text
        assert answer.json()["details"] == [{"field": field, "message": message}]


async def test_the_lists_status_filter_offers_the_custom_columns_of_the_projects_shown(tenants: TenantFactory) -> None:
    """With no project chosen, the list's Status filter offered the six default columns only, and an address
    that filtered by a custom one showed "All"."""
    async with tenants.create() as tenant, tenants.create("Other") as other:
        shop, blog = await _project(tenant), await _project(tenant, "Blog", "BLG")
        for project, name in ((shop, "Vendor"), (blog, "Vendor"), (blog, "Legal")):
            added = await tenant.client.post(f"/api/v1/projects/{project['id']}/columns", json={"name": name})
            assert added.status_code == 201, added.text
        foreign = await _project(other, "Foreign", "FRN")
        await other.client.post(f"/api/v1/projects/{foreign['id']}/columns", json={"name": "Secret column"})
        every = (await tenant.client.get("/ui/reports")).text
        chosen = (await tenant.client.get("/ui/reports", params={"project": shop["id"]})).text
        named = (await tenant.client.get("/ui/reports", params={"status": "legal"})).text
        refused = await tenant.client.get("/ui/reports", params={"status": "Secret column"})
    assert every.count('<option value="Vendor"') == 1
    assert '<option value="Legal"' in every
    assert "Secret column" not in every
    assert '<option value="Vendor"' in chosen
    assert '<option value="Legal"' not in chosen
    assert '<option value="Legal"' in named  # a column's name in any case is taken, as the API takes it
    # Another organization's column is none of these, and is not listed: the list is shown without it, saying so.
    assert refused.status_code == 200, refused.text
    assert "The list is shown without what the address asked for and it cannot apply: Status." in refused.text
    assert "Secret column" not in refused.text


async def test_a_reports_page_shows_annotations_only_when_marks_were_drawn(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    """The widget sends its list of marks even when none was drawn: the page said "0 marks were drawn"."""
    async with tenants.create() as tenant:
        project = await _project(tenant)
        pages = []
        for shapes in ([], [{"tool": "pen", "color": "#ff0000", "points": [{"x": 0.1, "y": 0.1}]}]):
            body = {**BUGPIN_EXAMPLE, "annotations": {"version": 1, "width": 10, "height": 10, "shapes": shapes}}
            sent = await anonymous.post("/api/v1/widget/submit", json=body, headers={"X-API-Key": project["apiKey"]})
            assert sent.status_code == 201, sent.text
            pages.append((await tenant.client.get(f"/ui/reports/{sent.json()['reportId']}")).text)
    unmarked, marked = pages
    assert "Annotations" not in unmarked
    assert "1 mark was drawn on the screenshot." in marked


async def test_an_internal_note_is_the_teams_and_no_guest_reads_it(
    tenants: TenantFactory, anonymous: ApiClient, app: Any
) -> None:
    """Guests (clients) read a report's comments: a note for the team alone is marked internal, and no list,
    JSON:API document or page shows it to a guest, who cannot write one either."""
    async with tenants.create() as tenant, member_of(tenant, app, "guest") as guest:
        project = await tenant.create_project("Shop", trackingPrefix="SHP", guestsSeeGuests=True)
        guest_id = (await guest.get("/api/v1/auth/me")).json()["data"]["user"]["id"]
        added = await tenant.client.post(f"/api/v1/projects/{project['id']}/members", json={"userId": guest_id})
        assert added.status_code in {200, 201}, added.text
        sent = await anonymous.post(
            "/api/v1/widget/submit", json=BUGPIN_EXAMPLE, headers={"X-API-Key": project["apiKey"]}
        )
        comments = f"/api/v1/reports/{sent.json()['reportId']}/comments"
        note = await tenant.client.post(comments, json={"text": "Do not promise a date.", "internal": True})
        said = await tenant.client.post(comments, json={"text": "We are on it."})
        refused = await guest.post(comments, json={"text": "Psst", "internal": True})
        team_reads = (await tenant.client.get(comments)).json()["data"]
        guest_reads = (await guest.get(comments)).json()["data"]
        included = (
            await guest.get(
                comments.removesuffix("/comments"), params={"include": "comments"}, headers={"Accept": JSONAPI}
            )
        ).json()["included"]
        page = (await guest.get(f"/ui/reports/{sent.json()['reportId']}")).text
        team_page = (await tenant.client.get(f"/ui/reports/{sent.json()['reportId']}")).text
    assert (note.status_code, note.json()["data"]["internal"], said.json()["data"]["internal"]) == (201, True, False)
    assert refused.status_code == 403
    assert [(item["text"], item["internal"]) for item in team_reads] == [
        ("Do not promise a date.", True),
        ("We are on it.", False),
    ]
    assert [item["text"] for item in guest_reads] == ["We are on it."]
    assert [item["attributes"]["text"] for item in included if item["type"] == "comment"] == ["We are on it."]
    assert "Do not promise a date." not in page
    assert "We are on it." in page
    assert "Internal note: guests do not see it" not in page
    assert "Do not promise a date." in team_page


@pytest.mark.parametrize(
    ("query", "label"),
    [
        ("severity=bogus", "Severity"),
        ("project=nope", "Project"),
        ("status=Blokced", "Status"),
        ("after=not-a-cursor", "Page"),
        ("severity=bogus&status=Blokced&priority=high", "Severity and Status"),
    ],
)
async def test_the_lists_page_leaves_out_a_filter_it_cannot_apply_and_says_so(
    tenants: TenantFactory, anonymous: ApiClient, query: str, label: str
) -> None:
    """An unknown value filtered nothing: the page showed every report under a filter that seemed set. It was then
    a bare 400 page, where a bookmark to a column since deleted led. The page now shows the list without what it
    cannot apply, its filter back at "All", and says what it left out; the export, a file with no room to say
    so, is refused."""
    async with tenants.create() as tenant:
        project = await _project(tenant)
        for title, severity in (("Checkout fails", "high"), ("Typo on the About page", "low")):
            body = {"title": title, "severity": severity, "priority": "high"}
            assert (
                await anonymous.post("/api/v1/reports", json=body, headers={"X-API-Key": project["apiKey"]})
            ).status_code == 201
        page = await tenant.client.get(f"/ui/reports?{query}")
        export = await tenant.client.get(f"/ui/reports.csv?{query}")
    assert page.status_code == 200, page.text
    assert f"The list is shown without what the address asked for and it cannot apply: {label}." in page.text
    assert "Checkout fails" in page.text
    assert "Typo on the About page" in page.text
    assert 'value="bogus"' not in page.text  # back at "All"
    assert 'value="Blokced"' not in page.text
    assert export.status_code == (200 if query.startswith("after=") else 400), export.text  # the file has no pages


async def test_a_query_parameter_sent_twice_is_refused_naming_it(tenants: TenantFactory) -> None:
    """`status=new&status=doing` (what `requests` makes of a list) listed the reports of the last status alone, and
    `status=doing&status=new` those of the other: one value was dropped without a word, in both modes. Each is a 400
    naming the parameter as sent; a JSON:API filter sent again adds to its values, as a comma does."""
    async with tenants.create() as tenant:
        project = await _project(tenant)
        listed = {
            query: await tenant.client.get(f"/api/v1/reports?{query}", headers={"Accept-Language": "de"})
            for query in (
                "status=new&status=doing",
                f"projectId={project['id']}&projectId={project['id']}",
                "page_size=2&page_size=50",
                "sort=severity&sort=-createdAt",
                "page[limit]=2&page[limit]=50",
                "include=project&include=assignee",
            )
        }
        union = await tenant.client.get("/api/v1/reports?filter[severity]=critical&filter[severity]=high")
    fields = {query: [detail["field"] for detail in answer.json()["details"]] for query, answer in listed.items()}
    assert fields == {
        "status=new&status=doing": ["status"],
        f"projectId={project['id']}&projectId={project['id']}": ["projectId"],
        "page_size=2&page_size=50": ["page_size"],
        "sort=severity&sort=-createdAt": ["sort"],
        "page[limit]=2&page[limit]=50": ["page[limit]"],
        "include=project&include=assignee": ["include"],
    }
    assert {answer.status_code for answer in listed.values()} == {400}
    assert listed["status=new&status=doing"].json()["details"][0]["message"] == (
        "Dieser Parameter nimmt nur einen Wert an: Senden Sie ihn nur einmal."
    )
    assert union.status_code == 200, union.text
