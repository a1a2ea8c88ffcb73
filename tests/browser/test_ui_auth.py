"""The admin UI's door: login and logout, the language switcher, the organization switcher."""

from __future__ import annotations

import io
import re
import secrets
from typing import Any

from PIL import Image
from playwright.async_api import Browser, Page, expect

from tests.support.admin_ui import invite, log_in, read, report
from tests.support.clients import PASSWORD, TenantFactory
from tests.support.mailbox import link_in, receiving_mail
from tests.support.server import granian_server


async def test_a_browser_is_sent_to_log_in_and_a_wrong_password_is_told_in_german(
    tenants: TenantFactory, page: Page
) -> None:
    async with tenants.create() as tenant:
        await page.goto("/")  # a browser at the front door goes to the UI, which asks it to log in
        await expect(page).to_have_url(re.compile("/ui/login\\?next="))
        await page.get_by_label("Language").select_option("de")  # submitted by ui.js
        await expect(page.get_by_role("heading", name="Bei Lantern anmelden")).to_be_visible()
        # The choice holds on the pages its links lead to, where `?lang=` was on the one page alone.
        await page.get_by_role("link", name="Passwort vergessen?").click()
        await expect(page.locator("html")).to_have_attribute("lang", "de")
        await page.go_back()
        await page.get_by_label("E-Mail-Adresse").fill(tenant.email)
        await page.get_by_label("Passwort").fill("not the password")
        await page.get_by_role("button", name="Anmelden").click()
        await expect(page.get_by_role("alert")).to_have_text("E-Mail-Adresse oder Passwort ist falsch.")
        await expect(page.get_by_label("Passwort")).to_be_focused()  # to type again, the reason read out with it
        await expect(page.get_by_label("Passwort")).to_have_accessible_description(
            "E-Mail-Adresse oder Passwort ist falsch."
        )
        await page.get_by_label("Passwort").fill(PASSWORD)
        await page.get_by_role("button", name="Anmelden").click()
        await expect(page).to_have_url(re.compile(r"/ui/reports$"))
        await expect(page.get_by_role("heading", name="Berichte")).to_be_visible()
        await page.get_by_role("button", name="Abmelden").click()
        await expect(page).to_have_url(re.compile("/ui/login"))
        await page.goto("/ui/board")
        await expect(page).to_have_url(re.compile("/ui/login\\?next=%2Fui%2Fboard"))


async def test_the_language_chosen_is_saved_as_the_users_preference(
    tenants: TenantFactory, page: Page, worker: Any
) -> None:
    async with tenants.create() as tenant:
        project = await tenant.create_project()
        await report(tenant.client, project["apiKey"], "ボタンが反応しない")
        await log_in(page, tenant.email)
        await page.get_by_label("Language").select_option("ja")
        await expect(page.get_by_role("heading", name="レポート")).to_be_visible()
        row = page.locator("table.reports tbody tr")
        await expect(row).to_contain_text("新規")  # the status, in Japanese
        await expect(row).to_contain_text(re.compile(r"\d+ (秒|分)前"))  # Babel's relative time in Japanese
        await expect(page.get_by_text("1 件のレポート")).to_be_visible()
        assert (await read(tenant, "/api/v1/auth/me"))["user"]["locale"] == "ja"
        await page.goto("/ui/board?lang=es")  # an explicit language wins for its page
        await expect(page.get_by_role("heading", name="Tablero")).to_be_visible()
        await page.goto("/ui/board")
        await expect(page.get_by_role("heading", name="ボード")).to_be_visible()


async def test_arrow_keys_in_a_switcher_step_through_choices_and_enter_applies_one(
    tenants: TenantFactory, page: Page
) -> None:
    """Each arrow press used to apply (and save) the language it passed, so no keyboard user could get past
    the first one (WCAG 3.2.2)."""
    async with tenants.create() as tenant:
        await log_in(page, tenant.email)
        switcher = page.get_by_label("Language")
        await switcher.focus()
        await page.keyboard.press("ArrowDown")
        await page.keyboard.press("ArrowDown")
        await expect(switcher).to_be_focused()  # still here: nothing submitted
        chosen = await switcher.input_value()
        assert chosen != "en"
        await expect(page.locator("html")).to_have_attribute("lang", "en")
        assert (await read(tenant, "/api/v1/auth/me"))["user"]["locale"] is None
        await page.keyboard.press("Enter")
        await expect(page.locator("html")).not_to_have_attribute("lang", "en")
        assert (await read(tenant, "/api/v1/auth/me"))["user"]["locale"] == chosen


