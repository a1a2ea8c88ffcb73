"""The reports table and a report's page in the admin UI: filters, search, pages, triage, comments, and what
another organization or a guest cannot see."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit
from uuid import uuid4

import anyio
from playwright.async_api import Page, expect

from app.lib.i18n import SUPPORTED_LOCALES
from app.lib.sessions import SESSION_COOKIE
from tests.support.admin_ui import invite, log_in, png, read, report, report_with_context
from tests.support.clients import PASSWORD, WIDGET_METADATA, TenantFactory
from tests.support.screenshots import numbered, processed
from tests.support.worker import running_worker


async def test_the_table_filters_searches_in_chinese_and_pages_on(
    tenants: TenantFactory, page: Page, worker: Any
) -> None:
    async with tenants.create() as tenant:
        shop = await tenant.create_project("Shop")
        blog = await tenant.create_project("Blog")
        await report(tenant.client, shop["apiKey"], "結帳按鈕沒有反應", severity="critical")
        await report(tenant.client, blog["apiKey"], "Comments vanish after posting", severity="low")
        for number in range(25):
            await report(tenant.client, shop["apiKey"], f"Typo number {number:02d}", severity="low")
        await log_in(page, tenant.email)
        await expect(page.get_by_text("27 reports")).to_be_visible()
        # The table's box, which scrolls sideways on a phone, is a region named after the page.
        await expect(page.get_by_role("region", name="Reports")).to_be_visible()
        rows = page.locator("table.reports tbody tr")
        await expect(rows).to_have_count(25)
        await expect(rows.first).to_contain_text("Typo number 24")  # the newest
        await page.get_by_role("link", name="Next page").click()
        await expect(rows).to_have_count(2)
        await expect(page.get_by_text("27 reports")).to_be_visible()  # every page says how many match
        await expect(page.get_by_role("link", name="First page")).to_be_visible()
        await page.get_by_role("link", name="Previous page").click()
        await expect(rows).to_have_count(25)
        await expect(rows.first).to_contain_text("Typo number 24")  # its relative time may have moved on
        await expect(page.get_by_role("link", name="Previous page")).to_have_count(0)  # nothing before it
        await expect(page.get_by_role("link", name="Next page")).to_be_visible()

        # A cursor the list cannot read (a hand-edited address) is left out, and the page says so: the first page.
        await page.goto("/ui/reports?before=bm90LWEtY3Vyc29y")
        await expect(page.get_by_role("status")).to_have_text(
            "The list is shown without what the address asked for and it cannot apply: Page."
        )
        await expect(rows).to_have_count(25)

        await page.goto("/ui/reports")
        await page.get_by_label("Search").fill("結帳")  # a two-character Chinese word
        await page.get_by_role("button", name="Apply filters").click()
        await expect(rows).to_have_count(1)
        await expect(rows.first).to_contain_text("結帳按鈕沒有反應")
        await expect(rows.first).to_contain_text("Critical")

        await page.get_by_role("link", name="Clear").click()
        await page.get_by_label("Project").select_option(label="Blog")
        await page.get_by_role("button", name="Apply filters").click()
        await expect(rows).to_have_count(1)
        await expect(rows.first).to_contain_text("Comments vanish after posting")
        await expect(rows.first).to_contain_text(re.compile(r"\d+ (seconds?|minutes?) ago"))  # Babel's relative time

        await page.get_by_label("Project").select_option(label="Shop")
        await page.get_by_role("search").get_by_label("Severity").select_option(label="Critical")
        await page.get_by_label("Sort by").select_option(label="Oldest first")
        await page.get_by_role("button", name="Apply filters").click()
        await expect(rows).to_have_count(1)
        await expect(page.get_by_text("1 report", exact=True)).to_be_visible()

        await page.get_by_role("link", name="Clear").click()
        await page.get_by_role("search").get_by_label("Assignee").select_option(label="Nobody")
        await page.get_by_role("button", name="Apply filters").click()
        await expect(page.get_by_text("27 reports")).to_be_visible()
        await page.get_by_role("search").get_by_label("Assignee").select_option(label="Me")
        await page.get_by_role("button", name="Apply filters").click()
        await expect(rows).to_have_count(0)


async def test_a_reports_page_shows_its_screenshot_and_context_and_takes_triage_and_comments(
    tenants: TenantFactory, page: Page, worker: Any
) -> None:
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop", trackingPrefix="SHP")
        created = await report_with_context(tenant, project)
        await processed(tenant, created["id"])
        tracking_id = (await numbered(tenant, created["id"]))["trackingId"]
        await log_in(page, tenant.email)
        await page.get_by_role("link", name="The cart total is wrong").click()
        await expect(page).to_have_url(re.compile(f"/ui/reports/{tracking_id}$"))
        await expect(page.get_by_role("heading", name="The cart total is wrong")).to_be_visible()
        await expect(page.get_by_text(tracking_id, exact=True)).to_be_visible()
        # When it was sent, exactly, for everyone: not on hover alone.
        sent = re.compile(r"^\w{3} \d{1,2}, \d{4}, \d{1,2}:\d{2}:\d{2}\s[AP]M UTC \(.+ ago\)$")
        await expect(page.locator(".report-head .meta time")).to_have_text(sent)
        screenshot = page.get_by_role("img", name="Screenshot of the page")
        await expect(screenshot).to_be_visible()
        await expect(screenshot).to_have_js_property("naturalWidth", 320)  # served through the API's route
        assert "/api/v1/reports/" in (await screenshot.get_attribute("src") or "")
        await expect(page.get_by_role("cell", name="TypeError: total is undefined")).to_be_visible()
        await expect(page.get_by_role("cell", name="https://shop.example/api/cart")).to_be_visible()
        await expect(page.get_by_role("cell", name="button#checkout")).to_be_visible()
        await expect(page.locator(".facts dt")).to_contain_text(["URL", "Browser"])  # metadata named in English
        await expect(page.locator(".facts dd").last).to_have_text("Firefox 133")  # read as a person reads it

        await page.get_by_label("Status").select_option(label="Doing")
        await page.get_by_label("Priority").select_option(label="Highest")
        await page.get_by_label("Assignee").select_option(label="Owner")
        await page.get_by_role("button", name="Save changes").click()
        await expect(page.get_by_role("status")).to_have_text("The changes were saved.")
        # "Doing" on the page; "Status Doing" to a screen reader, which has no column heading to say so here.
        await expect(page.locator(".report-head .badge").first).to_have_text("Status Doing")
        await expect(page.locator(".report-head .badge").first.locator(".visually-hidden")).to_have_text("Status")
        await expect(page.locator(".report-head .meta")).to_contain_text("Priority: Highest")
        await expect(page.locator(".report-head .meta")).to_contain_text("Assigned to Owner")
        changed = await read(tenant, f"/api/v1/reports/{created['id']}")
        assert (changed["status"], changed["priority"], changed["assigneeId"]) == ("doing", "highest", tenant.user_id)

        await page.get_by_label("Add a comment").fill("Reproduced on staging.")
        await page.get_by_role("button", name="Comment", exact=True).click()
        await expect(page.locator(".comment")).to_contain_text("Reproduced on staging.")
        comments = await read(tenant, f"/api/v1/reports/{created['id']}/comments")
        assert [comment["text"] for comment in comments] == ["Reproduced on staging."]

        # An integration's comment names the API token it was made with.
        token = await tenant.create_token("CI bot")
        by_bot = await tenant.client.post(
            f"/api/v1/reports/{created['id']}/comments",
            json={"text": "Fixed in build 812."},
            headers={"Authorization": f"Bearer {token['token']}"},
        )
        assert by_bot.status_code == 201, by_bot.text
        await page.reload()
        await expect(page.locator(".comment .meta")).to_contain_text(["Owner", "API token “CI bot”"])


async def test_saving_the_triage_form_keeps_what_a_colleague_changed_meanwhile(
    tenants: TenantFactory, page: Page
) -> None:
    """The form sends every field: those left as it showed them undid a colleague's change saved after the page
    was opened, and both were told "saved". Only the fields changed are saved, and the second one is told."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop")
        created = await report(tenant.client, project["apiKey"], "The cart total is wrong")
        await log_in(page, tenant.email, path=f"/ui/reports/{created['id']}")
        colleague = await tenant.client.patch(
            f"/api/v1/reports/{created['id']}", json={"status": "doing", "severity": "high"}
        )
        assert colleague.status_code == 200, colleague.text
        await page.get_by_label("Priority").select_option(label="Highest")
        await page.get_by_role("button", name="Save changes").click()
        await expect(page.get_by_role("status")).to_contain_text("Someone else changed this report since you opened it")
        await expect(page.get_by_label("Status", exact=True)).to_have_value("doing")
        changed = await read(tenant, f"/api/v1/reports/{created['id']}")
        assert (changed["status"], changed["severity"], changed["priority"]) == ("doing", "high", "highest")

        await page.get_by_label("Assignee").select_option(label="Owner")  # nobody else changed anything since
        await page.get_by_role("button", name="Save changes").click()
        await expect(page.get_by_role("status")).to_have_text("The changes were saved.")
        assert (await read(tenant, f"/api/v1/reports/{created['id']}"))["assigneeId"] == tenant.user_id

        # Both change the severity: the later save replaced the colleague's under "what they changed is kept".
        await tenant.client.patch(f"/api/v1/reports/{created['id']}", json={"severity": "critical"})
        await page.get_by_label("Severity").select_option(label="Low")
        await page.get_by_label("Priority").select_option(label="Low")
        await page.get_by_role("button", name="Save changes").click()
        # One notice names what was not saved and what was (an amber and a green one named neither).
        await expect(page.locator(".notice.warning")).to_have_text(
            "Not saved: Severity, which someone else changed after you opened this report. Their change is kept "
            "and shown here; choose again to replace it. Saved: Priority."
        )
        await expect(page.locator(".notice:visible")).to_have_count(1)
        await expect(page.get_by_label("Severity")).to_have_value("critical")
        changed = await read(tenant, f"/api/v1/reports/{created['id']}")
        assert (changed["severity"], changed["priority"]) == ("critical", "low")  # the rest is saved
        await page.get_by_label("Severity").select_option(label="Low")  # chosen again, over the change now shown
        await page.get_by_role("button", name="Save changes").click()
        await expect(page.get_by_role("status")).to_have_text("The changes were saved.")
        assert (await read(tenant, f"/api/v1/reports/{created['id']}"))["severity"] == "low"


