"""API clients for tests: a client with its own cookie jar that sends the CSRF header like the UI does."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

# The page facts the widget sends with a report (BugPin's example), where a test needs no others.
WIDGET_METADATA = {
    "url": "https://example.com/",
    "browser": {"name": "Firefox"},
    "device": {"type": "desktop"},
    "viewport": {"width": 1280, "height": 720},
    "timestamp": "2026-01-15T10:30:00Z",
}

BASE_URL = "http://testserver.local"
PASSWORD = "correct horse battery staple"


class ApiClient(httpx.AsyncClient):
    """An httpx client on the ASGI app that echoes the `csrftoken` cookie in `X-CSRFToken`."""

    @classmethod
    @asynccontextmanager
    async def for_app(cls, app: Any, **kwargs: Any) -> AsyncIterator[ApiClient]:
        async with cls(transport=httpx.ASGITransport(app=app), base_url=BASE_URL, **kwargs) as client:
            yield client

    async def send(self, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        csrf = self.cookies.get("csrftoken")
        if csrf and request.method not in {"GET", "HEAD", "OPTIONS"} and "x-csrftoken" not in request.headers:
            request.headers["X-CSRFToken"] = csrf
        return await super().send(request, **kwargs)

    async def ensure_csrf(self) -> None:
        if not self.cookies.get("csrftoken"):
            await self.get("/health")


@dataclass
class Tenant:
    """A signed-up organization: its owner's logged-in client and ids."""

    client: ApiClient
    email: str
    organization_id: str
    user_id: str
    slug: str

    async def create_project(self, name: str = "Web Shop", **fields: Any) -> dict[str, Any]:
        response = await self.client.post("/api/v1/projects", json={"name": name, **fields})
        assert response.status_code == 201, response.text
        return response.json()["data"]  # type: ignore[no-any-return]

    async def create_token(self, name: str = "automation") -> dict[str, Any]:
        response = await self.client.post("/api/v1/tokens", json={"name": name})
        assert response.status_code == 201, response.text
        return response.json()["data"]  # type: ignore[no-any-return]


def signup_body(email: str, name: str = "Owner", organization: str = "Acme") -> dict[str, Any]:
    """What `POST /api/v1/auth/signup` takes: an account and the organization it opens."""
    return {"email": email, "password": PASSWORD, "name": name, "organization": {"name": organization}}


class TenantFactory:
    def __init__(self, app: Any) -> None:
        self.app = app

    @asynccontextmanager
    async def create(self, name: str = "Acme") -> AsyncIterator[Tenant]:
        email = f"owner-{secrets.token_hex(4)}@example.com"
        async with ApiClient.for_app(self.app) as client:
            response = await client.post("/api/v1/auth/signup", json=signup_body(email, organization=name))
            assert response.status_code == 201, response.text
            data = response.json()["data"]
            await client.ensure_csrf()
            yield Tenant(
                client=client,
                email=email,
                organization_id=data["organization"]["id"],
                user_id=data["user"]["id"],
                slug=data["organization"]["slug"],
            )
