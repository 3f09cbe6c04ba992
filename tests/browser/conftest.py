"""Shared by the browser tests: Debian's Chromium driven by Playwright, against the
live server. Playwright never downloads a browser here; without Chromium these
tests are skipped, or fail when CI is "true" (CI must run them)."""

import os
import shutil

import pytest
from playwright.sync_api import sync_playwright

from tests.browser.support import FEW_POLLS_MS, POLL_SECONDS

# Playwright's sync API runs an event loop in the test thread, so Django would
# refuse ORM calls from test code while a browser is open (SynchronousOnlyOperation).
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def browser():
    chromium = shutil.which("chromium")
    if not chromium:
        message = (
            "Chromium is not installed, so the browser tests cannot run. "
            "Install Debian's: apt-get update && apt-get install -y chromium"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture(autouse=True)
def fast_polling(settings):
    settings.LIVE_POLL_SECONDS = POLL_SECONDS
    # In production a poll answer goes stale (2 s) well before the next poll (10 s).
    # Keep that order here: with a 1 s poll, in whole seconds, that is 0.
    settings.LIVE_POLL_MAX_AGE = 0


@pytest.fixture
def server(live_server, transactional_db):
    """The live server's base URL (as 127.0.0.1, the one host a reader's page may
    ask), over a database that really commits."""
    return live_server.url.replace("localhost", "127.0.0.1")


@pytest.fixture
def new_context(browser):
    """Browser contexts (separate cookies: a reader, an editor, ...), closed afterwards."""
    contexts = []

    def new_context(**options):
        options.setdefault("viewport", {"width": 1280, "height": 800})
        context = browser.new_context(**options)
        context.set_default_timeout(FEW_POLLS_MS)
        contexts.append(context)
        return context

    yield new_context
    for context in contexts:
        context.close()