async def test_a_reports_page_lists_its_attached_files_and_links_to_download(
    tenants: TenantFactory, page: Page
) -> None:
    """Files attached through the API were on no page: the report's page lists each with its size, a file to
    download and a link to follow."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop")
        created = await report(tenant.client, project["apiKey"], "The cart total is wrong")
        base = f"/api/v1/reports/{created['id']}/attachments"
        log = b"TypeError: total is undefined\n" * 100
        uploaded = await tenant.client.post(base, files={"file": ("cart.log", log, "text/plain")})
        assert uploaded.status_code == 201, uploaded.text
        linked = await tenant.client.post(base, json={"url": "https://files.example.com/cart.har"})
        assert linked.status_code == 201, linked.text
        await log_in(page, tenant.email, path=f"/ui/reports/{created['id']}")
        files = page.get_by_role("region", name="Attachments")
        await expect(files.get_by_role("listitem")).to_have_count(2)
        await expect(files.get_by_role("listitem").first).to_contain_text("cart.log · 2.9 KB")  # 3,000 bytes
        await expect(files.get_by_role("link", name="cart.har")).to_have_attribute(
            "href", "https://files.example.com/cart.har"
        )
        async with page.expect_download() as downloading:
            await files.get_by_role("link", name="cart.log").click()
        download = await downloading.value
        assert download.suggested_filename == "cart.log"
        assert (await download.path()).read_bytes() == log


async def test_a_reports_page_leads_back_to_the_list_as_it_was_left(tenants: TenantFactory, page: Page) -> None:
    """ "All reports" went to the bare list: its filters and sort were gone, also after a save on the page."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop")
        await report(tenant.client, project["apiKey"], "The cart total is wrong", severity="high")
        listed = f"/ui/reports?severity=high&sort=title&project={project['id']}"
        await log_in(page, tenant.email, path=listed)
        await page.get_by_role("link", name="The cart total is wrong").click()
        await page.get_by_label("Priority").select_option(label="Highest")
        await page.get_by_role("button", name="Save changes").click()
        await expect(page.get_by_role("status")).to_have_text("The changes were saved.")
        await page.get_by_role("link", name="All reports").click()
        await expect(page).to_have_url(re.compile(re.escape(listed) + "$"))
        await expect(page.get_by_role("search").get_by_label("Severity")).to_have_value("high")


async def test_the_team_writes_an_internal_note_on_a_reports_page(tenants: TenantFactory, page: Page) -> None:
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop")
        created = await report(tenant.client, project["apiKey"], "The cart total is wrong")
        await log_in(page, tenant.email, path=f"/ui/reports/{created['id']}")
        await page.get_by_label("Add a comment").fill("Do not promise a date.")
        await page.get_by_label("Internal note: guests do not see it").check()
        await page.get_by_role("button", name="Comment", exact=True).click()
        await expect(page.locator(".comment.internal")).to_contain_text("Internal note")
        await expect(page.locator(".comment.internal")).to_contain_text("Do not promise a date.")
        comments = await read(tenant, f"/api/v1/reports/{created['id']}/comments")
        assert [(comment["text"], comment["internal"]) for comment in comments] == [("Do not promise a date.", True)]


