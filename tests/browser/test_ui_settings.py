"""Settings in the admin UI: an organization's managers change its name, default language, time zone and
allowed e-mail domains (members are turned away); a person changes their own profile and password. A refused
value comes back with its reason beside it."""

from __future__ import annotations

import json
import re
import zipfile
from typing import Any

from playwright.async_api import Page, expect

from tests.support.admin_ui import invite, log_in, read
from tests.support.clients import PASSWORD, ApiClient, TenantFactory


async def test_a_manager_changes_the_organizations_settings(tenants: TenantFactory, page: Page) -> None:
    async with tenants.create("Acme") as tenant:
        await log_in(page, tenant.email, path="/ui/settings")
        await expect(page.get_by_role("heading", name="Organization settings")).to_be_visible()
        await expect(page.get_by_label("Name", exact=True)).to_have_value("Acme")

        await page.get_by_label("Allowed e-mail domains").fill("acme.example\nnot a domain")
        await page.get_by_role("button", name="Save").click()
        await expect(page.get_by_role("alert")).to_have_text("Please correct the marked fields.")
        await expect(page.get_by_label("Allowed e-mail domains")).to_have_attribute("aria-invalid", "true")
        await expect(page.get_by_label("Allowed e-mail domains")).to_have_value("acme.example\nnot a domain")
        # Among several domains, the reason says which line holds the one refused.
        refused = "Line 2: Must be a domain, such as example.com."
        await expect(page.locator("#email_domains-error")).to_have_text(refused)

        await page.get_by_label("Allowed e-mail domains").fill("acme.example")
        await page.get_by_label("Time zone").fill("Mars/Olympus_Mons")
        await page.get_by_role("button", name="Save").click()
        refused = "This time zone is not known. Use its IANA name, such as Europe/Berlin."
        await expect(page.locator("#timezone-error")).to_have_text(refused)
        await expect(page.get_by_label("Time zone")).to_have_value("Mars/Olympus_Mons")
        await page.get_by_label("Time zone").fill("Berlin")  # a city: the zone it names is offered
        await page.get_by_role("button", name="Save").click()
        refused = "This time zone is not known. Did you mean Europe/Berlin?"
        await expect(page.locator("#timezone-error")).to_have_text(refused)

        await page.get_by_label("Name", exact=True).fill("Acme Europe")
        await page.get_by_label("Default language").select_option("de")
        await page.get_by_label("Time zone").fill("Europe/Berlin")
        await page.get_by_label("Allowed e-mail domains").fill("acme.example\nacme-eu.example")
        await page.get_by_role("button", name="Save").click()
        await expect(page.get_by_role("status")).to_have_text("The settings are saved.")
        await expect(page.get_by_label("Name", exact=True)).to_have_value("Acme Europe")
        saved = await read(tenant, "/api/v1/organization")
    assert (saved["name"], saved["defaultLocale"], saved["timezone"]) == ("Acme Europe", "de", "Europe/Berlin")
    assert saved["security"]["allowedEmailDomains"] == ["acme.example", "acme-eu.example"]


# The width of a page's content: its main part, less its padding.
CONTENT_WIDTH = """(main) => {
  const style = getComputedStyle(main);
  return main.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
}"""


