"""Shared by the browser tests: Debian's Chromium driven by Playwright, against the
live server. Playwright never downloads a browser here; without Chromium these
tests are skipped, and the run's summary says so in a banner. When CI is "true"
the run fails if any browser test was skipped, for whatever reason."""

import os
import shutil

import pytest
from playwright.sync_api import Page, sync_playwright

from tests.browser.support import (
    CSP_WATCH,
    DESK_SIZES,
    FEW_POLLS_MS,
    INSTALL_CHROMIUM,
    POLL_SECONDS,
    ConsoleErrors,
    log_in,
    open_desk,
    skip_banner,
    skip_verdict,
)
from tests.factories import make_editor, make_story

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
            f"Install Debian's: {INSTALL_CHROMIUM}"
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


@pytest.fixture(autouse=True)
def console_errors():
    """Fails the test if a page it opened logged a console error or threw, unless
    the test allowed that error (support.ConsoleErrors.allow). Autouse, and cheap:
    it watches only the pages new_context's contexts open."""
    errors = ConsoleErrors()
    yield errors
    unexpected = errors.unexpected()
    if unexpected:
        pytest.fail("console errors in the browser:\n" + "\n".join(unexpected), pytrace=False)


@pytest.fixture
def new_context(browser, console_errors):
    """Browser contexts (separate cookies: a reader, an editor, ...), closed afterwards.
    Every page they open is watched for console errors (console_errors)."""
    contexts = []

    def new_context(**options):
        options.setdefault("viewport", {"width": 1280, "height": 800})
        context = browser.new_context(**options)
        context.set_default_timeout(FEW_POLLS_MS)
        context.on("page", console_errors.watch)
        contexts.append(context)
        return context

    yield new_context
    for context in contexts:
        context.close()


@pytest.fixture
def logged_in(new_context, server):
    """A page in a browser context of its own, logged in as user, watching for CSP
    violations (see support.assert_no_csp_violations)."""

    def logged_in(user, **options):
        page = new_context(**options).new_page()
        page.add_init_script(CSP_WATCH)
        log_in(page, server, user.username)
        return page

    return logged_in


# The skip policy: a banner outside CI, a failed run in CI ---------------------

_skipped: list = []  # reports of browser tests that did not run


def pytest_runtest_logreport(report):
    if report.skipped and "browser" in report.keywords and not hasattr(report, "wasxfail"):
        _skipped.append(report)


def _reasons() -> list[str]:
    reasons = []
    for report in _skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        reason = reason.removeprefix("Skipped: ")
        if reason not in reasons:
            reasons.append(reason)
    return reasons


def pytest_sessionfinish(session, exitstatus):
    if skip_verdict(len(_skipped), os.environ.get("CI")) == "fail" and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_terminal_summary(terminalreporter):
    # Outermost wrapper: the banner comes after the short summary (-ra), just
    # above the final count, where it cannot be missed.
    yield
    verdict = skip_verdict(len(_skipped), os.environ.get("CI"))
    if verdict == "ok":
        return
    terminalreporter.write_line("")
    terminalreporter.write_sep("!", "BROWSER TESTS SKIPPED", red=True, bold=True)
    for line in skip_banner(len(_skipped), _reasons(), verdict):
        terminalreporter.write_line(line, red=True, bold=True)
    terminalreporter.write_sep("!", red=True, bold=True)


@pytest.fixture
def reader(new_context):
    """A reader's page, at 1280 px."""
    return new_context().new_page()


@pytest.fixture(params=list(DESK_SIZES))
def desk(request, server, logged_in) -> Page:
    """An editor's desk on a story, at desktop or phone size (page.story is the story)."""
    story = make_story(title="Floods")
    page = logged_in(make_editor(), viewport=DESK_SIZES[request.param])
    open_desk(page, server, story)
    page.story = story
    return page