async def test_a_comment_written_as_the_session_ended_comes_back_after_the_login(
    tenants: TenantFactory, page: Page
) -> None:
    """The post of a session that ended meanwhile leads to the login, and the comment was lost on the way: this
    browser keeps it until the page says it was sent."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop")
        created = await report(tenant.client, project["apiKey"], "The cart total is wrong")
        await log_in(page, tenant.email, path=f"/ui/reports/{created['id']}")
        await page.get_by_label("Add a comment").fill("Reproduced on Safari 17, but not on Firefox.")
        await page.get_by_label("Internal note: guests do not see it").check()
        await page.context.clear_cookies(name=SESSION_COOKIE)
        await page.get_by_role("button", name="Comment", exact=True).click()
        await expect(page).to_have_url(re.compile("/ui/login\\?next="))
        await page.get_by_label("E-mail address").fill(tenant.email)
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_role("button", name="Log in").click()
        await expect(page.get_by_label("Add a comment")).to_have_value("Reproduced on Safari 17, but not on Firefox.")
        await expect(page.get_by_label("Add a comment")).to_be_focused()
        # An internal note comes back internal: guests must not read it because the session ended.
        await expect(page.get_by_label("Internal note: guests do not see it")).to_be_checked()
        await expect(page.get_by_role("status")).to_have_text(
            "Your comment was not sent yet. It is back in the box: send it when ready."
        )
        assert await read(tenant, f"/api/v1/reports/{created['id']}/comments") == []
        await page.get_by_role("button", name="Comment", exact=True).click()
        await expect(page.locator(".comment")).to_contain_text("Reproduced on Safari 17, but not on Firefox.")
        # Sent, it is kept no more: the box is empty, also after a reload of the address shown.
        await expect(page).not_to_have_url(re.compile("comment=sent"))
        await page.reload()
        await expect(page.get_by_label("Add a comment")).to_have_value("")
        await expect(page.locator("#comment-text-draft-restored")).to_be_hidden()
        comments = await read(tenant, f"/api/v1/reports/{created['id']}/comments")
        assert [(comment["text"], comment["internal"]) for comment in comments] == [
            ("Reproduced on Safari 17, but not on Firefox.", True)
        ]


async def test_triage_changes_sent_as_the_session_ended_are_chosen_again_after_the_login(
    tenants: TenantFactory, page: Page
) -> None:
    """The changes were lost on the way through the login, without a word."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop")
        created = await report(tenant.client, project["apiKey"], "The cart total is wrong")
        await log_in(page, tenant.email, path=f"/ui/reports/{created['id']}")
        await page.get_by_label("Priority").select_option(label="Highest")
        await page.get_by_label("Tags").fill("checkout")
        await page.context.clear_cookies(name=SESSION_COOKIE)
        await page.get_by_role("button", name="Save changes").click()
        await expect(page).to_have_url(re.compile("/ui/login\\?next="))
        # Meanwhile a colleague changes the severity, which the person left as it was, and the tags they changed.
        await tenant.client.patch(f"/api/v1/reports/{created['id']}", json={"severity": "critical", "tags": ["ios"]})
        await page.get_by_label("E-mail address").fill(tenant.email)
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_role("button", name="Log in").click()
        await expect(page.locator("#triage-unsent")).to_have_text(
            "Your changes were not saved yet. They are chosen again below: save them when ready."
        )
        await expect(page.get_by_label("Priority")).to_have_value("highest")
        await expect(page.get_by_label("Severity")).to_have_value("critical")  # left as it was: the colleague's
        await expect(page.get_by_role("textbox", name="Tags")).to_have_value("checkout")
        assert (await read(tenant, f"/api/v1/reports/{created['id']}"))["priority"] == "medium"
        await page.get_by_role("button", name="Save changes").click()
        # The colleague's tags are kept and named, as two open pages would have been told (they were replaced).
        await expect(page.locator(".notice.warning")).to_contain_text("Not saved: Tags, which someone else changed")
        saved = await read(tenant, f"/api/v1/reports/{created['id']}")
        assert (saved["priority"], saved["severity"], saved["tags"]) == ("highest", "critical", ["ios"])
        await page.goto(f"/ui/reports/{created['id']}")  # saved, they are kept no more
        await expect(page.locator("#triage-unsent")).to_be_hidden()


async def test_what_the_worker_finishes_shows_on_an_open_reports_page(tenants: TenantFactory, page: Page) -> None:
    """A report opened before the worker numbered it and processed its screenshot said "Being processed…" until
    the page was reloaded by hand; it fills itself in."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop", trackingPrefix="SHP")
        files = {"file": ("shot.png", png(320, 200), "image/png")}
        upload = await tenant.client.post(
            "/api/v1/upload/screenshot", files=files, headers={"X-API-Key": project["apiKey"]}
        )
        assert upload.status_code == 201, upload.text
        created = await report(
            tenant.client, project["apiKey"], "The cart total is wrong", screenshot_url=upload.json()["key"]
        )
        await log_in(page, tenant.email, path=f"/ui/reports/{created['id']}")
        await expect(page.get_by_text("Tracking ID pending")).to_be_visible()
        await expect(page.locator("figure.screenshot figcaption")).to_have_text("Being processed…")
        async with running_worker():
            await processed(tenant, created["id"])
            await numbered(tenant, created["id"])  # both done: the page's next look (10 s apart at most) shows them
        await expect(page.get_by_text("SHP-1", exact=True)).to_be_visible(timeout=15_000)
        await expect(page.locator("figure.screenshot figcaption")).to_have_text("320 \u00d7 200")
        screenshot = page.get_by_role("img", name="Screenshot of the page")
        await expect(screenshot).to_have_js_property("naturalWidth", 320)
        await expect(page.locator("[data-pending]")).to_have_count(0)


async def test_a_whole_long_page_captured_shows_its_top_and_keeps_the_context_in_reach(
    tenants: TenantFactory, page: Page, worker: Any
) -> None:
    """A screenshot of a whole page 20,000 px tall: its thumbnail was shown at its full height, some 14,000 px, and
    the page's context, console and comments came below it."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop", trackingPrefix="SHP")
        files = {"file": ("page.png", png(800, 20_000), "image/png")}
        upload = await tenant.client.post(
            "/api/v1/upload/screenshot", files=files, headers={"X-API-Key": project["apiKey"]}
        )
        assert upload.status_code == 201, upload.text
        created = await report(
            tenant.client, project["apiKey"], "The footer overlaps", screenshot_url=upload.json()["key"]
        )
        await processed(tenant, created["id"])
        await page.set_viewport_size({"width": 1280, "height": 800})
        await log_in(page, tenant.email, path=f"/ui/reports/{created['id']}")
        screenshot = page.get_by_role("img", name="Screenshot of the page")
        await expect(screenshot).to_have_js_property("naturalHeight", 10_000)  # the thumbnail, 400 px wide
        box = await screenshot.bounding_box()
        assert box is not None
        assert box["height"] <= 800 * 0.8 + 2, box  # within the window, the rest a click away
        whole = (await read(tenant, f"/api/v1/reports/{created['id']}"))["screenshots"][0]["url"]
        assert await screenshot.evaluate("image => new URL(image.closest('a').href).pathname") == urlsplit(whole).path