async def test_a_projects_settings_use_the_pages_width_as_the_organizations_do(
    tenants: TenantFactory, page: Page
) -> None:
    """On a desktop (1280 px) each of a project's settings cards was as narrow as its fields, 682 px of the page's
    1232, and half the page was empty; the organization's settings card spans the page, its fields a readable
    width inside."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop")
        await page.set_viewport_size({"width": 1280, "height": 800})
        await log_in(page, tenant.email, path="/ui/settings")
        content = await page.locator("main").evaluate(CONTENT_WIDTH)
        assert content > 1000, content
        organization = page.locator("main > .card").first
        assert await organization.evaluate("(card) => card.offsetWidth") == content

        await page.goto(f"/ui/projects/{project['id']}")
        name = page.get_by_label("Name", exact=True)
        await expect(name).to_have_value("Shop")
        assert await name.evaluate("(field) => field.closest('.card').offsetWidth") == content
        widths = await page.locator("main > .card").evaluate_all("(cards) => cards.map((card) => card.offsetWidth)")
        assert len(widths) == 6, widths  # settings, people, GitHub, the widget's line, its keys, deletion
        assert set(widths) == {content}, widths


async def test_a_refused_allowed_origin_is_named_by_its_line(tenants: TenantFactory, page: Page) -> None:
    """Among several origins, "Must be a site" said not which was refused. Lines are counted as the box shows them,
    blank ones too."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop", allowedOrigins=["example.com"])
        await log_in(page, tenant.email, path=f"/ui/projects/{project['id']}")
        origins = page.get_by_label("Allowed origins")
        await origins.fill("example.com\n\nhttps://shop example\nhttps://shop.example")
        await page.get_by_role("button", name="Save changes").click()
        await expect(page.locator("#allowed_origins-error")).to_have_text(
            "Line 3: Must be a site, such as https://example.com or example.com:8080."
        )
        await expect(origins).to_have_attribute("aria-invalid", "true")
        await expect(origins).to_have_value("example.com\n\nhttps://shop example\nhttps://shop.example")
        assert (await read(tenant, f"/api/v1/projects/{project['id']}"))["allowedOrigins"] == ["example.com"]
        # Every refused line is named, and a page's address is told to lose its path: only "Zeile 1: Muss eine
        # Website sein" was said, of a line whose site was right, and not a word of line 2.
        await origins.fill("http://127.0.0.1:8201/shop\nnicht eine url")
        await page.get_by_role("button", name="Save changes").click()
        await expect(page.locator("#allowed_origins-error")).to_have_text(
            "Line 1: Must be a site without a path, such as http://127.0.0.1:8201. "
            "Line 2: Must be a site, such as https://example.com or example.com:8080."
        )


# The "New …" forms below the lists, by their cards' headings.
NEW_THINGS = {
    "/ui/projects": "New project",
    "/ui/members": "Invite someone",
    "/ui/webhooks": "New webhook",
    "/ui/tokens": "New token",
}


async def test_the_forms_to_make_something_new_use_the_pages_width_as_the_lists_above_them_do(
    tenants: TenantFactory, page: Page
) -> None:
    """On a desktop (1280 px) the card to make a project, a webhook or a token, or to invite someone, was as narrow
    as its fields (40rem) under a list as wide as the page; it spans the page, its fields a readable width inside.
    On a phone (390 px) none of these pages is wider than the window."""
    async with tenants.create() as tenant:
        await tenant.create_project("Shop")
        await tenant.create_token("CI pipeline")  # each list has a row above its form
        await page.set_viewport_size({"width": 1280, "height": 800})
        await log_in(page, tenant.email, path="/ui/projects")
        for path, heading in NEW_THINGS.items():
            await page.goto(path)
            card = page.get_by_role("region", name=heading)
            content = await page.locator("main").evaluate(CONTENT_WIDTH)
            assert await card.evaluate("(card) => card.offsetWidth") == content, path
            field = card.locator("input:not([type=hidden]):not([type=checkbox])").first
            assert await field.evaluate("(field) => field.offsetWidth") < content / 2, path  # readable, not 1232 px

        await page.set_viewport_size({"width": 390, "height": 800})
        for path, heading in NEW_THINGS.items():
            await page.goto(path)
            await expect(page.get_by_role("region", name=heading)).to_be_visible()
            page_width = await page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
            assert page_width[0] <= page_width[1], (path, page_width)


