"""The organization's administration in the admin UI: projects (their widget key, settings, appearance), its
people (invitations, roles, removal), webhooks and API tokens, each change checked through the API."""

from __future__ import annotations

import asyncio
import contextlib
import re
from typing import Any

import httpx
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page, Route, expect

from tests.support.admin_ui import log_in, pinged_webhook, read, report
from tests.support.clients import TenantFactory


async def test_a_project_is_created_with_the_line_that_embeds_its_widget_and_its_settings_are_saved(
    tenants: TenantFactory, page: Page
) -> None:
    async with tenants.create() as tenant:
        await log_in(page, tenant.email)
        await page.get_by_role("link", name="Projects").click()
        await page.get_by_label("Name").fill("Web Shop")
        await page.get_by_label("Site URL").fill("https://shop.example")
        await page.get_by_label("Tracking prefix").fill("WEB")

        # Sent once: a second click while the first was on its way was refused for the prefix the first took,
        # and the page said so instead of showing the project made.
        async def slowly(route: Route) -> None:
            answer = await route.fetch(max_redirects=0)  # done on the server, answered late
            await asyncio.sleep(0.5)
            with contextlib.suppress(PlaywrightError):  # an answer the browser no longer waits for
                await route.fulfill(response=answer)

        await page.route("**/ui/projects", slowly)
        await page.get_by_role("button", name="Create project").evaluate(
            "(button) => { button.click(); setTimeout(() => button.click(), 150); }"
        )
        key_field = page.locator("#widget-key")
        await expect(key_field).to_have_value(re.compile(r"^lt_pub_"))
        await page.unroute("**/ui/projects")
        await expect(page.get_by_text("The widget key is no secret")).to_be_visible()
        key = await key_field.input_value()
        (project,) = await read(tenant, "/api/v1/projects")
        assert (project["name"], project["apiKey"], project["siteUrl"]) == ("Web Shop", key, "https://shop.example")

        await page.get_by_role("link", name="Project settings").click()
        snippet = page.get_by_label("The line to add")
        await expect(snippet).to_contain_text(f'/widget.js" data-api-key="{key}" defer></script>')
        await page.get_by_label("Allowed origins").fill("example.com\nhttps://shop.example")
        await page.get_by_label("Submissions per minute from one visitor").fill("25")
        await page.get_by_label("Button position").select_option(label="Bottom left")
        # The widget's whole configuration is the team's to choose here, not only through the API.
        await page.get_by_label("Theme").select_option(label="Dark")
        await page.get_by_label("Main color").fill("#e11d48")
        await page.get_by_label("Button shape").select_option(label="Rounded")
        await page.get_by_label("Button icon").select_option(label="Flag")
        await page.get_by_label("A tooltip when the pointer rests on the button").check()
        await page.get_by_label("Tooltip text").fill("Found a bug? Tell us")
        await page.get_by_label("Marks on the screenshot (boxes, arrows, drawing)").uncheck()
        await page.get_by_label("What the screenshot shows").select_option(label="The whole page")
        await page.get_by_label("Files the visitor attaches").check()
        await page.get_by_role("button", name="Save changes").click()
        await expect(page.get_by_role("status")).to_have_text("The changes were saved.")
        saved = await read(tenant, f"/api/v1/projects/{project['id']}")
        assert saved["allowedOrigins"] == ["example.com", "https://shop.example"]
        assert saved["rateLimitPerMinute"] == 25
        config = saved["widgetConfig"]
        assert (config["position"], config["theme"], config["buttonShape"], config["buttonIcon"]) == (
            "bottom-left",
            "dark",
            "rounded",
            "flag",
        )
        # The main colour is the button's in the dark theme too: it stayed the default violet there.
        assert {config[name] for name in ("lightButtonColor", "darkButtonColor", "darkButtonHoverColor")} == {"#e11d48"}
        assert (config["tooltipEnabled"], config["tooltipText"], config["captureMethod"]) == (
            True,
            "Found a bug? Tell us",
            "fullpage",
        )
        assert config["features"] == {
            "screenshot": True,
            "annotation": False,
            "consoleCapture": True,
            "attachments": True,
        }
        # The form shows what was saved.
        await expect(page.get_by_label("Marks on the screenshot (boxes, arrows, drawing)")).not_to_be_checked()
        await expect(page.get_by_label("Button icon")).to_have_value("flag")