async def test_the_team_changes_the_selected_reports_at_once(tenants: TenantFactory, page: Page, worker: Any) -> None:
    """A broken deploy sends the same report many times: the team closes them from the list, not one by one."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop", trackingPrefix="SHP")
        sent = [await report(tenant.client, project["apiKey"], f"Checkout fails {number}") for number in range(3)]
        kept = await report(tenant.client, project["apiKey"], "The logo is blurry")
        for one in (*sent, kept):  # the rows are named by their tracking IDs, which a busy worker gives late
            await numbered(tenant, one["id"])
        await log_in(page, tenant.email, path="/ui/reports?search=Checkout")
        # A row's exact moment is in its text, for a screen reader (a title shows on hover only).
        exact = re.compile(r"^\s*\(\w{3} \d{1,2}, \d{4}, \d{1,2}:\d{2}:\d{2}\s[AP]M UTC\)$")  # and its zone
        await expect(page.locator("table.reports tbody tr time .visually-hidden").first).to_have_text(exact)
        await page.get_by_role("checkbox", name="Select SHP-1").check()
        await page.get_by_role("checkbox", name="Select SHP-2").check()
        await expect(page.locator("[data-ticked-count]")).to_have_text("2 selected")  # said beside the button
        bulk = page.get_by_role("group", name="Change the selected reports")
        await bulk.get_by_label("Status").select_option(label="Done")
        await bulk.get_by_label("Assignee").select_option(label="Owner")
        await bulk.get_by_role("button", name="Apply to the selected reports").click()
        await expect(page.get_by_role("status")).to_have_text("2 reports were changed.")
        await expect(page.get_by_label("Search")).to_have_value("Checkout")  # the list as it was left
        changed = [await read(tenant, f"/api/v1/reports/{one['id']}") for one in (*sent, kept)]
        assert [(one["status"], one["assigneeId"]) for one in changed] == [
            ("done", tenant.user_id),
            ("done", tenant.user_id),
            ("new", None),
            ("new", None),
        ]

        # The heading's box selects the page's rows; with nothing chosen to change, nothing is.
        await page.get_by_role("checkbox", name="Select every report on this page").check()
        await expect(page.get_by_role("checkbox", name="Select SHP-3")).to_be_checked()
        await expect(page.locator("[data-ticked-count]")).to_have_text("3 selected")
        await page.get_by_role("checkbox", name="Select SHP-3").uncheck()
        await expect(page.get_by_role("checkbox", name="Select every report on this page")).not_to_be_checked()
        await page.get_by_role("button", name="Apply to the selected reports").click()
        await expect(page.get_by_role("status")).to_have_text("No change was chosen, so the reports stay as they were.")
        await (
            page.get_by_role("group", name="Change the selected reports")
            .get_by_label("Severity")
            .select_option(label="Critical")
        )
        await page.get_by_role("button", name="Apply to the selected reports").click()
        await expect(page.get_by_role("status")).to_have_text("No report was selected, so nothing was changed.")
        assert [(await read(tenant, f"/api/v1/reports/{one['id']}"))["severity"] for one in sent] == ["medium"] * 3
        # A colleague changed one meanwhile: the change from this list, as it showed them, overwrote theirs unsaid.
        await page.reload()
        colleague = await tenant.client.patch(f"/api/v1/reports/{sent[0]['id']}", json={"status": "doing"})
        assert colleague.status_code == 200, colleague.text
        await page.get_by_role("checkbox", name="Select SHP-1").check()
        await page.get_by_role("checkbox", name="Select SHP-3").check()
        bulk = page.get_by_role("group", name="Change the selected reports")
        await bulk.get_by_label("Status").select_option(label="Backlog")
        await bulk.get_by_role("button", name="Apply to the selected reports").click()
        await expect(page.get_by_role("alert")).to_contain_text(
            "SHP-1: Someone else changed it after this list was shown: look at it again, then choose."
        )
        statuses = [(await read(tenant, f"/api/v1/reports/{one['id']}"))["status"] for one in (sent[0], sent[2])]
        assert statuses == ["doing", "new"]  # none changed
        # A page shows 25 rows; an address asking for more than a few pages' worth at once is refused.
        too_many = {"report": [str(uuid4()) for _ in range(101)], "priority": "low"}
        refused = await tenant.client.post("/ui/reports/bulk", data=too_many)
        assert refused.status_code == 400
        assert "At most 100 reports can be changed at once." in refused.text


async def test_a_bulk_change_one_report_refuses_changes_none_and_tells_no_webhook(tenants: TenantFactory) -> None:
    """A custom column of one project is no column of another: moving reports of both there is refused whole."""
    async with tenants.create() as tenant:
        shop, blog = await tenant.create_project("Shop"), await tenant.create_project("Blog")
        added = await tenant.client.post(f"/api/v1/projects/{shop['id']}/columns", json={"name": "Blocked"})
        assert added.status_code == 201, added.text
        hook = await tenant.client.post(
            "/api/v1/webhooks", json={"url": "https://hooks.example.com/lantern", "events": ["report.updated"]}
        )
        assert hook.status_code == 201, hook.text
        ours = await report(tenant.client, shop["apiKey"], "The cart total is wrong")
        theirs = await report(tenant.client, blog["apiKey"], "Comments vanish")
        both = {"report": [ours["id"], theirs["id"]], "status": "Blocked", "listed": "severity=medium&sort=title"}
        refused = await tenant.client.post("/ui/reports/bulk", data=both)
        # Back to the list the form was on, which says which report refused and why, once.
        assert refused.headers["location"] == "/ui/reports?severity=medium&sort=title&notice=refused"
        listed = await tenant.client.get(refused.headers["location"])
        said = "Comments vanish: There is no column with this name in the project. Nothing was changed."
        assert said in listed.text
        assert said not in (await tenant.client.get(refused.headers["location"])).text
        assert [(await read(tenant, f"/api/v1/reports/{one['id']}"))["status"] for one in (ours, theirs)] == ["new"] * 2
        deliveries = f"/api/v1/webhooks/{hook.json()['data']['id']}/deliveries"
        assert await read(tenant, deliveries) == []
        # The control: the shop's report alone moves there, and the webhook is told; once there, it stays.
        for told in ("count=1&same=0", "count=0&same=1"):
            moved = await tenant.client.post("/ui/reports/bulk", data={"report": ours["id"], "status": "Blocked"})
            assert moved.headers["location"] == f"/ui/reports?notice=changed&{told}"
        assert "1 report already was as chosen." in (await tenant.client.get(moved.headers["location"])).text
        assert (await read(tenant, f"/api/v1/reports/{ours['id']}"))["status"] == "Blocked"
        assert [delivery["event"] for delivery in await read(tenant, deliveries)] == ["report.updated"]


async def test_a_reports_history_says_who_changed_what_and_when(tenants: TenantFactory, page: Page) -> None:
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop")
        created = await report(tenant.client, project["apiKey"], "The cart total is wrong", description="Off by one.")
        await log_in(page, tenant.email, path=f"/ui/reports/{created['id']}")
        await expect(page.get_by_role("heading", name="History")).to_have_count(0)  # nothing changed yet
        await page.get_by_label("Status").select_option(label="Doing")
        await page.get_by_label("Assignee").select_option(label="Owner")
        await page.get_by_role("button", name="Save changes").click()
        await expect(page.get_by_role("status")).to_have_text("The changes were saved.")
        token = await tenant.create_token("CI bot")
        changed = await tenant.client.patch(
            f"/api/v1/reports/{created['id']}",
            json={"severity": "critical", "tags": ["checkout"], "description": "Off by one cent."},
            headers={"Authorization": f"Bearer {token['token']}"},
        )
        assert changed.status_code == 200, changed.text
        await page.reload()
        history = page.get_by_role("region", name="History").get_by_role("listitem").filter(has=page.locator(".meta"))
        await expect(history).to_have_count(2)
        await expect(history.first.locator(".meta")).to_contain_text("Owner")
        await expect(history.first.locator("ul li")).to_have_text(["Status: New → Doing", "Assignee: — → Owner"])
        await expect(history.last.locator(".meta")).to_contain_text("API token “CI bot”")
        await expect(history.last.locator("ul li")).to_have_text(
            ["Severity: Medium → Critical", "Description was changed", "Tags: — → checkout"]
        )
        # In German, values and names are the reader's words.
        await page.goto(f"/ui/reports/{created['id']}?lang=de")
        await expect(page.get_by_role("region", name="Verlauf").locator("ul li").first).to_have_text(
            "Status: Neu → In Arbeit"
        )


async def test_the_list_as_filtered_downloads_as_a_csv_file(tenants: TenantFactory, page: Page) -> None:
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop")
        await report(tenant.client, project["apiKey"], "The cart total is wrong", severity="critical")
        await report(tenant.client, project["apiKey"], "The logo is blurry", severity="low")
        await log_in(page, tenant.email, path="/ui/reports?severity=critical")
        async with page.expect_download() as started:
            await page.get_by_role("link", name="Download as CSV").click()
        download = await started.value
        assert re.fullmatch(r"[\w-]+-reports-\d{4}-\d{2}-\d{2}\.csv", download.suggested_filename)
        lines = (await anyio.Path(await download.path()).read_text(encoding="utf-8-sig")).splitlines()
        assert lines[0].startswith("ID,Title,Project,Status,Severity")
        assert [line.split(",")[1] for line in lines[1:]] == ["The cart total is wrong"]


async def test_tags_are_given_on_a_reports_page_and_filter_the_list(tenants: TenantFactory, page: Page) -> None:
    """The API's tags were on no page: the report's page shows and takes them (a Chinese comma separates them
    too), and each leads to the list of the reports that carry it."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop")
        tagged = await report(tenant.client, project["apiKey"], "The cart total is wrong")
        await report(tenant.client, project["apiKey"], "The logo is blurry")
        await log_in(page, tenant.email, path=f"/ui/reports/{tagged['id']}")
        await page.get_by_label("Tags").fill("checkout\uff0c mobile, checkout")
        await page.get_by_role("button", name="Save changes").click()
        await expect(page.get_by_role("status")).to_have_text("The changes were saved.")
        assert (await read(tenant, f"/api/v1/reports/{tagged['id']}"))["tags"] == ["checkout", "mobile"]
        await expect(page.get_by_role("textbox", name="Tags")).to_have_value("checkout, mobile")
        await page.get_by_role("list", name="Tags").get_by_role("link", name="mobile").click()
        await expect(page.get_by_label("Tag", exact=True)).to_have_value("mobile")
        await expect(page.get_by_role("link", name="The cart total is wrong")).to_be_visible()
        await expect(page.get_by_role("link", name="The logo is blurry")).to_have_count(0)


