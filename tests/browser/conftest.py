"""Browser tests: Lantern served by granian on the session's database and Redis, a real arq worker, and
Debian's Chromium. Without Chromium these tests are skipped with the reason (CI installs it and allows no
skip on PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page

from tests.support.browser import chromium, chromium_path
from tests.support.server import granian_server


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if chromium_path():
        return
    skip = pytest.mark.skip(reason="needs Chromium: apt-get install -y chromium, or set LANTERN_CHROMIUM")
    for item in items:
        if "tests/browser/" in str(item.path).replace("\\", "/"):
            item.add_marker(skip)


@pytest.fixture(scope="session")
async def live_server(app: Any, embedded_services: dict[str, str]) -> AsyncIterator[str]:
    """The production server on a free port of 127.0.0.1; `app` first, so the database is migrated."""
    async with granian_server(workers=1, **embedded_services) as base_url:
        yield base_url


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    executable = chromium_path()
    assert executable is not None  # collection skips every browser test without it
    async with chromium(executable) as running:
        yield running


@pytest.fixture
async def context(browser: Browser, live_server: str) -> AsyncIterator[BrowserContext]:
    """A fresh profile per test (no cookies carried over), English unless a test asks for another."""
    browser_context = await browser.new_context(base_url=live_server, locale="en-US")
    browser_context.set_default_timeout(10_000)
    yield browser_context
    await browser_context.close()


@pytest.fixture
async def page(context: BrowserContext) -> Page:
    return await context.new_page()
