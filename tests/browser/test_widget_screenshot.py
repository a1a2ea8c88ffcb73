"""The widget's screenshot of the window (its default method) against pages where it once differed from what
the visitor saw: fixed elements on a page shorter than the window, a stuck sticky header, a page scrolled
sideways, and a page too tall for one canvas. Pixels are read with Pillow from the screenshot the report sent,
in a 1,280 x 720 window."""

from __future__ import annotations

import io
from collections.abc import Callable
from functools import partial
from typing import Any

from PIL import Image
from playwright.async_api import Browser, Page, async_playwright, expect

from tests.browser.test_widget import (
    BOX_RED,
    HEADER_GREEN,
    LIST_BLUE,
    PLACEHOLDER_GREY,
    has_color,
    project_for,
    screenshot_of_scrolled,
    send_from_dialog,
    the_only_report,
)
from tests.support.browser import CHROMIUM_FLAGS, chromium_path
from tests.support.clients import TenantFactory
from tests.support.screenshots import processed
from tests.support.site import Site

WINDOW = (1280, 720)
INK = (0, 0, 0)  # the pages' text
BACKDROP_GREY = (128, 128, 128)  # black at half opacity over the white page


def widget_tag(lantern: str, api_key: str) -> str:
    return f'<script src="{lantern}/widget.js" data-api-key="{api_key}" defer></script>'


def short_page_with_a_modal(lantern: str, api_key: str) -> str:
    """A page a heading tall, under a backdrop over the whole window, a modal in its middle and a cookie bar at
    its bottom: all fixed."""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign up</title></head>
<body style="margin:0;background:#fff">
  <h1 style="margin:0;height:80px">Sign up</h1>
  <div style="position:fixed;inset:0;z-index:10;background:rgba(0,0,0,0.5)"></div>
  <div role="dialog" style="position:fixed;top:50%;left:50%;width:400px;height:200px;z-index:20;
    transform:translate(-50%,-50%);background:rgb{LIST_BLUE}">Subscribe?</div>
  <aside style="position:fixed;bottom:0;left:0;right:0;height:60px;z-index:30;background:rgb{BOX_RED}">
    Cookies</aside>
  {widget_tag(lantern, api_key)}</body></html>"""


async def test_fixed_elements_on_a_page_shorter_than_the_window_are_where_the_visitor_saw_them(
    tenants: TenantFactory, worker: Any, page: Page, live_server: str
) -> None:
    """The page was drawn at its own height, 80 pixels: the modal and the cookie bar were missing and the
    backdrop a strip at the top."""
    image = await screenshot_of_scrolled(page, tenants, live_server, short_page_with_a_modal, "true")
    assert image.size == WINDOW
    assert has_color(image, LIST_BLUE, (600, 330, 680, 390)), "the modal, in the window's middle"
    assert not has_color(image, LIST_BLUE, (0, 0, 430, 720)), "only there"
    assert has_color(image, BOX_RED, (100, 670, 1180, 710)), "the cookie bar, at the window's bottom"
    assert has_color(image, BACKDROP_GREY, (20, 600, 400, 640)), "the backdrop, down to the bar"
    assert not has_color(image, (255, 255, 255), (0, 0, 1280, 640)), "nothing left outside the backdrop"


def sticky_header_page(lantern: str, api_key: str) -> str:
    """A banner, then a header that sticks to the window's top, over 4,000 pixels of page scrolled to 1,800."""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>News</title></head>