async def test_another_organizations_report_and_project_are_not_found(tenants: TenantFactory, page: Page) -> None:
    async with tenants.create("Acme") as acme, tenants.create("Globex") as globex:
        theirs = await globex.create_project()
        secret = await report(globex.client, theirs["apiKey"], "Globex's secret report")
        await log_in(page, acme.email)
        response = await page.goto(f"/ui/reports/{secret['id']}")
        assert response is not None
        assert response.status == 404
        await expect(page.get_by_role("heading", name="The requested resource was not found.")).to_be_visible()
        await expect(page.get_by_text("Globex's secret report")).to_have_count(0)
        # The error page keeps the navigation and the organization's name.
        await expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Projects")).to_be_visible()
        await expect(page.locator(".organization")).to_contain_text("Acme")
        response = await page.goto(f"/ui/board?project={theirs['id']}")
        assert response is not None
        assert response.status == 404


async def test_a_report_of_another_of_ones_organizations_offers_to_switch_to_it(
    tenants: TenantFactory, page: Page
) -> None:
    """A link a colleague shared from another of the person's organizations (a tracking ID is an organization's
    own) answered a bare 404 while this one was chosen: it says where the report is, and switches there."""
    async with tenants.create("Home") as home, tenants.create("Away") as away:
        shop = await away.create_project("Shop")
        shared = await report(away.client, shop["apiKey"], "The cart total is wrong")
        invited = await away.client.post("/api/v1/organization/members", json={"email": home.email})
        token = invited.json()["data"]["invitationToken"]
        accepted = await home.client.post(
            "/api/v1/auth/invitations/accept", json={"token": token, "password": PASSWORD}
        )
        assert accepted.status_code == 200, accepted.text
        await log_in(page, home.email)
        switcher = page.get_by_label("Organization")
        if await switcher.input_value() != home.organization_id:
            await switcher.select_option(home.organization_id)  # submitted by ui.js
        await expect(switcher).to_have_value(home.organization_id)
        response = await page.goto(f"/ui/reports/{shared['id']}")
        assert response is not None
        assert response.status == 404
        await expect(page.get_by_role("heading", name="This report is in another organization")).to_be_visible()
        await page.get_by_role("button", name="Switch to Away").click()
        await expect(page.get_by_role("heading", name="The cart total is wrong")).to_be_visible()
        await expect(switcher).to_have_value(away.organization_id)


async def test_a_guest_sees_only_their_own_reports_of_their_project(
    tenants: TenantFactory, page: Page, app: Any
) -> None:
    async with tenants.create() as tenant:
        shared = await tenant.create_project("Shared")
        hidden = await tenant.create_project("Hidden")
        guest_email, guest_id = await invite(tenant, app, "guest")
        added = await tenant.client.post(f"/api/v1/projects/{shared['id']}/members", json={"userId": guest_id})
        assert added.status_code == 201, added.text
        mine = await tenant.client.post(
            "/api/v1/widget/submit",
            json={
                "title": "Reported by the guest",
                "reporterEmail": guest_email,
                "metadata": WIDGET_METADATA,
            },
            headers={"X-API-Key": shared["apiKey"]},
        )
        assert mine.status_code == 201, mine.text
        others = await report(tenant.client, shared["apiKey"], "Someone else's report")
        elsewhere = await report(tenant.client, hidden["apiKey"], "A hidden project's report")
        await log_in(page, guest_email)
        await expect(page.locator(".role")).to_have_text("Guest")
        rows = page.locator("table.reports tbody tr")
        await expect(rows).to_have_count(1)
        await expect(rows.first).to_contain_text("Reported by the guest")
        await expect(page.get_by_label("Assignee")).to_have_count(0)  # the organization's people are not shown
        await expect(page.get_by_role("checkbox")).to_have_count(0)  # triage, in bulk too, is the team's
        await expect(page.get_by_label("Project").locator("option")).to_have_text(["All", "Shared"])
        # Their Projects page lists the project they were added to, without the team's controls.
        await page.get_by_role("navigation", name="Main").get_by_role("link", name="Projects").click()
        await expect(page.get_by_role("rowheader")).to_have_text(["Shared"])
        await expect(page.get_by_role("button", name="Create project")).to_have_count(0)
        for hidden_report in (others, elsewhere):
            response = await page.goto(f"/ui/reports/{hidden_report['id']}")
            assert response is not None
            assert response.status == 404
        # An integration's comment on the guest's report: the token's name is the organization's business.
        token = await tenant.create_token("Internal sync")
        bot = {"Authorization": f"Bearer {token['token']}"}
        mine_id = mine.json()["reportId"]
        answer = await tenant.client.post(f"/api/v1/reports/{mine_id}/comments", json={"text": "Seen."}, headers=bot)
        assert answer.status_code == 201, answer.text
        # A person's comment shows their name, never their address (comments used to show no author at all).
        owner = (await tenant.client.get("/api/v1/auth/me")).json()["data"]["user"]
        answer = await tenant.client.post(f"/api/v1/reports/{mine_id}/comments", json={"text": "We are on it."})
        assert answer.status_code == 201, answer.text
        # Its history is the team's too: who it was assigned to.
        assigned = await tenant.client.patch(f"/api/v1/reports/{mine_id}", json={"assigneeId": tenant.user_id})
        assert assigned.status_code == 200, assigned.text
        await page.goto(f"/ui/reports/{mine_id}")
        await expect(page.get_by_role("heading", name="History")).to_have_count(0)
        await expect(page.locator(".comment .meta").first).to_contain_text("An integration")
        await expect(page.locator(".comment .meta").last).to_contain_text(owner["name"])
        await expect(page.get_by_text("Internal sync")).to_have_count(0)
        await expect(page.get_by_text(tenant.email)).to_have_count(0)
        # They read and comment; triage is the team's: no form, no card to move, and a sent form is refused.
        await expect(page.get_by_role("heading", name="Triage")).to_have_count(0)
        await expect(page.get_by_role("button", name="Comment")).to_be_visible()
        csrf = next(cookie["value"] for cookie in await page.context.cookies() if cookie["name"] == "csrftoken")
        refused = await page.request.post(f"/ui/reports/{mine_id}", form={"status": "done", "_csrf_token": csrf})
        assert refused.status == 403
        await page.goto(f"/ui/board?project={shared['id']}")
        await expect(page.locator(".board .card")).to_have_count(1)
        await expect(page.locator(".board .card form.move")).to_have_count(0)
        await expect(page.locator(".board .card[draggable]")).to_have_count(0)


