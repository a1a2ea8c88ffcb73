"""A project's GitHub connection in the admin UI: managers connect, change and disconnect it; the token is
never shown again; a refused form comes back filled in with the reason; others are turned away."""

from __future__ import annotations

from typing import Any

from playwright.async_api import Page, expect

from tests.support.admin_ui import invite, log_in, read
from tests.support.clients import TenantFactory

TOKEN = "ghp_abcdefghijklmnop1234"


async def test_a_manager_connects_a_project_to_github_changes_it_and_disconnects_it(
    tenants: TenantFactory, page: Page
) -> None:
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop")
        path = f"/ui/projects/{project['id']}/github"
        await log_in(page, tenant.email, path=path)
        await expect(page.get_by_role("heading", name="GitHub issues of Shop")).to_be_visible()

        await page.get_by_label("Repository").fill("not a repository")
        await page.get_by_label("Token", exact=True).fill(TOKEN)
        await page.get_by_role("button", name="Save").click()
        await expect(page.get_by_role("alert")).to_have_text("Please correct the marked fields.")
        await expect(page.get_by_label("Repository")).to_have_attribute("aria-invalid", "true")
        await expect(page.get_by_label("Repository")).to_have_value("not a repository")  # kept, to be corrected

        await page.get_by_label("Repository").fill("acme/shop")
        await page.get_by_label("Token", exact=True).fill(TOKEN)
        await page.get_by_label("API address (GitHub Enterprise only)").fill("http://127.0.0.1:9/api/v3")
        await page.get_by_role("button", name="Save").click()
        await expect(page.get_by_label("API address (GitHub Enterprise only)")).to_have_attribute(
            "aria-invalid", "true"
        )
        await expect(page.locator("#api_url-error")).to_be_visible()  # the reason is beside its field

        await page.get_by_label("API address (GitHub Enterprise only)").fill("")
        await page.get_by_label("Token", exact=True).fill(TOKEN)
        # Separated as a report's tags are: by a full-width comma too (the two made one label), each once.
        await page.get_by_label("Labels").fill("bug\uff0cfrom-lantern, bug")
        await page.get_by_role("button", name="Save").click()
        await expect(page.get_by_role("status")).to_have_text("The GitHub connection is saved.")
        await expect(page.get_by_label("Labels")).to_have_value("bug, from-lantern")
        await expect(page.get_by_text("…1234")).to_be_visible()
        assert TOKEN not in await page.content()
        saved = await read(tenant, f"/api/v1/projects/{project['id']}/integrations/github")

        await page.get_by_label("Labels").fill("triage")  # the token left empty keeps the stored one
        await page.get_by_role("button", name="Save").click()
        await expect(page.get_by_role("status")).to_have_text("The GitHub connection is saved.")
        changed = await read(tenant, f"/api/v1/projects/{project['id']}/integrations/github")

        await page.get_by_role("button", name="Disconnect from GitHub").click()
        await expect(page.get_by_role("status")).to_have_text("The project is no longer connected to GitHub.")
        gone = await tenant.client.get(f"/api/v1/projects/{project['id']}/integrations/github")

    assert (saved["repository"], saved["labels"], saved["tokenHint"]) == ("acme/shop", ["bug", "from-lantern"], "…1234")
    assert (changed["labels"], changed["tokenHint"]) == (["triage"], "…1234")
    assert gone.status_code == 404


async def test_members_and_other_organizations_cannot_open_the_page(
    tenants: TenantFactory, page: Page, app: Any
) -> None:
    async with tenants.create() as tenant, tenants.create("Other") as other:
        project = await tenant.create_project("Shop")
        foreign = await other.create_project("Theirs")
        email, _user_id = await invite(tenant, app, "member")
        await log_in(page, tenant.email)
        theirs = await page.goto(f"/ui/projects/{foreign['id']}/github")
        await page.goto("/ui/reports")
        await page.get_by_role("button", name="Log out").click()
        await log_in(page, email)
        not_managed = await page.goto(f"/ui/projects/{project['id']}/github")
    assert theirs is not None
    assert theirs.status == 404
    assert not_managed is not None
    assert not_managed.status == 403
