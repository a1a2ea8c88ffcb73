"""An automated accessibility audit (axe-core, WCAG 2.1 A and AA) of every main page of the admin UI as an owner
sees it (and the Projects pages as a member does), and of the widget's dialog on a customer's page: each in English
and Japanese, on a desktop's width and a phone's. One test per group of pages, which lists every violation it
found."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from tests.support.accessibility import Violation, audit, described
from tests.support.admin_ui import invite, log_in, report, report_with_context
from tests.support.clients import Tenant, TenantFactory
from tests.support.screenshots import processed
from tests.support.site import Site

from .test_widget import checkout_page, drag_across

LANGUAGES = ("en", "ja")
WIDTHS = {1280: 800, 390: 844}  # a desktop's window, and a phone's


@pytest.fixture
async def page(browser: Browser, live_server: str) -> AsyncIterator[Page]:
    """A fresh profile that lets the audit's script into pages whose Content-Security-Policy allows only the
    app's own scripts (axe-core is added inline)."""
    context = await browser.new_context(base_url=live_server, locale="en-US", bypass_csp=True)
    context.set_default_timeout(10_000)
    yield await context.new_page()
    await context.close()


async def audited_pages(page: Page, paths: list[str]) -> list[Violation]:
    """Each page at `paths` opened in each language at each width, and what the audit found on it."""
    found: list[Violation] = []
    for width, height in WIDTHS.items():
        await page.set_viewport_size({"width": width, "height": height})
        for language in LANGUAGES:
            for path in paths:
                await page.goto(f"{path}{'&' if '?' in path else '?'}lang={language}")
                found += await audit(page, f"{path} ({language}, {width}px)")
    return found


async def test_the_pages_before_logging_in_pass_the_audit(page: Page) -> None:
    pages = ["/ui/login", "/ui/signup", "/ui/password-reset/", "/ui/password-reset/confirm?token=expired"]
    violations = await audited_pages(page, pages)
    assert not violations, described(violations)


async def report_with_everything(tenant: Tenant, project: dict[str, Any]) -> str:
    """A processed report with a screenshot, what the page logged and a comment; its page's address."""
    created = await report_with_context(
        tenant, project, description="The total stays at zero after adding a second item."
    )
    comment = await tenant.client.post(
        f"/api/v1/reports/{created['id']}/comments", json={"text": "Reproduced on staging."}
    )
    assert comment.status_code == 201, comment.text
    await processed(tenant, created["id"])
    return f"/ui/reports/{created['id']}"


async def test_the_report_pages_pass_the_audit(tenants: TenantFactory, page: Page, worker: Any) -> None:
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop")
        detail = await report_with_everything(tenant, project)
        await log_in(page, tenant.email)
        violations = await audited_pages(page, ["/ui/reports", "/ui/board", detail, "/ui/reports/new"])
    assert not violations, described(violations)


async def test_the_boards_column_counts_pass_the_audit(tenants: TenantFactory, page: Page) -> None:
    """Each column's count, and the link of a column with more reports than it shows, on the column's own grey
    (4.47:1 and 4.25:1 before)."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop", rateLimitPerMinute=100)
        for number in range(51):
            await report(tenant.client, project["apiKey"], f"The cart total is wrong ({number})")
        await log_in(page, tenant.email, path="/ui/board")
        await expect(page.locator(".column h2 .count").first).to_have_text("50+")
        await expect(page.get_by_role("link", name="See them all in the list")).to_be_visible()
        violations = await audited_pages(page, ["/ui/board"])
    assert not violations, described(violations)


async def test_the_project_pages_pass_the_audit(tenants: TenantFactory, page: Page) -> None:
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop", allowedOrigins=["https://shop.example"])
        await log_in(page, tenant.email)
        paths = ["/ui/projects/", f"/ui/projects/{project['id']}", f"/ui/projects/{project['id']}/github"]
        violations = await audited_pages(page, paths)
    assert not violations, described(violations)


async def test_the_project_pages_pass_the_audit_as_a_member_reads_them(
    tenants: TenantFactory, page: Page, app: Any
) -> None:
    """A member's Projects page and a project's page, read-only (no settings, the line that embeds the widget)."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop", siteUrl="https://shop.example")
        await report(tenant.client, project["apiKey"], "The cart total is wrong")
        member, _member_id = await invite(tenant, app, "member")
        await log_in(page, member, path="/ui/projects/")
        await expect(page.get_by_role("rowheader")).to_have_text(["Shop"])  # the page itself, not a refusal's
        violations = await audited_pages(page, ["/ui/projects/", f"/ui/projects/{project['id']}"])
    assert not violations, described(violations)


async def test_the_organizations_pages_pass_the_audit(tenants: TenantFactory, page: Page) -> None:
    async with tenants.create() as tenant:
        await tenant.create_project("Shop")
        made = await tenant.client.post(
            "/api/v1/webhooks", json={"url": "https://hooks.example.com/lantern", "events": ["report.created"]}
        )
        assert made.status_code == 201, made.text
        await tenant.create_token("CI bot")
        await log_in(page, tenant.email)
        webhook = f"/ui/webhooks/{made.json()['data']['id']}"
        paths = ["/ui/members/", "/ui/tokens/", "/ui/webhooks/", webhook, "/ui/settings", "/ui/profile/", "/ui/jobs"]
        violations = await audited_pages(page, paths)
    assert not violations, described(violations)


async def test_the_widgets_dialog_and_its_annotation_pass_the_audit(
    tenants: TenantFactory, page: Page, live_server: str
) -> None:
    """The dialog opened on a customer's page, then a mark drawn on its screenshot; only the widget's own
    elements are audited (the page around it is the customer's)."""
    found: list[Violation] = []
    async with tenants.create() as tenant:
        with Site({}) as site:
            project = await tenant.create_project("Example Store", allowedOrigins=[site.origin])
            for language in LANGUAGES:
                site.pages[f"/{language}"] = checkout_page(live_server, project["apiKey"], lang=language)
            for width, height in WIDTHS.items():
                await page.set_viewport_size({"width": width, "height": height})
                for language in LANGUAGES:
                    await page.goto(site.url(f"/{language}"))
                    await page.locator("lantern-widget button").first.wait_for()
                    where = f"widget ({language}, {width}px)"
                    found += await audit(page, f"{where}, its button", within="lantern-widget")
                    await page.locator("lantern-widget button").first.click()
                    await expect(page.get_by_role("dialog")).to_be_visible()
                    await expect(page.locator("lantern-widget canvas")).to_be_visible()
                    found += await audit(page, f"{where}, its dialog", within="lantern-widget")
                    await drag_across(page)
                    found += await audit(page, f"{where}, a mark drawn", within="lantern-widget")
    assert not found, described(found)