async def test_a_guest_on_no_project_is_told_so_and_offered_no_form_that_cannot_be_sent(
    tenants: TenantFactory, page: Page, app: Any
) -> None:
    """They were offered New report, whose Project list was empty, under words for the team ("what a customer told
    you on the phone")."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop")
        guest_email, guest_id = await invite(tenant, app, "guest")
        await log_in(page, guest_email)
        no_project = "You are on no project yet: the team adds you to the projects you are to see."
        await expect(page.get_by_text(no_project)).to_be_visible()
        await expect(page.get_by_role("link", name="New report")).to_have_count(0)
        await page.goto("/ui/reports/new")  # by its address
        await expect(page.get_by_text(no_project)).to_be_visible()
        await expect(page.get_by_label("Project")).to_have_count(0)
        await expect(page.get_by_role("button", name="File report")).to_have_count(0)

        added = await tenant.client.post(f"/api/v1/projects/{project['id']}/members", json={"userId": guest_id})
        assert added.status_code == 201, added.text
        await page.goto("/ui/reports")
        await page.get_by_role("link", name="New report").click()
        await expect(page.get_by_text("Tell the team about a problem you found")).to_be_visible()
        await expect(page.get_by_text("what a customer told you")).to_have_count(0)
        await expect(page.get_by_label("Project")).to_have_value(project["id"])


async def test_a_manager_deletes_a_report_and_a_member_is_not_offered_to(
    tenants: TenantFactory, page: Page, app: Any
) -> None:
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop")
        doomed = await report(tenant.client, project["apiKey"], "Sent twice by mistake")
        kept = await report(tenant.client, project["apiKey"], "The cart is empty")
        member, _user_id = await invite(tenant, app, "member")
        await log_in(page, member, path=f"/ui/reports/{doomed['id']}")
        await expect(page.get_by_text("Delete this report")).to_have_count(0)
        await page.get_by_role("button", name="Log out").click()

        await log_in(page, tenant.email, path=f"/ui/reports/{doomed['id']}")
        await page.get_by_text("Delete this report").click()  # the disclosure holds the button
        await page.get_by_role("button", name="Delete the report").click()
        await expect(page.get_by_role("status")).to_have_text("The report was deleted, with its screenshots and files.")
        await expect(page.get_by_role("link", name="Sent twice by mistake")).to_have_count(0)
        await expect(page.get_by_role("link", name="The cart is empty")).to_be_visible()
        assert (await tenant.client.get(f"/api/v1/reports/{doomed['id']}")).status_code == 404
        assert (await tenant.client.get(f"/api/v1/reports/{kept['id']}")).status_code == 200


async def test_the_pages_facts_and_logs_read_in_the_readers_language(tenants: TenantFactory, page: Page) -> None:
    """What the widget sent about the page, in German: named fields, numbers and times the German way, no raw
    objects or keys."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop")
        body = {
            "title": "Checkout fails",
            "metadata": {
                "url": "https://shop.example/checkout",
                "browser": {"name": "Chrome", "version": "120.0.0", "userAgent": "Mozilla/5.0 (X11)"},
                "device": {"type": "desktop", "os": "macOS", "osVersion": "14.0"},
                "viewport": {"width": 1920, "height": 1080, "devicePixelRatio": 2},
                "timestamp": "2024-01-15T10:30:00.000Z",
                "referrer": None,
                "pageLoadTime": 1234,
                "consoleErrors": [{"type": "error", "message": "Payment failed", "timestamp": "2024-01-15T10:29:55Z"}],
            },
        }
        sent = await tenant.client.post("/api/widget/submit", json=body, headers={"X-API-Key": project["apiKey"]})
        assert sent.status_code == 201, sent.text
        await log_in(page, tenant.email)
        await page.goto(f"/ui/reports/{sent.json()['reportId']}?lang=de")
        facts = page.locator("dl.facts")
        for fact in (
            "Chrome 120.0.0",
            "Desktop · macOS 14.0",
            "1920 \N{MULTIPLICATION SIGN} 1080 @2x",  # pixels are a measure: no thousands separator
            "15.01.2024",
            "1.234 ms",
        ):
            await expect(facts).to_contain_text(fact)
        await expect(facts).to_contain_text("Ladezeit der Seite")
        await expect(facts).not_to_contain_text("osVersion")
        await expect(facts).not_to_contain_text("Referrer")  # the browser knew none
        console = page.get_by_role("region", name="Konsolenfehler")
        await expect(console.get_by_role("columnheader")).to_have_text(
            ["Typ", "Meldung", "Zeitpunkt"]
        )  # no empty columns
        await expect(console.get_by_role("cell", name="10:29:55")).to_be_visible()
        await expect(console.get_by_role("cell", name="Fehler", exact=True)).to_be_visible()  # the entry's kind


async def test_bugsparks_console_levels_read_in_the_readers_language(tenants: TenantFactory, page: Page) -> None:
    """BugSpark's SDK names a console entry's kind `level`, not `type`: its column was headed "level" and its
    cells read "error" and "warn" on a German or Japanese page."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop")
        console_logs = [{"level": "error", "message": "Payment failed"}, {"level": "warn", "message": "Slow"}]
        sent = await report(tenant.client, project["apiKey"], "Checkout fails", console_logs=console_logs)
        await log_in(page, tenant.email)
        await page.goto(f"/ui/reports/{sent['id']}?lang=de")
        console = page.get_by_role("region", name="Konsolenfehler")
        await expect(console.get_by_role("columnheader")).to_have_text(["Stufe", "Meldung"])
        await expect(console.locator("tbody td:first-child")).to_have_text(["Fehler", "Warnung"])


async def test_a_reports_page_stays_small_whatever_its_logs_and_annotations_hold(
    tenants: TenantFactory, page: Page
) -> None:
    """A report's sender fills its logs and annotations: its page shows the latest entries, their first
    columns, the beginning of long values and of the annotations. Twenty keys per entry made a column each,
    and nested annotations were indented level by level: one report made a page of hundreds of megabytes,
    rendered while every other request waited."""
    entries = [
        {**{f"key{key}": f"{number}.{key}" for key in range(20)}, "message": "z" * 1200} for number in range(300)
    ]
    nested: dict[str, Any] = {"shapes": []}
    for _ in range(300):
        nested = {"a": nested}
    annotated = {
        "title": "Annotated deeply",
        "metadata": {
            "url": "https://shop.example/",
            "browser": {"name": "Chrome", "version": "120"},
            "device": {"type": "desktop"},
            "viewport": {"width": 1280, "height": 800},
            "timestamp": "2026-12-04T10:30:00Z",
        },
        "annotations": nested,
    }
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop")
        flooded = await report(tenant.client, project["apiKey"], "Flooded with logs", console_logs=entries)
        sent = await tenant.client.post("/api/widget/submit", json=annotated, headers={"X-API-Key": project["apiKey"]})
        assert sent.status_code == 201, sent.text
        await log_in(page, tenant.email)
        answer = await page.goto(f"/ui/reports/{flooded['id']}")
        assert answer is not None
        assert len(await answer.body()) < 1_000_000
        console = page.get_by_role("region", name="Console errors")
        await expect(console.locator("tbody tr")).to_have_count(200)
        headers = console.get_by_role("columnheader")
        await expect(headers).to_have_count(13)
        await expect(headers.last).to_have_text("Other fields")
        await expect(console.locator("tbody tr").first).to_contain_text("100.0")  # the latest 200 of them
        await expect(console).to_contain_text("The latest 200 of 300 entries are shown; the API answers them all.")
        others = await console.locator("tbody tr").first.locator("td").last.text_content() or ""
        assert others.startswith('{"key12":"100.12"')  # the keys past the first twelve, together
        assert len(others) == 1001  # the beginning of a long value
        assert others.endswith("z…")

        await page.goto(f"/ui/reports/{sent.json()['reportId']}")
        shown = await page.locator("pre.json").text_content()
        assert shown is not None
        assert len(shown) == 20_001
        assert shown.endswith("…")


# How far the page reaches past the window, sideways: 0 when nothing makes it wider than the window.
OVERFLOW = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


async def test_long_words_and_a_phone_do_not_widen_the_pages(tenants: TenantFactory, page: Page) -> None:
    """A comment with one very long word, a title with a long address, a custom column with a long name, a long
    invited address, a long webhook address, and a phone's narrow window: text breaks and the navigation wraps
    instead of widening the page."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop")
        address = f"https://shop.example.com/de/kategorie/{'a' * 100}?utm_source=newsletter_dezember_2026"
        sent = await report(tenant.client, project["apiKey"], f"Checkout fails on {address}")
        await tenant.client.post(f"/api/v1/reports/{sent['id']}/comments", json={"text": "x" * 3000})
        long_name = "Waiting for the customer to answer our questions"
        await tenant.client.post(f"/api/v1/projects/{project['id']}/columns", json={"name": long_name})
        await log_in(page, tenant.email)
        await page.goto(f"/ui/reports/{sent['id']}")
        assert await page.evaluate(OVERFLOW) == 0
        await page.goto(f"/ui/board?project={project['id']}")
        widths = await page.locator(".column").evaluate_all("(columns) => columns.map((c) => c.offsetWidth)")
        assert len(set(widths)) == 1, widths  # the long name widens no column
        await page.set_viewport_size({"width": 390, "height": 844})
        await page.goto("/ui/members/")
        await page.get_by_label("E-mail address").fill("client@example.com")
        await page.get_by_role("button", name="Send invitation").click()  # a row with a role select and a button
        await expect(page.get_by_role("row", name=re.compile("client@example.com"))).to_be_visible()
        assert await page.evaluate(OVERFLOW) == 0, "members"
        # The longest address mail can go to: its notice and its row widened the page (3,400 px for a longer one).
        longest = f"{'b' * 64}@{'c' * 63}.example.com"
        await page.get_by_label("E-mail address").fill(longest)
        await page.get_by_role("button", name="Send invitation").click()
        await expect(page.get_by_role("heading", name=f"{longest} is invited")).to_be_visible()
        assert await page.evaluate(OVERFLOW) == 0, "members, a long address"
        hook = {"url": f"https://lantern:s3cret@hooks.example.com/{'in' * 60}", "events": ["report.created"]}
        assert (await tenant.client.post("/api/v1/webhooks", json=hook)).status_code == 201
        await page.goto("/ui/webhooks")
        # Its password is not shown in the list, to be read over a shoulder.
        await expect(page.get_by_role("link", name=re.compile(r"lantern:•••@hooks\.example\.com"))).to_be_visible()
        assert "s3cret" not in await page.content()
        assert await page.evaluate(OVERFLOW) == 0, "webhooks"
        # The title keeps room to be read: breaking anywhere, it was squeezed to a few letters a line.
        await page.goto("/ui/reports?lang=ja")
        title_width = await page.locator("table.reports td.title").first.evaluate("(cell) => cell.offsetWidth")
        assert title_width >= 160, title_width
        for path in ("/ui/reports", f"/ui/reports/{sent['id']}", f"/ui/board?project={project['id']}", "/ui/members/"):
            for language in ("en", "de", "es"):  # "Switch" is longest in Spanish
                await page.goto(f"{path}{'&' if '?' in path else '?'}lang={language}")
                assert await page.evaluate(OVERFLOW) == 0, (path, language)