async def test_saving_a_project_keeps_a_tooltip_the_api_turned_on_without_a_text(
    tenants: TenantFactory, page: Page
) -> None:
    """Shown without a text, the tooltip says the button's label; saving the page turned it off."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop")
        path = f"/api/v1/projects/{project['id']}"
        changed = await tenant.client.patch(path, json={"widgetConfig": {"tooltipEnabled": True}})
        assert changed.status_code == 200, changed.text
        await log_in(page, tenant.email, path=f"/ui/projects/{project['id']}")
        await expect(page.get_by_label("A tooltip when the pointer rests on the button")).to_be_checked()
        await expect(page.get_by_label("Tooltip text")).to_have_value("")
        await page.get_by_role("button", name="Save changes").click()
        await expect(page.get_by_role("status")).to_have_text("The changes were saved.")
        config = (await read(tenant, path))["widgetConfig"]
        assert (config["tooltipEnabled"], config["tooltipText"]) == (True, None)


async def test_refused_forms_come_back_filled_in_with_each_reason_beside_its_field(
    tenants: TenantFactory, page: Page
) -> None:
    """A project, its settings, an invitation, a webhook and a board column, each sent wrong: the page comes
    back (400) with what was typed and the reason beside the field, not a bare error page."""
    async with tenants.create() as tenant:
        await log_in(page, tenant.email, path="/ui/projects/")
        await page.get_by_label("Name").fill("Web Shop")
        await page.get_by_label("Site URL").fill("not a url")
        await page.get_by_label("Tracking prefix (optional)").fill("b1")
        async with page.expect_response(lambda answer: answer.request.method == "POST") as answer:
            await page.get_by_role("button", name="Create project").click()
        assert (await answer.value).status == 400
        await expect(page.get_by_role("alert")).to_have_text("Please correct the marked fields.")
        await expect(page.get_by_label("Name")).to_have_value("Web Shop")
        await expect(page.get_by_label("Site URL")).to_have_value("not a url")
        await expect(page.get_by_label("Site URL")).to_have_attribute("aria-invalid", "true")
        await expect(page.locator("#tracking_prefix-error")).to_be_visible()

        project = await tenant.create_project("Shop")
        await page.goto(f"/ui/projects/{project['id']}")
        await page.get_by_label("Submissions per minute from one visitor").fill("0")
        await page.get_by_label("Button text").fill("Found a bug?")
        await page.get_by_role("button", name="Save changes").click()
        await expect(page.locator("#rate_limit_per_minute-error")).to_have_text("Must be at least 1.")
        await expect(page.get_by_label("Button text")).to_have_value("Found a bug?")  # kept, not saved
        assert (await read(tenant, f"/api/v1/projects/{project['id']}"))["widgetConfig"]["buttonText"] is None

        await page.goto("/ui/members/")
        await expect(
            page.get_by_text("Guests, such as clients, see only the projects they are added to")
        ).to_be_visible()
        for _attempt in range(2):
            await page.get_by_label("E-mail address").fill("client@example.com")
            await page.get_by_role("button", name="Send invitation").click()
        await expect(page.locator("#email-error")).to_have_text(
            "This person is already invited and has not accepted yet."
        )
        await expect(page.get_by_label("E-mail address")).to_have_value("client@example.com")

        await page.goto("/ui/webhooks/")
        await page.get_by_label("URL").fill("https://hooks.example.com/lantern")
        for checkbox in await page.get_by_role("checkbox").all():
            await checkbox.uncheck()
        await page.get_by_role("button", name="Create webhook").click()
        await expect(page.locator("#events-error")).to_be_visible()
        await expect(page.get_by_label("URL")).to_have_value("https://hooks.example.com/lantern")

        await page.goto(f"/ui/board?project={project['id']}")
        await page.get_by_label("New column").fill("   ")
        await page.get_by_role("button", name="Add column").click()
        await expect(page.locator("#name-error")).to_have_text("Must be one line of text, not blank.")


async def test_people_are_invited_given_another_role_and_removed(tenants: TenantFactory, page: Page) -> None:
    async with tenants.create() as tenant:
        await log_in(page, tenant.email, path="/ui/members/")
        await page.get_by_label("E-mail address").fill("client@example.com")
        await page.get_by_label("Role", exact=True).select_option(label="Guest")
        async with page.expect_response(lambda answer: answer.request.method == "GET") as shown:
            await page.get_by_role("button", name="Send invitation").click()
        assert (await shown.value).headers["cache-control"] == "no-store"  # its link is not kept by the browser
        notice = page.get_by_role("status")
        await expect(notice).to_contain_text("client@example.com is invited")
        await expect(notice).to_contain_text("No mail server is configured")  # none in the tests
        # Apart from the table below it, as a notice is on every page (it sat on the table's top edge).
        below = (
            "(notice) => document.querySelector('table').getBoundingClientRect().top"
            " - notice.getBoundingClientRect().bottom"
        )
        assert await notice.evaluate(below) >= 16
        link = page.get_by_label("Invitation link (shown only now, valid for 7 days)")
        await expect(link).to_have_value(re.compile(r"/ui/invitations/accept\?token=lt_inv_"))
        shown = await link.bounding_box()
        assert shown is not None
        assert shown["width"] > 600  # the whole link readable, not its first 20 characters
        await link.focus()  # selected whole, ready to copy
        assert await link.evaluate("(field) => field.selectionEnd - field.selectionStart") == len(
            await link.input_value()
        )
        await page.reload()  # neither the link shown again nor the invitation sent again
        await expect(link).to_have_count(0)
        row = page.get_by_role("row", name=re.compile("client@example.com"))
        await expect(row).to_contain_text("invited")
        await row.get_by_label("Role of client@example.com").select_option(label="Member")
        await row.get_by_role("button", name="Change role").click()
        # Said, not only shown by the select as it was left: the page looked as before.
        await expect(page.get_by_role("status")).to_have_text("The role of client@example.com is now Member.")
        members = {member["email"]: member for member in await read(tenant, "/api/v1/organization/members")}
        assert members["client@example.com"]["role"] == "member"
        row = page.get_by_role("row", name=re.compile("client@example.com"))
        remove = row.get_by_text("Remove", exact=True)  # asked once more, saying what goes
        await expect(remove).to_have_attribute("aria-label", "Remove client@example.com")
        await remove.click()
        await expect(row).to_contain_text("Their invitation is withdrawn: its link stops working.")  # not accepted yet
        await row.get_by_role("button", name="Remove from the organization").click()
        await expect(page.get_by_role("status")).to_have_text(
            "The person is removed from the organization: they have no access to it any more."
        )
        await expect(page.get_by_role("row", name=re.compile("client@example.com"))).to_have_count(0)
        members = {member["email"] for member in await read(tenant, "/api/v1/organization/members")}
        assert members == {tenant.email}

        # The last owner cannot step down: said beside their role, on the members page, in their language.
        own = page.get_by_label(f"Role of {tenant.email}")
        await own.select_option(label="Member")
        await page.get_by_role("row", name=re.compile(tenant.email)).get_by_role("button", name="Change role").click()
        await expect(own).to_have_accessible_description("An organization must keep at least one owner.")
        await expect(page.get_by_role("heading", name="Members and guests")).to_be_visible()
        # At the page's address, not the post's: a reload shows the page again and posts nothing.
        await expect(page).to_have_url(re.compile(r"/ui/members/?$"))
        posted: list[str] = []
        page.on("request", lambda request: posted.append(request.url) if request.method == "POST" else None)
        await page.reload()
        await expect(own).not_to_have_accessible_description("An organization must keep at least one owner.")
        assert posted == []


async def test_a_webhook_is_changed_on_its_page(tenants: TenantFactory, page: Page) -> None:
    """Its target, events and project, as the API's PATCH changes them; a refused change comes back filled in."""
    async with tenants.create() as tenant:
        shop = await tenant.create_project("Shop")
        made = await tenant.client.post(
            "/api/v1/webhooks", json={"url": "https://old.example.com/hook", "events": ["report.created"]}
        )
        assert made.status_code == 201, made.text
        webhook_id = made.json()["data"]["id"]
        await log_in(page, tenant.email, path=f"/ui/webhooks/{webhook_id}")
        await expect(page.get_by_label("URL")).to_have_value("https://old.example.com/hook")
        await expect(page.get_by_role("checkbox", name="report.created")).to_be_checked()
        await page.get_by_label("URL").fill("not an address")
        await page.get_by_role("button", name="Save changes").click()
        await expect(page.get_by_role("alert")).to_be_visible()
        await expect(page.get_by_label("URL")).to_have_attribute("aria-invalid", "true")
        await expect(page.get_by_label("URL")).to_have_value("not an address")
        assert (await read(tenant, f"/api/v1/webhooks/{webhook_id}"))["url"] == "https://old.example.com/hook"

        await page.get_by_label("URL").fill("https://new.example.com/hook")
        await page.get_by_role("checkbox", name="comment.created").check()
        await page.get_by_label("Project").select_option(label="Shop")
        await page.get_by_role("button", name="Save changes").click()
        await expect(page.get_by_role("status")).to_have_text("The changes were saved.")
        changed = await read(tenant, f"/api/v1/webhooks/{webhook_id}")
        assert (changed["url"], changed["events"], changed["projectId"]) == (
            "https://new.example.com/hook",
            ["report.created", "comment.created"],
            shop["id"],
        )