async def test_the_organization_switcher_shows_the_other_organizations_reports(
    tenants: TenantFactory, page: Page, app: Any, worker: Any
) -> None:
    async with tenants.create("Acme") as acme, tenants.create("Globex") as globex:
        await invite(globex, app, "member", email=acme.email)
        for tenant, title in ((acme, "Acme's own report"), (globex, "Globex's report")):
            project = await tenant.create_project()
            await report(tenant.client, project["apiKey"], title)
        await log_in(page, acme.email)
        await expect(page.get_by_role("link", name="Acme's own report")).to_be_visible()
        await page.get_by_label("Organization").select_option(label="Globex")
        await expect(page.get_by_role("link", name="Globex's report")).to_be_visible()
        await expect(page.get_by_role("link", name="Acme's own report")).to_have_count(0)
        await expect(page.get_by_label("Organization")).to_have_value(globex.organization_id)
        # The session cookie alone does not make a form count: without the page's CSRF token it is refused.
        forged = await page.request.post("/ui/organization", form={"organization_id": acme.organization_id})
        assert forged.status == 403
        assert forged.headers["content-type"].startswith("text/html")  # a page, as the form's route answers
        assert (await read_as(page, "/api/v1/auth/me"))["organization"]["id"] == globex.organization_id


async def read_as(page: Page, path: str) -> Any:
    """`path` of the API with the browser's own session."""
    response = await page.request.get(path)
    assert response.ok, await response.text()
    return (await response.json())["data"]


async def test_repeated_wrong_passwords_are_throttled_as_the_api_throttles_them(
    tenants: TenantFactory, page: Page
) -> None:
    async with tenants.create() as tenant:
        await page.goto("/ui/login")
        for _attempt in range(5):  # LANTERN_LOGIN_ATTEMPTS_PER_MINUTE
            await page.get_by_label("E-mail address").fill(tenant.email)
            await page.get_by_label("Password").fill("not the password")
            async with page.expect_response(re.compile("/ui/login")) as answer:
                await page.get_by_role("button", name="Log in").click()
            assert (await answer.value).status == 401
        await page.get_by_label("Password").fill(PASSWORD)  # even the right one must wait now
        async with page.expect_response(re.compile("/ui/login")) as answer:
            await page.get_by_role("button", name="Log in").click()
        refused = await answer.value
        assert refused.status == 429
        wait = int(refused.headers["retry-after"])
        assert wait > 0
        # How long, said to the person too: "Please wait" said it only to a client that read the headers.
        await expect(page.get_by_role("alert")).to_have_text(f"Too many requests. Please try again in {wait} seconds.")


async def test_a_forgotten_password_is_chosen_anew_from_the_mailed_link(
    tenants: TenantFactory, browser: Browser, embedded_services: dict[str, str], worker: Any
) -> None:
    """On a server that sends e-mail (the session's has no SMTP_HOST, and its page says it sends none)."""
    # The mailbox listens before the server starts, which takes its settings: a port merely chosen first was
    # taken meanwhile by the suite running beside this one.
    with receiving_mail() as mailbox:
        async with (
            tenants.create() as tenant,
            granian_server(workers=1, **embedded_services) as mailing_server,
            await browser.new_context(base_url=mailing_server, locale="en-US") as context,
        ):
            context.set_default_timeout(10_000)
            page = await context.new_page()
            warned: list[str] = []  # of a password form that names no account (see the test below)
            page.on("console", lambda message: warned.append(message.text) if "username" in message.text else None)
            await page.goto("/ui/login")
            await page.get_by_role("link", name="Forgot your password?").click()
            await page.get_by_label("E-mail address").fill(tenant.email)
            await page.get_by_role("button", name="Send the link").click()
            await expect(page.get_by_role("status")).to_contain_text(f"If an account has the address {tenant.email}")
            link = link_in(await mailbox.wait_for(tenant.email))

            await page.goto(link)
            new_password = page.get_by_label("New password")
            await new_password.fill("short")
            await page.get_by_role("button", name="Save the new password").click()
            await expect(new_password).to_have_attribute("aria-invalid", "true")
            assert warned == []
            await new_password.fill("a freshly chosen password")
            await page.get_by_role("button", name="Save the new password").click()
            await expect(page.get_by_role("status")).to_have_text("Your password is changed: log in with it.")
            await page.get_by_label("E-mail address").fill(tenant.email)
            await page.get_by_label("Password").fill("a freshly chosen password")
            await page.get_by_role("button", name="Log in").click()
            await expect(page.get_by_role("button", name="Log out")).to_be_visible()

            used = await page.goto(link)
            assert used is not None
            assert used.status == 404
            expired = page.get_by_text("This link to choose a new password is not valid or has expired.")
            await expect(expired).to_be_visible()


