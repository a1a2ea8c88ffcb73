"""The board in the admin UI: a column per status, custom columns after the defaults, and cards that move
with their own small form or by drag and drop."""

from __future__ import annotations

import re
from typing import Any

from playwright.async_api import Page, expect

from tests.support.admin_ui import invite, log_in, read, report
from tests.support.clients import TenantFactory


async def test_cards_move_by_their_form_and_by_drag_and_drop(tenants: TenantFactory, page: Page, worker: Any) -> None:
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop")
        created = await report(tenant.client, project["apiKey"], "The logo is blurry")
        await log_in(page, tenant.email, path="/ui/board")
        # The six default columns fit a desktop window (1280 px) whole: none is cut at the edge.
        board = await page.locator(".board").bounding_box()
        last = await page.locator(".column").last.bounding_box()
        assert board is not None
        assert last is not None
        assert last["x"] + last["width"] <= board["x"] + board["width"]
        await page.get_by_label("New column").fill("QA")
        await page.get_by_role("button", name="Add column").click()
        headings = page.locator(".column h2")
        await expect(headings).to_have_text(["New 1", "Backlog 0", "To do 0", "Doing 0", "Done 0", "Closed 0", "QA 0"])
        # Past the window's edge, the new column is said to be added and scrolled to (it seemed to vanish)...
        await expect(page.get_by_role("status")).to_have_text("The column was added at the end of the board.")
        await expect(page.locator(".column").last).to_be_in_viewport()
        # ... and seven columns being wider than the window, the edge past which the board scrolls fades out.
        await expect(page.locator(".board")).to_have_class("board more-before")
        await page.locator(".board").evaluate("board => board.scrollTo({left: 0})")
        await expect(page.locator(".board")).to_have_class("board more-after")
        await page.locator(".board").evaluate("board => board.scrollTo({left: board.scrollWidth})")
        await expect(page.locator(".board")).to_have_class("board more-before")
        fade = await page.locator(".board").evaluate("board => getComputedStyle(board).maskImage")
        assert fade.startswith("linear-gradient"), fade
        columns = await read(tenant, f"/api/v1/projects/{project['id']}/columns")
        assert [column["name"] for column in columns if column["custom"]] == ["QA"]

        card = page.locator(".card", has_text="The logo is blurry")
        await card.get_by_label(re.compile(r"^Move \w+-\d+ to$")).select_option(label="Doing")  # its own name
        await card.get_by_role("button", name="Move").click()
        await expect(page.locator('.column[data-status="doing"] .card a')).to_have_text(["The logo is blurry"])
        await expect(page).to_have_url(re.compile(f"#card-{created['id']}$"))  # back where the keyboard was
        assert (await read(tenant, f"/api/v1/reports/{created['id']}"))["status"] == "doing"

        # The drag's events as the browser sends them (Playwright's mouse drag starts none in this Chromium).
        transfer = await page.evaluate_handle("() => new DataTransfer()")
        await page.locator(".card", has_text="The logo is blurry").dispatch_event(
            "dragstart", {"dataTransfer": transfer}
        )
        for event in ("dragover", "drop"):
            await page.locator('.column[data-status="QA"]').dispatch_event(event, {"dataTransfer": transfer})
        await expect(page.locator('.column[data-status="QA"] .card a')).to_have_text(["The logo is blurry"])
        assert (await read(tenant, f"/api/v1/reports/{created['id']}"))["status"] == "QA"

        # A colleague moved it meanwhile: a move from this board, as it showed the card, overwrote theirs unsaid.
        moved = await tenant.client.patch(f"/api/v1/reports/{created['id']}", json={"status": "backlog"})
        assert moved.status_code == 200, moved.text
        await card.get_by_label(re.compile(r"^Move \w+-\d+ to$")).select_option(label="Done")
        await card.get_by_role("button", name="Move").click()
        await expect(page.get_by_role("status")).to_contain_text("Not saved: Status, which someone else changed")
        assert (await read(tenant, f"/api/v1/reports/{created['id']}"))["status"] == "backlog"