<body style="margin:0;background:#fff">
  <div style="height:300px;background:#eee">Banner</div>
  <header style="position:sticky;top:0;height:60px;background:rgb{HEADER_GREEN}">News</header>
  <div style="height:4000px">Articles</div>
  <script>window.addEventListener("load", () => window.scrollTo(0, 1800));</script>
  {widget_tag(lantern, api_key)}</body></html>"""


async def test_a_sticky_header_stays_at_the_top_of_a_scrolled_page(
    tenants: TenantFactory, worker: Any, page: Page, live_server: str
) -> None:
    """The header was drawn where it sits before it sticks, 1,500 pixels above the window."""
    image = await screenshot_of_scrolled(page, tenants, live_server, sticky_header_page, "window.scrollY === 1800")
    assert image.size == WINDOW
    assert has_color(image, HEADER_GREEN, (600, 5, 700, 55)), "the header, stuck at the window's top"
    assert not has_color(image, HEADER_GREEN, (600, 70, 700, 720))


def page_of_web_components(lantern: str, api_key: str) -> str:
    """A page scrolled to 1,200 whose cookie bar (fixed at the window's bottom) and a frame of its own (a blue
    border, its page taller than its box and green) are in a web component's shadow root."""
    frame = "position:absolute;left:100px;top:1300px;width:400px;height:200px;border:6px solid rgb" + str(LIST_BLUE)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Magazine</title></head>
<body style="margin:0;background:#fff">
  <div id="chrome"></div>
  <div style="height:3000px">Articles</div>
  <script>
    document.getElementById("chrome").attachShadow({{ mode: "open" }}).innerHTML = `
      <aside style="position:fixed;bottom:0;left:0;right:0;height:60px;background:rgb{BOX_RED}">Cookies</aside>
      <iframe style="{frame}"
        srcdoc="<body style='margin:0;height:2000px;background:rgb{HEADER_GREEN}'>Ad</body>"></iframe>`;
    window.addEventListener("load", () => window.scrollTo(0, 1200));
  </script>
  {widget_tag(lantern, api_key)}</body></html>"""


async def test_fixed_elements_and_frames_in_a_shadow_root_are_drawn_as_in_the_page(
    tenants: TenantFactory, worker: Any, page: Page, live_server: str
) -> None:
    """The screenshot draws a web component's shadow root, but what it cannot draw as it is was looked for in
    the page's light tree alone: the component's cookie bar was drawn 1,200 pixels down from where the visitor
    saw it, and its frame's page spilled out of its box."""
    image = await screenshot_of_scrolled(page, tenants, live_server, page_of_web_components, "window.scrollY === 1200")
    assert image.size == WINDOW
    assert has_color(image, BOX_RED, (100, 670, 1180, 710)), "the cookie bar, at the window's bottom"
    assert not has_color(image, BOX_RED, (0, 0, 1280, 650)), "only there"
    assert has_color(image, LIST_BLUE, (100, 150, 105, 250)), "the frame's border, in its place"
    assert has_color(image, PLACEHOLDER_GREY, (250, 150, 350, 250)), "a placeholder inside it"
    assert not has_color(image, HEADER_GREEN, (0, 0, 1280, 720)), "no frame's page is drawn"


def wide_page(lantern: str, api_key: str) -> str:
    """A page 4,000 pixels wide, white on its left half and blue on its right, scrolled sideways to 2,500."""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Timeline</title></head>
<body style="margin:0;background:#fff">
  <div style="width:4000px;height:500px;background:linear-gradient(to right,#fff 2000px,rgb{LIST_BLUE} 2000px)">
    Timeline</div>
  <script>window.addEventListener("load", () => window.scrollTo(2500, 0));</script>
  {widget_tag(lantern, api_key)}</body></html>"""


async def test_a_page_scrolled_sideways_shows_the_part_in_view(
    tenants: TenantFactory, worker: Any, page: Page, live_server: str
) -> None:
    """Only the window's width of the page was drawn, so the picture of a page scrolled sideways was white."""
    image = await screenshot_of_scrolled(page, tenants, live_server, wide_page, "window.scrollX === 2500")
    assert image.size == WINDOW
    assert has_color(image, LIST_BLUE, (0, 0, 1280, 500)), "the timeline's blue half"
    assert not has_color(image, (255, 255, 255), (0, 0, 1280, 490)), "not its white half"