async def test_the_owner_deletes_the_organization_by_typing_its_name(
    tenants: TenantFactory, page: Page, app: Any
) -> None:
    async with tenants.create("Acme") as tenant:
        admin_email, _user_id = await invite(tenant, app, "admin")
        await log_in(page, admin_email, path="/ui/settings")
        await expect(page.get_by_text("Delete this organization")).to_have_count(0)  # the owners' alone
        await page.context.clear_cookies()

        await log_in(page, tenant.email, path="/ui/settings")
        await page.get_by_text("Delete this organization").click()
        await page.get_by_label("Type the organization's name to confirm").fill("acme")
        await page.get_by_role("button", name="Delete the organization").click()
        confirm = page.get_by_label("Type the organization's name to confirm")
        await expect(confirm).to_have_attribute("aria-invalid", "true")  # open again, the reason beside it
        await confirm.fill("Acme")
        await page.get_by_role("button", name="Delete the organization").click()
        await expect(page.get_by_role("status")).to_have_text(
            "The organization is deleted. Log in to another of yours, if you have one."
        )
        async with ApiClient.for_app(app) as client:
            login = await client.post("/api/v1/auth/login", json={"email": admin_email, "password": PASSWORD})
    assert login.status_code == 401  # an account left in no organization goes with it


async def test_the_owner_exports_the_organization_and_downloads_its_archive(
    tenants: TenantFactory, page: Page, worker: Any
) -> None:
    """The worker writes it while the page waits: the page shows it done, by itself, with a link to the zip."""
    async with tenants.create("Acme Portable") as tenant:
        await tenant.create_project("Shop")
        await log_in(page, tenant.email, path="/ui/settings")
        card = page.get_by_role("region", name="Export organization")
        await card.get_by_role("button", name="Export organization").click()
        archive = re.compile(rf"{tenant.slug}-export-\d{{4}}-\d\d-\d\d\.zip")
        link = card.get_by_role("link", name=archive)
        await expect(link).to_be_visible(timeout=60_000)
        await expect(card).to_contain_text("Kept until")
        await expect(card.get_by_role("button", name="Export again")).to_be_visible()
        async with page.expect_download() as downloading:
            await link.click()
        download = await downloading.value
        assert archive.fullmatch(download.suggested_filename), download.suggested_filename
        with zipfile.ZipFile(await download.path()) as opened:
            manifest = json.loads(opened.read("manifest.json"))
    assert manifest["organization"]["name"] == "Acme Portable"
    assert manifest["counts"]["projects"] == 1


async def test_members_cannot_change_the_settings(tenants: TenantFactory, page: Page, app: Any) -> None:
    """Refused, the page kept its navigation and logout: it had neither, as if the member were signed out (the
    role's guard refuses a page before its layout is made)."""
    async with tenants.create() as tenant:
        email, _user_id = await invite(tenant, app, "member")
        await log_in(page, email)
        await expect(page.get_by_role("link", name="Settings")).to_have_count(0)
        refused = await page.goto("/ui/settings")
        assert refused is not None
        assert refused.status == 403
        await expect(page.get_by_role("heading", name="You are not allowed to do this.")).to_be_visible()
        navigation = page.get_by_role("navigation", name="Main").get_by_role("link")
        await expect(navigation).to_have_text(["Reports", "Board", "Projects"])
        await page.get_by_role("button", name="Log out").click()
        await expect(page).to_have_url(re.compile("/ui/login"))