async def test_a_custom_column_is_renamed_with_its_cards_and_deleted_back_to_new(
    tenants: TenantFactory, page: Page
) -> None:
    """The team's own column is renamed (its cards follow) and deleted (its cards go back to New)."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop")
        created = await report(tenant.client, project["apiKey"], "The logo is blurry")
        added = await tenant.client.post(f"/api/v1/projects/{project['id']}/columns", json={"name": "QA"})
        assert added.status_code == 201, added.text
        assert (await tenant.client.patch(f"/api/v1/reports/{created['id']}", json={"status": "QA"})).is_success
        await log_in(page, tenant.email, path="/ui/board")
        headings = page.locator(".column h2")
        qa = page.locator('.column[data-status="QA"]')
        await qa.get_by_text("Rename, move or delete").click()
        taken = "A column with this name already exists in the project."
        # A default column's name, or another product's name for one (BugHerd's `feedback`, which the API's
        # `status` takes for New): refused beside the field, as a new column of that name is.
        for name in ("New", "feedback"):
            await qa.get_by_label("New name").fill(name)
            await qa.get_by_role("button", name="Rename").click()
            await expect(qa.get_by_label("New name")).to_have_accessible_description(taken)
        await expect(headings).to_have_text(["New 0", "Backlog 0", "To do 0", "Doing 0", "Done 0", "Closed 0", "QA 1"])
        qa = page.locator('.column[data-status="QA"]')
        await qa.get_by_label("New name").fill("Quality")
        await qa.get_by_role("button", name="Rename").click()
        await expect(page.locator('.column[data-status="Quality"] .card a')).to_have_text(["The logo is blurry"])
        await expect(page.get_by_role("status")).to_have_text("The column was renamed; its 1 report moved with it.")
        quality = page.locator('.column[data-status="Quality"]')
        await quality.get_by_text("Rename, move or delete").click()
        # Asked once more, naming the column: all its reports go back to New at once.
        await quality.get_by_label("Delete the column Quality").click()
        await quality.get_by_role("button", name="Delete the column", exact=True).click()
        await expect(headings).to_have_text(["New 1", "Backlog 0", "To do 0", "Doing 0", "Done 0", "Closed 0"])
        await expect(page.get_by_role("status")).to_have_text("The column was deleted; its 1 report went back to New.")
        assert (await read(tenant, f"/api/v1/reports/{created['id']}"))["status"] == "new"


async def test_custom_columns_move_left_and_right(tenants: TenantFactory, page: Page) -> None:
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop")
        for name in ("QA", "Review", "Shipped"):
            added = await tenant.client.post(f"/api/v1/projects/{project['id']}/columns", json={"name": name})
            assert added.status_code == 201, added.text
        await log_in(page, tenant.email, path=f"/ui/board?project={project['id']}")
        shipped = page.locator('.column[data-status="Shipped"]')
        await shipped.get_by_text("Rename, move or delete").click()
        # The last column goes no further right, and the first of the team's no further left.
        await expect(shipped.get_by_role("button", name="Move right")).to_have_count(0)
        await shipped.get_by_role("button", name="Move left").click()
        headings = page.locator(".column h2")
        await expect(headings).to_have_text(
            ["New 0", "Backlog 0", "To do 0", "Doing 0", "Done 0", "Closed 0", "QA 0", "Shipped 0", "Review 0"]
        )
        qa = page.locator('.column[data-status="QA"]')
        await qa.get_by_text("Rename, move or delete").click()
        await expect(qa.get_by_role("button", name="Move left")).to_have_count(0)
        await qa.get_by_role("button", name="Move right").click()
        await expect(headings).to_have_text(
            ["New 0", "Backlog 0", "To do 0", "Doing 0", "Done 0", "Closed 0", "Shipped 0", "QA 0", "Review 0"]
        )
        columns = await read(tenant, f"/api/v1/projects/{project['id']}/columns")
        assert [column["name"] for column in columns if column["custom"]] == ["Shipped", "QA", "Review"]


async def test_a_wide_window_shows_every_column_and_a_column_is_added_above_the_cards(
    tenants: TenantFactory, page: Page
) -> None:
    """The board kept to 1280 px on a 1920 px screen, cutting its custom columns off, and the form that adds a
    column came after every card of the longest column (50 of them in New)."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop")
        for number in range(8):
            await report(tenant.client, project["apiKey"], f"Typo in the footer #{number}")
        for name in ("QA", "Waiting", "Shipped"):
            added = await tenant.client.post(f"/api/v1/projects/{project['id']}/columns", json={"name": name})
            assert added.status_code == 201, added.text
        await page.set_viewport_size({"width": 1920, "height": 1080})
        await log_in(page, tenant.email, path=f"/ui/board?project={project['id']}")
        await expect(page.locator(".column")).to_have_count(9)
        await expect(page.locator(".column").last).to_be_in_viewport(ratio=1)
        assert await page.locator(".board").evaluate("(board) => board.scrollWidth <= board.clientWidth")
        await expect(page.get_by_role("button", name="Add column")).to_be_in_viewport()
        await page.get_by_label("New column").fill("Released")
        await page.get_by_role("button", name="Add column").click()
        await expect(page.get_by_role("status")).to_have_text("The column was added at the end of the board.")
        await expect(page.locator(".column h2").last).to_have_text("Released 0")


async def test_a_card_moved_past_the_windows_edge_is_shown_clear_of_the_fade(
    tenants: TenantFactory, page: Page, worker: Any
) -> None:
    """The board scrolled to the moved card, which landed half under the faded edge."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop")
        await report(tenant.client, project["apiKey"], "The logo is blurry")
        await page.set_viewport_size({"width": 900, "height": 800})
        await log_in(page, tenant.email, path=f"/ui/board?project={project['id']}")
        card = page.locator(".card", has_text="The logo is blurry")
        await card.get_by_label(re.compile(r"^Move \w+-\d+ to$")).select_option(label="Done")
        await card.get_by_role("button", name="Move").click()
        moved = page.locator('.column[data-status="done"] .card')
        await expect(moved).to_be_in_viewport()
        board, shown = await page.locator(".board").bounding_box(), await moved.bounding_box()
        assert board is not None
        assert shown is not None
        fade = 48  # 3rem
        assert board["x"] + fade <= shown["x"]
        assert shown["x"] + shown["width"] <= board["x"] + board["width"] - fade


async def test_an_empty_board_says_where_reports_come_from_and_which_a_guest_sees(
    tenants: TenantFactory, page: Page, app: Any
) -> None:
    """Six empty columns said nothing: not that reports come from the widget, nor, to a guest, that they see
    only their own; the list said both."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop")
        guest_email, guest_id = await invite(tenant, app, "guest")
        added = await tenant.client.post(f"/api/v1/projects/{project['id']}/members", json={"userId": guest_id})
        assert added.status_code == 201, added.text
        await log_in(page, tenant.email, path="/ui/board")
        await expect(page.get_by_text("No reports yet. Reports arrive from the widget on your site")).to_be_visible()
        await report(tenant.client, project["apiKey"], "The logo is blurry")
        await page.reload()
        await expect(page.locator(".card a")).to_have_text(["The logo is blurry"])
        await expect(page.get_by_text("No reports yet.")).to_have_count(0)

        await page.get_by_role("button", name="Log out").click()
        await log_in(page, guest_email, path="/ui/board")
        await expect(page.get_by_text("No reports for you yet. You see the reports you send")).to_be_visible()
