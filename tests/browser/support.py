"""Constants and helpers the browser tests share.

No test here sleeps for a fixed time. Each waits for a condition: an element's
state (Playwright's expect), a request or a response, or a number of completed
poll answers. "Nothing happened" is checked the same way: wait until a page has
been answered N more polls (time enough for the thing to have happened), then
assert that it did not.
"""

import re
import time

import pytest
from playwright.sync_api import Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

POLL_SECONDS = 1
POLL_MS = POLL_SECONDS * 1000
# "A few poll intervals": the bound for everything that is not the timing under test.
FEW_POLLS_MS = 5 * POLL_MS
PASSWORD = "correct horse battery staple"

# Records Content Security Policy violations where a test can read them.
CSP_WATCH = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(event.violatedDirective + " " + event.blockedURI);
});
"""


# Pages ---------------------------------------------------------------------


# The two screens the desk is tried on: an editor's laptop and a reporter's phone.
DESK_SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 375, "height": 812}}


def log_in(page: Page, server: str, username: str, password: str = PASSWORD) -> None:
    """Log in through the admin's login form, as a person would."""
    page.goto(server + "/admin/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("input[type=submit]")
    expect(page).to_have_url(re.compile(r"/admin/$"))


def open_story(page: Page, server: str, story) -> None:
    """Open the story page and leave a mark that only a reload would wipe."""
    page.goto(server + story.get_absolute_url())
    expect(page.locator("#poller")).to_have_attribute("data-hx-get", re.compile(r"since=\d+"))
    page.evaluate("window.__marker = 1")


def open_desk(page: Page, server: str, story) -> None:
    """Open the story's desk and leave a mark that only a reload would wipe."""
    page.goto(f"{server}/admin/coverage/story/{story.pk}/desk/")
    expect(page.locator("#desk-poller")).to_have_attribute("data-hx-get", re.compile(r"since=\d+"))
    page.evaluate("window.__marker = 1")


# The desk's rich text box (static/js/desk-editor.js): its contenteditable. The
# textarea it writes into, textarea[name=body], is hidden while it runs.
BODY_EDITOR = ".ProseMirror.desk-body"


def body_editor(page: Page, within: str = "#compose") -> Locator:
    """The rich text box of the form in `within` (the compose form, or a row's
    selector for its edit form), once desk-editor.js has made it."""
    box = page.locator(f"{within} {BODY_EDITOR}")
    expect(box).to_be_visible()
    return box


def write_update(page: Page, text: str, within: str = "#compose") -> Locator:
    """Replace the body in a desk form with text, typed as an editor would.

    Blank lines in text start new paragraphs (Enter). Returns the editor box.
    """
    box = body_editor(page, within)
    box.click()
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.press("Delete")
    for number, paragraph in enumerate(text.split("\n\n")):
        if number:
            page.keyboard.press("Enter")
        page.keyboard.type(paragraph)
    return box


def expect_settled(locator: Locator) -> None:
    """Wait for what htmx swapped in to be wired up. htmx processes new content
    (its data-hx-get links) only when it settles, a tick after the swap, taking the
    htmx-added class off then: a click before that follows the plain link."""
    expect(locator).not_to_have_class(re.compile(r"\bhtmx-(added|settling)\b"))


def assert_not_reloaded(page: Page) -> None:
    assert page.evaluate("window.__marker") == 1, "the page reloaded or navigated away"


def assert_no_csp_violations(page: Page) -> None:
    violations = page.evaluate("window.__cspViolations")
    assert violations == [], violations


# Console errors ------------------------------------------------------------


class ConsoleErrors:
    """Every console error and uncaught exception of the pages a test opens.

    The browser fixtures (tests/browser/conftest.py) watch every page of every
    context they create, popups and frames included; the test fails at teardown
    if any page logged an error it did not allow. A test allows only what is its
    own subject, with the reason: `console_errors.allow(r"503", "the test answers
    503")`.
    """

    def __init__(self):
        self.errors: list[str] = []
        self.allowed: list[tuple[re.Pattern, str]] = []

    def watch(self, page: Page) -> None:
        page.on("console", lambda message: self._console(page, message))
        page.on("pageerror", lambda error: self.errors.append(f"{page.url}: uncaught {error}"))

    def _console(self, page: Page, message) -> None:
        if message.type == "error":
            where = message.location.get("url") or page.url
            self.errors.append(f"{where}: {message.text}")

    def allow(self, pattern: str, reason: str) -> None:
        """Allow errors matching pattern (a regular expression), for this test only."""
        assert reason, "say why the error is expected"
        self.allowed.append((re.compile(pattern), reason))

    def unexpected(self) -> list[str]:
        return [e for e in self.errors if not any(p.search(e) for p, _ in self.allowed)]


# Polls ---------------------------------------------------------------------


def is_poll(request_or_response) -> bool:
    """A reader's poll (the story page's /updates/), not the desk's."""
    return "/updates/" in request_or_response.url


def wait_for_a_poll(page: Page) -> None:
    """Wait for the page's next poll answer.

    A change saved just after a poll is the worst case: a whole interval until the
    next one. Slower delivery (a poll skipped, a stale cached answer) then fails
    every time instead of sometimes.
    """
    with page.expect_response(is_poll):
        pass


class Polls:
    """Counts a page's poll requests and answers (statuses, in order) from now on.

    Playwright delivers a page's events to Python only while a Playwright call is
    waiting, so the waits here wait for the next poll event, never for a time.
    """

    def __init__(self, page: Page):
        self.page = page
        self.requested: list[str] = []
        self.statuses: list[int] = []
        page.on(
            "request",
            lambda request: self.requested.append(request.url) if is_poll(request) else None,
        )
        page.on(
            "response",
            lambda response: self.statuses.append(response.status) if is_poll(response) else None,
        )

    def wait_until(self, condition, message: str, timeout_ms: int = FEW_POLLS_MS) -> None:
        """Let the page poll until condition() holds, checked after every poll answer."""
        deadline = time.monotonic() + timeout_ms / 1000
        while not condition():
            remaining_ms = (deadline - time.monotonic()) * 1000
            try:
                if remaining_ms <= 0:
                    raise PlaywrightTimeoutError("deadline passed")
                self.page.wait_for_event("response", predicate=is_poll, timeout=remaining_ms)
            except PlaywrightTimeoutError:
                pytest.fail(
                    f"Timed out after {timeout_ms} ms: {message} (poll answers: {self.statuses})"
                )

    def wait_for_answers(self, n: int) -> None:
        """Wait until the page has been answered n more polls than so far."""
        target = len(self.statuses) + n
        self.wait_until(
            lambda: len(self.statuses) >= target,
            f"the page was not answered {n} more polls",
            timeout_ms=(n + 2) * POLL_MS + FEW_POLLS_MS,
        )


def wait_out_polls(witness: Page, n: int = 3) -> None:
    """Wait until an open, polling page (the witness) has been answered n more polls.

    For checks that another page did *nothing* (made no request, kept no change):
    the witness runs the same poller on the same interval, so n answers to it are
    n chances the other page had to act.
    """
    Polls(witness).wait_for_answers(n)


# Skips ---------------------------------------------------------------------

INSTALL_CHROMIUM = "apt-get update && apt-get install -y chromium"


def skip_verdict(skipped: int, ci: str | None) -> str:
    """What a run with `skipped` browser tests not run amounts to.

    "ok": every browser test that was selected ran. "warn": some did not, outside
    CI: the run may pass, but says so loudly. "fail": some did not, in CI: CI must
    run them all, whatever the reason for the skip.
    """
    if not skipped:
        return "ok"
    return "fail" if ci == "true" else "warn"


def skip_banner(skipped: int, reasons: list[str], verdict: str) -> list[str]:
    """The lines the terminal summary prints for a verdict other than "ok"."""
    tests = "browser test" if skipped == 1 else "browser tests"
    lines = [f"{skipped} {tests} DID NOT RUN.", *(f"  reason: {r}" for r in reasons)]
    if verdict == "fail":
        lines.append("CI=true requires every browser test to run: this run FAILS.")
    else:
        lines.append("The rest of the suite passing says nothing about the live page, the")
        lines.append("desk or the embeds in a real browser.")
    lines.append(f"Install Debian's Chromium: {INSTALL_CHROMIUM}")
    return lines
