"""The widget's screenshot of the window (its default method) against pages where it once differed from what
the visitor saw: fixed elements on a page shorter than the window, a stuck sticky header, a page scrolled
sideways, and a page too tall for one canvas. Pixels are read with Pillow from the screenshot the report sent,
in a 1,280 x 720 window."""

from __future__ import annotations

from typing import Any

from PIL import Image
from playwright.async_api import Browser, Page

from tests.browser.test_widget import (
    BOX_RED,
    HEADER_GREEN,
    LIST_BLUE,
    PLACEHOLDER_GREY,
    has_color,
    screenshot_of_scrolled,
)
from tests.support.clients import TenantFactory

WINDOW = (1280, 720)
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


def very_tall_page(lantern: str, api_key: str) -> str:
    """200 bands of 1,000 pixels, grey but for a green and a blue one, scrolled to where the green one's last
    500 pixels and the blue one's first 220 are in view."""
    bands = "".join(
        f'<div style="height:1000px;background:rgb{color}">{band}</div>'
        for band, color in enumerate(
            HEADER_GREEN if band == 150 else LIST_BLUE if band == 151 else (200, 200, 200) for band in range(200)
        )
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Log</title></head>
<body style="margin:0">{bands}
  <script>window.addEventListener("load", () => window.scrollTo(0, 150500));</script>
  {widget_tag(lantern, api_key)}</body></html>"""


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