def banded_page(
    lantern: str, api_key: str, *, bands: int, colored: dict[int, tuple[int, int, int]], scrolled_to: int
) -> str:
    """`bands` bands of 1,000 pixels, grey but for the `colored` ones, scrolled `scrolled_to` pixels down."""
    bands_html = "".join(
        f'<div style="height:1000px;background:rgb{colored.get(band, (200, 200, 200))}">{band}</div>'
        for band in range(bands)
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Log</title></head>
<body style="margin:0">{bands_html}
  <script>window.addEventListener("load", () => window.scrollTo(0, {scrolled_to}));</script>
  {widget_tag(lantern, api_key)}</body></html>"""


# 200 bands, scrolled to where the green one's last 500 pixels and the blue one's first 220 are in view.
very_tall_page = partial(banded_page, bands=200, colored={150: HEADER_GREEN, 151: LIST_BLUE}, scrolled_to=150500)


async def test_a_very_tall_page_is_pictured_sharp_at_the_screens_density(
    tenants: TenantFactory, worker: Any, browser: Browser, live_server: str
) -> None:
    """The whole page had to fit one canvas, 32,000 pixels a side: 200,000 pixels tall, the window came out
    205 x 115 pixels, a blur."""
    context = await browser.new_context(base_url=live_server, locale="en-US", device_scale_factor=2)
    page = await context.new_page()
    try:
        image = await screenshot_of_scrolled(page, tenants, live_server, very_tall_page, "window.scrollY === 150500")
    finally:
        await context.close()
    assert image.size == (2560, 1440), "the window at the screen's two pixels to a CSS pixel"
    assert_only(image, HEADER_GREEN, (0, 0, 2560, 990))
    assert_only(image, LIST_BLUE, (0, 1010, 2560, 1440))


async def screenshot_sent_with(
    page: Page,
    tenants: TenantFactory,
    live_server: str,
    made: tuple[Callable[[str, str], str], str],
    widget_config: dict[str, Any],
) -> Image.Image:
    """The screenshot a report sends from the page `made[0]` serves once `made[1]` holds (a condition in
    JavaScript), with the project's widget configured so: it must reach the team."""
    async with tenants.create() as tenant:
        with Site({}) as site:
            project = await project_for(tenant, site)
            changed = await tenant.client.patch(
                f"/api/v1/projects/{project['id']}", json={"widgetConfig": widget_config}
            )
            assert changed.status_code == 200, changed.text
            site.pages["/"] = made[0](live_server, project["apiKey"])
            await page.goto(site.url("/"))
            await page.wait_for_function(made[1])
            await page.get_by_role("button", name="Report a bug").click(no_wait_after=True)
            await expect(page.get_by_role("dialog", name="Report a bug")).to_be_visible(timeout=60_000)
            await send_from_dialog(page, "The page is wrong here")
        shot = await processed(tenant, (await the_only_report(tenant, project["id"]))["id"])
        assert shot["status"] == "ready", shot
        return Image.open(io.BytesIO((await tenant.client.get(shot["url"])).content))


# Ten bands, the seventh green, scrolled to it.
page_of_forty_megapixels = partial(banded_page, bands=10, colored={6: HEADER_GREEN}, scrolled_to=6000)


async def test_a_whole_page_too_large_for_the_server_is_sent_at_a_scale_it_takes(
    tenants: TenantFactory, worker: Any, browser: Browser, live_server: str
) -> None:
    """A page 10,000 pixels tall drawn whole at two pixels a CSS pixel is 2,560 x 20,000 pixels: the server,
    which takes 40 million, refused it, yet the visitor was told the report was sent."""
    context = await browser.new_context(base_url=live_server, locale="en-US", device_scale_factor=2)
    try:
        image = await screenshot_sent_with(
            await context.new_page(),
            tenants,
            live_server,
            (page_of_forty_megapixels, "window.scrollY === 6000"),
            {"captureMethod": "fullpage"},
        )
    finally:
        await context.close()
    width, height = image.size
    assert width * height <= 40_000_000
    assert width * height > 39_000_000, "as sharp as the server takes"
    assert abs(height / width - 10000 / 1280) < 0.01, "the whole page, scaled alike both ways"
    assert_only(image, HEADER_GREEN, (0, round(height * 0.61), width, round(height * 0.69)))


def assert_only(image: Image.Image, color: tuple[int, int, int], region: tuple[int, int, int, int]) -> None:
    """Every pixel of `region` is `color` but the band's number, written in black at its top left."""
    pixels = image.convert("RGB").crop(region).get_flattened_data()
    others = sum(1 for pixel in pixels if any(abs(a - b) > 12 for a, b in zip(pixel, color, strict=True)))
    assert others < len(pixels) / 100, f"{others} of {len(pixels)} pixels are not {color}"


def long_table_page(lantern: str, api_key: str) -> str:
    """A 2,000-row table scrolled to its blue row 1,000, below a box far above the window whose one descendant
    is placed in the window's middle right, in red."""
    rows = "".join(
        f'<tr style="height:30px;background:{"rgb" + str(LIST_BLUE) if row == 1000 else "#fff"}"><td>{row}</td>'
        f"<td>name {row}</td><td>{row * 3}</td></tr>"
        for row in range(2000)
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Orders</title></head>
<body style="margin:0;background:#fff">
  <div style="display:flow-root;height:100px"><p><span style="position:absolute;top:30300px;left:900px;width:200px;
    height:100px;background:rgb{BOX_RED}">Note</span></p></div>
  <table style="width:600px;border-collapse:collapse">{rows}</table>
  <script>window.addEventListener("load", () => window.scrollTo(0, 30000));</script>
  {widget_tag(lantern, api_key)}</body></html>"""


async def test_a_long_table_is_drawn_as_seen_where_the_window_is(
    tenants: TenantFactory, worker: Any, page: Page, live_server: str
) -> None:
    """What lies wholly outside the window is left out of the copy the picture is drawn from (17 s for such a
    table drawn whole): the rows in view stay where they were, and a box out of sight keeps what it places in
    the window."""
    image = await screenshot_of_scrolled(page, tenants, live_server, long_table_page, "window.scrollY === 30000")
    assert image.size == WINDOW
    assert_only(image, LIST_BLUE, (0, 101, 590, 105))  # row 1,000, at 100 + 30,000 pixels less the scroll
    assert_only(image, LIST_BLUE, (0, 125, 590, 129))
    assert not has_color(image, LIST_BLUE, (0, 0, 600, 95))
    assert not has_color(image, LIST_BLUE, (0, 135, 600, 720))
    assert has_color(image, BOX_RED, (910, 310, 1090, 390)), "the note placed in view from far above"


def form_page(lantern: str, api_key: str) -> str:
    """An empty field whose placeholder is drawn in the page's red, in large letters, beside one typed in."""
    field = "position:absolute;top:100px;width:500px;height:120px;font:bold 80px sans-serif;border:0;color:#000"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign up</title>
<style>input::placeholder {{ color: rgb{BOX_RED}; }}</style></head>
<body style="margin:0;background:#fff">
  <input id="empty" placeholder="HHHHHH" style="{field};left:40px">
  <input id="typed" placeholder="HHHHHH" value="HHHHHH" style="{field};left:700px">
  <script>window.addEventListener("load", () => document.body.dataset.ready = "1");</script>
  {widget_tag(lantern, api_key)}</body></html>"""


async def test_an_empty_fields_placeholder_is_drawn_as_the_page_shows_it(
    tenants: TenantFactory, worker: Any, page: Page, live_server: str
) -> None:
    """The copy the picture is drawn from has no `::placeholder` style: an empty field's placeholder came out in
    the field's own ink (black), as if the visitor had typed it, where the page showed it grey."""
    image = await screenshot_of_scrolled(page, tenants, live_server, form_page, "document.body.dataset.ready")
    assert has_color(image, BOX_RED, (40, 100, 540, 220)), "the placeholder, in the page's colour"
    assert not has_color(image, INK, (40, 100, 540, 220)), "not in the field's ink"
    assert has_color(image, INK, (700, 100, 1200, 220)), "what was typed, in the field's ink"


MASK_GREY = (156, 163, 175)  # the block drawn over an element the site masks


def ready_once_loaded(lantern: str, api_key: str, setup: str) -> str:
    """The end of a page: its `setup` script run once it is loaded, then `body[data-ready]` set, and the widget."""
    return f"""<script>
    window.addEventListener("load", () => {{{setup}
      document.body.dataset.ready = "1";
    }});
  </script>
  {widget_tag(lantern, api_key)}</body></html>"""


def checkout_form_page(lantern: str, api_key: str, body_masked: bool = False) -> str:
    """A password field (its placeholder red), a card number field, an element the site masks and a search
    field; below, a masked element's child placed under it, a masked element laid out as `display: contents` and
    a frame (a payment form's); each filled in with black letters on white. `body_masked`: the site masks it all."""
    box = "position:absolute;width:500px;height:100px;font:bold 60px sans-serif;border:0;color:#000;background:#fff"
    frame = "<body style='margin:0;font:bold 60px sans-serif'>HHHHHH</body>"
    typed = """
      document.getElementById("password").value = "HHHHHHHHHH";
      document.getElementById("card").value = "4111 1111";
      document.getElementById("search").value = "HHHHHH";"""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Checkout</title>
<style>input::placeholder {{ color: rgb{BOX_RED}; }}</style></head>
<body style="margin:0;background:#fff"{" data-lantern-mask" if body_masked else ""}>
  <input id="password" type="password" placeholder="HHHH" style="{box};left:40px;top:40px">
  <input id="card" autocomplete="billing cc-number" style="{box};left:700px;top:40px">
  <div data-lantern-mask style="{box};left:40px;top:200px">HHHHHH</div>
  <input id="search" style="{box};left:700px;top:200px">
  <div data-lantern-mask style="{box};left:40px;top:360px;height:20px">
    <div style="{box};left:0;top:120px">HHHHHH</div></div>
  <div data-lantern-mask style="display:contents"><div style="{box};left:700px;top:360px">HHHHHH</div></div>
  <iframe srcdoc="{frame}" style="{box};left:700px;top:500px"></iframe>
  {ready_once_loaded(lantern, api_key, typed)}"""


async def test_secret_fields_and_masked_elements_are_not_drawn(
    tenants: TenantFactory, worker: Any, page: Page, live_server: str
) -> None:
    """The screenshot showed a card number as typed, and a password as one dot a character: its length."""
    image = await screenshot_of_scrolled(page, tenants, live_server, checkout_form_page, "document.body.dataset.ready")
    assert not has_color(image, INK, (40, 40, 540, 140)), "no password, nor a dot of it"
    assert not has_color(image, BOX_RED, (40, 40, 540, 140)), "nor the placeholder an empty field shows"
    assert not has_color(image, INK, (700, 40, 1200, 140)), "no card number"
    assert_only(image, MASK_GREY, (40, 200, 540, 300))
    assert has_color(image, INK, (700, 200, 1200, 300)), "what was typed in a search field"
    assert not has_color(image, INK, (40, 480, 540, 580)), "nor a masked element's child placed under it"
    assert not has_color(image, INK, (700, 360, 1200, 460)), "nor what a `display: contents` masked element holds"
    assert not has_color(image, INK, (700, 500, 1200, 600)), "nor a frame's page (a placeholder)"


def scrolled_text_page(lantern: str, api_key: str) -> str:
    """Four boxes scrolled to a line of H's (red in the second) that is out of their first view: one holding text
    between <br>s, one its lines in inline elements, a text area, and one scrolled sideways past an indent."""
    box = "position:absolute;width:400px;height:100px;overflow:auto;font:bold 40px/50px monospace;margin:0"
    lines = "<br>" * 4
    scrolled = """
      for (const id of ["text", "inline", "area"]) document.getElementById(id).scrollTop = 200;
      document.getElementById("wide").scrollLeft = 400;"""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Logs</title></head>
<body style="margin:0;background:#fff;color:#000">
  <div id="text" style="{box};left:40px;top:40px">{lines}HHHH{lines}</div>
  <div id="inline" style="{box};left:700px;top:40px">{lines}<span style="color:rgb{BOX_RED}">HHHH</span>{lines}</div>
  <textarea id="area" style="{box};left:40px;top:300px;border:0;padding:0;resize:none">
\n\n\n\nHHHH\n\n\n\n</textarea>
  <div id="wide" style="{box};left:700px;top:300px;white-space:nowrap;text-indent:400px">{"H" * 20}</div>
  {ready_once_loaded(lantern, api_key, scrolled)}"""


async def test_boxes_holding_text_are_drawn_where_they_are_scrolled(
    tenants: TenantFactory, worker: Any, page: Page, live_server: str
) -> None:
    """A box's content was moved by its child elements alone: text of its own, inline elements, a text area's
    text and a line scrolled sideways were drawn from their start, not what the visitor saw."""
    image = await screenshot_of_scrolled(page, tenants, live_server, scrolled_text_page, "document.body.dataset.ready")
    assert has_color(image, INK, (40, 40, 420, 90)), "the text's line of H's, at the box's top"
    assert not has_color(image, INK, (40, 92, 420, 140)), "the empty line after it"
    assert has_color(image, BOX_RED, (700, 40, 1080, 90)), "the inline element's, at the box's top"
    assert not has_color(image, BOX_RED, (700, 92, 1080, 140))
    assert has_color(image, INK, (40, 300, 420, 350)), "the text area's"
    assert not has_color(image, INK, (40, 352, 420, 400))
    assert has_color(image, INK, (700, 300, 900, 350)), "the H's past the indent, at the box's left"


async def test_a_frame_of_the_tab_covers_its_secret_fields_and_masked_elements(
    tenants: TenantFactory, worker: Any, live_server: str
) -> None:
    """With the screen-capture prompt the picture is the browser's own of the tab: a card number as typed and a
    password's dots, until the widget covered them; then still a frame's page (a payment form's card number), a
    masked element's child placed outside it, one laid out as `display: contents`, and a masked body. The prompt
    is accepted by the browser (a flag of its)."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=chromium_path(), args=[*CHROMIUM_FLAGS, "--auto-accept-this-tab-capture"]
        )
        try:
            page = await browser.new_page(base_url=live_server, locale="en-US")
            image, masked_body = [
                await screenshot_sent_with(
                    page, tenants, live_server, (made, "document.body.dataset.ready"), {"useScreenCaptureAPI": True}
                )
                for made in (checkout_form_page, partial(checkout_form_page, body_masked=True))
            ]
        finally:
            await browser.close()
    assert image.size == WINDOW
    assert_only(image, MASK_GREY, (40, 40, 540, 140))
    assert_only(image, MASK_GREY, (700, 40, 1200, 140))
    assert_only(image, MASK_GREY, (40, 200, 540, 300))
    dark = image.convert("L").crop((700, 200, 1200, 300)).getextrema()[0]
    assert dark < 80, "what was typed in a search field"
    assert_only(image, MASK_GREY, (40, 480, 540, 580))  # the masked element's child
    assert_only(image, MASK_GREY, (700, 360, 1200, 460))  # the `display: contents` one's
    assert_only(image, MASK_GREY, (700, 500, 1200, 600))  # the frame
    assert masked_body.size == WINDOW
    assert_only(masked_body, MASK_GREY, (700, 200, 1200, 300))  # the search field, as all the body holds
