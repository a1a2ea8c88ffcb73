"""The admin UI's layout on a phone (375 by 667 px) and a desktop (1280 by 800): the lists, the header and the reports'
filters, measured where the QA pass found them wanting."""

from __future__ import annotations

from typing import Any

from playwright.async_api import Browser, Page, ViewportSize, expect

from app.lib.i18n import SUPPORTED_LOCALES
from tests.support.admin_ui import invite, log_in, pinged_webhook, report
from tests.support.clients import TenantFactory

PHONE: ViewportSize = {"width": 375, "height": 667}
DESKTOP: ViewportSize = {"width": 1280, "height": 800}

# The table's controls the page shows (a closed disclosure's button is not), and where each is across the window.
CONTROLS_ACROSS = """(table) => [...table.querySelectorAll("a, button, select, summary, input")]
  .filter((control) => control.checkVisibility())
  .map((control) => {
    const box = control.getBoundingClientRect();
    return {control: control.outerHTML.slice(0, 80), left: Math.round(box.left), right: Math.round(box.right)};
  })"""

# The cells that do not show their column's heading before their content: an empty cell has nothing to label, and
# a column whose heading is for screen readers alone (a row's actions, its box to tick) has none to show.
UNLABELLED_CELLS = """(table) => {
  const headings = [...table.tHead.rows[0].cells]
    .map((heading) => heading.querySelector(".visually-hidden") ? "" : heading.textContent.trim());
  return [...table.tBodies[0].rows].flatMap((row) => [...row.cells])
    .filter((cell) => headings[cell.cellIndex] && cell.textContent.trim())
    .filter((cell) => !getComputedStyle(cell, "::before").content.startsWith(JSON.stringify(headings[cell.cellIndex])))
    .map((cell) => `${headings[cell.cellIndex]}: ${cell.textContent.trim().slice(0, 40)}`);
}"""


async def table_roles(page: Page) -> dict[str, list[str]]:
    """The names of the table's cells and column headings as Chromium gives them to a screen reader."""
    session = await page.context.new_cdp_session(page)
    tree = await session.send("Accessibility.getFullAXTree")
    await session.detach()
    roles: dict[str, list[str]] = {}
    for node in tree["nodes"]:
        if not node.get("ignored") and node["role"]["value"] in {"table", "columnheader", "cell"}:
            roles.setdefault(node["role"]["value"], []).append(node.get("name", {}).get("value", ""))
    return roles


async def assert_cards(page: Page, path: str, controls: int) -> None:
    """The table at `path` is a card a row on a phone: at least `controls` controls (a disclosure's opened), each
    on the screen, nothing past the table's edge, and each cell that says something under its column's heading."""
    await page.goto(path)
    table, box = page.locator("main table"), page.locator("main .scroll")
    found = await table.evaluate(CONTROLS_ACROSS)
    for disclosure in await table.locator("summary").all():  # a member's Remove opened, and its button
        await disclosure.click()
        await box.evaluate("(box) => box.scrollTo({left: 0})")  # where a click scrolled a table to it
    found += await table.evaluate(CONTROLS_ACROSS)
    assert len(found) >= controls, (path, found)
    cut = [control for control in found if control["left"] < 0 or control["right"] > PHONE["width"]]
    assert not cut, (path, cut)
    assert await box.evaluate("(box) => box.scrollWidth <= box.clientWidth"), path  # nothing past its edge
    assert await table.evaluate(UNLABELLED_CELLS) == [], path


