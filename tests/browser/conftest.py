"""One headless Chromium (Debian's, driven by Playwright) for the whole test session:
each test opens its own context or page in it, which is cheap, instead of a browser."""

import os

import pytest

from tests.services import chromium_binary

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser():
    executable = chromium_binary()
    # Django refuses ORM calls from a thread running an event loop; Playwright's sync API
    # runs one in this thread while the live server (another thread) does the queries.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
