"""The embeddable widget end to end: a customer's page on its own origin loads /widget.js from Lantern, a
visitor reports a bug with a marked-up screenshot, and the report arrives with the page's context, in the
API and in the admin UI."""

from __future__ import annotations

import asyncio
import io
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from PIL import Image
from playwright.async_api import Browser, FloatRect, Locator, Page, Route, ViewportSize, expect

from tests.support.admin_ui import log_in
from tests.support.clients import Tenant, TenantFactory
from tests.support.screenshots import processed, read_report
from tests.support.server import granian_server
from tests.support.site import Site
from tests.support.worker import PATIENT_NUMBERING

HEADER_GREEN = (0, 170, 119)
BOX_RED = (225, 29, 72)  # the annotator's first color, #e11d48


def checkout_page(lantern: str, api_key: str, lang: str | None = None, copies: int = 1) -> str:
    """A shop's checkout whose payment fails: a 404 from its API, then an error in the console."""
    lang_attribute = f' data-lang="{lang}"' if lang else ""
    script = f'<script src="{lantern}/widget.js" data-api-key="{api_key}"{lang_attribute} defer></script>\n'

    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Checkout - Example Store</title></head>
<body style="margin:0;font-family:sans-serif;background:#fff">
  <h1 style="margin:0;height:160px;background:rgb{HEADER_GREEN};color:#fff">Checkout</h1>
  <button id="pay" style="margin:24px;font-size:20px">Pay now</button>
  <script>
    document.getElementById("pay").addEventListener("click", async () => {{
      const answer = await fetch("/api/cart/checkout");
      console.error("Payment failed with " + answer.status);
      document.body.dataset.paid = "failed";
    }});
  </script>
  {script * copies}</body></html>"""


async def project_for(tenant: Tenant, site: Site) -> dict[str, Any]:
    return await tenant.create_project("Example Store", allowedOrigins=[site.origin])


async def open_dialog(
    page: Page, tenant: Tenant, site: Site, live_server: str, name: str = "Report a bug"
) -> tuple[dict[str, Any], Locator]:
    """`tenant`'s project on `site`, and its report dialog opened on the site's checkout page (its button's `name`
    in the visitor's language)."""
    project = await project_for(tenant, site)
    site.pages["/checkout"] = checkout_page(live_server, project["apiKey"])
    await page.goto(site.url("/checkout"))
    await page.get_by_role("button", name=name).click()
    return project, page.get_by_role("dialog", name=name)


async def dialog_with_features(
    page: Page, tenant: Tenant, site: Site, live_server: str, features: dict[str, bool]
) -> tuple[dict[str, Any], Locator]:
    """`tenant`'s project on `site` with the widget's `features` as given, and its dialog opened on the checkout
    page."""
    project = await project_for(tenant, site)
    changed = await tenant.client.patch(
        f"/api/v1/projects/{project['id']}", json={"widgetConfig": {"features": features}}
    )
    assert changed.status_code == 200, changed.text
    site.pages["/checkout"] = checkout_page(live_server, project["apiKey"])
    return project, await opened_dialog(page, site.url("/checkout"))


async def the_only_report(tenant: Tenant, project_id: str) -> dict[str, Any]:
    listed = await tenant.client.get(f"/api/v1/reports?projectId={project_id}")
    assert listed.status_code == 200, listed.text
    reports = listed.json()["data"]["items"]
    assert len(reports) == 1, reports
    return await read_report(tenant, reports[0]["id"])


async def draw_box(page: Page) -> None:
    """A box from a quarter to three quarters of the screenshot, with the Box tool."""
    await page.get_by_role("button", name="Box").click()
    await drag_across(page)


async def drag_across(page: Page) -> None:
    """The pointer dragged from a quarter to three quarters of the screenshot."""
    canvas = page.locator("canvas")
    box = await canvas.bounding_box()
    assert box is not None
    await page.mouse.move(box["x"] + box["width"] * 0.25, box["y"] + box["height"] * 0.25)
    await page.mouse.down()
    await page.mouse.move(box["x"] + box["width"] * 0.75, box["y"] + box["height"] * 0.75, steps=5)
    await page.mouse.up()


async def send_from_dialog(page: Page, title: str) -> None:
    """Give the open report dialog a title and send it: the visitor is thanked."""
    dialog = page.get_by_role("dialog", name="Report a bug")
    await dialog.get_by_label("Title").fill(title)
    await dialog.get_by_role("button", name="Send report").click()
    await expect(dialog.get_by_role("status")).to_contain_text("Thank you! Your report was sent")


async def sent_screenshot(tenant: Tenant, project_id: str) -> Image.Image:
    """The screenshot of the project's only report, once the worker has processed it."""
    report = await the_only_report(tenant, project_id)
    shot = await processed(tenant, report["id"])
    return Image.open(io.BytesIO((await tenant.client.get(shot["url"])).content))


async def screenshot_of_scrolled(
    page: Page, tenants: TenantFactory, live_server: str, made: Callable[[str, str], str], scrolled: str
) -> Image.Image:
    """The screenshot a report sends from the page `made` serves, once the page has scrolled (`scrolled`, a
    condition in JavaScript)."""
    async with tenants.create() as tenant:
        with Site({}) as site:
            project = await project_for(tenant, site)
            site.pages["/"] = made(live_server, project["apiKey"])
            await page.goto(site.url("/"))
            await page.wait_for_function(scrolled)
            # Right after the click the widget draws the page on the page's one thread, for seconds on a long
            # page: Playwright's check that the click landed would wait on that thread and time out.
            await page.get_by_role("button", name="Report a bug").click(no_wait_after=True)
            # Drawing a long page takes seconds, more on a busy machine: the dialog is waited for that long.
            await expect(page.get_by_role("dialog", name="Report a bug")).to_be_visible(timeout=60_000)
            await send_from_dialog(page, "The page is wrong down here")
        return await sent_screenshot(tenant, project["id"])


async def opened_dialog(page: Page, url: str) -> Locator:
    """The widget's dialog on the page at `url`, opened by its button."""
    await page.goto(url)
    await page.get_by_role("button", name="Report a bug").click()
    return page.get_by_role("dialog", name="Report a bug")


def has_color(image: Image.Image, color: tuple[int, int, int], region: tuple[int, int, int, int]) -> bool:
    pixels = image.convert("RGB").crop(region).get_flattened_data()
    return any(all(abs(a - b) <= 12 for a, b in zip(pixel, color, strict=True)) for pixel in pixels)


def logged_the_pages_failed_calls_alone(logged: list[dict[str, Any]], images_origin: str, shared_host: str) -> None:
    """The checkout's failed call and its call to Lantern's host are logged; the screenshot's image from
    `images_origin` and the widget's own calls are not."""
    failed = [entry for entry in logged if entry["url"].endswith("/api/cart/checkout")]
    assert [(entry["method"], entry["status"]) for entry in failed] == [("GET", 404)]
    assert [entry["url"] for entry in logged if entry["url"].startswith(images_origin)] == []
    assert [entry["method"] for entry in logged if entry["url"] == shared_host] == ["POST"]
    assert not [entry for entry in logged if "/api/v1/widget/" in entry["url"]]


async def test_a_visitor_reports_a_bug_with_a_marked_screenshot_and_the_pages_context(
    tenants: TenantFactory, worker: Any, page: Page, live_server: str
) -> None:
    async with tenants.create() as tenant, tenants.create("Other") as other:
        await other.create_project("Other shop")
        with Site({}) as site, Site({}) as images:
            project = await project_for(tenant, site)
            # A logo from another origin that is gone: the screenshot asks for it too, which is no failure of
            # the page's to log.
            logo = f'<img src="{images.url("/gone-logo.png")}" alt="">'
            site.pages["/checkout"] = checkout_page(live_server, project["apiKey"]).replace("<button", logo + "<button")
            await page.goto(site.url("/checkout"))
            await page.get_by_role("button", name="Pay now").click()
            await expect(page.locator("body")).to_have_attribute("data-paid", "failed")
            # A failing call of the page's to the host Lantern is on (a site behind the same proxy) is the page's:
            # only the widget's own calls are left out.
            shared_host = f"{live_server}/api/v1/orders/missing"
            await page.evaluate("url => fetch(url, {method: 'POST'}).catch(() => null)", shared_host)

            await page.get_by_role("button", name="Report a bug").click()
            dialog = page.get_by_role("dialog", name="Report a bug")
            await expect(dialog).to_be_visible()
            await draw_box(page)
            await dialog.get_by_label("Title").fill("Pay now does nothing")
            await dialog.get_by_label("Description").fill("I clicked Pay now and nothing happened.")
            await dialog.get_by_label("Priority").select_option("high")
            await dialog.get_by_label("Your e-mail (optional)").fill("visitor@example.com")
            await dialog.get_by_role("button", name="Send report").click()
            await expect(dialog.get_by_role("status")).to_contain_text("Thank you! Your report was sent")

        report = await the_only_report(tenant, project["id"])
        shot = await processed(tenant, report["id"])
        image_bytes = (await tenant.client.get(shot["url"])).content

        # The team finds it in the admin UI, with its screenshot and what the page logged.
        await log_in(page, tenant.email)
        await page.get_by_role("link", name="Pay now does nothing").click()
        await expect(page.get_by_role("heading", name="Pay now does nothing")).to_be_visible()
        await expect(page.get_by_role("img", name="Screenshot of the page")).to_be_visible()
        await expect(page.get_by_text("Payment failed with 404")).to_be_visible()
        await expect(page.get_by_text("1 mark was drawn on the screenshot.")).to_be_visible()
        assert (await other.client.get(f"/api/v1/reports/{report['id']}")).status_code == 404

    assert (report["title"], report["priority"], report["source"]) == ("Pay now does nothing", "high", "widget")
    assert report["reporterEmail"] == "visitor@example.com"
    assert report["pageUrl"] == site.url("/checkout")
    assert report["metadata"]["title"] == "Checkout - Example Store"
    assert report["metadata"]["browser"]["name"] == "Chrome"
    assert report["metadata"]["viewport"]["width"] == 1280
    assert any("Payment failed with 404" in entry["message"] for entry in report["consoleLogs"])
    logged_the_pages_failed_calls_alone(report["networkLogs"], images.origin, shared_host)
    assert any(action["type"] == "click" and action["text"] == "Pay now" for action in report["userActions"])
    [mark] = report["annotations"]["shapes"]
    assert (mark["tool"], mark["color"]) == ("box", "#e11d48")
    corners = [(point["x"], point["y"]) for point in mark["points"]]
    assert corners == [(pytest.approx(0.25, abs=0.02),) * 2, (pytest.approx(0.75, abs=0.02),) * 2]

    assert shot["status"] == "ready", shot
    image = Image.open(io.BytesIO(image_bytes))
    assert image.size == (1280, 720)  # the visible part of the page, at the page's pixel ratio of 1
    assert has_color(image, HEADER_GREEN, (0, 0, 1280, 100)), "the page itself is in the screenshot"
    assert has_color(image, BOX_RED, (300, 160, 340, 560)), "the box drawn on it is in the image sent"
    assert not has_color(image, (99, 102, 241), (1100, 620, 1280, 720)), "the widget's own button is not"


def png_of(size: tuple[int, int], color: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG")
    return buffer.getvalue()


async def test_images_a_visitor_attaches_are_the_reports_attachments_beside_its_marked_screenshot(
    tenants: TenantFactory, worker: Any, page: Page, live_server: str
) -> None:
    """An image attached in the widget became a second screenshot, without its name; the attachments stayed
    empty, and the marked-up screenshot said `annotated: false`. Left without the screenshot, an attached image
    is not taken for one."""
    cart = {"name": "cart.png", "mimeType": "image/png", "buffer": png_of((40, 30), (0, 90, 200))}
    async with tenants.create() as tenant:
        with Site({}) as site:
            features = {"screenshot": True, "annotation": True, "consoleCapture": True, "attachments": True}
            project, dialog = await dialog_with_features(page, tenant, site, live_server, features)
            await draw_box(page)
            await dialog.get_by_label("Attach images (optional)").set_input_files([cart])
            await send_from_dialog(page, "The cart shows the wrong total")
            await dialog.get_by_role("button", name="Close").first.click()
            dialog = await opened_dialog(page, site.url("/checkout"))
            await dialog.get_by_label("Include the screenshot").uncheck()
            await dialog.get_by_label("Attach images (optional)").set_input_files([cart])
            await send_from_dialog(page, "Only the cart, no screenshot")

        listed = await tenant.client.get(f"/api/v1/reports?projectId={project['id']}")
        reports = {item["title"]: item["id"] for item in listed.json()["data"]["items"]}
        marked_id, plain_id = reports["The cart shows the wrong total"], reports["Only the cart, no screenshot"]
        shot = await processed(tenant, marked_id)
        attached = (await tenant.client.get(f"/api/v1/reports/{marked_id}/attachments")).json()["data"]
        plain = await read_report(tenant, plain_id)
        plain_attached = (await tenant.client.get(f"/api/v1/reports/{plain_id}/attachments")).json()["data"]

        await log_in(page, tenant.email, path=f"/ui/reports/{marked_id}")
        await expect(page.get_by_role("img", name="Screenshot of the page")).to_have_count(1)
        await expect(page.get_by_role("link", name="cart.png")).to_be_visible()

    assert (shot["annotated"], shot["width"]) == (True, 1280)
    assert [(file["name"], file["kind"]) for file in attached] == [("cart.png", "file")]
    assert plain["screenshots"] == []
    assert [file["name"] for file in plain_attached] == ["cart.png"]


async def test_more_images_than_a_report_takes_are_refused_before_sending(
    tenants: TenantFactory, worker: Any, page: Page, live_server: str
) -> None:
    """Six images chosen were all listed, "Thank you" came, and the report held the first four: the others were
    dropped without a word. The chooser is marked where the visitor sees it (its input is hidden), and told why
    under it; chosen before the title was written, the images were not checked (the title's refusal came first)."""
    images = [
        {"name": f"step-{number}.png", "mimeType": "image/png", "buffer": png_of((20, 20), (number * 40, 0, 0))}
        for number in range(1, 7)
    ]
    async with tenants.create() as tenant:
        with Site({}) as site:
            features = {"screenshot": False, "annotation": False, "consoleCapture": True, "attachments": True}
            project, dialog = await dialog_with_features(page, tenant, site, live_server, features)
            chooser = dialog.get_by_label("Attach images (optional)")
            await chooser.set_input_files(images)  # before the title
            refusal = dialog.get_by_text("A report takes at most 4 images: choose again.")
            await expect(refusal).to_be_visible()
            await expect(chooser).to_have_attribute("aria-invalid", "true")
            await expect(chooser).to_have_accessible_description(re.compile(r"^A report takes at most 4 images"))
            outline = await dialog.locator(".choose .secondary").evaluate(
                "(button) => getComputedStyle(button).outline"
            )
            assert "rgb(185, 28, 28)" in outline, outline
            await dialog.get_by_label("Title").fill("Every step fails")
            await dialog.get_by_role("button", name="Send report").click()
            await expect(refusal).to_be_visible()
            await expect(chooser).to_be_focused()
            # An image too large, or of another type, is named before anything is sent (12 MB were uploaded, to be
            # refused with "An image can be at most 10 MB", the chooser not marked, no file named).
            large = {"name": "large.png", "mimeType": "image/png", "buffer": b"\x89PNG" + bytes(10 * 1024 * 1024)}
            await chooser.set_input_files([images[0], large])
            await expect(chooser).to_have_accessible_description(
                re.compile(r"^large\.png is larger than 10 MB: choose a smaller image\. ")
            )
            animated = {"name": "anim.gif", "mimeType": "image/gif", "buffer": b"GIF89a"}
            await chooser.set_input_files([animated])
            await expect(chooser).to_have_accessible_description(
                re.compile(r"^anim\.gif is not a PNG, JPEG or WebP image\. ")
            )
            await chooser.set_input_files(images[:4])
            await expect(chooser).not_to_have_attribute("aria-invalid", "true")
            await expect(chooser).to_have_accessible_description(", ".join(f"step-{n}.png" for n in range(1, 5)))
            await send_from_dialog(page, "Every step fails")
        report = await the_only_report(tenant, project["id"])
        attached = (await tenant.client.get(f"/api/v1/reports/{report['id']}/attachments")).json()["data"]
    assert sorted(file["name"] for file in attached) == [f"step-{number}.png" for number in range(1, 5)]


async def _site_with_widget(tenant: Tenant, site: Site, live_server: str, widget_config: dict[str, Any]) -> None:
    """The site's page `/` with the widget of a project of its own, configured so."""
    project = await project_for(tenant, site)
    changed = await tenant.client.patch(f"/api/v1/projects/{project['id']}", json={"widgetConfig": widget_config})
    assert changed.status_code == 200, changed.text
    site.pages["/"] = checkout_page(live_server, project["apiKey"])


async def test_a_light_brand_colour_is_kept_under_dark_text_and_its_focus_rings_show(
    tenants: TenantFactory, page: Page, live_server: str
) -> None:
    """A site's yellow: the launcher was yellow, but Send was darkened to olive to hold white text, and the focus
    rings, yellow on the white dialog, could not be seen. Send keeps the yellow under dark text; a ring reads on
    the dialog (at least 3:1, as WCAG asks of a focus indicator)."""
    yellow = {"primaryColor": "#ffff00", "features": {"screenshot": False}}
    async with tenants.create() as tenant:
        with Site({}) as site:
            await _site_with_widget(tenant, site, live_server, yellow)
            dialog = await opened_dialog(page, site.url("/"))
            send = dialog.get_by_role("button", name="Send report")
            background, text = await send.evaluate(BUTTON_COLORS)
            title = dialog.get_by_label("Title")
            await title.focus()
            ring = await title.evaluate("(node) => getComputedStyle(node).outlineColor")
    assert background == "rgb(255, 255, 0)"
    assert contrast_ratio(background, text) >= 4.5
    assert contrast_ratio(ring, "rgb(255, 255, 255)") >= 3


async def test_a_sent_report_stays_in_view_and_can_no_longer_be_changed(
    tenants: TenantFactory, page: Page, live_server: str
) -> None:
    """After "Thank you", the fields, the screenshot's tools and its marks stayed editable: it looked as if the
    report could still be changed. What was sent stays in view, read-only; the dialog closes as before."""
    async with tenants.create() as tenant:
        with Site({}) as site:
            _project, dialog = await open_dialog(page, tenant, site, live_server)
            await draw_box(page)
            await send_from_dialog(page, "The total is wrong")
            await expect(dialog.get_by_label("Title")).to_have_value("The total is wrong")
            await expect(dialog.get_by_label("Title")).not_to_be_editable()
            await expect(dialog.get_by_label("Description")).not_to_be_editable()
            await expect(dialog.get_by_label("Priority")).to_be_disabled()
            await expect(dialog.get_by_label("Include the screenshot")).to_be_disabled()
            await expect(dialog.get_by_role("button", name="Box")).to_be_disabled()
            await expect(dialog.locator("canvas")).not_to_have_attribute("tabindex", "0")
            await dialog.get_by_role("button", name="Close").first.click()
            await expect(dialog).to_have_count(0)


async def send_as_another_user(page: Page, dialog: Locator) -> None:
    """Marks drawn on the open dialog's screenshot, closed; then another user signs in and sends "Bo's report",
    the page's title "Signed in as Bo"."""
    await draw_box(page)
    await page.keyboard.press("Escape")
    await expect(dialog).to_have_count(0)
    await page.evaluate("document.title = 'Signed in as Bo'; Lantern.identify({ email: 'bo@example.com' })")
    await page.get_by_role("button", name="Report a bug").click()
    await expect(dialog.get_by_label("Your e-mail (optional)")).to_have_value("bo@example.com")
    await dialog.get_by_label("Title").fill("Bo's report")
    await dialog.get_by_role("button", name="Send report").click()
    await expect(dialog.get_by_role("status")).to_contain_text("Thank you! Your report was sent")


async def test_a_screenshot_left_out_shows_so_and_its_marks_and_tick_outlast_a_failed_send_and_a_close(
    tenants: TenantFactory, page: Page, live_server: str
) -> None:
    """Unticking "Include the screenshot" changed nothing on screen, and its marks were dropped at the send without
    a word; after a failed send, closing and reopening the dialog gave the text back but a new screenshot without
    the marks, ticked again. Left out, the screenshot is dimmed and takes no marks; the marked screenshot (with its
    moment) and the tick come back until the report is sent, and while the page names the same user: another
    user's report carried the marked picture of the one before (a shared device)."""
    async with tenants.create() as tenant:
        with Site({}) as site:
            project, dialog = await open_dialog(page, tenant, site, live_server)
            await draw_box(page)
            await dialog.get_by_label("Title").fill("The total is wrong")
            await page.route("**/api/v1/widget/submit**", lambda route: route.abort())
            await dialog.get_by_role("button", name="Send report").click()
            await expect(dialog.get_by_role("status")).to_contain_text("the server could not be reached")

            include, box, canvas = (
                dialog.get_by_label("Include the screenshot"),
                dialog.get_by_role("button", name="Box"),
                dialog.locator("canvas"),
            )
            await include.uncheck()
            left_out = "The screenshot and its marks will not be sent; tick the box to include them again."
            await expect(include).to_have_accessible_description(left_out)
            await expect(dialog.get_by_text(left_out)).to_be_visible()
            await expect(box).to_be_disabled()
            await expect(canvas).to_have_attribute("aria-disabled", "true")
            await expect(canvas).not_to_have_attribute("tabindex", "0")
            assert float(await canvas.evaluate("(node) => getComputedStyle(node).opacity")) < 0.5
            await drag_across(page)  # draws nothing

            await page.keyboard.press("Escape")
            await expect(dialog).to_have_count(0)
            await page.evaluate("document.title = 'Changed since'")
            await page.get_by_role("button", name="Report a bug").click()
            await expect(dialog.get_by_label("Title")).to_have_value("The total is wrong")
            await expect(include).not_to_be_checked()
            await expect(box).to_be_disabled()
            await include.check()
            await expect(box).to_be_enabled()
            await expect(canvas).not_to_have_attribute("aria-disabled", "true")
            await expect(dialog.get_by_text(left_out)).to_have_count(0)
            await page.unroute("**/api/v1/widget/submit**")
            await dialog.get_by_role("button", name="Send report").click()
            await expect(dialog.get_by_role("status")).to_contain_text("Thank you! Your report was sent")
            # Sent, nothing is kept: the next report starts afresh, its screenshot ticked.
            await page.keyboard.press("Escape")
            await page.get_by_role("button", name="Report a bug").click()
            await expect(include).to_be_checked()
            await expect(dialog.get_by_label("Title")).to_have_value("")
            # Marked, then closed; another user signs in: their report has a screenshot of its own, of their moment.
            await send_as_another_user(page, dialog)

        listed = await tenant.client.get(f"/api/v1/reports?projectId={project['id']}")
        by_title = {item["title"]: item["id"] for item in listed.json()["data"]["items"]}
        report = await read_report(tenant, by_title["The total is wrong"])
        [mark] = report["annotations"]["shapes"]  # the box drawn before the failed send; none while left out
        assert mark["tool"] == "box"
        assert report["metadata"]["title"] == "Checkout - Example Store"  # the kept screenshot's moment
        bos = await read_report(tenant, by_title["Bo's report"])
        assert not (bos["annotations"] or {}).get("shapes"), "none of the marks the user before drew"
        assert bos["metadata"]["title"] == "Signed in as Bo", "the moment Bo opened the dialog"


async def test_the_file_chooser_speaks_the_widgets_language_not_the_browsers(
    tenants: TenantFactory, page: Page, live_server: str
) -> None:
    """A file input says "Choose Files" and "No file chosen" in the browser's language: a German widget in an
    English browser showed both in English. The widget's own words stand in their place, and a click on them still
    opens the file chooser; the files chosen are named."""
    cart = {"name": "cart.png", "mimeType": "image/png", "buffer": png_of((40, 30), (0, 90, 200))}
    async with tenants.create() as tenant:
        with Site({}) as site:
            project = await project_for(tenant, site)
            features = {"screenshot": False, "attachments": True}
            changed = await tenant.client.patch(
                f"/api/v1/projects/{project['id']}", json={"widgetConfig": {"features": features}}
            )
            assert changed.status_code == 200, changed.text
            site.pages["/"] = checkout_page(live_server, project["apiKey"], lang="de")
            await page.goto(site.url("/"))
            await page.get_by_role("button", name="Fehler melden").click()
            dialog = page.get_by_role("dialog", name="Fehler melden")
            chooser = dialog.locator(".choose")
            await expect(chooser).to_have_text(re.compile(r"^Bilder auswählen\s*Kein Bild ausgewählt$"))
            box = await dialog.locator("input[type=file]").bounding_box()
            assert box is not None
            assert (box["width"], box["height"]) <= (1, 1)  # the browser's words unseen, the control still there
            async with page.expect_file_chooser() as opened:
                await chooser.get_by_text("Bilder auswählen").click()
            await (await opened.value).set_files([cart])
            await expect(chooser).to_have_text(re.compile(r"cart\.png$"))
            await expect(dialog.get_by_label("Bilder anhängen (optional)")).to_have_count(1)
            # Named by its title alone, the files chosen its description: "Kein Bild ausgewählt" was in its name.
            files = dialog.locator("input[type=file]")
            await expect(files).to_have_accessible_name("Bilder anhängen (optional)")
            await expect(files).to_have_accessible_description("cart.png")


# Pixels of the annotation canvas: how many are near the first pen color, and how many are not opaque.
COUNT_PIXELS = """(canvas) => {
  const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let red = 0, clear = 0;
  for (let i = 0; i < data.length; i += 4) {
    if (Math.abs(data[i] - 225) < 30 && Math.abs(data[i + 1] - 29) < 30 && Math.abs(data[i + 2] - 72) < 30) red++;
    if (data[i + 3] < 255) clear++;
  }
  return { red, clear };
}"""


async def test_marks_redraw_cleanly_below_a_short_pages_content(
    tenants: TenantFactory, page: Page, live_server: str
) -> None:
    """The checkout page ends well above the window's bottom: the screenshot is white there, a box dragged
    across it leaves no trail of its in-between sizes, and Undo and Clear take marks away there too."""
    async with tenants.create() as tenant:
        with Site({}) as site:
            _project, dialog = await open_dialog(page, tenant, site, live_server)
            await draw_box(page)
            canvas = page.locator("canvas")
            one_box = await canvas.evaluate(COUNT_PIXELS)
            assert one_box["clear"] == 0, "the page's screenshot is opaque, white below its content"
            await draw_box(page)  # the same box again, drawn over the first: no more red than one box
            assert (await canvas.evaluate(COUNT_PIXELS))["red"] <= one_box["red"] * 1.05
            await dialog.get_by_role("button", name="Undo").click()
            await dialog.get_by_role("button", name="Clear").click()
            assert await canvas.evaluate(COUNT_PIXELS) == {"red": 0, "clear": 0}


async def test_a_keyboard_user_marks_the_screenshot_and_hears_what_happened(
    tenants: TenantFactory, worker: Any, page: Page, live_server: str
) -> None:
    """No pointer needed (WCAG 2.1.1): the focused screenshot moves a crosshair with the arrow keys, Enter
    starts and ends a mark, Escape drops the one being drawn and leaves the dialog open, and a live region says
    what happened. The 1,280 x 720 screenshot's long steps are 128 pixels, from its middle."""
    async with tenants.create() as tenant:
        with Site({}) as site:
            project, dialog = await open_dialog(page, tenant, site, live_server)
            await dialog.get_by_role("button", name="Box").focus()
            await page.keyboard.press("Enter")
            screenshot = dialog.get_by_role("application", name="Screenshot of the page")
            await expect(screenshot).to_have_accessible_description(re.compile("arrow keys"))
            spoken = dialog.locator("[aria-live]:not([role=status])")

            await screenshot.focus()
            for key in ["Shift+ArrowLeft"] * 2 + ["Shift+ArrowUp", "Enter"]:
                await page.keyboard.press(key)
            await expect(spoken).to_have_text(re.compile("^Mark started"))
            for key in ["Shift+ArrowRight"] * 4 + ["Shift+ArrowDown"] * 2 + ["Enter"]:
                await page.keyboard.press(key)
            await expect(spoken).to_have_text("Mark added (Box). Marks on the screenshot: 1.")
            for key in ["Enter", "Shift+ArrowRight", "Escape"]:
                await page.keyboard.press(key)
            await expect(spoken).to_have_text("Mark dropped.")
            await expect(dialog).to_be_visible()
            await send_from_dialog(page, "Pay now does nothing")

        report = await the_only_report(tenant, project["id"])
        image = await sent_screenshot(tenant, project["id"])

    [mark] = report["annotations"]["shapes"]
    assert mark["tool"] == "box"
    corners = [(point["x"], point["y"]) for point in mark["points"]]
    assert corners == [(0.3, pytest.approx(0.3222)), (0.7, pytest.approx(0.6778))]
    assert has_color(image, BOX_RED, (380, 240, 390, 480)), "the box's left side is in the image sent"
    assert not has_color(image, BOX_RED, (1000, 470, 1040, 510)), "the crosshair is not"


async def test_a_screenshot_without_annotation_takes_no_marks(
    tenants: TenantFactory, page: Page, live_server: str
) -> None:
    """A project that turns annotation off gets a picture: no tools, no focus stop, and a drag draws nothing."""
    async with tenants.create() as tenant:
        with Site({}) as site:
            project = await project_for(tenant, site)
            changed = await tenant.client.patch(
                f"/api/v1/projects/{project['id']}", json={"widgetConfig": {"features": {"annotation": False}}}
            )
            assert changed.status_code == 200, changed.text
            site.pages["/checkout"] = checkout_page(live_server, project["apiKey"])
            dialog = await opened_dialog(page, site.url("/checkout"))
            await expect(dialog.get_by_role("img", name="Screenshot of the page")).to_be_visible()
            await expect(dialog.get_by_role("button", name="Box")).to_have_count(0)
            await drag_across(page)
            assert (await dialog.locator("canvas").evaluate(COUNT_PIXELS))["red"] == 0


async def test_the_widget_speaks_the_visitors_language_and_stays_hidden_on_a_site_not_allowed(
    tenants: TenantFactory, browser: Browser, live_server: str
) -> None:
    """German from the browser's language. A site missing from the allowed origins gets no button: it used to
    let the visitor capture, mark and fill in a report, refused only when sent; the console says why, in
    German. Arabic or Hebrew typed in the dialog runs right to left, whatever the dialog's language: it was laid
    out left to right, its punctuation at the wrong end."""
    context = await browser.new_context(base_url=live_server, locale="de-DE")
    page = await context.new_page()
    warnings: list[str] = []
    page.on("console", lambda message: warnings.append(message.text))
    try:
        async with tenants.create() as tenant:
            with Site({}) as site:
                project = await project_for(tenant, site)
                elsewhere = await tenant.create_project("Shop", allowedOrigins=["https://shop.example.com"])
                site.pages["/checkout"] = checkout_page(live_server, project["apiKey"])
                site.pages["/elsewhere"] = checkout_page(live_server, elsewhere["apiKey"])
                await page.goto(site.url("/checkout"))
                await page.get_by_role("button", name="Fehler melden").click()
                dialog = page.get_by_role("dialog", name="Fehler melden")
                await dialog.get_by_label("Titel").fill("Bug")
                await dialog.get_by_role("button", name="Bericht senden").click()
                await expect(dialog.get_by_label("Titel")).to_have_accessible_description(
                    "Geben Sie dem Bericht einen Titel mit mindestens 4 Zeichen."
                )
                typed = [("Titel", "الزر لا يعمل!"), ("Beschreibung", "הכפתור לא עובד."), ("Ihr Name", "ليلى")]
                for label, text in typed:
                    await dialog.get_by_label(label).fill(text)
                    assert await dialog.get_by_label(label).evaluate("(field) => field.matches(':dir(rtl)')"), label
                assert await dialog.get_by_label("Titel").evaluate("(field) => field.form.matches(':dir(ltr)')")

                await page.goto(site.url("/elsewhere"))
                await page.wait_for_function("window.__lanternWidget === true")
                for _ in range(100):  # the widget asks for its configuration, then warns
                    if any("Lantern" in text for text in warnings):
                        break
                    await asyncio.sleep(0.05)
                await expect(page.get_by_role("button", name="Fehler melden")).to_have_count(0)
            listed = await tenant.client.get(f"/api/v1/reports?projectId={elsewhere['id']}")
        assert listed.json()["data"]["items"] == []
        [warning] = [text for text in warnings if "Lantern" in text]
        assert "Ursprung" in warning, warning
    finally:
        await context.close()


async def test_the_tag_can_choose_the_language_and_a_second_copy_adds_no_second_button(
    tenants: TenantFactory, page: Page, live_server: str
) -> None:
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop")
        with Site({}) as site:
            site.pages["/"] = checkout_page(live_server, project["apiKey"], lang="ja", copies=2)
            await page.goto(site.url("/"))  # an English browser; the tag asks for Japanese
            await expect(page.get_by_role("button", name="不具合を報告")).to_have_count(1)
            await page.get_by_role("button", name="不具合を報告").click()
            await expect(page.get_by_role("dialog", name="不具合を報告").get_by_label("タイトル")).to_be_focused()


async def test_a_refused_field_is_marked_and_focused_and_closing_returns_to_the_button(
    tenants: TenantFactory, page: Page, live_server: str
) -> None:
    """For keyboard and screen reader users: the server's refusal points at its field, Tab stays inside the
    modal dialog, and Escape goes back to the button that opened it."""
    async with tenants.create() as tenant:
        with Site({}) as site:
            project = await project_for(tenant, site)
            site.pages["/"] = checkout_page(live_server, project["apiKey"])
            await page.goto(site.url("/"))
            launcher = page.get_by_role("button", name="Report a bug")
            await launcher.click()
            dialog = page.get_by_role("dialog", name="Report a bug")
            title, email = dialog.get_by_label("Title"), dialog.get_by_label("Your e-mail (optional)")
            await title.fill("Bug")
            await dialog.get_by_role("button", name="Send report").click()
            await expect(title).to_have_attribute("aria-invalid", "true")
            await title.fill("Checkout breaks")
            await email.fill("not an address")
            await dialog.get_by_role("button", name="Send report").click()
            await expect(email).to_have_attribute("aria-invalid", "true")
            await expect(email).to_be_focused()
            await expect(title).not_to_have_attribute("aria-invalid", "true")
            await expect(email).to_have_accessible_description("Must be an e-mail address, such as name@example.com.")
            await expect(dialog.get_by_role("status")).to_have_text("")

            await dialog.get_by_role("button", name="Send report").focus()
            await page.keyboard.press("Tab")
            await expect(dialog.get_by_role("button", name="Close")).to_be_focused()
            await page.keyboard.press("Shift+Tab")
            await expect(dialog.get_by_role("button", name="Send report")).to_be_focused()

            await page.keyboard.press("Escape")
            await expect(dialog).to_have_count(0)
            await expect(launcher).to_be_focused()

            # What was written is given back after a close (it was lost to a stray Escape)...
            await launcher.click()
            await expect(title).to_have_value("Checkout breaks")
            await expect(email).to_have_value("not an address")
            await email.fill("")
            # ... until it is sent: the send button is gone, and focus goes to the one that closes the dialog.
            await dialog.get_by_role("button", name="Send report").click()
            await expect(dialog.get_by_role("status")).to_contain_text("Thank you")
            await expect(dialog.get_by_role("button", name="Close").last).to_be_focused()
            await page.keyboard.press("Escape")
            await launcher.click()
            await expect(title).to_have_value("")


async def just_below(field: Locator, said: Locator) -> None:
    """`said` is in the window, just under `field`."""
    await expect(said).to_be_in_viewport()
    field_box, said_box = await field.bounding_box(), await said.bounding_box()
    assert field_box is not None
    assert said_box is not None
    assert field_box["y"] + field_box["height"] <= said_box["y"] < field_box["y"] + field_box["height"] + 20


async def test_a_refusal_is_said_under_its_field_and_the_rest_beside_send(
    tenants: TenantFactory, browser: Browser, live_server: str
) -> None:
    """On a phone, a title too short or an address the server refused was said beside Send, a screen away from its
    field, which only took the focus. What no field of the dialog can correct (the page's address) is still said
    there."""
    phone: ViewportSize = {"width": 375, "height": 667}
    context = await browser.new_context(base_url=live_server, locale="de-DE", viewport=phone)
    page = await context.new_page()
    try:
        async with tenants.create() as tenant:
            with Site({}) as site:
                _project, dialog = await open_dialog(page, tenant, site, live_server, "Fehler melden")
                title, email = dialog.get_by_label("Titel"), dialog.get_by_label("Ihre E-Mail-Adresse (optional)")
                status = dialog.get_by_role("status")
                send = dialog.get_by_role("button", name="Bericht senden")
                await title.fill("Bug")
                await email.fill("keine Adresse")
                await send.click()
                said = "Geben Sie dem Bericht einen Titel mit mindestens 4 Zeichen."
                too_short = dialog.get_by_text(said)
                await just_below(title, too_short)
                await expect(title).to_be_focused()
                await expect(title).to_have_attribute("aria-invalid", "true")
                await expect(title).to_have_accessible_description(said)
                await expect(status).to_have_text("")

                await title.press_sequentially(" geht nicht")
                await expect(too_short).to_have_count(0)
                await expect(title).not_to_have_attribute("aria-invalid", "true")
                await send.click()
                said = "Muss eine E-Mail-Adresse sein, etwa name@example.com."  # the server's own words
                no_address = dialog.get_by_text(said)
                await just_below(email, no_address)
                await expect(email).to_be_focused()
                await expect(email).to_have_accessible_description(said)
                await expect(status).to_have_text("")

                async def refuse_the_address(route: Route) -> None:
                    details = [{"field": "metadata.url", "message": "Muss eine vollständige Adresse sein."}]
                    body = {"success": False, "error": "VALIDATION_ERROR", "message": "…", "details": details}
                    await route.fulfill(status=400, json=body)

                await page.route("**/api/v1/widget/submit**", refuse_the_address)
                await email.fill("")
                await expect(no_address).to_have_count(0)
                await send.click()
                await expect(status).to_contain_text("Der Bericht konnte nicht gesendet werden.")
                await expect(status.get_by_role("listitem")).to_have_text("Muss eine vollständige Adresse sein.")
                await expect(dialog.locator("[aria-invalid]")).to_have_count(0)
    finally:
        await context.close()


async def test_focus_that_leaves_for_the_page_comes_back_and_an_input_methods_escape_closes_nothing(
    tenants: TenantFactory, page: Page, live_server: str
) -> None:
    """After a click on the dialog's blank space, Shift+Tab went on to the page behind the modal dialog, and
    typing landed there. An Escape that cancels a conversion being typed (Japanese, Chinese) closed the dialog."""
    async with tenants.create() as tenant:
        with Site({}) as site:
            _project, dialog = await open_dialog(page, tenant, site, live_server)
            await dialog.get_by_label("Title").fill("Checkout breaks")
            await dialog.get_by_role("heading", name="Report a bug").click()
            await page.keyboard.press("Shift+Tab")
            await expect(page.locator("#pay")).not_to_be_focused()
            assert await page.evaluate("document.activeElement.localName") == "lantern-widget"
            await page.keyboard.type("!")
            assert await page.locator("#pay").evaluate("(button) => button === document.activeElement") is False

            composing = """(field) => field.dispatchEvent(new KeyboardEvent("keydown",
                { key: "Escape", isComposing: true, bubbles: true, composed: true }))"""
            await dialog.get_by_label("Description").evaluate(composing)
            await expect(dialog).to_be_visible()
            await page.keyboard.press("Escape")
            await expect(dialog).to_have_count(0)


async def test_a_submission_that_gets_no_answer_ends_and_keeps_what_was_written(
    tenants: TenantFactory, page: Page, live_server: str
) -> None:
    """It stayed "Sending…" for good, and reopened, the dialog showed only "Sending…": nothing could be sent again."""
    async with tenants.create() as tenant:
        with Site({}) as site:
            _project, dialog = await open_dialog(page, tenant, site, live_server)
            await dialog.get_by_label("Title").fill("Checkout breaks")
            held: list[Route] = []

            async def never_answer(route: Route) -> None:
                held.append(route)

            await page.route("**/api/v1/widget/submit**", never_answer)
            await page.clock.install()  # the widget's wait for an answer, run forward below
            await dialog.get_by_role("button", name="Send report").click()
            await expect(dialog.get_by_role("status")).to_have_text("Sending…")
            await page.clock.run_for(10 * 60 * 1000)
            await expect(dialog.get_by_role("status")).to_have_text(
                "The report could not be sent: the server did not answer. Please try again."
            )
            await expect(dialog.get_by_label("Title")).to_have_value("Checkout breaks")
            await expect(dialog.get_by_role("button", name="Send report")).not_to_have_attribute(
                "aria-disabled", "true"
            )
            assert len(held) == 1


async def test_a_send_from_the_keyboard_keeps_the_focus_in_the_dialog_when_it_fails(
    tenants: TenantFactory, page: Page, live_server: str
) -> None:
    """While sending, the send button keeps the focus, marked unavailable rather than disabled (a disabled
    button drops it to the page behind the modal dialog), and a second Enter sends nothing more; a failed
    send leaves the focus there, to try again."""
    async with tenants.create() as tenant:
        with Site({}) as site:
            _project, dialog = await open_dialog(page, tenant, site, live_server)
            await dialog.get_by_label("Title").fill("Checkout breaks")
            held = asyncio.Event()
            attempts = 0

            async def fail_when_released(route: Route) -> None:
                nonlocal attempts
                attempts += 1
                await held.wait()
                await route.abort()

            await page.route("**/api/v1/widget/submit**", fail_when_released)
            send = dialog.get_by_role("button", name="Send report")
            await send.focus()
            await page.keyboard.press("Enter")
            await expect(dialog.get_by_role("status")).to_have_text("Sending…")
            await expect(send).to_have_attribute("aria-disabled", "true")
            await page.keyboard.press("Enter")
            await expect(send).to_be_focused()
            held.set()
            await expect(dialog.get_by_role("status")).to_contain_text("the server could not be reached")
            await expect(send).to_be_focused()
            await expect(send).not_to_have_attribute("aria-disabled", "true")
            assert attempts == 1


async def test_a_visitor_hears_when_to_send_again_and_that_a_long_paste_was_cut(
    tenants: TenantFactory, page: Page, live_server: str
) -> None:
    """A flood's refusal said only to wait, not until when; and a paste longer than a field was cut without a
    word."""
    async with tenants.create() as tenant:
        with Site({}) as site:
            project = await tenant.create_project("Store", allowedOrigins=[site.origin], rateLimitPerMinute=1)
            site.pages["/checkout"] = checkout_page(live_server, project["apiKey"])
            dialog = await opened_dialog(page, site.url("/checkout"))
            await dialog.get_by_label("Title").fill("x" * 200)  # as long as it takes: nothing was cut
            await expect(dialog.get_by_role("status")).to_have_text("")
            await dialog.get_by_label("Title").fill("x" * 250)
            await expect(dialog.get_by_role("status")).to_have_text(
                "This field takes at most 200 characters: the rest was left out."
            )
            assert len(await dialog.get_by_label("Title").input_value()) == 200
            await send_from_dialog(page, "Checkout breaks")
            await dialog.get_by_role("button", name="Close").last.click()
            await page.get_by_role("button", name="Report a bug").click()
            await dialog.get_by_label("Title").fill("Checkout breaks again")
            await dialog.get_by_role("button", name="Send report").click()
            await expect(dialog.get_by_role("status")).to_have_text(
                re.compile(r"^Too many reports were sent from here just now\. Please send it again after \d")
            )


def contrast_ratio(first: str, second: str) -> float:
    """WCAG's contrast of two computed colours, `rgb(r, g, b)`."""

    def luminance(color: str) -> float:
        values = [int(part) / 255 for part in re.findall(r"\d+", color)[:3]]
        r, g, b = [v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4 for v in values]
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    light, dark = sorted((luminance(first), luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


BUTTON_COLORS = "(node) => [getComputedStyle(node).backgroundColor, getComputedStyle(node).color]"


async def test_the_default_buttons_text_reaches_4_5_to_1(tenants: TenantFactory, page: Page, live_server: str) -> None:
    """BugPin's default colour, #6366f1, is 4.47:1 under white text: the button that opens the widget and the
    one that sends are darkened just enough (WCAG 1.4.3)."""
    async with tenants.create() as tenant:
        with Site({}) as site:
            project = await project_for(tenant, site)
            site.pages["/"] = checkout_page(live_server, project["apiKey"])
            await page.emulate_media(color_scheme="light")
            await page.goto(site.url("/"))
            launcher = page.get_by_role("button", name="Report a bug")
            opener = await launcher.evaluate(BUTTON_COLORS)
            await launcher.click()
            sender = await page.get_by_role("button", name="Send report").evaluate(BUTTON_COLORS)
    assert contrast_ratio(*opener) >= 4.5, opener
    assert contrast_ratio(*sender) >= 4.5, sender
    assert contrast_ratio(opener[0], "rgb(99, 102, 241)") < 1.1, "still BugPin's colour, to the eye"


async def test_a_dark_brand_colour_keeps_its_button_under_a_text_that_reads_on_it(
    tenants: TenantFactory, page: Page, live_server: str
) -> None:
    """The admin UI's main colour, a dark teal, on the dark theme: the button's text stayed BugPin's dark default
    (indigo, 2.9:1 on the teal), so the teal was lightened to a washed-out green to reach 4.5:1. The teal is
    kept, under the white that reads on it."""
    teal = "#0f766e"
    buttons = ("lightButtonColor", "lightButtonHoverColor", "darkButtonColor", "darkButtonHoverColor")
    config = {"theme": "dark", "primaryColor": teal, **dict.fromkeys(buttons, teal)}
    async with tenants.create() as tenant:
        with Site({}) as site:
            await _site_with_widget(tenant, site, live_server, config)
            await page.goto(site.url("/"))
            launcher = page.get_by_role("button", name="Report a bug")
            opener = await launcher.evaluate(BUTTON_COLORS)
    assert opener == ["rgb(15, 118, 110)", "rgb(255, 255, 255)"]
    assert contrast_ratio(*opener) >= 4.5


def strict_page(lantern: str, api_key: str, style_src: str = "'self' 'unsafe-inline'") -> str:
    """A dark page under the Content-Security-Policy the README asks of a site, with a bar over the widget's
    corner at the highest z-index, and a wrapper that adds the page's own token to every fetch once it has
    loaded. Styles are set from script (CSSOM), which any policy allows."""
    policy = (
        f"default-src 'self'; script-src 'self' 'unsafe-inline' {lantern}; connect-src 'self' {lantern}; "
        f"style-src {style_src}; img-src 'self' data: blob:"
    )
    return f"""<!doctype html>
<html lang="ja"><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="{policy}">
<title>Dark shop</title></head>
<body><label><input type="checkbox" id="agree"> I agree</label><footer id="bar">Cookies</footer>
  <script>
    Object.assign(document.documentElement.style, {{ background: "rgb(17, 17, 17)", color: "#eee" }});
    Object.assign(document.getElementById("agree").style, {{ width: "120px", height: "120px",
      margin: "200px", accentColor: "rgb{BOX_RED}" }});
    Object.assign(document.getElementById("bar").style, {{ position: "fixed", left: "0", right: "0", bottom: "0",
      height: "40px", zIndex: "2147483647", background: "rgb{HEADER_GREEN}" }});
    window.addEventListener("load", () => {{
      const pageFetch = window.fetch;
      window.fetch = (input, init = {{}}) =>
        pageFetch(input, {{ ...init, headers: {{ ...init.headers, Authorization: "Bearer page-token" }} }});
    }});
  </script>
  <script src="{lantern}/widget.js" data-api-key="{api_key}" defer></script></body></html>"""


async def test_the_widget_works_on_a_dark_page_that_wraps_fetch_and_covers_its_corner(
    tenants: TenantFactory, worker: Any, page: Page, live_server: str
) -> None:
    """Each of these broke the widget on real sites: a fetch wrapper's header failed its request's CORS
    check; a bar at z-index 2147483647 hid it; a dark page's screenshot came out on white, a ticked box
    unticked."""
    async with tenants.create() as tenant:
        with Site({}) as site:
            project = await project_for(tenant, site)
            site.pages["/"] = strict_page(live_server, project["apiKey"])
            await page.goto(site.url("/"))
            await page.check("#agree")
            launcher = page.get_by_role("button", name="Report a bug")
            await expect(launcher).to_have_css("position", "fixed")
            await expect(page.locator("[data-lantern-widget]")).to_have_attribute("lang", "en")  # not the page's
            await launcher.click()  # Playwright refuses to click an element another one covers
            dialog = page.get_by_role("dialog", name="Report a bug")
            await expect(dialog.locator("canvas")).to_be_visible()
            await send_from_dialog(page, "Dark checkout")
        image = await sent_screenshot(tenant, project["id"])
    assert has_color(image, (17, 17, 17), (700, 100, 1200, 500)), "the page's own dark background"
    assert not has_color(image, (255, 255, 255), (700, 100, 1200, 500)), "not white"
    assert has_color(image, BOX_RED, (205, 205, 315, 315)), "the box the visitor ticked is ticked"


async def test_the_widget_works_on_a_page_that_wrapped_fetch_before_it_ran(
    tenants: TenantFactory, worker: Any, page: Page, live_server: str
) -> None:
    """A wrapper that adds a header to every request, set before the deferred script ran: the widget's own requests
    went through it, their CORS check refused the header, and the page had no widget at all."""
    async with tenants.create() as tenant:
        with Site({}) as site:
            project = await project_for(tenant, site)
            site.pages["/"] = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Shop</title></head><body><h1>Shop</h1>
  <script>
    const pageFetch = window.fetch;
    window.fetch = (input, init = {{}}) =>
      pageFetch(input, {{ ...init, headers: {{ "X-Requested-With": "XMLHttpRequest", ...init.headers }} }});
  </script>
  <script src="{live_server}/widget.js" data-api-key="{project["apiKey"]}" defer></script></body></html>"""
            await page.goto(site.url("/"))
            await page.get_by_role("button", name="Report a bug").click()
            await send_from_dialog(page, "Wrapped checkout")
        report = await the_only_report(tenant, project["id"])
    assert report["title"] == "Wrapped checkout"


async def test_a_page_that_refuses_inline_styles_gets_a_styled_widget_and_no_unstyled_screenshot(
    tenants: TenantFactory, page: Page, live_server: str
) -> None:
    """Under style-src 'self' the widget was unstyled, in the page's flow, and its screenshot failed with a
    TypeError; the page redrawn without its styles would mislead the team, so none is taken and it says why."""
    async with tenants.create() as tenant:
        with Site({}) as site:
            project = await project_for(tenant, site)
            site.pages["/"] = strict_page(live_server, project["apiKey"], style_src="'self'")
            warnings: list[str] = []
            page.on("console", lambda message: warnings.append(message.text))
            await page.goto(site.url("/"))
            launcher = page.get_by_role("button", name="Report a bug")
            await expect(launcher).to_have_css("position", "fixed")
            await launcher.click()
            dialog = page.get_by_role("dialog", name="Report a bug")
            await expect(dialog).to_have_css("border-radius", "10px")
            await expect(dialog.locator("canvas")).to_have_count(0)
            await expect(dialog.get_by_role("status")).to_have_text(  # the visitor is told, not only the console
                "The screenshot could not be taken; you can still send the report."
            )
            await send_from_dialog(page, "Strict checkout")
        report = await the_only_report(tenant, project["id"])
    assert report["screenshots"] == []
    assert any("refuses inline styles (style-src)" in warning for warning in warnings), warnings


def private_page(lantern: str, api_key: str) -> str:
    """A sign-in page with a message editor and a button whose text cuts at an emoji; once loaded it logs
    sixty long errors in Chinese (about 1.8 MB of logs, where Lantern takes 512 KB), then an error whose stack
    carries the page's address, and objects with secrets. Like a Magento 1 shop, it has Prototype.js's
    `Array.prototype.toJSON`, which writes arrays as strings."""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in</title></head>
<body><input id="pw" type="password" name="password"> <input id="card" name="cardnumber">
  <div id="editor" contenteditable="true" role="textbox" aria-multiline="true"><p>Dear support,</p></div>
  <button id="reply">{"a" * 78}😀 Reply</button>
  <script>
    Array.prototype.toJSON = function () {{ return "[" + this.map((item) => JSON.stringify(item)).join(",") + "]"; }};
    window.addEventListener("load", () => {{
      for (let i = 0; i < 60; i++) console.error("E" + i + " " + "错".repeat(12000));
      console.error(new Error("Sign-in failed"));
      console.warn("signing in", {{ user: "ana", password: "hunter2-in-the-log", session: {{ id: "hunter2-sid" }},
        code: "E_SIGN_IN" }});
      console.error("password=hunter2-at-the-start was refused");
    }});
  </script>
  <script src="{lantern}/widget.js" data-api-key="{api_key}" defer></script></body></html>"""


def page_of_a_web_component_form(lantern: str, api_key: str) -> str:
    """A newsletter form whose fields and button are in a web component's open shadow root, one root inside
    another, and a field of the page's own."""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Newsletter</title></head>
<body><div id="signup"></div> <input id="coupon" name="coupon">
  <script>
    const outer = document.getElementById("signup").attachShadow({{ mode: "open" }});
    outer.innerHTML = '<input id="email" name="email"> <div id="consent"></div> <button id="join">Join</button>';
    outer.getElementById("consent").attachShadow({{ mode: "open" }}).innerHTML =
      '<select id="topic" name="topic"><option>News</option><option>Offers</option></select>';
  </script>
  <script src="{lantern}/widget.js" data-api-key="{api_key}" defer></script></body></html>"""


async def test_a_web_components_fields_and_buttons_are_in_the_users_actions(
    tenants: TenantFactory, page: Page, live_server: str
) -> None:
    """A change does not leave the shadow root of the field that made it, so the timeline had none of a web
    component's fields (a design system's inputs, a consent banner's choices): only those of the page's own. A
    click in one was its host's, without the text of the button clicked."""
    async with tenants.create() as tenant:
        with Site({}) as site:
            project = await project_for(tenant, site)
            site.pages["/"] = page_of_a_web_component_form(live_server, project["apiKey"])
            await page.goto(site.url("/"))
            # Playwright's CSS reaches into open shadow roots. A typed field changes when it loses the focus.
            await page.fill("#email", "ana@example.com")
            await page.click("body")
            await page.select_option("#topic", "Offers")
            await page.fill("#coupon", "SPRING")
            await page.click("#join")
            await page.get_by_role("button", name="Report a bug").click()
            await send_from_dialog(page, "The sign-up form does nothing")
        report = await the_only_report(tenant, project["id"])
    changed = [action["target"] for action in report["userActions"] if action["type"] == "input"]
    assert changed == ['input#email[name="email"]', 'select#topic[name="topic"]', 'input#coupon[name="coupon"]']
    clicks = [(action["target"], action["text"]) for action in report["userActions"] if action["type"] == "click"]
    assert ("div#signup button#join", "Join") in clicks
    assert "ana@example.com" not in json.dumps(report), "a field is named, never its value"


async def test_a_report_keeps_what_was_typed_and_secrets_in_addresses_out_and_fits_its_logs(
    tenants: TenantFactory, page: Page, live_server: str
) -> None:
    """A click on a field recorded the password in it; a token in the address or a logged object went out
    whole; and logs over Lantern's limit, or Prototype.js's toJSON, made the report impossible to send."""
    async with tenants.create() as tenant:
        with Site({}) as site:
            project = await project_for(tenant, site)
            path = "/sign-in?access_token=SECRET-IN-ADDRESS&tab=security"
            site.pages[path] = private_page(live_server, project["apiKey"])
            await page.goto(site.url(path))
            await page.fill("#pw", "hunter2-in-the-field")
            await page.click("#pw")
            await page.fill("#card", "4111111111111111")
            await page.click("#card")
            await page.click("#editor p")
            await page.keyboard.type(" my hunter2-in-the-editor does not work")
            await page.click("#editor p")
            await page.click("#reply")
            await page.get_by_role("button", name="Report a bug").click()
            await send_from_dialog(page, "Cannot sign in")
        report = await the_only_report(tenant, project["id"])

    everything = json.dumps(report, ensure_ascii=False)
    for secret in ("hunter2", "4111111111111111", "SECRET-IN-ADDRESS"):
        assert secret not in everything
    assert report["pageUrl"] == site.url("/sign-in?access_token=[redacted]&tab=security")
    clicks = [(action["target"], action["text"]) for action in report["userActions"] if action["type"] == "click"]
    assert clicks[:3] == [('input#pw[name="password"]', ""), ('input#card[name="cardnumber"]', ""), ("p", "")]
    assert clicks[-1] == ("button#reply", "a" * 78 + "…")  # cut before the emoji, not through it
    assert any(
        "Sign-in failed" in entry["message"] and "[redacted]" in entry["message"] for entry in report["consoleLogs"]
    )
    errors = [entry["message"][:3] for entry in report["consoleLogs"] if re.match(r"E\d+ ", entry["message"])]
    assert 5 < len(errors) < 60, "the newest errors that fit"
    assert errors[-1] == "E59"
    assert any('"password":"[redacted]"' in entry["message"] for entry in report["consoleLogs"])
    assert any('"code":"E_SIGN_IN"' in entry["message"] for entry in report["consoleLogs"]), "an error's code stays"


LIST_BLUE = (37, 99, 235)


def scrolled_page(lantern: str, api_key: str) -> str:
    """A long page scrolled to its middle, with a fixed header and a fixed bar at the window's bottom, and a
    list scrolled to its tenth row, the one blue row."""
    rows = "".join(
        f'<div style="height:100px;background:{"rgb" + str(LIST_BLUE) if row == 9 else "#ddd"}">{row}</div>'
        for row in range(20)
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Long page</title></head>
<body style="margin:0">
  <header style="position:fixed;top:0;left:0;right:0;height:30px;padding:20px;border:5px solid rgb{HEADER_GREEN};
    background:rgb{HEADER_GREEN}">Shop</header>
  <div style="height:4000px;background:linear-gradient(#fff,#eee)">Products</div>
  <div id="list" style="position:absolute;top:2000px;left:500px;width:300px;height:200px;overflow:auto">{rows}</div>
  <aside style="position:fixed;bottom:0;left:0;width:400px;height:60px;background:rgb{BOX_RED}">Cookies</aside>
  <script>
    window.addEventListener("load", () => {{
      document.getElementById("list").scrollTop = 900;
      window.scrollTo(0, 1800);
    }});
  </script>
  <script src="{lantern}/widget.js" data-api-key="{api_key}" defer></script></body></html>"""


@pytest.mark.parametrize("scroll", [1800, 0])
async def test_fixed_elements_are_where_the_visitor_saw_them_on_a_long_page(
    tenants: TenantFactory, worker: Any, page: Page, live_server: str, scroll: int
) -> None:
    """The page is drawn whole and the window cut from it: a fixed header and bar were drawn at the page's top
    and bottom, missing from the picture of the window (the bar even on a page not scrolled); a scrolled list
    showed its first rows."""

    def made(lantern: str, api_key: str) -> str:
        return scrolled_page(lantern, api_key).replace("window.scrollTo(0, 1800)", f"window.scrollTo(0, {scroll})")

    ready = f"window.scrollY === {scroll} && document.getElementById('list').scrollTop === 900"
    image = await screenshot_of_scrolled(page, tenants, live_server, made, ready)
    if not scroll:  # the list is further down the page, out of the window
        assert has_color(image, HEADER_GREEN, (600, 10, 700, 70))
        assert has_color(image, BOX_RED, (100, 670, 300, 710)), "the fixed bar, at the window's bottom"
        return
    assert image.size == (1280, 720)
    assert has_color(image, HEADER_GREEN, (600, 10, 700, 70)), "the fixed header, at the window's top"
    assert not has_color(image, HEADER_GREEN, (600, 90, 700, 130)), "as high as it was: its padding counted once"
    assert has_color(image, BOX_RED, (100, 670, 300, 710)), "the fixed bar, at the window's bottom"
    assert not has_color(image, HEADER_GREEN, (600, 200, 700, 600))
    assert has_color(image, LIST_BLUE, (520, 210, 760, 290)), "the list at the row the visitor scrolled it to"


def tall_dark_page(lantern: str, api_key: str) -> str:
    """A page in the browser's dark scheme (no background of its own), 34,000 pixels tall, scrolled to a
    green band at its bottom."""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="color-scheme" content="dark"><title>Feed</title></head>
<body style="margin:0">
  <div style="height:33000px">Feed</div>
  <div style="height:1000px;background:rgb{HEADER_GREEN}">Older posts</div>
  <script>window.addEventListener("load", () => window.scrollTo(0, 32700));</script>
  <script src="{lantern}/widget.js" data-api-key="{api_key}" defer></script></body></html>"""


async def test_a_tall_dark_page_on_a_dense_screen_is_pictured_not_blank(
    tenants: TenantFactory, worker: Any, browser: Browser, live_server: str
) -> None:
    """At a phone's pixel density a page this tall passed the browser's canvas size, and the picture came out
    white; a page in the dark color scheme came out white too, its light text unreadable."""
    context = await browser.new_context(
        base_url=live_server, locale="en-US", device_scale_factor=2, color_scheme="dark"
    )
    page = await context.new_page()
    try:
        image = await screenshot_of_scrolled(page, tenants, live_server, tall_dark_page, "window.scrollY > 30000")
    finally:
        await context.close()
    width, height = image.size
    assert has_color(image, HEADER_GREEN, (0, 0, width, height)), "the band the visitor scrolled to"
    assert has_color(image, (18, 18, 18), (0, 0, width, height // 10)), "the dark scheme's canvas, above it"
    assert not has_color(image, (255, 255, 255), (0, 0, width, height // 10))


async def test_on_a_phone_the_title_is_in_view_below_the_screenshot(
    tenants: TenantFactory, browser: Browser, live_server: str
) -> None:
    """A phone's tall screenshot filled the screen and pushed the report's title far below the fold."""
    phone = {"width": 390, "height": 844}
    context = await browser.new_context(
        base_url=live_server, locale="en-US", viewport=phone, device_scale_factor=3, is_mobile=True, has_touch=True
    )
    page = await context.new_page()
    try:
        async with tenants.create() as tenant:
            with Site({}) as site:
                project = await project_for(tenant, site)
                mobile = '<meta name="viewport" content="width=device-width, initial-scale=1">'
                site.pages["/checkout"] = checkout_page(live_server, project["apiKey"]).replace(
                    "<head>", f"<head>{mobile}"
                )
                dialog = await opened_dialog(page, site.url("/checkout"))
                await expect(dialog.locator("canvas")).to_be_visible()
                title = await dialog.get_by_label("Title").bounding_box()
                shot = await dialog.locator("canvas").bounding_box()
    finally:
        await context.close()
    assert title is not None
    assert shot is not None
    assert title["y"] + title["height"] <= phone["height"], title
    assert shot["height"] > shot["width"] * 1.5, "the screenshot keeps the phone's tall shape"


async def test_at_400_percent_zoom_the_focused_title_is_in_sight(
    tenants: TenantFactory, page: Page, live_server: str
) -> None:
    """A 1280 x 1024 window at 400 % is 320 x 256 CSS pixels: the dialog kept its top in view (its tools, the
    screenshot) and the focused title below it, out of sight (WCAG 2.4.11)."""
    async with tenants.create() as tenant:
        with Site({}) as site:
            project = await project_for(tenant, site)
            site.pages["/"] = checkout_page(live_server, project["apiKey"])
            await page.set_viewport_size({"width": 320, "height": 256})
            await page.goto(site.url("/"))
            launcher = page.get_by_role("button", name="Report a bug")
            await launcher.focus()
            await page.keyboard.press("Enter")
            title = page.get_by_role("dialog", name="Report a bug").get_by_label("Title")
            await expect(title).to_be_focused()
            await expect(title).to_be_in_viewport()


@pytest.mark.parametrize("viewport", [{"width": 600, "height": 400}, {"width": 375, "height": 667}], ids=str)
async def test_a_short_window_opens_the_dialog_at_its_top_with_the_title_focused_in_view(
    tenants: TenantFactory, page: Page, live_server: str, viewport: ViewportSize
) -> None:
    """A short window without touch (the widget in a 600 x 400 frame, a narrow window): focusing the title scrolled
    the dialog past its heading, its close button and the screenshot's tools. They stay in view, and so does the
    focused title."""
    async with tenants.create() as tenant:
        with Site({}) as site:
            project = await project_for(tenant, site)
            site.pages["/"] = checkout_page(live_server, project["apiKey"])
            await page.set_viewport_size(viewport)
            dialog = await opened_dialog(page, site.url("/"))
            title = dialog.get_by_label("Title")
            await expect(title).to_be_focused()
            await expect(title).to_be_in_viewport(ratio=1)
            for part in [dialog.get_by_role("heading", name="Report a bug"), dialog.get_by_role("button", name="Box")]:
                await expect(part).to_be_in_viewport(ratio=1)
            assert await dialog.evaluate("(node) => node.scrollTop") == 0


def shortcuts_page(lantern: str, api_key: str) -> str:
    """A video page with the keyboard handlers real sites have, each leaving the page's own form fields alone:
    `n` and `/` shortcuts, Space and the arrows taken by the player, and Escape that closes the page's dialog."""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Video</title></head>
<body><input id="search" aria-label="Search videos"><div id="subscribe" data-open="true">Subscribe?</div>
  <script>
    document.addEventListener("keydown", (event) => {{
      if (event.target.closest("input, textarea, select, [contenteditable]")) return;
      if (event.key === "n") document.body.dataset.shortcut = "next video";
      if (event.key === "/") {{
        event.preventDefault();
        document.getElementById("search").focus();
      }}
      if ([" ", "ArrowLeft", "ArrowRight"].includes(event.key)) event.preventDefault();
      if (event.key === "Escape") document.getElementById("subscribe").dataset.open = "false";
    }});
  </script>
  <script src="{lantern}/widget.js" data-api-key="{api_key}" defer></script></body></html>"""


async def test_keys_typed_in_the_widget_leave_the_pages_shortcuts_alone(
    tenants: TenantFactory, page: Page, live_server: str
) -> None:
    """The keys reached the page with the widget's element as their target, which no "ignore form fields"
    check knows: `n` played the next video, `/` took the rest of the text to the page's search box, the
    player's Space ate the spaces, and the Escape that closed the widget closed the page's dialog too."""
    async with tenants.create() as tenant:
        with Site({}) as site:
            project = await project_for(tenant, site)
            site.pages["/"] = shortcuts_page(live_server, project["apiKey"])
            dialog = await opened_dialog(page, site.url("/"))
            title, description = dialog.get_by_label("Title"), dialog.get_by_label("Description")
            await expect(title).to_be_focused()
            await page.keyboard.type("Video does not play")
            await description.focus()
            await page.keyboard.type("Pressing n or / does nothing")
            await expect(title).to_have_value("Video does not play")
            await expect(description).to_have_value("Pressing n or / does nothing")
            await page.keyboard.press("Escape")
            await expect(dialog).to_have_count(0)
            await expect(page.locator("#subscribe")).to_have_attribute("data-open", "true")
            await expect(page.locator("body")).not_to_have_attribute("data-shortcut", re.compile(".*"))
            await expect(page.get_by_label("Search videos")).to_have_value("")


def trapped_page(lantern: str, api_key: str) -> str:
    """A page with its sign-up dialog open, keeping the focus inside as Bootstrap 5's modal does: a `focusin`
    anywhere outside it sends the focus back to its first field."""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign up</title></head>
<body><div id="signup" role="dialog" aria-modal="true" aria-label="Sign up" tabindex="-1">
    <input aria-label="Your e-mail address"></div>
  <script>
    const modal = document.getElementById("signup");
    document.addEventListener("focusin", (event) => {{
      if (event.target === document || event.target === modal || modal.contains(event.target)) return;
      modal.querySelector("input").focus();
    }});
    modal.querySelector("input").focus();
  </script>
  <script src="{lantern}/widget.js" data-api-key="{api_key}" defer></script></body></html>"""


async def test_the_widget_takes_typing_over_a_page_dialog_that_keeps_the_focus(
    tenants: TenantFactory, page: Page, live_server: str
) -> None:
    """A focus trap saw the widget's element, outside its dialog, take the focus, and pulled it back: nothing
    could be typed into the report."""
    async with tenants.create() as tenant:
        with Site({}) as site:
            project = await project_for(tenant, site)
            site.pages["/"] = trapped_page(live_server, project["apiKey"])
            dialog = await opened_dialog(page, site.url("/"))
            await expect(dialog.get_by_label("Title")).to_be_focused()
            await page.keyboard.type("Cannot sign up")
            await page.keyboard.press("Tab")
            await expect(dialog.get_by_label("Description")).to_be_focused()
            await page.keyboard.type("The button is grey")
            await expect(dialog.get_by_label("Title")).to_have_value("Cannot sign up")
            await expect(dialog.get_by_label("Description")).to_have_value("The button is grey")
            await expect(page.get_by_label("Your e-mail address")).to_have_value("")


@pytest.mark.parametrize(
    "containing", ["transform: translateZ(0)", "will-change: transform", "filter: saturate(1)", "contain: paint"]
)
async def test_the_button_stays_in_the_windows_corner_on_a_body_that_holds_fixed_elements(
    tenants: TenantFactory, page: Page, live_server: str, containing: str
) -> None:
    """Each of these makes the body the box that fixed elements are placed in: the button was drawn at the
    bottom of a long page, out of sight, not at the window's corner."""
    async with tenants.create() as tenant:
        with Site({}) as site:
            project = await project_for(tenant, site)
            site.pages["/"] = checkout_page(live_server, project["apiKey"]).replace(
                '<body style="', f'<body style="{containing};height:3000px;'
            )
            await page.goto(site.url("/"))
            box = await page.get_by_role("button", name="Report a bug").bounding_box()
    assert box is not None
    assert box["x"] + box["width"] == pytest.approx(1260, abs=2), box
    assert box["y"] + box["height"] == pytest.approx(700, abs=2), box


PAGE_STYLES = [
    "div { display: none !important }",
    "div { text-transform: uppercase; letter-spacing: 3px; line-height: 3; text-align: center; font-style: italic }",
    "* { all: unset } body { letter-spacing: 3px; line-height: 3 }",
]
TEXT_STYLE = """(node) => {
  const style = getComputedStyle(node);
  return [style.textTransform, style.letterSpacing, style.lineHeight, style.textAlign, style.fontStyle];
}"""


@pytest.mark.parametrize("css", PAGE_STYLES)
async def test_the_pages_css_for_its_own_elements_leaves_the_widget_alone(
    tenants: TenantFactory, page: Page, live_server: str, css: str
) -> None:
    """The widget's element was a div in the page's body: a rule for divs hid it or restyled every text of
    the widget, which inherits from it, and `* { all: unset }` took away its reset."""
    async with tenants.create() as tenant:
        with Site({}) as site:
            project = await project_for(tenant, site)
            site.pages["/"] = checkout_page(live_server, project["apiKey"]).replace(
                "</head>", f"<style>{css}</style></head>"
            )
            dialog = await opened_dialog(page, site.url("/"))
            await expect(dialog).to_be_visible()
            heading = await dialog.get_by_role("heading").evaluate(TEXT_STYLE)
            label = await dialog.get_by_text("Priority").evaluate(TEXT_STYLE)
    assert heading == label == ["none", "normal", "normal", "start", "normal"]


async def test_a_report_closed_while_sending_is_sent_once_and_the_visitor_told(
    tenants: TenantFactory, page: Page, live_server: str
) -> None:
    """Escape while sending: the report was created, the visitor never told, and the dialog opened again with
    the sent text as a draft, to be sent a second time. Now it is told, and the dialog opens afresh."""
    async with tenants.create() as tenant:
        with Site({}) as site:
            project, dialog = await open_dialog(page, tenant, site, live_server)
            await dialog.get_by_label("Title").fill("Checkout breaks")
            held = asyncio.Event()

            async def hold(route: Route) -> None:
                await held.wait()
                await route.continue_()

            await page.route("**/api/v1/widget/submit**", hold)
            await dialog.get_by_role("button", name="Send report").click()
            await expect(dialog.get_by_role("status")).to_have_text("Sending…")
            await page.keyboard.press("Escape")
            await expect(dialog).to_have_count(0)
            launcher = page.get_by_role("button", name="Report a bug")
            await launcher.click()  # again, while the first one is on its way: it says so, and opens nothing
            await expect(page.get_by_role("status")).to_have_text("Sending…")
            held.set()
            sent = page.get_by_role("status").filter(has_text="Thank you! Your report was sent")
            await expect(sent).to_have_count(1)
            await expect(launcher).to_be_focused()
            await launcher.click()
            await expect(dialog.get_by_label("Title")).to_have_value("")  # nothing to send a second time
            await expect(sent).to_have_count(0)
            await the_only_report(tenant, project["id"])


@pytest.mark.parametrize("parent", ["body", "documentElement"])
async def test_a_bar_the_page_adds_at_the_top_z_index_leaves_the_dialog_on_top(
    tenants: TenantFactory, page: Page, live_server: str, parent: str
) -> None:
    """A cookie bar added after the widget, at z-index 2147483647 over the lower half of the window, covered
    the button and the open dialog's Send button. Added to the body it stays under both; added after the
    widget's element, it covers the button (opened from the keyboard here), not the dialog."""
    async with tenants.create() as tenant:
        with Site({}) as site:
            project = await project_for(tenant, site)
            site.pages["/"] = checkout_page(live_server, project["apiKey"])
            await page.goto(site.url("/"))
            launcher = page.get_by_role("button", name="Report a bug")
            await expect(launcher).to_be_visible()
            await page.evaluate(
                """(parent) => {
                  const bar = document.createElement("div");
                  bar.textContent = "We use cookies";
                  bar.style.cssText = "position:fixed;left:0;right:0;bottom:0;height:50vh;z-index:2147483647;"
                    + "background:rgb(0, 170, 119)";
                  document[parent].appendChild(bar);
                }""",
                parent,
            )
            if parent == "body":
                await launcher.click()  # Playwright refuses to click an element another one covers
            else:
                await launcher.focus()
                await page.keyboard.press("Enter")
            await send_from_dialog(page, "Cookie bar over the report")


async def test_a_report_tells_the_address_title_and_window_of_its_screenshots_moment(
    tenants: TenantFactory, page: Page, live_server: str
) -> None:
    """A single-page app went to another route while the dialog was open, and a phone was turned while the
    visitor typed: the report named the later address, title and window beside the earlier screenshot."""
    async with tenants.create() as tenant:
        with Site({}) as site:
            project, _dialog = await open_dialog(page, tenant, site, live_server)
            await page.evaluate("history.pushState({}, '', '/orders'); document.title = 'Orders'")
            await page.set_viewport_size({"width": 720, "height": 1280})
            await send_from_dialog(page, "Checkout breaks")
        report = await the_only_report(tenant, project["id"])
    assert report["pageUrl"] == site.url("/checkout")
    assert report["metadata"]["title"] == "Checkout - Example Store"
    viewport = report["metadata"]["viewport"]
    assert (viewport["width"], viewport["height"], viewport["orientation"]) == (1280, 720, "landscape")


async def test_a_pages_text_cut_inside_an_emoji_is_sent_well_formed(
    tenants: TenantFactory, page: Page, live_server: str
) -> None:
    """A console error and a title cut inside an emoji ("Grüße 😀".slice(0, 7)) hold half a UTF-16 pair, which
    JSON.stringify writes as a lone surrogate's escape: the widget sends U+FFFD in its place, also in a browser
    without String.prototype.toWellFormed (the server refused the whole report)."""
    async with tenants.create() as tenant:
        with Site({}) as site:
            project = await project_for(tenant, site)
            site.pages["/checkout"] = checkout_page(live_server, project["apiKey"])
            # The multipart body's JSON as the widget hands it over (Chromium gives no multipart body to read).
            await page.add_init_script(
                """
                delete String.prototype.toWellFormed;
                window.sentJson = [];
                const append = FormData.prototype.append;
                FormData.prototype.append = function (name, value, ...rest) {
                  if (name === "data") window.sentJson.push(value);
                  return append.call(this, name, value, ...rest);
                };
                """
            )
            await page.goto(site.url("/checkout"))
            await page.evaluate(
                '() => { const cut = "Grüße 😀".slice(0, 7); document.title = cut; console.error(cut); }'
            )
            await page.get_by_role("button", name="Report a bug").click()
            await send_from_dialog(page, "Greeting cut short")
            [sent] = await page.evaluate("window.sentJson")
        report = await the_only_report(tenant, project["id"])
    assert "\\ud83d" not in sent.lower()
    assert report["metadata"]["title"] == "Grüße \ufffd"
    assert any(entry["message"] == "Grüße \ufffd" for entry in report["consoleLogs"])


# How many pixels near the first pen color the annotation canvas has between two fractions of its width.
RED_BETWEEN = """(canvas, [from, to]) => {
  const left = Math.round(canvas.width * from), width = Math.round(canvas.width * (to - from));
  const data = canvas.getContext("2d").getImageData(left, 0, width, canvas.height).data;
  let red = 0;
  for (let i = 0; i < data.length; i += 4) {
    if (Math.abs(data[i] - 225) < 30 && Math.abs(data[i + 1] - 29) < 30 && Math.abs(data[i + 2] - 72) < 30) red++;
  }
  return red;
}"""


async def test_a_pinch_on_the_screenshot_draws_with_the_first_finger_only(
    tenants: TenantFactory, browser: Browser, live_server: str
) -> None:
    """Two fingers on the screenshot (a pinch to zoom) drew one pen stroke that jumped between them."""
    context = await browser.new_context(base_url=live_server, locale="en-US", has_touch=True)
    page = await context.new_page()
    try:
        async with tenants.create() as tenant:
            with Site({}) as site:
                _project, dialog = await open_dialog(page, tenant, site, live_server)
                canvas = dialog.locator("canvas")
                box = await canvas.bounding_box()
                assert box is not None

                def fingers(spread: float) -> list[dict[str, float]]:
                    return [
                        {"id": finger, "x": box["x"] + box["width"] * x, "y": box["y"] + box["height"] * (0.5 + dy)}
                        for finger, x, dy in ((0, 0.2, -spread), (1, 0.8, spread))
                    ]

                touch = await context.new_cdp_session(page)
                await touch.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": fingers(0)[:1]})
                await touch.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": fingers(0)})
                for step in range(1, 6):
                    await touch.send(
                        "Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": fingers(step / 20)}
                    )
                await touch.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
                first_finger = await canvas.evaluate(RED_BETWEEN, [0.15, 0.25])
                between = await canvas.evaluate(RED_BETWEEN, [0.3, 0.7])
    finally:
        await context.close()
    assert first_finger > 0, "the first finger draws"
    assert between == 0, "no line to the second finger"


async def test_a_change_of_the_address_fragment_is_one_navigation(
    tenants: TenantFactory, page: Page, live_server: str
) -> None:
    """The browser fires popstate and hashchange for one change of the fragment, and both were logged."""
    async with tenants.create() as tenant:
        with Site({}) as site:
            project = await project_for(tenant, site)
            site.pages["/checkout"] = checkout_page(live_server, project["apiKey"])
            await page.goto(site.url("/checkout"))
            await page.evaluate("location.hash = 'payment'")
            await page.get_by_role("button", name="Report a bug").click()
            await send_from_dialog(page, "Payment step is empty")
        report = await the_only_report(tenant, project["id"])
    navigations = [action["url"] for action in report["userActions"] if action["type"] == "navigation"]
    assert navigations == [site.url("/checkout#payment")]


async def test_a_report_is_sent_from_a_sandboxed_frame_that_forbids_forms(
    tenants: TenantFactory, page: Page, live_server: str
) -> None:
    """In an iframe with `sandbox="allow-scripts"` the browser blocks every form submission: Send did nothing
    and said nothing (nor did Enter in a field)."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Help center")  # any origin: a sandboxed frame's is "null"
        with Site({}) as site:
            frame = '<iframe sandbox="allow-scripts" src="/checkout" style="width:1200px;height:700px"></iframe>'
            site.pages["/"] = f"<!doctype html><title>Help</title>{frame}"
            site.pages["/checkout"] = checkout_page(live_server, project["apiKey"])
            await page.goto(site.url("/"))
            framed = page.frame_locator("iframe")
            await framed.get_by_role("button", name="Report a bug").click()
            dialog = framed.get_by_role("dialog", name="Report a bug")
            await dialog.get_by_label("Title").fill("Bug")
            await dialog.get_by_label("Title").press("Enter")  # as a form's Enter does, it clicks Send
            refusal = "Give the report a title of at least 4 characters."
            await expect(dialog.get_by_label("Title")).to_have_accessible_description(refusal)
            # The title had the focus already, so it is not read out again: the status line says it, to screen
            # readers alone (it is shown under the title).
            await expect(dialog.get_by_role("status")).to_have_text(refusal)
            await dialog.get_by_label("Title").fill("Checkout breaks in the help center")
            await dialog.get_by_role("button", name="Send report").click()
            await expect(dialog.get_by_role("status")).to_contain_text("Thank you! Your report was sent")
        await the_only_report(tenant, project["id"])


# The dialog's parts against the dialog: the margins their boxes leave on its left and right, those that reach into
# its padding (or past it), and whether the dialog scrolls sideways or leaves the window.
DIALOG_GEOMETRY = """() => {
  const root = document.querySelector("lantern-widget").shadowRoot;
  const dialog = root.querySelector(".dialog");
  const box = dialog.getBoundingClientRect();
  const padding = parseFloat(getComputedStyle(root.querySelector(".content")).paddingLeft);
  const shown = ".content :is(canvas, .toolbar, .hint, label, input, textarea, select, footer, button)";
  const parts = [...dialog.querySelectorAll(shown)]
    .map((part) => [part, part.getBoundingClientRect()]).filter(([, rect]) => rect.width);
  return {
    marginLeft: Math.min(...parts.map(([, rect]) => rect.left)) - box.left,
    marginRight: box.right - Math.max(...parts.map(([, rect]) => rect.right)),
    intoPadding: parts
      .filter(([, rect]) => rect.left < box.left + padding - 0.5 || rect.right > box.right - padding + 0.5)
      .map(([part]) => part.outerHTML.slice(0, 60)),
    scrollsSideways: dialog.scrollWidth > dialog.clientWidth,
    inWindow: box.left >= 0 && box.right <= window.innerWidth,
  };
}"""


PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 800}


@pytest.mark.parametrize(
    ("viewport", "screenshot"), [(PHONE, True), (PHONE, False), (DESKTOP, True)], ids=["phone", "phone-text", "desktop"]
)
@pytest.mark.parametrize("lang", ["en", "ja", "de"])
async def test_the_dialog_keeps_equal_margins_and_every_field_inside_them(  # noqa: PLR0913 - the fixtures and the cases
    tenants: TenantFactory, browser: Browser, live_server: str, *, viewport: dict[str, int], screenshot: bool, lang: str
) -> None:
    """At 375 px the dialog had 18 px of margin on the left and none on the right: the title, the fields, the file
    input, the hint, the tools and Send report ran into its right edge, cut off (its one column took the width its
    widest part would have, wider than the phone's)."""
    phone = viewport is PHONE
    context = await browser.new_context(
        base_url=live_server, locale="en-US", viewport=viewport, is_mobile=phone, has_touch=phone
    )
    page = await context.new_page()
    try:
        async with tenants.create() as tenant:
            with Site({}) as site:
                project = await project_for(tenant, site)
                features = {"screenshot": screenshot, "annotation": True, "consoleCapture": True, "attachments": True}
                changed = await tenant.client.patch(
                    f"/api/v1/projects/{project['id']}", json={"widgetConfig": {"features": features}}
                )
                assert changed.status_code == 200, changed.text
                mobile = '<meta name="viewport" content="width=device-width, initial-scale=1">'
                site.pages["/"] = checkout_page(live_server, project["apiKey"], lang=lang).replace(
                    "<head>", f"<head>{mobile}"
                )
                await page.goto(site.url("/"))
                await page.locator("lantern-widget button.launcher").click()
                await expect(page.locator("lantern-widget .choose")).to_be_visible()
                await expect(page.locator("lantern-widget canvas")).to_have_count(1 if screenshot else 0)
                geometry = await page.evaluate(DIALOG_GEOMETRY)
    finally:
        await context.close()
    assert geometry["marginLeft"] == pytest.approx(geometry["marginRight"], abs=1), geometry
    assert geometry["intoPadding"] == [], geometry
    assert not geometry["scrollsSideways"], geometry
    assert geometry["inWindow"], geometry


async def test_a_key_revoked_while_the_visitor_writes_is_the_site_owners_to_read_of(
    tenants: TenantFactory, page: Page, live_server: str
) -> None:
    """The visitor read "This widget key was revoked. The project's settings in Lantern show the key that replaced
    it.", of settings they do not have. They are told it could not be sent, with their text kept; the console
    says why, for the site's owner."""
    async with tenants.create() as tenant:
        with Site({}) as site:
            project, dialog = await open_dialog(page, tenant, site, live_server)
            warnings: list[str] = []
            page.on("console", lambda message: warnings.append(message.text))
            await dialog.get_by_label("Title").fill("Checkout breaks")
            keys = f"/api/v1/projects/{project['id']}/keys"
            await tenant.client.post(keys)  # a new key, so that the first may go
            first = next(
                key for key in (await tenant.client.get(keys)).json()["data"] if key["key"] == project["apiKey"]
            )
            assert (await tenant.client.delete(f"{keys}/{first['id']}")).status_code == 204
            await dialog.get_by_role("button", name="Send report").click()
            await expect(dialog.get_by_role("status")).to_have_text("The report could not be sent.")
            await expect(dialog.get_by_label("Title")).to_have_value("Checkout breaks")
    assert any("Lantern: the report was refused (This widget key was revoked:" in text for text in warnings), warnings


async def test_the_try_page_sends_a_report_though_the_project_lists_only_its_sites(
    tenants: TenantFactory, page: Page
) -> None:
    """The project page's "Try the widget" showed the button on Lantern's own address, which the project's origins
    do not list: the visitor filled in the whole form, and only then read that this origin was not allowed. Its
    reader is the project's manager: the site's refusals, which a visitor elsewhere reads as "not available on this
    page", are told in the server's words."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Example Store", allowedOrigins=["https://shop.example.com"])
        await log_in(page, tenant.email, path=f"/ui/projects/{project['id']}/try")
        await page.get_by_role("button", name="Report a bug").click()
        dialog = page.get_by_role("dialog", name="Report a bug")
        paused = await tenant.client.patch(f"/api/v1/projects/{project['id']}", json={"isActive": False})
        assert paused.status_code == 200, paused.text
        await dialog.get_by_label("Title").fill("Tried it from Lantern")
        await dialog.get_by_role("button", name="Send report").click()
        await expect(dialog.get_by_role("status")).to_have_text("This project is paused and takes no reports.")
        resumed = await tenant.client.patch(f"/api/v1/projects/{project['id']}", json={"isActive": True})
        assert resumed.status_code == 200, resumed.text
        await send_from_dialog(page, "Tried it from Lantern")
        report = await the_only_report(tenant, project["id"])
    assert report["title"] == "Tried it from Lantern"


# The stub README's "The widget's JavaScript API" gives a page, which queues its calls until the script has loaded.
LANTERN_STUB = """<script>
  window.Lantern = window.Lantern || { q: [] };
  ["identify", "setCustomData", "open", "close"].forEach(function (name) {
    Lantern[name] = Lantern[name] || function () { Lantern.q.push([name].concat([].slice.call(arguments))); };
  });
</script>"""


def embedding_page(lantern: str, api_key: str, before_script: str, launcher: str = "") -> str:
    """A signed-in customer's page with the stub and `before_script`'s calls, then the widget's deferred tag (with
    `launcher` as its data-launcher), and a button of the page's own that opens the dialog; the widget's events
    are listed in `window.seen` as [type, detail]."""
    launcher_attribute = f' data-launcher="{launcher}"' if launcher else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Account - Example Store</title>
{LANTERN_STUB}
<script>
  window.seen = [];
  for (const type of ["opened", "closed", "submitted"]) {{
    window.addEventListener("lantern:" + type, (event) => window.seen.push([type, event.detail]));
  }}
  {before_script}
</script>
<script src="{lantern}/widget.js" data-api-key="{api_key}"{launcher_attribute} defer></script>
</head><body><h1>Your account</h1><button id="feedback" onclick="Lantern.open()">Send feedback</button></body></html>"""


async def test_the_page_names_its_user_and_its_own_data_and_the_report_carries_them(
    tenants: TenantFactory, page: Page, live_server: str
) -> None:
    """Calls queued before the script loaded are made when it does; the signed-in user fills the name and e-mail
    fields, which the visitor may still change; custom data merges (null removes a key) and arrives with the
    report, shown escaped on its page. What the page gets wrong is left out with a console warning, not thrown;
    a wrong identify call (a misspelled key, no argument, as `identify(session.user)` after signing out) forgets
    the user with a warning: it signed them out silently, then kept them (the next person found them prefilled)."""
    warnings: list[str] = []
    page.on("console", lambda message: warnings.append(message.text) if message.type == "warning" else None)
    queued = """
      Lantern.identify({ email: "ana@example.com", name: "Ana Lima" });
      Lantern.setCustomData({ plan: "pro", seats: 12, stale: "removed later" });"""
    async with tenants.create() as tenant:
        with Site({}) as site:
            project = await project_for(tenant, site)
            site.pages["/account"] = embedding_page(live_server, project["apiKey"], queued)
            await page.goto(site.url("/account"))
            launcher = page.get_by_role("button", name="Report a bug")
            await launcher.click()
            dialog = page.get_by_role("dialog", name="Report a bug")
            await expect(dialog.get_by_label("Your name (optional)")).to_have_value("Ana Lima")
            await expect(dialog.get_by_label("Your e-mail (optional)")).to_have_value("ana@example.com")
            await dialog.get_by_role("button", name="Cancel").click()

            # A misspelled key, no argument or an empty object each forget the user, as null does, with a warning.
            for call in ['{ mail: "typo@example.com" }', "", "{}"]:
                await page.evaluate(f"""() => {{
                  Lantern.identify({{ email: "ana@example.com", name: "Ana Lima" }});
                  Lantern.identify({call});
                }}""")
                await launcher.click()
                await expect(dialog.get_by_label("Your name (optional)")).to_have_value("")
                await expect(dialog.get_by_label("Your e-mail (optional)")).to_have_value("")
                await dialog.get_by_role("button", name="Cancel").click()
            await page.evaluate('() => Lantern.identify({ email: "ana@example.com", name: "Ana Lima" })')
            await launcher.click()
            await expect(dialog.get_by_label("Your e-mail (optional)")).to_have_value("ana@example.com")
            await dialog.get_by_role("button", name="Cancel").click()

            # Another user signs in, with an address that is none: it is left out, and the draft's fields give way.
            await page.evaluate("""() => {
              Lantern.identify({ email: "bo at example", name: "Bo Chen", userId: 7, username: "bo" });
              Lantern.setCustomData({ stale: null, note: "<script>alert('x')</script>", trial: true,
                ["k".repeat(101)]: 1, tags: ["a"] });
              Lantern.setCustomData("plan=pro");
            }""")
            await launcher.click()
            await expect(dialog.get_by_label("Your name (optional)")).to_have_value("Bo Chen")
            await expect(dialog.get_by_label("Your e-mail (optional)")).to_have_value("")
            await dialog.get_by_label("Your e-mail (optional)").fill("bo@example.com")
            await send_from_dialog(page, "Plan page is blank")

        report = await the_only_report(tenant, project["id"])
        await log_in(page, tenant.email)
        await page.goto(f"/ui/reports/{report['id']}")
        custom_data = page.locator("dl.custom-data")
        await expect(custom_data.get_by_text("<script>alert('x')</script>", exact=True)).to_be_visible()
        assert await page.locator("script", has_text="alert('x')").count() == 0
        await expect(page.get_by_text("Custom data", exact=True)).to_be_visible()
        assert await custom_data.locator("dt").all_inner_texts() == ["note", "plan", "seats", "trial"]

    assert (report["reporterName"], report["reporterEmail"]) == ("Bo Chen", "bo@example.com")
    assert report["metadata"]["custom"] == {
        "plan": "pro",
        "seats": 12,
        "note": "<script>alert('x')</script>",
        "trial": True,
    }
    assert [warning for warning in warnings if warning.startswith("Lantern:")] == [
        'Lantern: identify: "mail" is not one of its keys (email, name): the user is forgotten; null signs them out.',
        (
            "Lantern: identify was called without a user: it takes { email, name }, or null when the user signs "
            "out; the user is forgotten."
        ),
        "Lantern: identify: {} names no user (it takes { email, name }): the user is forgotten; null signs them out.",
        'Lantern: identify: "userId", "username" are not among its keys (email, name): left out.',
        'Lantern: identify: "bo at example" is no e-mail address; it was left out.',
        f'Lantern: setCustomData: "{"k" * 40}…" was left out: a key has at most 100 characters.',
        'Lantern: setCustomData: "tags" was left out: a value is a string, a number or a boolean.',
        "Lantern: setCustomData takes an object of keys and values (null removes a key).",
    ]


async def test_a_page_with_its_own_trigger_opens_and_closes_the_dialog_and_hears_of_it(
    tenants: TenantFactory, worker: Any, page: Page, embedded_services: dict[str, str]
) -> None:
    """data-launcher="hidden": no button; Lantern.open() (queued before the script loaded too) opens the dialog
    as the button does, Lantern.close() closes it, and the page hears lantern:opened, lantern:closed and, once a
    report is taken, lantern:submitted with its id and tracking ID, nothing of its content. Closing gives the
    focus back to the page's own trigger."""
    # The session's server answers a submission at once, unnumbered (most tests run no worker): this one waits
    # for this test's worker to number it, as a production server does.
    numbering = {**embedded_services, **PATIENT_NUMBERING}
    async with tenants.create() as tenant, granian_server(1, **numbering) as lantern:
        with Site({}) as site:
            project = await project_for(tenant, site)
            site.pages["/account"] = embedding_page(lantern, project["apiKey"], "Lantern.open();", "hidden")
            await page.goto(site.url("/account"))
            dialog = page.get_by_role("dialog", name="Report a bug")
            await expect(dialog).to_be_visible()
            assert await page.get_by_role("button", name="Report a bug").count() == 0
            await page.evaluate("Lantern.open()")  # already open: nothing more
            await page.evaluate("Lantern.close()")
            await expect(dialog).to_have_count(0)

            trigger = page.get_by_role("button", name="Send feedback")
            await trigger.click()
            await expect(dialog).to_be_visible()
            await page.keyboard.press("Escape")
            await expect(dialog).to_have_count(0)
            await expect(trigger).to_be_focused()
            assert await page.get_by_role("button", name="Report a bug").count() == 0

            await trigger.click()
            await send_from_dialog(page, "Feedback from my own button")
            report = await the_only_report(tenant, project["id"])
            await expect(dialog.get_by_role("status")).to_have_text(
                f"Thank you! Your report was sent as {report['trackingId']}."
            )
            await dialog.get_by_role("button", name="Close").first.click()
            await expect(dialog).to_have_count(0)
            seen = await page.evaluate("window.seen")

    assert report["trackingId"]
    assert seen == [
        ["opened", None],
        ["closed", None],
        ["opened", None],
        ["closed", None],
        ["opened", None],
        ["submitted", {"id": report["id"], "trackingId": report["trackingId"]}],
        ["closed", None],
    ]


async def test_a_page_with_a_lantern_of_its_own_keeps_it_and_still_gets_the_widget(
    tenants: TenantFactory, page: Page, live_server: str
) -> None:
    """A `window.Lantern` that is not the README's stub (a function, a library of that name) is the page's own: it
    is left as it was, and the widget works without its API, saying so. A stub the page froze gives way to a new
    object, one held read-only takes the methods itself, and one both frozen and read-only leaves the page without
    the API, said so: their queued calls are made all the same. A frozen stub threw in the widget's start, and no
    button ever came; a page's own function or methods were overwritten."""
    warnings: list[str] = []
    page.on("console", lambda message: warnings.append(message.text) if message.type == "warning" else None)
    queued = '{ q: [["identify", { email: "ana@example.com" }]] }'
    pages = {
        "function": ("window.Lantern = function () { return 'mine'; };", "Lantern()", "mine"),
        "library": ("window.Lantern = { open: () => 'its own', version: 3 };", "Lantern.open()", "its own"),
        "frozen": (f"window.Lantern = Object.freeze({queued});", "typeof Lantern.open", "function"),
        "read-only": (
            f"Object.defineProperty(window, 'Lantern', {{ value: {queued} }});",
            "typeof Lantern.open",
            "function",
        ),
        "frozen and read-only": (
            f"Object.defineProperty(window, 'Lantern', {{ value: Object.freeze({queued}) }});",
            "typeof Lantern.open",
            "undefined",
        ),
    }
    async with tenants.create() as tenant:
        with Site({}) as site:
            project = await project_for(tenant, site)
            launcher = page.get_by_role("button", name="Report a bug")
            dialog = page.get_by_role("dialog", name="Report a bug")
            for name, (script, call, answer) in pages.items():
                path = "/" + name.replace(" ", "-")
                site.pages[path] = embedding_page(live_server, project["apiKey"], script).replace(LANTERN_STUB, "")
                await page.goto(site.url(path))
                await launcher.click()
                email = "" if name in {"function", "library"} else "ana@example.com"  # the stubs' queued call
                await expect(dialog.get_by_label("Your e-mail (optional)")).to_have_value(email)
                assert await page.evaluate(call) == answer, name
                if answer == "function":  # the API works
                    await page.evaluate("Lantern.close()")
                    await expect(dialog).to_have_count(0)

    assert [warning for warning in warnings if warning.startswith("Lantern:")] == [
        "Lantern: window.Lantern is the page's own (function): the widget works without its JavaScript API.",
        "Lantern: window.Lantern is the page's own (object): the widget works without its JavaScript API.",
        "Lantern: window.Lantern cannot be assigned: the widget works without its JavaScript API.",
    ]


async def test_the_last_of_open_and_close_wins_while_the_screenshot_is_taken(
    tenants: TenantFactory, page: Page, live_server: str
) -> None:
    """open(), close(), open() in a row (a page's trigger clicked twice, a close between): the dialog is open, as
    the last call asked; it stayed closed, the second open() dropped while the first's screenshot was taken."""
    async with tenants.create() as tenant:
        with Site({}) as site:
            project = await project_for(tenant, site)
            site.pages["/account"] = embedding_page(live_server, project["apiKey"], "", "hidden")
            await page.goto(site.url("/account"))
            await page.wait_for_function("typeof Lantern.q.push === 'function' && !Array.isArray(Lantern.q)")
            await page.wait_for_function("document.documentElement.lastElementChild.shadowRoot !== null")
            dialog = page.get_by_role("dialog", name="Report a bug")
            await page.evaluate("Lantern.open(); Lantern.close(); Lantern.open()")
            await expect(dialog).to_be_visible()
            await page.wait_for_timeout(500)
            await expect(dialog).to_be_visible()
            await page.evaluate("Lantern.close(); Lantern.open(); Lantern.close()")
            await page.wait_for_timeout(500)
            await expect(dialog).to_have_count(0)
            assert [event for event, _detail in await page.evaluate("window.seen")] == ["opened", "closed"]


MOBILE_META = '<meta name="viewport" content="width=device-width, initial-scale=1">'


@pytest.mark.parametrize(
    "phone", [{"width": 375, "height": 667}, {"width": 320, "height": 568}, {"width": 667, "height": 375}]
)
async def test_on_a_touch_screen_the_dialog_opens_at_its_top_without_the_keyboard(
    tenants: TenantFactory, browser: Browser, live_server: str, phone: dict[str, int]
) -> None:
    """The title took the focus at once, which scrolled the dialog past its own header (its top at -32 px at
    375 x 667, -118 px at 320 x 568; in landscape the marking tools too) and brought up the on-screen keyboard;
    the hint told of arrow keys and Enter to a visitor with neither."""
    context = await browser.new_context(
        base_url=live_server, locale="en-US", viewport=phone, is_mobile=True, has_touch=True
    )
    page = await context.new_page()
    try:
        async with tenants.create() as tenant:
            with Site({}) as site:
                project = await project_for(tenant, site)
                page_html = checkout_page(live_server, project["apiKey"]).replace("<head>", f"<head>{MOBILE_META}")
                site.pages["/checkout"] = page_html
                dialog = await opened_dialog(page, site.url("/checkout"))
                await expect(dialog.locator("canvas")).to_be_visible()
                await expect(dialog).to_be_focused()
                await expect(dialog.get_by_label("Title")).not_to_be_focused()
                heading = await dialog.get_by_role("heading", name="Report a bug").bounding_box()
                await expect(dialog.get_by_role("button", name="Close").first).to_be_in_viewport()
                await expect(dialog.get_by_role("toolbar")).to_be_in_viewport()
                await expect(dialog.locator(".hint").first).to_have_text("Mark what is wrong on the screenshot.")
    finally:
        await context.close()
    assert heading is not None
    assert heading["y"] >= 0, heading


async def test_the_sites_refusal_a_failure_passing_and_being_offline_are_told_as_such(
    tenants: TenantFactory, browser: Browser, live_server: str
) -> None:
    """A paused project, a proxy's 502 and a visitor gone offline were all "could not be sent", saying neither
    why nor whether to send again. The text stays, to send again. A site the project no longer allows, or a paused
    project, then told the visitor the owner's "This origin is not allowed to use this project's widget", with no
    next step: they read that reports cannot be sent from this page and to contact the site; the console says why."""
    context = await browser.new_context(base_url=live_server, locale="de-DE")
    page = await context.new_page()
    warnings: list[str] = []
    page.on("console", lambda message: warnings.append(message.text) if message.type == "warning" else None)
    try:
        async with tenants.create() as tenant:
            with Site({}) as site:
                project, dialog = await open_dialog(page, tenant, site, live_server, "Fehler melden")
                await dialog.get_by_role("textbox", name="Titel").fill("Bezahlen geht nicht")
                send = dialog.get_by_role("button", name="Bericht senden")
                status = dialog.get_by_role("status")

                async def bad_gateway(route: Route) -> None:
                    await route.fulfill(status=502, content_type="text/html", body="<h1>502 Bad Gateway</h1>")

                await page.route("**/api/v1/widget/submit**", bad_gateway)
                await send.click()
                await expect(status).to_have_text(
                    "Der Bericht konnte nicht gesendet werden. Bitte versuchen Sie es gleich noch einmal."
                )
                await page.unroute("**/api/v1/widget/submit**")

                await context.set_offline(True)
                await send.click()
                await expect(status).to_have_text(
                    "Sie scheinen offline zu sein. Bitte senden Sie den Bericht erneut, sobald Sie wieder verbunden "
                    "sind."
                )
                await context.set_offline(False)

                not_here = (
                    "Von dieser Seite können gerade keine Berichte gesendet werden. Bitte wenden Sie sich auf anderem "
                    "Weg an die Website."
                )
                changes = [
                    {"allowedOrigins": ["https://shop.example.com"]},
                    {"allowedOrigins": [site.origin], "isActive": False},
                ]
                for change in changes:
                    changed = await tenant.client.patch(f"/api/v1/projects/{project['id']}", json=change)
                    assert changed.status_code == 200, changed.text
                    await send.click()  # which says "Sending…" at once
                    await expect(status).to_have_text(not_here)
                await expect(dialog.get_by_role("textbox", name="Titel")).to_have_value("Bezahlen geht nicht")
    finally:
        await context.close()
    assert [warning for warning in warnings if warning.startswith("Lantern:")] == [
        "Lantern: the report was refused (Dieser Ursprung darf das Widget dieses Projekts nicht verwenden.).",
        "Lantern: the report was refused (Dieses Projekt ist pausiert und nimmt keine Berichte an.).",
    ]


PIXEL_AT = """(canvas, [x, y]) => [...canvas.getContext("2d").getImageData(x, y, 1, 1).data.slice(0, 3)]"""
PLACEHOLDER_GREY = (229, 231, 235)  # the placeholder's fill, #e5e7eb
PHOTO_RED = (200, 0, 0)


def pictures_page(lantern: str, api_key: str, ads: str) -> str:
    """Another site's (`ads`) photo and background without CORS, its frame (a red border) and a frame of the
    page's own whose page is taller than its box (a blue border), on a line of text."""
    place = "position:absolute;width:200px;height:100px;top:40px"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Gallery</title></head>
<body style="margin:0;background:#fff">
  <img id="photo" src="{ads}/photo.png" alt="" style="{place};left:40px">
  <div id="tile" style="{place};left:300px;background-image:url({ads}/photo.png)"></div>
  <iframe id="ad" src="{ads}/frame" style="position:absolute;left:600px;top:40px;width:300px;height:150px;
    border:6px solid rgb{BOX_RED}"></iframe>
  <p id="line" style="margin:0;position:absolute;top:300px;left:40px">Before
    <iframe id="own" style="width:200px;height:80px;border:4px solid rgb(0,0,255)"
      srcdoc="<body style='margin:0;height:2000px;background:rgb(0,170,119)'>Tall</body>"></iframe> after</p>
  <script src="{lantern}/widget.js" data-api-key="{api_key}" defer></script></body></html>"""


def red_png() -> bytes:
    picture = io.BytesIO()
    Image.new("RGB", (20, 10), PHOTO_RED).save(picture, "PNG")
    return picture.getvalue()


def near(pixel: list[int], color: tuple[int, int, int]) -> bool:
    return all(abs(a - b) <= 12 for a, b in zip(pixel, color, strict=True))


async def test_images_and_frames_the_screenshot_cannot_draw_are_placeholders_in_their_boxes(
    tenants: TenantFactory, page: Page, live_server: str
) -> None:
    """Another site's image without CORS vanished from the screenshot (an <img> or a background); another site's
    frame vanished, border and all; a frame of the page's own was drawn on a line of its own, its page spilling
    out of its box."""
    ad = "<body style='background:rgb(0,170,119)'>Ad</body>"
    async with tenants.create() as tenant:
        with Site({}) as site, Site({"/frame": ad, "/photo.png": red_png()}) as ads:
            project = await project_for(tenant, site)
            site.pages["/"] = pictures_page(live_server, project["apiKey"], ads.origin)
            await page.goto(site.url("/"))
            assert await page.locator("#photo").evaluate("(photo) => photo.naturalWidth") == 20, "shown on the page"
            own = await page.locator("#own").bounding_box()
            line = await page.locator("#line").bounding_box()
            dialog = await opened_dialog(page, site.url("/"))
            canvas = dialog.locator("canvas")
            await expect(canvas).to_be_visible()

            async def pixel(x: float, y: float) -> list[int]:
                return list(await canvas.evaluate(PIXEL_AT, [round(x), round(y)]))

            assert own is not None
            assert line is not None
            assert own["y"] < line["y"] + 20, "the frame is on the line of its text"
            assert near(await pixel(80, 120), PLACEHOLDER_GREY), "the photo's placeholder"
            assert near(await pixel(340, 120), PLACEHOLDER_GREY), "the background's placeholder"
            assert near(await pixel(603, 115), BOX_RED), "the other site's frame keeps its border"
            assert near(await pixel(700, 170), PLACEHOLDER_GREY), "and is a placeholder inside it"
            middle = (own["x"] + own["width"] / 2, own["y"] + own["height"] / 2)
            assert near(await pixel(own["x"] + 2, middle[1]), (0, 0, 255)), "the own frame's border, in its place"
            assert near(await pixel(middle[0] - 40, middle[1] + 20), PLACEHOLDER_GREY), "a placeholder inside it"
            assert near(await pixel(middle[0], own["y"] + own["height"] + 30), (255, 255, 255)), "nothing spills"
            green = await canvas.evaluate(
                """(canvas) => {
                  const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
                  let green = 0;
                  for (let i = 0; i < data.length; i += 4) if (data[i + 1] > 150 && data[i] < 30) green++;
                  return green;
                }"""
            )
            assert green == 0, "no frame's page is drawn"


def language_form(lantern: str, api_key: str) -> str:
    """A form whose language select is a block (as form frameworks make it), with two options for German, and
    below it the text of the first of them in a span of the same font."""
    text = "display:block;box-sizing:border-box;width:320px;height:40px;padding:6px 10px;font:inherit;color:inherit"
    return f"""<!doctype html>
<html lang="de"><head><meta charset="utf-8"><title>Einstellungen</title></head>
<body style="margin:0;background:#fff;font:20px sans-serif;color:rgb(17,24,39)">
  <form style="position:absolute;left:40px;top:40px">
    <label for="language">Language</label>
    <select id="language" style="{text};border:1px solid rgb(209,213,219);background:#fff">
      <option value="en">English</option><option value="de">Deutsch</option>
      <option value="de">Deutsch (Österreich)</option></select>
    <span id="same-text" style="{text};border:1px solid transparent;margin-top:40px">Deutsch</span>
  </form>
  <script src="{lantern}/widget.js" data-api-key="{api_key}" defer></script></body></html>"""


# The text's ink in a box of the canvas: how many pixels are dark, and how many columns they span.
INK_IN = """(canvas, [x, y, width, height]) => {
  const data = canvas.getContext("2d").getImageData(x, y, width, height).data;
  let count = 0, left = width, right = -1;
  for (let i = 0; i < data.length; i += 4) {
    if (Math.max(data[i], data[i + 1], data[i + 2]) > 100) continue;
    const column = (i / 4) % width;
    count++;
    left = Math.min(left, column);
    right = Math.max(right, column);
  }
  return { count, width: right - left + 1 };
}"""


async def test_a_select_is_drawn_with_the_option_the_visitor_chose(
    tenants: TenantFactory, page: Page, live_server: str
) -> None:
    """A select laid out as a block was drawn empty (its options, which have no box of their own, were left out
    of the picture as if painting nowhere), and of two options sharing a value the later one was drawn."""
    async with tenants.create() as tenant:
        with Site({}) as site:
            project = await project_for(tenant, site)
            site.pages["/"] = language_form(live_server, project["apiKey"])
            await page.goto(site.url("/"))
            await page.locator("#language").select_option(label="Deutsch")
            select = await page.locator("#language").bounding_box()
            same_text = await page.locator("#same-text").bounding_box()
            assert select is not None
            assert same_text is not None
            await page.get_by_role("button", name="Report a bug").click()
            canvas = page.get_by_role("dialog", name="Report a bug").locator("canvas")
            await expect(canvas).to_be_visible()

            async def ink(box: FloatRect, width: float) -> dict[str, int]:
                """In `box` less its border, from its left, `width` wide (a select's arrow is on its right)."""
                area = [round(box["x"]) + 2, round(box["y"]) + 2, round(width), round(box["height"]) - 4]
                return dict(await canvas.evaluate(INK_IN, area))

            text_width = select["width"] - 40
            drawn, expected = await ink(select, text_width), await ink(same_text, text_width)
            assert expected["count"] > 100, expected
            assert drawn["count"] == pytest.approx(expected["count"], rel=0.15), (drawn, expected)
            assert drawn["width"] == pytest.approx(expected["width"], abs=3), (drawn, expected)
            arrow = [round(select["x"] + text_width), round(select["y"]) + 2, 36, round(select["height"]) - 4]
            assert (await canvas.evaluate(INK_IN, arrow))["count"] > 10, "the drop-down's arrow"


def long_page(lantern: str, api_key: str) -> str:
    """A page 6,000 pixels tall, scrolled to a green band 3,000 pixels down."""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Catalogue</title></head>
<body style="margin:0;background:#fff">
  <div style="height:3000px">Top</div>
  <div id="band" style="height:720px;background:rgb{HEADER_GREEN}">Where the visitor is</div>
  <div style="height:2280px">Bottom</div>
  <script>window.addEventListener("load", () => window.scrollTo(0, 3000));</script>
  <script src="{lantern}/widget.js" data-api-key="{api_key}" defer></script></body></html>"""


WINDOWS_PART_SHOWN = """([canvas, y]) => {
  const box = canvas.getBoundingClientRect();
  const at = box.top + box.height * y;
  return at >= 0 && at <= window.innerHeight && canvas.getRootNode().elementFromPoint(box.left + 20, at) === canvas;
}"""


async def test_a_whole_page_screenshot_opens_where_the_visitor_was(
    tenants: TenantFactory, page: Page, live_server: str
) -> None:
    """The marking area opened at the page's top, with the visitor 3,000 pixels further down."""
    async with tenants.create() as tenant:
        with Site({}) as site:
            project = await project_for(tenant, site)
            changed = await tenant.client.patch(
                f"/api/v1/projects/{project['id']}", json={"widgetConfig": {"captureMethod": "fullpage"}}
            )
            assert changed.status_code == 200, changed.text
            site.pages["/"] = long_page(live_server, project["apiKey"])
            await page.goto(site.url("/"))
            await page.wait_for_function("window.scrollY === 3000")
            await page.get_by_role("button", name="Report a bug").click()
            canvas = page.get_by_role("dialog", name="Report a bug").locator("canvas")
            await expect(canvas).to_be_visible(timeout=60_000)
            middle = (3000 + 720 / 2) / 6000
            assert await canvas.evaluate(f"(canvas) => ({WINDOWS_PART_SHOWN})([canvas, {middle}])")
            assert await canvas.evaluate(PIXEL_AT, [20, round(middle * 6000)]) == list(HEADER_GREEN)
            await expect(page.get_by_role("dialog", name="Report a bug").get_by_label("Title")).to_be_focused()


async def test_the_console_names_the_origin_a_project_does_not_allow(
    tenants: TenantFactory, page: Page, live_server: str
) -> None:
    """The warning said the origin was not allowed, not which: a site owner could not tell www from not, or
    which port. Lantern.open() then did nothing without a word."""
    warnings: list[str] = []
    page.on("console", lambda message: warnings.append(message.text))
    async with tenants.create() as tenant:
        with Site({}) as site:
            project = await tenant.create_project("Shop", allowedOrigins=["https://shop.example.com"])
            site.pages["/"] = checkout_page(live_server, project["apiKey"])
            await page.goto(site.url("/"))
            for _ in range(100):  # the widget asks for its configuration, then warns
                if any(text.startswith("Lantern:") for text in warnings):
                    break
                await asyncio.sleep(0.05)
            # A trigger of the page's own that opens nothing said nothing either: whoever wires it up is told why.
            await page.evaluate("Lantern.open()")
            for _ in range(100):
                if len([text for text in warnings if text.startswith("Lantern:")]) > 1:
                    break
                await asyncio.sleep(0.05)
    refused = "This origin is not allowed to use this project's widget."
    assert [text for text in warnings if text.startswith("Lantern:")] == [
        f"Lantern: the widget is off ({refused}) on {site.origin}.",
        f"Lantern: open() opens nothing: the widget is off on this page ({refused}).",
    ]


PASTED = """(field, text) => {
  field.value = text;
  field.dispatchEvent(new InputEvent("input", { bubbles: true, inputType: "insertFromPaste" }));
}"""


async def test_a_description_cut_at_its_length_says_so_under_the_field(
    tenants: TenantFactory, page: Page, live_server: str
) -> None:
    """A pasted log past 20,000 characters was cut without a word."""
    async with tenants.create() as tenant:
        with Site({}) as site:
            _project, dialog = await open_dialog(page, tenant, site, live_server)
            description = dialog.get_by_label("Description")
            note = dialog.get_by_text("Only the first 20,000 characters are sent.")
            # As a paste gives a log, in one input event: `fill` and `insert_text` gave each line's end its own, each
            # one measured (4 ms), some 9 s in all.
            await description.evaluate(PASTED, "log line\n" * 1999)  # 19,990 characters
            await expect(note).to_have_count(0)
            await description.focus()
            await page.keyboard.insert_text("x" * 25_000)  # a line of its own: one input event
            assert len(await description.input_value()) == 20_000
            await expect(note).to_be_visible()
            await expect(description).to_have_accessible_description("Only the first 20,000 characters are sent.")
            field = await description.bounding_box()
            shown = await note.bounding_box()
            assert field is not None
            assert shown is not None
            assert field["y"] + field["height"] <= shown["y"] < field["y"] + field["height"] + 20
            await page.keyboard.press("Backspace")
            await expect(note).to_have_count(0)