async def test_a_webhook_shows_its_secret_once_and_logs_a_test_delivery(tenants: TenantFactory, page: Page) -> None:
    async with tenants.create() as tenant:
        await log_in(page, tenant.email, path="/ui/webhooks/")
        await page.get_by_label("URL").fill("https://hooks.example.com/lantern")
        await page.get_by_role("checkbox", name="report.deleted").uncheck()
        await page.get_by_role("button", name="Create webhook").click()
        await expect(page.locator("#webhook-secret")).to_have_value(re.compile(r"^whsec_"))
        await expect(page.get_by_role("status")).to_have_text(  # it named neither the webhook nor what was done
            "The webhook to https://hooks.example.com/lantern is saved: its deliveries start with the next event."
        )
        (webhook,) = await read(tenant, "/api/v1/webhooks")
        assert webhook["events"] == [
            "report.created",
            "report.updated",
            "comment.created",
            "report.screenshots_processed",
        ]

        await page.get_by_role("link", name="Delivery log").click()
        await page.get_by_role("button", name="Send a test delivery").click()
        await expect(page.get_by_role("status")).to_contain_text("Queued")  # it used to say nothing
        await expect(page.get_by_role("row", name=re.compile("ping"))).to_contain_text("Pending")
        (delivery,) = await read(tenant, f"/api/v1/webhooks/{webhook['id']}/deliveries")
        assert delivery["event"] == "ping"
        # Each delivery's button is named after it: a list of the page's buttons read "Send again" for each.
        await page.get_by_role("button", name=re.compile(r"^Send again: Test delivery of .+$")).click()
        await expect(page.get_by_role("row", name=re.compile("ping"))).to_have_count(2)
        deliveries = await read(tenant, f"/api/v1/webhooks/{webhook['id']}/deliveries")
        assert [delivery["event"] for delivery in deliveries] == ["ping", "ping"]

        turned_off = await tenant.client.patch(f"/api/v1/webhooks/{webhook['id']}", json={"active": False})
        assert turned_off.status_code == 200, turned_off.text
        await page.reload()
        # Turned off, it offers nothing to send (a refusal each); turning it on does.
        await expect(page.get_by_role("button", name="Send a test delivery")).to_have_count(0)
        await expect(page.get_by_role("button", name=re.compile("^Send again"))).to_have_count(0)
        await page.get_by_role("button", name="Turn it on again").click()
        await expect(page.get_by_role("button", name="Turn it on again")).to_have_count(0)
        await expect(page.get_by_role("status")).to_have_text(
            "The webhook is on again: the next events are sent to it."
        )
        assert (await read(tenant, f"/api/v1/webhooks/{webhook['id']}"))["active"] is True

        await expect(page.locator("#webhook-secret")).to_have_count(0)  # the log does not show the secret
        await page.get_by_role("button", name="Make a new signing secret").click()
        await expect(page.locator("#webhook-secret")).to_have_value(re.compile(r"^whsec_"))
        await expect(page.get_by_role("status")).to_contain_text("has a new signing secret")
        await page.get_by_role("link", name="Delivery log").click()
        await page.get_by_text("Delete this webhook").click()
        await page.get_by_role("button", name="Delete the webhook").click()
        await expect(page.get_by_role("status")).to_have_text("The webhook was deleted: nothing more is sent to it.")
        await expect(page.get_by_text("No webhook yet.")).to_be_visible()
        assert await read(tenant, "/api/v1/webhooks") == []