async def test_on_a_phone_a_reports_page_leads_straight_to_its_triage(tenants: TenantFactory, page: Page) -> None:
    """The triage form comes after the report's logs, comments and history there: thousands of pixels down."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop")
        sent = await report(
            tenant.client, project["apiKey"], "Checkout fails", console_logs=[{"level": "error", "message": "x"}] * 60
        )
        await log_in(page, tenant.email, path=f"/ui/reports/{sent['id']}")
        await expect(page.get_by_role("link", name="Go to triage")).to_be_hidden()  # beside it on a desktop
        await page.set_viewport_size({"width": 390, "height": 844})
        await expect(page.get_by_role("heading", name="Triage")).not_to_be_in_viewport()
        await page.get_by_role("link", name="Go to triage").click()
        await expect(page.get_by_role("heading", name="Triage")).to_be_in_viewport()
        # The header leaves the screen to the page: it took six rows, 300 px, its links wrapped in three. Yet each
        # of its links is on the screen, whole: in one row that scrolled sideways, half were off it, unannounced.
        await page.set_viewport_size({"width": 375, "height": 844})
        for language in ("en", "de", "ja"):
            await page.goto(f"/ui/reports?lang={language}")
            height = await page.locator("header.topbar").evaluate("(header) => header.offsetHeight")
            assert height <= 844 / 4, (language, height)
            for link in await page.locator("header.topbar nav a").all():
                await expect(link).to_be_in_viewport(ratio=1)


async def test_in_a_narrow_window_a_table_cut_at_its_edge_fades_there(tenants: TenantFactory, page: Page) -> None:
    """The list's columns past the window's edge (project, status, severity…) were cut off there, with nothing
    to say that the table scrolls; the board fades its edge so. A window narrower than the table but wider than a
    phone's (a phone shows its rows as cards, test_ui_layout.py)."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop")
        await report(tenant.client, project["apiKey"], "The cart is empty")
        await log_in(page, tenant.email)
        table = page.get_by_role("region", name="Reports")
        await expect(table).not_to_have_class(re.compile(r"more-(after|before)"))  # a desktop shows it whole
        await page.set_viewport_size({"width": 700, "height": 844})
        await page.reload()
        await expect(table).to_have_class(re.compile(r"\bmore-after\b"))
        assert (await table.evaluate("(box) => getComputedStyle(box).maskImage")).startswith("linear-gradient")
        await table.evaluate("(box) => box.scrollTo({left: box.scrollWidth})")
        await expect(table).to_have_class(re.compile(r"\bmore-before\b"))
        await expect(table).not_to_have_class(re.compile(r"\bmore-after\b"))


# Whether a node's text is laid out on one line.
ONE_LINE = """(node) => {
  const range = document.createRange();
  range.selectNodeContents(node);
  return new Set([...range.getClientRects()].map((box) => Math.round(box.top))).size === 1;
}"""