async def test_on_a_phone_each_row_of_a_list_is_a_card_with_every_control_on_the_screen(
    tenants: TenantFactory, page: Page, app: Any
) -> None:
    """At 375 px the members table was cut at the window's edge, in a box that scrolled sideways with nothing to
    say so: the role select and its "Change role" half past it, Remove out of sight; the projects' and reports'
    last columns too. Each row is a card, each cell after its column's heading; still a table to a screen
    reader, which is not read the heading twice."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop", siteUrl="https://shop.example")
        await report(tenant.client, project["apiKey"], "The cart is empty", tags=["checkout"])
        await invite(tenant, app, "member")
        invited = await tenant.client.post(
            "/api/v1/organization/members", json={"email": "client@example.com", "role": "guest"}
        )
        assert invited.status_code == 201, invited.text
        await page.set_viewport_size(PHONE)
        await log_in(page, tenant.email, path="/ui/members/")
        for path in ("/ui/members/", "/ui/projects/", "/ui/reports"):
            await assert_cards(page, path, controls=3)
        await page.goto("/ui/members/")
        roles = await table_roles(page)
        assert roles["columnheader"][:3] == ["Name", "E-mail address", "Role"]
        assert "client@example.com" in roles["cell"]  # its content alone: the drawn label is not read out


async def test_on_a_phone_tokens_webhooks_and_deliveries_are_cards_too(tenants: TenantFactory, page: Page) -> None:
    """The API tokens (Revoke), the webhooks and a webhook's deliveries (Send again) scrolled sideways at 375 px,
    in German the token's Revoke past the window's edge."""
    async with tenants.create() as tenant:
        await tenant.create_token("CI pipeline with a long name")
        webhook_id = await pinged_webhook(tenant, "https://hooks.example.com/lantern/phone")
        await page.set_viewport_size(PHONE)
        await log_in(page, tenant.email, path="/ui/tokens")
        for language in ("en", "de"):
            await assert_cards(page, f"/ui/tokens?lang={language}", controls=2)
            await assert_cards(page, f"/ui/webhooks?lang={language}", controls=1)
            await assert_cards(page, f"/ui/webhooks/{webhook_id}?lang={language}", controls=1)


async def test_on_a_phone_the_header_and_the_filters_leave_room_for_the_reports(
    tenants: TenantFactory, page: Page
) -> None:
    """At 375 by 667 px the header took 200 px of every page (six rows), and on the reports list the filters and the
    bulk change, a field a row, put the first report 1,150 px down, under nearly two screens of forms."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop")
        await report(tenant.client, project["apiKey"], "The cart is empty")
        await page.set_viewport_size(PHONE)
        await log_in(page, tenant.email)
        for language in ("en", "de", "ja"):
            await page.goto(f"/ui/reports?lang={language}")
            header = await page.locator("header.topbar").evaluate("(header) => header.offsetHeight")
            assert header <= 150, (language, header)
            for link in await page.locator("header.topbar nav a").all():
                await expect(link).to_be_in_viewport(ratio=1)
        await page.goto("/ui/reports?lang=en")
        bulk = await page.get_by_role("group", name="Change the selected reports").bounding_box()
        first = await page.locator("table.reports tbody tr").first.bounding_box()
        assert bulk is not None
        assert first is not None
        assert bulk["height"] <= 220, bulk
        assert first["y"] <= 850, first


async def test_on_a_desktop_the_filters_line_up_in_one_row_of_one_width(tenants: TenantFactory, page: Page) -> None:
    """At 1280 px each filter was as wide as its longest choice (the category's half as wide again as the status's,
    the assignee's three times), the search and tag boxes 3 px taller than the selects, their labels 3 px off the
    others', and the last two on a row of their own. Then, of one width, the sort read "Neueste zue" in German and
    "Zu erledigen" was cut: the sort is under them now, as wide as its longest choice, and the filters share the
    row. A category chosen read "Benutzeroberf" (German), "Interfaz de usu" (Spanish), "ユーザーインター" (Japanese):
    no choice of any select is cut, in any language."""
    async with tenants.create() as tenant:
        await tenant.create_project("Shop")
        await page.set_viewport_size(DESKTOP)
        await log_in(page, tenant.email)
        await page.goto("/ui/reports?lang=de")
        boxes = []
        for field in await page.get_by_role("search").locator("div:not(.actions) > :is(input, select)").all():
            label = page.locator(f"label[for='{await field.get_attribute('id')}']")
            boxes.append((await field.bounding_box(), await label.bounding_box()))
        assert len(boxes) == 8  # search, project, status, severity, priority, category, assignee, tag
        for key in ("y", "height", "width"):
            values = sorted(field[key] for field, _label in boxes if field)
            assert values[-1] - values[0] <= 1, (key, values)
        label_bottoms = sorted(label["y"] + label["height"] for _field, label in boxes if label)
        assert label_bottoms[-1] - label_bottoms[0] <= 1, label_bottoms
        for locale in SUPPORTED_LOCALES:
            await page.goto(f"/ui/reports?lang={locale}")
            selects = page.get_by_role("search").locator("select")
            cut = {
                await select.get_attribute("id"): await select.evaluate(CUT_CHOICES) for select in await selects.all()
            }
            assert len(cut) == 7, cut  # project, status, severity, priority, category, assignee, sort
            assert not any(cut.values()), (locale, cut)