async def test_a_person_changes_their_profile_and_password(tenants: TenantFactory, page: Page, app: Any) -> None:
    async with tenants.create("Acme") as tenant:
        await log_in(page, tenant.email)
        await page.get_by_role("link", name="Owner", exact=True).click()  # their name in the header
        await expect(page.get_by_role("heading", name="Your profile")).to_be_visible()
        await page.get_by_label("Time zone").fill("Mars/Olympus_Mons")
        await page.get_by_role("button", name="Save").click()
        refused = "This time zone is not known. Use its IANA name, such as Europe/Berlin."
        await expect(page.locator("#timezone-error")).to_have_text(refused)

        await page.get_by_label("Name", exact=True).fill("Ada Lovelace")
        # Chosen by no one, the language is the browser's (Accept-Language) before the organization's default.
        unchosen = page.get_by_label("Your language").locator("option").first
        await expect(unchosen).to_have_text("The browser's language, else the organization's")
        await page.get_by_label("Your language").select_option("de")
        await page.get_by_label("Time zone").fill("Europe/Berlin")
        mails = page.get_by_label("E-mail me when a report is assigned to me, or commented on while it is mine")
        await expect(mails).to_be_checked()  # on at first
        await mails.uncheck()
        await page.get_by_role("button", name="Save").click()
        await expect(page.get_by_role("status")).to_have_text("Ihr Profil ist gespeichert.")  # now in German
        await expect(page.get_by_role("link", name="Ada Lovelace")).to_be_visible()
        await expect(page.get_by_role("checkbox")).not_to_be_checked()
        me = await read(tenant, "/api/v1/auth/me")
        assert (me["user"]["name"], me["user"]["locale"], me["user"]["timezone"], me["user"]["emailNotifications"]) == (
            "Ada Lovelace",
            "de",
            "Europe/Berlin",
            False,
        )

        current, new = page.get_by_label("Aktuelles Passwort"), page.get_by_label("Neues Passwort")
        await current.fill("not my password")
        await new.fill("a brand new password")
        await page.get_by_role("button", name="Passwort ändern").click()
        await expect(page.locator("#current_password-error")).to_have_text("Das ist nicht Ihr aktuelles Passwort.")
        await current.fill(PASSWORD)
        await new.fill("short")
        await page.get_by_role("button", name="Passwort ändern").click()
        await expect(new).to_have_attribute("aria-invalid", "true")
        await current.fill(PASSWORD)
        await new.fill("a brand new password")
        await page.get_by_role("button", name="Passwort ändern").click()
        await expect(page.get_by_role("status")).to_have_text("Ihr Passwort ist geändert.")

        async with ApiClient.for_app(app) as anyone:
            for password, status in ((PASSWORD, 401), ("a brand new password", 200)):
                login = await anyone.post("/api/v1/auth/login", json={"email": tenant.email, "password": password})
                assert login.status_code == status, login.text


async def test_a_person_leaves_an_organization_then_deletes_their_account(
    tenants: TenantFactory, page: Page, app: Any
) -> None:
    """No one could leave an organization or delete their own account. Leaving what the server refuses is not
    offered, but explained: it was, and always failed."""
    async with tenants.create("Acme") as acme, tenants.create("Team") as team:
        await invite(team, app, "member", acme.email)
        await log_in(page, acme.email, path="/ui/profile")
        organizations = page.get_by_role("region", name="Your organizations")
        own, theirs = organizations.locator("li", has_text="Acme"), organizations.locator("li", has_text="Team")
        await expect(own).to_contain_text("You cannot leave it while you are its only owner")
        await expect(own.get_by_label("Leave Acme")).to_have_count(0)
        await theirs.get_by_label("Leave Team").click()
        await theirs.get_by_role("button", name="Leave the organization").click()
        await expect(page.get_by_role("status")).to_have_text("You have left the organization.")
        await expect(theirs).to_have_count(0)
        await expect(own).to_contain_text("You cannot leave your only organization")
        await expect(own.get_by_label("Leave Acme")).to_have_count(0)

        await page.get_by_text("Delete your account", exact=True).click()
        await expect(page.locator("details.danger-zone.card li")).to_have_text(["Acme"])  # deleted with it
        password = page.get_by_label("Your password, to confirm")
        await password.fill("not my password")
        await page.get_by_role("button", name="Delete my account").click()
        await expect(page.locator("#password-error")).to_have_text("This is not your password.")
        await password.fill(PASSWORD)
        await page.get_by_role("button", name="Delete my account").click()
        await expect(page.get_by_role("status")).to_have_text("Your account is deleted.")
        async with ApiClient.for_app(app) as anyone:
            login = await anyone.post("/api/v1/auth/login", json={"email": acme.email, "password": PASSWORD})
        members = await read(team, "/api/v1/organization/members")
    assert login.status_code == 401, login.text
    assert [member["userId"] for member in members] == [team.user_id]
