"""The admin UI in a browser test: logging in through the real login page, and reports made through the API."""

from __future__ import annotations

import io
import re
import secrets
from typing import Any

from PIL import Image
from playwright.async_api import Page, expect

from tests.support.clients import PASSWORD, ApiClient, Tenant


async def log_in(page: Page, email: str, password: str = PASSWORD, path: str = "/ui/reports") -> None:
    """Open `path`, be sent to the login page, log in, and land back on `path`."""
    await page.goto(path)
    await expect(page).to_have_url(re.compile("/ui/login\\?next="))
    await page.get_by_label("E-mail address").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("button", name="Log out")).to_be_visible()


async def report(client: ApiClient, api_key: str, title: str, **fields: Any) -> dict[str, Any]:
    """A report sent as BugSpark sends one (severity, category, logs), with the project's widget key."""
    response = await client.post("/api/v1/reports", json={"title": title, **fields}, headers={"X-API-Key": api_key})
    assert response.status_code == 201, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


async def pinged_webhook(tenant: Tenant, url: str) -> str:
    """The id of a webhook to `url` for new reports and comments, with a ping queued (no worker: it stays
    pending)."""
    body = {"url": url, "events": ["report.created", "comment.created"]}
    made = await tenant.client.post("/api/v1/webhooks", json=body)
    assert made.status_code == 201, made.text
    webhook_id: str = made.json()["data"]["id"]
    ping = await tenant.client.post(f"/api/v1/webhooks/{webhook_id}/ping")
    assert ping.status_code == 201, ping.text
    return webhook_id


async def report_with_context(tenant: Tenant, project: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """ "The cart total is wrong" with a screenshot (not yet processed) and what the page logged, as the widget
    sends one."""
    headers = {"X-API-Key": project["apiKey"]}
    files = {"file": ("shot.png", png(320, 200), "image/png")}
    upload = await tenant.client.post("/api/v1/upload/screenshot", files=files, headers=headers)
    assert upload.status_code == 201, upload.text
    return await report(
        tenant.client,
        project["apiKey"],
        "The cart total is wrong",
        screenshot_url=upload.json()["key"],
        console_logs=[{"level": "error", "message": "TypeError: total is undefined"}],
        network_logs=[{"method": "POST", "url": "https://shop.example/api/cart", "status": 500}],
        user_actions=[{"type": "click", "target": "button#checkout"}],
        metadata={"url": "https://shop.example/cart", "browser": {"name": "Firefox", "version": "133"}},
        **fields,
    )


async def read(tenant: Tenant, path: str) -> Any:
    response = await tenant.client.get(path)
    assert response.status_code == 200, response.text
    return response.json()["data"]


async def invite(tenant: Tenant, app: Any, role: str, email: str | None = None) -> tuple[str, str]:
    """Someone invited into `tenant` with `role`, who accepted (an existing account with its own password);
    returns (e-mail address, user id)."""
    email = email or f"{role}-{secrets.token_hex(4)}@example.com"
    invited = await tenant.client.post("/api/v1/organization/members", json={"email": email, "role": role})
    assert invited.status_code == 201, invited.text
    data = invited.json()["data"]
    async with ApiClient.for_app(app) as newcomer:
        accepted = await newcomer.post(
            "/api/v1/auth/invitations/accept", json={"token": data["invitationToken"], "password": PASSWORD}
        )
        assert accepted.status_code == 200, accepted.text
    return email, accepted.json()["data"]["user"]["id"]  # their account's id (the invitation showed another)


def png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.linear_gradient("L").resize((width, height)).convert("RGB").save(buffer, "PNG")
    return buffer.getvalue()
