"""The Projects page as a member uses it: which projects there are, each one's open reports, the way to its
reports and its board, and the line that embeds its widget to hand to whoever builds the site."""

from __future__ import annotations

import re
from typing import Any

from playwright.async_api import Page, expect

from tests.support.admin_ui import invite, log_in, report
from tests.support.clients import TenantFactory


async def test_a_member_goes_from_projects_to_a_projects_reports(tenants: TenantFactory, page: Page, app: Any) -> None:
    async with tenants.create() as tenant:
        shop = await tenant.create_project("Shop", trackingPrefix="SHP")
        blog = await tenant.create_project("Blog", trackingPrefix="BLG")
        await report(tenant.client, shop["apiKey"], "The cart total is wrong")
        await report(tenant.client, blog["apiKey"], "A typo in the first post")
        member, _member_id = await invite(tenant, app, "member")
        await log_in(page, member)
        await page.get_by_role("navigation", name="Main").get_by_role("link", name="Projects").click()
        await expect(page.get_by_role("heading", name="Projects", level=1)).to_be_visible()
        await expect(page.get_by_role("rowheader")).to_have_text(["Shop", "Blog"])
        await expect(page.get_by_role("button", name="Create project")).to_have_count(0)
        row = page.locator("tbody tr", has=page.get_by_role("rowheader", name="Shop"))
        await expect(row.get_by_role("cell")).to_contain_text(["SHP", "1", "All reports · Board"])

        await row.get_by_role("link", name="All reports").click()
        await expect(page).to_have_url(re.compile(rf"/ui/reports\?project={shop['id']}$"))
        await expect(page.get_by_label("Project")).to_have_value(shop["id"])
        await expect(page.locator("table.reports tbody tr")).to_have_count(1)
        await expect(page.get_by_role("link", name="The cart total is wrong")).to_be_visible()

        # The project's own page: what it is, and the line to hand to whoever builds the site.
        await page.go_back()
        await row.get_by_role("link", name="Shop").click()
        await expect(page.get_by_role("heading", name="Shop SHP")).to_be_visible()
        await expect(page.get_by_label("The line to add")).to_contain_text(f'data-api-key="{shop["apiKey"]}"')
        await expect(page.get_by_role("button", name="Save changes")).to_have_count(0)
        await page.get_by_role("link", name="Its board").click()
        await expect(page).to_have_url(re.compile(rf"/ui/board\?project={shop['id']}$"))
        await expect(page.locator(".board .card")).to_have_count(1)