async def test_webhook_events_are_named_in_the_readers_words_beside_their_exact_names(
    tenants: TenantFactory, page: Page
) -> None:
    """The list, the event boxes and the delivery log showed `report.created`, `ping`…: an integrator's names, in
    no reader's language. Each is named in the reader's words now, its exact name beside it, which receivers
    match on."""
    async with tenants.create() as tenant:
        webhook_id = await pinged_webhook(tenant, "https://hooks.example.com/named-events")
        await log_in(page, tenant.email, path="/ui/webhooks/")

        await page.goto("/ui/webhooks/?lang=de")
        row = page.get_by_role("row", name=re.compile("named-events"))
        await expect(row.get_by_role("listitem")).to_have_text(
            ["Bericht erstellt report.created", "Kommentar hinzugefügt comment.created"]
        )
        await expect(row.locator("code")).to_have_text(["report.created", "comment.created"])
        new_webhook = page.get_by_role("group", name="Ereignisse")
        await expect(new_webhook.get_by_role("checkbox")).to_have_count(5)
        await expect(new_webhook.get_by_role("checkbox", name="Bericht gelöscht report.deleted")).to_be_checked()
        processed = new_webhook.get_by_role("checkbox", name="Screenshots verarbeitet report.screenshots_processed")
        await expect(processed).to_be_checked()

        await page.goto(f"/ui/webhooks/{webhook_id}?lang=de")
        events = page.get_by_role("group", name="Ereignisse")
        await expect(events.get_by_role("checkbox", name="Kommentar hinzugefügt comment.created")).to_be_checked()
        await expect(events.get_by_role("checkbox", name="Bericht geändert report.updated")).not_to_be_checked()
        delivery = page.get_by_role("row", name=re.compile("Testzustellung"))
        await expect(delivery.get_by_role("cell").first).to_have_text("Testzustellung ping")
        await expect(delivery.locator("code")).to_have_text("ping")
        await expect(delivery.get_by_role("button")).to_have_accessible_name(
            re.compile(r"^Erneut senden: Testzustellung vom .+$")
        )