# The choices of a select too wide to be read whole in it once chosen (its arrow and padding apart).
CUT_CHOICES = """(select) => {
  const style = getComputedStyle(select);
  const context = document.createElement("canvas").getContext("2d");
  context.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
  const room = select.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight) - 20;
  return [...select.options].map((option) => option.text).filter((text) => context.measureText(text).width > room);
}"""


# The fields of the page's forms that stick out of their card (or the window), with how far.
FIELDS_OUT_OF_THEIR_CARD = """() => [...document.querySelectorAll("main :is(input, select, textarea)")]
  .filter((field) => field.checkVisibility() && field.type !== "hidden")
  .map((field) => {
    const card = (field.closest(".card") || document.querySelector("main")).getBoundingClientRect();
    const box = field.getBoundingClientRect();
    return {field: field.name || field.id, out: Math.round(Math.max(box.right - card.right, card.left - box.left))};
  })
  .filter((field) => field.out > 0)"""


async def test_on_a_phone_no_form_is_wider_than_the_screen_in_any_language(
    tenants: TenantFactory, page: Page, browser: Browser, live_server: str
) -> None:
    """At 390 px the German profile was 114 px too wide: the language's longest choice ("Die Sprache des Browsers,
    sonst die der Organisation") widened its form, Name, Sprache and Zeitzone stuck out of their card, and the
    page scrolled sideways. Every page with a settings form, in every language: nothing past the screen's edge."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop", siteUrl="https://shop.example")
        await page.set_viewport_size({"width": 390, "height": 844})
        await log_in(page, tenant.email, path="/ui/profile")
        pages = ["/ui/profile", "/ui/settings", "/ui/projects/", f"/ui/projects/{project['id']}"]
        pages += [f"/ui/projects/{project['id']}/github/", "/ui/members/", "/ui/tokens/", "/ui/webhooks/"]
        pages += ["/ui/reports/new"]
        for locale in SUPPORTED_LOCALES:
            for path in pages:
                response = await page.goto(f"{path}?lang={locale}")
                assert response is not None
                assert response.ok, (locale, path)
                wide = await page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
                assert wide <= 0, (locale, path, wide)
                assert await page.evaluate(FIELDS_OUT_OF_THEIR_CARD) == [], (locale, path)
    signed_out = await browser.new_context(base_url=live_server, viewport={"width": 390, "height": 844})
    try:
        page = await signed_out.new_page()
        for locale in SUPPORTED_LOCALES:
            for path in ("/ui/login", "/ui/signup", "/ui/password-reset/"):
                await page.goto(f"{path}?lang={locale}")
                wide = await page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
                assert wide <= 0, (locale, path, wide)
    finally:
        await signed_out.close()


# Whether the header's parts (its links, switchers, person and logout) are on one line: some height they all span.
HEADER_IN_ONE_LINE = """(header) => {
  const boxes = [...header.querySelectorAll(":scope > *, nav a")]
    .filter((part) => part.checkVisibility()).map((part) => part.getBoundingClientRect());
  return Math.max(...boxes.map((box) => box.top)) < Math.min(...boxes.map((box) => box.bottom));
}"""


async def test_on_a_desktop_the_header_is_one_line_in_every_language(tenants: TenantFactory, page: Page) -> None:
    """At 1280 px "ログアウト" (Log out) dropped to a second line on every page in Japanese, and the German header
    took two lines. Narrower, it wraps, with nothing past the window's edge; the language's button shows once the
    keyboard is in its switcher."""
    async with tenants.create() as tenant:
        await log_in(page, tenant.email)
        header = page.locator("header.topbar")
        for locale in SUPPORTED_LOCALES:
            await page.set_viewport_size(DESKTOP)
            await page.goto(f"/ui/reports?lang={locale}")
            assert await header.evaluate(HEADER_IN_ONE_LINE), locale
            for width in (1024, 800, 640):
                await page.set_viewport_size({"width": width, "height": 800})
                wide = await page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
                assert wide <= 0, (locale, width, wide)
        apply = header.locator("#language-switcher + button")
        await expect(apply).to_have_css("width", "1px")
        await page.locator("#language-switcher").focus()
        await expect(apply).not_to_have_css("width", "1px")
