"""Browser tests: Playwright driving Debian's Chromium against pytest-django's live server.

Screenshots go to test-artifacts/screenshots/<database>/ so a person can look at what the tests saw.
"""

import os
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"
# Without these, Chromium keeps trying to reach Google's hosts, which this network refuses.
CHROMIUM_ARGS = [
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts" / "screenshots"


def pytest_collection_modifyitems(items):  # type: ignore[no-untyped-def]
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser() -> Browser:  # type: ignore[misc]
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def context(browser: Browser, live_server) -> BrowserContext:  # type: ignore[no-untyped-def,misc]
    ctx = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(15_000)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


@pytest.fixture
def login_as(browser: Browser, live_server):  # type: ignore[no-untyped-def]
    """login_as(user, **context_options) → a Page already signed in (session cookie, no form)."""
    contexts: list[BrowserContext] = []

    def make(user, **options) -> Page:  # type: ignore[no-untyped-def]
        client = Client()
        client.force_login(user)
        cookie = client.cookies[settings.SESSION_COOKIE_NAME]
        ctx = browser.new_context(base_url=live_server.url, viewport=options.pop("viewport", {"width": 1280, "height": 900}), **options)
        ctx.set_default_timeout(15_000)
        ctx.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": live_server.url}])
        contexts.append(ctx)
        return ctx.new_page()

    yield make
    for ctx in contexts:
        ctx.close()


@pytest.fixture
def shot(request):  # type: ignore[no-untyped-def]
    """shot(page, "name") saves a full-page screenshot under test-artifacts/screenshots/<db>/."""

    def save(page: Page, name: str) -> Path:
        folder = ARTIFACTS / connection.vendor
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{request.node.name}-{name}.png"
        # From the top: a full-page capture of a scrolled page draws the sticky top bar mid-page.
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(path), full_page=True)
        return path

    return save


os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