async def test_an_old_widget_key_is_revoked_and_a_project_deleted_with_its_reports(
    tenants: TenantFactory, page: Page
) -> None:
    async with tenants.create() as tenant:
        doomed = await tenant.create_project("Old shop")
        kept = await tenant.create_project("New shop")
        sent = await report(tenant.client, doomed["apiKey"], "Sent from the old shop")
        await log_in(page, tenant.email, path=f"/ui/projects/{doomed['id']}")
        await page.get_by_role("button", name="New widget key").click()
        new_key = await page.locator("#widget-key").input_value()
        await page.reload()  # shows the same key again, and makes no other
        await expect(page.locator("#widget-key")).to_have_value(new_key)
        assert len(await read(tenant, f"/api/v1/projects/{doomed['id']}/keys")) == 2
        await page.goto(f"/ui/projects/{doomed['id']}")
        old_key = doomed["apiKey"]
        old = page.locator("ul.keys li", has_text=old_key[-4:])
        await expect(old).to_contain_text(re.compile(r"made \d+ seconds? ago"))
        revoke = old.get_by_text("Revoke", exact=True)  # asked once more: the widget stops on its pages
        await expect(revoke).to_have_attribute("aria-label", f"Revoke the key {old_key[:11]}…{old_key[-4:]}")
        await revoke.click()
        await old.get_by_role("button", name="Revoke the key", exact=True).click()
        keys = {key["key"]: key for key in await read(tenant, f"/api/v1/projects/{doomed['id']}/keys")}
        assert keys[old_key]["revokedAt"] is not None
        assert keys[new_key]["revokedAt"] is None
        await expect(page.get_by_label("The line to add")).to_contain_text(new_key)

        await page.get_by_text("Delete this project").click()
        await page.get_by_role("button", name="Delete the project").click()
        await expect(page.get_by_role("status")).to_have_text("The project was deleted, with its reports and files.")
        await expect(page.get_by_role("link", name="Old shop")).to_have_count(0)
        await expect(page.get_by_role("link", name="New shop")).to_be_visible()
        assert (await tenant.client.get(f"/api/v1/projects/{doomed['id']}")).status_code == 404
        assert (await tenant.client.get(f"/api/v1/reports/{sent['id']}")).status_code == 404
        assert (await tenant.client.get(f"/api/v1/projects/{kept['id']}")).status_code == 200