async def test_someone_new_signs_up_from_the_login_page_and_starts_with_a_project(page: Page) -> None:
    email = f"grace-{secrets.token_hex(4)}@example.com"
    await page.goto("/ui/login")
    await page.get_by_role("link", name="Create an account").click()
    await page.get_by_label("Your name").fill("Grace")
    await page.get_by_label("E-mail address").fill(email)
    await page.get_by_label("Choose a password").fill("short")
    await page.get_by_label("Organization").fill("Grace's Shop")
    await page.get_by_role("button", name="Create the account").click()
    await expect(page.locator("#password-error")).to_contain_text("10")  # the reason, beside the field
    await expect(page.get_by_label("Your name")).to_have_value("Grace")  # the rest is kept
    await page.get_by_label("Choose a password").fill(PASSWORD)
    await page.get_by_role("button", name="Create the account").click()
    await expect(page).to_have_url(re.compile(r"/ui/projects$"))  # where the first project is made
    # Their one organization is named, with nothing to switch to.
    await expect(page.locator(".organization")).to_have_text("Organization Grace's Shop")
    await expect(page.get_by_label("Organization")).to_have_count(0)
    await page.get_by_role("button", name="Log out").click()

    await page.goto("/ui/signup")
    await page.get_by_label("Your name").fill("Someone else")
    await page.get_by_label("E-mail address").fill(email.upper())
    await page.get_by_label("Choose a password").fill(PASSWORD)
    await page.get_by_label("Organization").fill("Another shop")
    await page.get_by_role("button", name="Create the account").click()
    await expect(page.get_by_role("alert")).to_have_text("An account with this e-mail address already exists.")
    await expect(page.get_by_role("alert")).to_be_focused()  # no field to blame: the page opens on the reason


async def test_a_new_organization_starts_in_the_browsers_time_zone(browser: Browser, live_server: str) -> None:
    """Every organization began in UTC: an owner in Tokyo saw each report's time 9 hours off until they found
    the setting."""
    async with await browser.new_context(base_url=live_server, locale="ja-JP", timezone_id="Asia/Tokyo") as context:
        page = await context.new_page()
        await page.goto("/ui/signup")
        await page.locator("#name").fill("Mei")
        await page.locator("#email").fill(f"mei-{secrets.token_hex(4)}@example.com")
        await page.locator("#password").fill(PASSWORD)
        await page.locator("#organization").fill("夜市")
        await page.locator("form.settings button[type=submit]").click()
        await expect(page).to_have_url(re.compile(r"/ui/projects$"))
        organization = await page.request.get("/api/v1/organization")
        assert organization.ok, await organization.text()
        assert (await organization.json())["data"]["timezone"] == "Asia/Tokyo"


async def test_the_refused_field_the_page_opens_on_keeps_its_red_border_inside_its_focus_ring(page: Page) -> None:
    """The browser's focus ring was drawn over the border: the one field focused to be corrected lost its thicker
    red border (the refused-field cue beside the sign), and looked like any focused field."""
    await page.goto("/ui/signup")
    await page.get_by_label("Your name").fill("Grace")
    await page.get_by_label("E-mail address").fill("grace@example")  # let through by the browser, not the server
    await page.get_by_label("Choose a password").fill(PASSWORD)
    await page.get_by_label("Organization").fill("Grace's Shop")
    await page.get_by_role("button", name="Create the account").click()
    email = page.get_by_label("E-mail address")
    await expect(email).to_have_attribute("aria-invalid", "true")
    await expect(email).to_be_focused()
    style = "(field, names) => names.map((name) => getComputedStyle(field)[name])"
    names = ["borderTopColor", "borderTopWidth", "outlineStyle"]
    border_colour, border_width, outline = await email.evaluate(style, names)
    assert (border_colour, border_width) == ("rgb(180, 35, 24)", "2px")
    assert outline != "none"
    # As painted, across the middle of its left edge: the ring outside the box, the red border inside it.
    box = await email.bounding_box()
    assert box is not None
    edge = round(box["x"])
    row = {"x": edge - 4, "y": round(box["y"] + box["height"] / 2), "width": 8, "height": 1}
    pixels = Image.open(io.BytesIO(await page.screenshot(clip=row))).convert("RGB")
    across = [pixels.getpixel((x, 0)) for x in range(8)]  # 4 outside the field, then 4 inside
    assert across[4:6] == [(180, 35, 24)] * 2, f"its border painted over: {across}"
    assert any(pixel != across[0] for pixel in across[1:4]), f"no focus ring around the border: {across}"


