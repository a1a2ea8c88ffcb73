"""An invitation accepted from its e-mail's link: someone new chooses a name and a password, someone with an
account confirms with theirs; either lands signed in to the organization that invited them."""

from __future__ import annotations

import re
import secrets
from urllib.parse import urlsplit
from uuid import UUID

from playwright.async_api import Page, expect

from app.domain.organizations.services import invitation_mail
from app.lib.database import alchemy_config
from tenants.context import tenant_scope
from tests.integration.test_organization import invitation_id_of
from tests.support.clients import PASSWORD, Tenant, TenantFactory


async def invited(tenant: Tenant, email: str, role: str = "member") -> str:
    """The address (path and query) the invitation's e-mail links to."""
    response = await tenant.client.post("/api/v1/organization/members", json={"email": email, "role": role})
    assert response.status_code == 201, response.text
    data = response.json()["data"]
    invitation_id = await invitation_id_of(tenant.organization_id, data["member"]["userId"])
    with tenant_scope(UUID(tenant.organization_id)):
        async with alchemy_config().get_session() as session:
            mail = await invitation_mail(session, invitation_id, data["invitationToken"])
    assert mail is not None
    link = urlsplit(re.findall(r"https?://\S+", mail.body)[0])
    return f"{link.path}?{link.query}"


async def test_someone_new_chooses_a_password_and_lands_in_the_organization(tenants: TenantFactory, page: Page) -> None:
    async with tenants.create("Acme") as tenant:
        email = f"dana-{secrets.token_hex(4)}@example.com"
        link = await invited(tenant, email)
        await page.goto(link)
        await expect(page.get_by_role("heading", name="Join Acme on Lantern")).to_be_visible()
        await expect(page.get_by_text(f"The invitation is for {email}.")).to_be_visible()
        await page.get_by_label("Your name").fill("Dana")
        await page.get_by_label("Choose a password").fill("too short")
        await page.get_by_role("button", name="Accept the invitation").click()
        await expect(page.get_by_label("Choose a password")).to_have_attribute("aria-invalid", "true")
        await expect(page.get_by_label("Your name")).to_have_value("Dana")  # kept; the password is not
        # The language chosen here returns to the invitation's page, its token kept: the refused form's page
        # has the form's address, and the switcher went there without it (a dead end).
        await page.get_by_label("Language").select_option("de")
        await expect(page).to_have_url(re.compile(re.escape(link.split("?")[1])))
        await expect(page.get_by_role("heading", name="Acme auf Lantern beitreten")).to_be_visible()
        await page.get_by_label("Sprache").select_option("en")
        await page.get_by_label("Your name").fill("Dana")

        await page.get_by_label("Choose a password").fill("a long enough password")
        await page.get_by_role("button", name="Accept the invitation").click()
        await expect(page).to_have_url(re.compile("/ui/reports$"))
        await expect(page.locator(".who")).to_contain_text("Dana")
        await expect(page.locator(".role")).to_have_text("Member")
        members = (await tenant.client.get("/api/v1/organization/members")).json()["data"]
        assert [member["invitationPending"] for member in members if member["email"] == email] == [False]

        used = await page.goto(link)  # the e-mail's link, opened again: it said "not valid", a dead end
        assert used is not None
        assert used.status == 409
        await expect(
            page.get_by_text("This invitation was accepted already: log in with the address it was sent to.")
        ).to_be_visible()


async def test_someone_with_an_account_confirms_with_their_password(tenants: TenantFactory, page: Page) -> None:
    async with tenants.create("Acme") as acme, tenants.create("Bobs") as bob:
        await page.goto(await invited(acme, bob.email, "admin"))
        await page.get_by_label("Your Lantern password").fill("not the password")
        await page.get_by_role("button", name="Accept the invitation").click()
        await expect(page.get_by_role("alert")).to_have_text("The e-mail address or password is incorrect.")

        await page.get_by_label("Your Lantern password").fill(PASSWORD)
        await page.get_by_role("button", name="Accept the invitation").click()
        await expect(page).to_have_url(re.compile("/ui/reports$"))
        await expect(page.locator(".role")).to_have_text("Admin")
        switcher = page.get_by_label("Organization")
        await expect(switcher.locator("option:checked")).to_have_text("Acme")
        await expect(switcher.locator("option")).to_have_text(["Bobs", "Acme"])