async def test_an_api_token_is_shown_once_works_until_it_is_revoked(
    tenants: TenantFactory, page: Page, live_server: str
) -> None:
    async with tenants.create() as tenant, httpx.AsyncClient(base_url=live_server) as program:
        await log_in(page, tenant.email)
        await page.get_by_role("link", name="API tokens").click()
        await expect(page.get_by_text("No API token yet.")).to_be_visible()
        name_field = page.get_by_label("Name")
        await name_field.fill("x" * 201)
        await page.get_by_role("button", name="Create token").click()
        await expect(name_field).to_have_attribute("aria-invalid", "true")  # refused, kept as typed
        await expect(name_field).to_have_value("x" * 201)
        assert await read(tenant, "/api/v1/tokens") == []

        await name_field.fill("CI pipeline")
        await page.get_by_role("button", name="Create token").click()
        token = await page.locator("#api-token").input_value()
        assert token.startswith("lt_org_")
        await expect(page.locator("pre")).to_contain_text(f'-H "Authorization: Bearer {token}" http')
        bearer = {"Authorization": f"Bearer {token}"}
        assert (await program.get("/api/v1/reports", headers=bearer)).status_code == 200
        await page.get_by_role("link", name="All API tokens").click()
        await page.go_back()  # neither shown again nor made again
        await expect(page).to_have_url(re.compile("/ui/tokens$"))
        await expect(page.locator("#api-token")).to_have_count(0)
        assert [listed["name"] for listed in await read(tenant, "/api/v1/tokens")] == ["CI pipeline"]

        row = page.get_by_role("row", name=re.compile("CI pipeline"))
        await expect(row).to_contain_text(f"{token[:11]}…")
        await expect(row).not_to_contain_text(token)  # the list shows its first characters only
        await expect(row).not_to_contain_text("Never")  # used just now
        revoke = row.get_by_text("Revoke", exact=True)  # asked once more: its programs stop
        await expect(revoke).to_have_attribute("aria-label", "Revoke CI pipeline")
        await revoke.click()
        await expect(row).to_contain_text("Programs that use this token are refused from now on.")
        await row.get_by_role("button", name="Revoke the token").click()
        await expect(page.get_by_role("status")).to_contain_text("The token is revoked")
        await expect(row).to_contain_text("Revoked")
        assert (await program.get("/api/v1/reports", headers=bearer)).status_code == 401
        (listed,) = await read(tenant, "/api/v1/tokens")
        assert listed["revokedAt"] is not None


