"""The job dashboard in the admin UI: the queue, each kind of work with its hourly chart, the window; the
instance's operators also see every organization; members are turned away."""

from __future__ import annotations

import asyncio
import io
import itertools
import re
import secrets
from typing import Any

from PIL import Image
from playwright.async_api import Page, expect

from app.seed import create_admin
from tests.support.admin_ui import invite, log_in, read
from tests.support.clients import PASSWORD, Tenant, TenantFactory

SETTLE_SECONDS = 60.0


async def report_with_screenshot(tenant: Tenant, api_key: str) -> None:
    image = io.BytesIO()
    Image.new("RGB", (32, 24), "teal").save(image, "PNG")
    headers = {"X-API-Key": api_key}
    upload = await tenant.client.post(
        "/api/v1/upload/screenshot", files={"file": ("shot.png", image.getvalue())}, headers=headers
    )
    assert upload.status_code == 201, upload.text
    body = {"title": "The cart is empty", "screenshot_url": upload.json()["key"]}
    created = await tenant.client.post("/api/v1/reports", json=body, headers=headers)
    assert created.status_code == 201, created.text


async def settled(tenant: Tenant) -> dict[str, Any]:
    """The API's dashboard once the worker has finished the organization's work."""
    for _ in range(int(SETTLE_SECONDS / 0.1)):
        overview: dict[str, Any] = await read(tenant, "/api/v1/jobs")
        if not any(kind["pending"] for kind in overview["kinds"]):
            return overview
        await asyncio.sleep(0.1)
    msg = "the worker did not finish the organization's work"
    raise AssertionError(msg)


async def test_a_manager_sees_the_work_done_per_hour_and_picks_the_window(
    tenants: TenantFactory, worker: Any, page: Page, app: Any
) -> None:
    async with tenants.create("Busy") as tenant:
        project = await tenant.create_project("Shop")
        await report_with_screenshot(tenant, project["apiKey"])
        await settled(tenant)
        member, _user_id = await invite(tenant, app, "member")
        await log_in(page, tenant.email, path="/ui/jobs")

        await expect(page.get_by_role("heading", name="Jobs", exact=True)).to_be_visible()
        screenshots = page.get_by_role("region", name="Screenshots")
        await expect(screenshots.get_by_role("definition").nth(1)).to_have_text("1")  # Done
        chart = screenshots.get_by_role("img")
        await expect(chart).to_have_attribute("aria-label", "Screenshots per hour, at most 1 in one hour")
        await expect(chart.locator("title").filter(has_text=re.compile(r": 1 done, 0 failed$"))).to_have_count(1)
        # Its y-axis says how many jobs a bar is: named, and counted up to the busiest hour's (it had no scale).
        await expect(chart.locator(".axis-name")).to_have_text("Jobs per hour")
        await expect(chart.locator(".scale text")).to_have_text(["0", "1"])
        figures = screenshots.get_by_text("The figures hour by hour")  # the bars' numbers, from the keyboard
        await expect(figures).to_have_attribute("aria-label", "Screenshots: the figures hour by hour")
        await figures.focus()
        await page.keyboard.press("Enter")
        rows = screenshots.get_by_role("table").get_by_role("row")
        await expect(rows).to_have_count(2)  # its heading, and the one hour with work done
        await expect(rows.nth(1).get_by_role("cell")).to_have_text([re.compile(r"\d:\d\d"), "1", "0"])
        await expect(page.get_by_label("Organizations")).to_have_count(0)  # not an operator

        await page.get_by_label("Window").select_option("6")  # submitted by ui.js
        await expect(page).to_have_url(re.compile(r"hours=6"))
        await expect(screenshots.locator("svg title")).to_have_count(7)  # six hours back, and this one

        await page.get_by_role("button", name="Log out").click()
        await log_in(page, member, path="/ui/reports")
        refused = await page.goto("/ui/jobs")
    assert refused is not None
    assert refused.status == 403