async def test_labels_keep_to_one_line_on_a_phone_in_every_script(tenants: TenantFactory, page: Page) -> None:
    """Japanese headers and badges broke a character per line at 390 px, a German status was squeezed to its
    arrow beside "Verschieben", and a tracking ID broke at its hyphen."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop", trackingPrefix="SHOP")
        await report(tenant.client, project["apiKey"], "The cart is empty")
        await page.set_viewport_size({"width": 390, "height": 844})
        await log_in(page, tenant.email)
        await page.goto("/ui/reports?lang=ja")
        for cell in ("table.reports th", "table.reports .badge", "table.reports td.mono"):
            for node in await page.locator(cell).all():
                assert await node.evaluate(ONE_LINE), await node.inner_text()
        await page.goto(f"/ui/board?project={project['id']}&lang=de")
        status = page.locator(".card form.move select").first
        await expect(status).to_have_value("new")
        fits = "(select) => select.scrollWidth <= select.clientWidth + 1 && select.clientWidth > 100"
        assert await status.evaluate(fits)


# Whether a form's controls are inside the window, across.
IN_THE_WINDOW = """(form) => [...form.querySelectorAll("select, button")].every((control) => {
  const box = control.getBoundingClientRect();
  return box.left >= 0 && box.right <= window.innerWidth;
})"""


async def test_on_a_phone_change_role_keeps_to_one_line_in_every_language(
    tenants: TenantFactory, page: Page, app: Any
) -> None:
    """At 390 px the members table's "Change role" took two lines beside its select, and four in Chinese, a
    character a line. It keeps to one, under the select where the row has no room beside it, and both are on the
    screen (a phone shows the rows as cards; the table was cut at the window's edge)."""
    async with tenants.create() as tenant:
        await invite(tenant, app, "member")
        await page.set_viewport_size({"width": 390, "height": 844})
        await log_in(page, tenant.email, path="/ui/members/")
        for language in SUPPORTED_LOCALES:
            await page.goto(f"/ui/members/?lang={language}")
            forms = page.locator("table form.inline")
            await expect(forms).to_have_count(2)  # the owner's row and the member's
            for form in await forms.all():
                button = form.get_by_role("button")
                assert await button.evaluate(ONE_LINE), (language, await button.inner_text())
                assert await form.evaluate(IN_THE_WINDOW), language
            assert await page.evaluate(OVERFLOW) == 0, language


async def test_the_assignee_filter_tells_anyone_from_nobody_in_japanese(tenants: TenantFactory, page: Page) -> None:
    """In Japanese it offered 指定なし ("none specified", as an unassigned report reads) for anyone and なし for
    nobody, side by side: a reader looking for the reports no one has took the first and got them all."""
    async with tenants.create() as tenant:
        await log_in(page, tenant.email)
        await page.goto("/ui/reports?lang=ja")
        choices = page.get_by_role("search").get_by_label("担当者").locator("option")
        await expect(choices).to_have_text(["すべて", "自分", "未割り当て", re.compile(".")])


# The words (runs of non-spaces) of the cells that a line break splits, as the page lays them out.
BROKEN_WORDS = """(cells) => cells.flatMap((cell) => {
  const text = cell.firstChild;
  if (!text) return [];
  return [...text.data.matchAll(/\\S+/g)].filter((word) => {
    const range = document.createRange();
    range.setStart(text, word.index);
    range.setEnd(text, word.index + word[0].length);
    return new Set([...range.getClientRects()].map((box) => Math.round(box.top))).size > 1;
  }).map((word) => word[0]);
})"""


async def test_a_reports_logs_keep_times_and_words_whole_and_scroll_sideways(
    tenants: TenantFactory, page: Page
) -> None:
    """Every cell broke anywhere: on a phone "Erro/r", a time in three lines and an address four letters a line,
    and in Japanese a time on a desktop too ("8:36:4/3")."""
    when = "2026-12-04T17:36:43Z"
    source = "http://127.0.0.1:8112/en/checkout/payment.html"
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop")
        sent = await report(
            tenant.client,
            project["apiKey"],
            "Checkout fails",
            console_logs=[
                {
                    "type": "error",
                    "message": "Uncaught Error: payment failed in timer",
                    "source": source,
                    "line": 15,
                    "timestamp": when,
                },
            ],
            network_logs=[
                {
                    "method": "GET",
                    "url": "http://127.0.0.1:9/refused",
                    "timestamp": when,
                    "status": 0,
                    "error": "Failed to fetch",
                    "duration": 13,
                },
                {
                    "method": "POST",
                    "url": "http://127.0.0.1:8112/api/pay?token=[redacted]&x=1",
                    "timestamp": when,
                    "status": 501,
                    "statusText": "Unsupported method ('POST')",
                    "duration": 13,
                },
            ],
        )
        await log_in(page, tenant.email)
        for width, language in ((1280, "ja"), (375, "ja"), (375, "en")):
            await page.set_viewport_size({"width": width, "height": 800})
            await page.goto(f"/ui/reports/{sent['id']}?lang={language}")
            cells = page.locator("table.log td")
            await expect(cells.first).to_be_visible()
            addresses = cells.filter(has_text=re.compile(r"^http"))
            assert await cells.filter(has_not_text=re.compile(r"^http")).evaluate_all(BROKEN_WORDS) == []
            for time in await cells.filter(has_text=re.compile(r"^\d+:\d\d")).all():
                assert await time.evaluate(ONE_LINE), (width, language, await time.inner_text())
            # An address breaks anywhere, in a column wide enough to read it.
            for address in await addresses.all():
                assert await address.evaluate("(cell) => cell.offsetWidth") >= 200, (width, language)
            assert await page.evaluate(OVERFLOW) == 0, (width, language)  # the table scrolls in its own box
        scrolls = "(box) => box.scrollWidth > box.clientWidth"
        assert await page.locator(".scroll:has(table.log)").first.evaluate(scrolls)


async def test_a_blank_comment_is_refused_beside_its_box(tenants: TenantFactory, page: Page) -> None:
    """It was a page of its own, naming the API's field ("text: This field is required.")."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop")
        sent = await report(tenant.client, project["apiKey"], "The cart is empty")
        await log_in(page, tenant.email, path=f"/ui/reports/{sent['id']}")
        box = page.get_by_label("Add a comment")
        await box.fill("   ")
        await page.get_by_role("button", name="Comment").click()
        await expect(page.get_by_role("heading", name="The cart is empty")).to_be_visible()
        await expect(box).to_have_attribute("aria-invalid", "true")
        await expect(box).to_have_accessible_description("Must not be blank.")
        await expect(box).to_be_focused()
        await box.fill("Seen on Safari too.")
        await page.get_by_role("button", name="Comment").click()
        await expect(page.locator(".comment")).to_contain_text("Seen on Safari too.")
        await expect(box).not_to_have_attribute("aria-invalid", "true")


async def test_the_team_files_a_report_for_a_customer_from_the_list(
    tenants: TenantFactory, page: Page, worker: Any
) -> None:
    """The list's New report link: a refused field is said beside it in the reader's language, the form keeps
    what was typed, and the report filed lands on its own page, numbered."""
    async with tenants.create() as tenant:
        await tenant.create_project("Shop", trackingPrefix="SHOP")
        blog = await tenant.create_project("Blog", trackingPrefix="BLOG")
        async with tenants.create("Elsewhere") as other:
            await other.create_project("Not theirs")
            await log_in(page, tenant.email)
            assert (await tenant.client.patch("/api/v1/auth/me", json={"locale": "de"})).status_code == 200
            await page.goto("/ui/reports")
            await page.get_by_role("link", name="Neuer Bericht").click()
            await expect(page.get_by_label("Projekt")).to_contain_text("Blog")
            await expect(page.get_by_label("Projekt")).not_to_contain_text("Not theirs")
            await page.get_by_label("Projekt").select_option(label="Blog")
            await page.get_by_label("Titel").fill("Ab")
            await page.get_by_label("Beschreibung").fill("The customer called: the comment form loses the text.")
            await page.get_by_label("Schweregrad").select_option("high")
            await page.get_by_role("button", name="Bericht erfassen").click()
            title = page.get_by_label("Titel")
            await expect(title).to_have_attribute("aria-invalid", "true")
            await expect(page.locator("#title-error")).to_contain_text("mindestens 4")
            await expect(title).to_be_focused()  # the page opens on what to correct (it opened at its top)
            # Marked by more than its colour: its border is thicker than a field's that is fine (both were grey).
            border = "(field) => getComputedStyle(field).borderTopWidth"
            assert (await title.evaluate(border), await page.get_by_label("Beschreibung").evaluate(border)) == (
                "2px",
                "1px",
            )
            await expect(page.get_by_label("Beschreibung")).to_have_value(
                "The customer called: the comment form loses the text."
            )
            await expect(page.get_by_label("Projekt")).to_have_value(blog["id"])
            await title.fill("Comment form loses the text")
            await page.get_by_label("E-Mail-Adresse der meldenden Person (optional)").fill("ada@example.com")
            await page.get_by_role("button", name="Bericht erfassen").click()
            await expect(page.get_by_role("heading", name="Comment form loses the text")).to_be_visible()
        filed = (await tenant.client.get("/api/v1/reports", params={"project_id": blog["id"]})).json()["data"]["items"]
    assert [(item["title"], item["source"], item["severity"], item["reporterEmail"]) for item in filed] == [
        ("Comment form loses the text", "team", "high", "ada@example.com")
    ]
    # By its tracking ID when the worker gave it within the wait, else by its id.
    assert page.url.rsplit("/", 1)[1] in {filed[0]["trackingId"], filed[0]["id"]}