async def test_the_first_tab_offers_to_skip_to_the_content_and_pages_carry_their_icon(
    tenants: TenantFactory, page: Page
) -> None:
    async with tenants.create() as tenant:
        await log_in(page, tenant.email)
        await page.keyboard.press("Tab")
        skip = page.get_by_role("link", name="Skip to content")
        await expect(skip).to_be_focused()
        await expect(skip).to_be_in_viewport()
        await page.keyboard.press("Enter")
        await expect(page.locator("main")).to_be_focused()
        await expect(skip).not_to_be_in_viewport()
        icon = await page.locator("link[rel=icon]").get_attribute("href")
        assert icon is not None
        answer = await page.request.get(icon)
        assert (answer.status, answer.headers["content-type"]) == (200, "image/svg+xml")


async def test_an_address_that_is_no_page_answers_the_uis_404_page_in_the_persons_language(
    tenants: TenantFactory, page: Page
) -> None:
    """It answered the API's JSON, in the browser's language rather than the person's."""
    async with tenants.create() as tenant:
        await log_in(page, tenant.email)
        await page.get_by_label("Language").select_option("ja")
        await expect(page.locator("html")).to_have_attribute("lang", "ja")
        answer = await page.goto("/ui/reprots/typo")
        assert answer is not None
        assert answer.status == 404
        assert answer.headers["content-type"].startswith("text/html")
        await expect(page.get_by_text("指定されたリソースが見つかりません。")).to_be_visible()
        await expect(page.locator(".who")).to_be_visible()  # the layout, with the way back
        # A page's address with a malformed id is refused by the router, before any page's route: a page too.
        answer = await page.goto("/ui/projects/not-an-id/try")
        assert answer is not None
        assert answer.status == 404
        assert answer.headers["content-type"].startswith("text/html")
        await expect(page.get_by_text("指定されたリソースが見つかりません。")).to_be_visible()
        await expect(page.get_by_role("link", name=re.compile("レポート"))).to_be_visible()
        # Its language form sends the visitor's CSRF token (it sent none, and the check refused it).
        await page.get_by_label("言語").select_option("de")
        await expect(page.locator("html")).to_have_attribute("lang", "de")
        await expect(page.get_by_role("link", name="Zurück zu den Berichten")).to_be_visible()
        # The API's unknown addresses stay the API's JSON.
        api = await page.request.get("/api/v1/no-such-thing")
        assert (api.status, api.headers["content-type"]) == (404, "application/json")


async def test_after_logging_out_back_does_not_show_the_last_page(tenants: TenantFactory, page: Page) -> None:
    """The browser kept signed-in pages: on a shared computer, Back after the log-out showed the report whole,
    internal notes too."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop")
        sent = await report(tenant.client, project["apiKey"], "The cart total is wrong")
        await log_in(page, tenant.email, path=f"/ui/reports/{sent['id']}")
        await expect(page.get_by_role("heading", name="The cart total is wrong")).to_be_visible()
        await page.get_by_role("button", name="Log out").click()
        await expect(page).to_have_url(re.compile("/ui/login"))
        await page.go_back()
        await expect(page).to_have_url(re.compile("/ui/login"))
        await expect(page.get_by_text("The cart total is wrong")).to_have_count(0)


async def test_every_password_form_names_its_account_for_the_password_manager(
    tenants: TenantFactory, page: Page
) -> None:
    """Chromium warned on the profile's password forms (and a reset link's, above) that they name no account
    ("Password forms should have (optionally hidden) username fields"): a password manager saved a changed
    password under no address, or did not offer to fill it."""
    warned: list[str] = []
    page.on("console", lambda message: warned.append(message.text) if "username" in message.text else None)
    async with tenants.create() as tenant:
        # An address of its own: an invitation makes its account, and the suite's other tests sign up theirs.
        address = f"invitee-{secrets.token_hex(4)}@example.com"
        invited = await tenant.client.post("/api/v1/organization/members", json={"email": address})
        assert invited.status_code == 201, invited.text
        await page.goto(f"/ui/invitations/accept?token={invited.json()['data']['invitationToken']}")
        await expect(page.get_by_label("Choose a password")).to_be_visible()
        await page.goto("/ui/signup")
        await expect(page.get_by_label("Choose a password")).to_be_visible()
        await log_in(page, tenant.email, path="/ui/profile")
        await expect(page.get_by_label("New password")).to_be_visible()
    assert warned == []


async def test_a_server_without_mail_says_so_as_a_warning_on_the_forgotten_password_page(page: Page) -> None:
    """`make run`'s server sends no e-mail: its "Forgot your password?" page said it cannot send the link in the
    green of a success."""
    await page.goto("/ui/login")
    await page.get_by_role("link", name="Forgot your password?").click()
    notice = page.get_by_role("status")
    await expect(notice).to_have_text(
        "This server sends no e-mail, so it cannot send you a link to choose a new password."
    )
    await expect(notice).to_have_class(re.compile(r"\bwarning\b"))