async def test_an_operator_sees_every_organization_by_name(tenants: TenantFactory, page: Page) -> None:
    name = f"Busy {secrets.token_hex(3)}"  # other tests' organizations share the instance
    async with tenants.create(name) as busy:
        project = await busy.create_project("Shop")
        await report_with_screenshot(busy, project["apiKey"])  # no worker: it stays pending
        email = f"operator-{secrets.token_hex(4)}@example.com"
        await create_admin(email=email, password=PASSWORD, organization_name="Operations", name="Ops", operator=True)
        await log_in(page, email, path="/ui/jobs")
        await page.get_by_label("Organizations").select_option("instance")
        await expect(page.get_by_role("heading", name="Jobs of every organization")).to_be_visible()
        busiest = page.get_by_role("region", name="Busiest organizations")
        await expect(busiest.get_by_role("row").filter(has_text=name)).to_be_visible()


async def test_queued_jobs_are_named_in_the_readers_words(tenants: TenantFactory, page: Page) -> None:
    """No worker runs: a webhook's test delivery waits in the queue, named as people say it, in German."""
    async with tenants.create() as tenant:
        body = {"url": "https://hooks.example.com/lantern", "events": ["report.created"]}
        webhook = await tenant.client.post("/api/v1/webhooks", json=body)
        assert webhook.status_code == 201, webhook.text
        ping = await tenant.client.post(f"/api/v1/webhooks/{webhook.json()['data']['id']}/ping")
        assert ping.status_code == 201, ping.text
        await log_in(page, tenant.email, path="/ui/jobs")
        await page.goto("/ui/jobs?lang=de")
        row = page.get_by_role("row", name=re.compile("deliver_webhook"))
        await expect(row).to_contain_text("Webhook-Zustellungen")
        chart = page.get_by_role("region", name="Webhook-Zustellungen").get_by_role("img")
        await expect(chart.locator(".axis-name")).to_have_text("Jobs pro Stunde")
        await expect(chart.locator(".scale text")).to_have_text(["0", "1"])


# Each of a chart's words and numbers as the screen shows them: its font's size times the SVG's scale (a chart
# drawn in a viewBox shrinks with its card, text and all), its box's height, and its box.
RENDERED_TEXT = """(chart) => [...chart.querySelectorAll("text, .axis-name")].map((label) => {
  const scale = label instanceof SVGGraphicsElement ? label.getScreenCTM().a : 1;
  const box = label.getBoundingClientRect();
  return {text: label.textContent, size: parseFloat(getComputedStyle(label).fontSize) * scale,
          height: box.height, left: box.left, right: box.right, tick: label.matches(".tick")};
})"""


async def test_a_charts_words_and_numbers_are_readable_on_a_phone_and_a_desktop(
    tenants: TenantFactory, page: Page
) -> None:
    """The chart's hours and counts were drawn 10 units high in an SVG that shrinks to fit its card: 6 px on a
    phone, 7 px on a desktop, where the cards stand three abreast. They keep a readable size at any width, and the
    hours or days under the bars neither overlap nor run out of the chart."""
    async with tenants.create() as tenant:
        await log_in(page, tenant.email, path="/ui/jobs")
        for width in (390, 1280):
            await page.set_viewport_size({"width": width, "height": 800})
            for hours in (6, 168):  # hours named under the bars, and days
                await page.goto(f"/ui/jobs?hours={hours}&lang=de")  # German days are long: "28. Dez."
                chart = page.get_by_role("region", name="Screenshots").get_by_role("img")
                bounds = await chart.evaluate("(chart) => chart.getBoundingClientRect().toJSON()")
                labels = await chart.evaluate(RENDERED_TEXT)
                assert len(labels) >= 5, labels  # the axis's name, two counts at least, two ticks at least
                for label in labels:
                    assert label["size"] >= 11, (width, hours, label)
                    assert label["height"] >= 11, (width, hours, label)
                ticks = [label for label in labels if label["tick"]]
                assert len(ticks) >= 2, (width, hours, labels)
                assert ticks[0]["left"] >= bounds["left"], (width, hours, ticks)
                assert ticks[-1]["right"] <= bounds["right"], (width, hours, ticks)
                for before, after in itertools.pairwise(ticks):
                    assert before["right"] < after["left"], (width, hours, ticks)
