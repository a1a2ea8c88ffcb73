"""The organization's settings in the admin UI: its managers change the name, default language, time zone
and allowed e-mail domains; a refused value comes back with its reason beside it; members are turned away."""

from __future__ import annotations

from typing import Any

from playwright.async_api import Page, expect

from tests.support.admin_ui import invite, log_in, read
from tests.support.clients import TenantFactory


async def test_a_manager_changes_the_organizations_settings(tenants: TenantFactory, page: Page) -> None:
    async with tenants.create("Acme") as tenant:
        await log_in(page, tenant.email, path="/ui/settings")
        await expect(page.get_by_role("heading", name="Organization settings")).to_be_visible()
        await expect(page.get_by_label("Name")).to_have_value("Acme")

        await page.get_by_label("Allowed e-mail domains").fill("acme.example\nnot a domain")
        await page.get_by_role("button", name="Save").click()
        await expect(page.get_by_role("alert")).to_have_text("Please correct the marked fields.")
        await expect(page.get_by_label("Allowed e-mail domains")).to_have_attribute("aria-invalid", "true")
        await expect(page.get_by_label("Allowed e-mail domains")).to_have_value("acme.example\nnot a domain")

        await page.get_by_label("Allowed e-mail domains").fill("acme.example")
        await page.get_by_label("Time zone").fill("Mars/Olympus_Mons")
        await page.get_by_role("button", name="Save").click()
        await expect(page.locator("#timezone-error")).to_have_text("This time zone is not known.")
        await expect(page.get_by_label("Time zone")).to_have_value("Mars/Olympus_Mons")

        await page.get_by_label("Name").fill("Acme Europe")
        await page.get_by_label("Default language").select_option("de")
        await page.get_by_label("Time zone").fill("Europe/Berlin")
        await page.get_by_label("Allowed e-mail domains").fill("acme.example\nacme-eu.example")
        await page.get_by_role("button", name="Save").click()
        await expect(page.get_by_role("status")).to_have_text("The settings are saved.")
        await expect(page.get_by_label("Name")).to_have_value("Acme Europe")
        saved = await read(tenant, "/api/v1/organization")
    assert (saved["name"], saved["defaultLocale"], saved["timezone"]) == ("Acme Europe", "de", "Europe/Berlin")
    assert saved["security"]["allowedEmailDomains"] == ["acme.example", "acme-eu.example"]


async def test_members_cannot_change_the_settings(tenants: TenantFactory, page: Page, app: Any) -> None:
    async with tenants.create() as tenant:
        email, _user_id = await invite(tenant, app, "member")
        await log_in(page, email)
        await expect(page.get_by_role("link", name="Settings")).to_have_count(0)
        refused = await page.goto("/ui/settings")
    assert refused is not None
    assert refused.status == 403