async def test_a_project_gets_its_people_and_a_github_repository_and_a_report_asks_for_an_issue(
    tenants: TenantFactory, page: Page
) -> None:
    """No worker runs here: the issue stays pending, and nothing is sent to GitHub."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop", trackingPrefix="SHP")
        created = await report(tenant.client, project["apiKey"], "Checkout fails")
        await log_in(page, tenant.email, path=f"/ui/projects/{project['id']}")
        address = page.get_by_label("Add someone by e-mail address")
        await address.fill("client@")
        await page.get_by_role("button", name="Add to the project").click()
        await expect(address).to_have_attribute("aria-invalid", "true")
        await expect(address).to_be_focused()  # far down the page: in view, not the page's top
        await expect(address).to_be_in_viewport()
        await address.fill("client@example.com")
        await page.get_by_role("button", name="Add to the project").click()
        # Said invited, by their address alone (it was said twice, as their name too, and not as invited).
        await expect(page.locator("#people li form > span")).to_have_text(["client@example.com · Guest (invited)"])
        await expect(page.get_by_role("status")).to_contain_text("client@example.com is invited")
        # The link shown only now is where the page comes back to, by the people (it was at the top, out of view).
        await expect(page.get_by_label("Invitation link (shown only now, valid for 7 days)")).to_be_in_viewport()
        people = await read(tenant, f"/api/v1/projects/{project['id']}/members")
        assert [(person["email"], person["role"]) for person in people] == [("client@example.com", "guest")]

        await page.get_by_role("link", name="Connect to GitHub").click()
        await page.get_by_label("Repository").fill("acme/shop")
        await page.get_by_label("Token", exact=True).fill("github_pat_example1234")
        await page.get_by_label("Labels").fill("bug, from-lantern")
        await page.get_by_role("button", name="Save").click()
        await expect(page.get_by_role("status")).to_have_text("The GitHub connection is saved.")
        await page.goto(f"/ui/projects/{project['id']}")
        await expect(page.get_by_text("Issues go to acme/shop (token …1234).")).to_be_visible()
        connection = await read(tenant, f"/api/v1/projects/{project['id']}/integrations/github")
        assert (connection["repository"], connection["labels"]) == ("acme/shop", ["bug", "from-lantern"])

        await page.goto(f"/ui/reports/{created['id']}")
        await page.get_by_role("button", name="Create a GitHub issue").click()
        await expect(page.locator("#github")).to_contain_text("The issue is being created…")
        issue = await read(tenant, f"/api/v1/reports/{created['id']}/github-issue")
        assert (issue["repository"], issue["status"]) == ("acme/shop", "pending")


async def test_the_widget_is_tried_on_a_sample_page_and_its_report_arrives(
    tenants: TenantFactory, page: Page, worker: Any
) -> None:
    async with tenants.create() as tenant:
        await tenant.create_project("Web Shop")
        await log_in(page, tenant.email)  # a new organization's list says where reports come from
        await expect(page.get_by_text("No reports yet.")).to_be_visible()
        await page.get_by_role("link", name="Add the widget to your site, or try it on a sample page").click()
        await page.get_by_role("link", name="Web Shop").click()
        refused: list[str] = []  # what the page's Content-Security-Policy refused, as the console says it
        page.on("console", lambda message: refused.append(message.text) if "Content Security" in message.text else None)
        await page.get_by_role("link", name="Try the widget on a sample page").click()
        # The widget speaks the language the person reads Lantern in, not the browser's.
        await expect(page.locator("script[data-api-key]")).to_have_attribute("data-lang", "en")
        await page.get_by_role("button", name="Report a bug").click()
        dialog = page.get_by_role("dialog", name="Report a bug")
        await dialog.get_by_label("Title").fill("Tried from the sample page")
        await dialog.get_by_role("button", name="Send report").click()
        await expect(dialog.get_by_role("status")).to_contain_text("Thank you! Your report was sent")
        await dialog.get_by_role("button", name="Close").first.click()
        await page.get_by_role("link", name="Reports").click()
        await expect(page.get_by_role("link", name="Tried from the sample page")).to_be_visible()
        [sent] = (await tenant.client.get("/api/v1/reports")).json()["data"]["items"]
    assert refused == []
    assert len(sent["screenshots"]) == 1  # the widget took its screenshot under the page's policy
