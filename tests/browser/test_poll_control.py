"""Poll control in Chromium: an open page polls at the pace each answer's
Poll-Interval gives (the desk's poll mode, the site's kill switch), keeps a
heartbeat while paused, backs off on errors and honours Retry-After.

Time is Playwright's fake clock: the page's timers run only when the test
advances it, a second at a time, so every gap between polls is measured in the
page's own time, whatever the machine's load. Polls still go to the live server.
"""

import re

import pytest
from playwright.sync_api import Page, expect

from coverage import publishing
from coverage.models import Story
from tests.browser.support import assert_not_reloaded, log_in
from tests.factories import committed, make_editor, make_story, make_update

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def failed_polls_are_the_subject(console_errors):
    """These tests answer polls with errors (429, 5xx) or none at purpose: the
    browser and htmx log each failed poll, and nothing else may be logged."""
    why = "the test fails polls on purpose"
    console_errors.allow(r"/updates/\?since=\d+: Failed to load resource: ", why)
    console_errors.allow(r"htmx-2\.min\.js: Response Status Error Code (429|5\d\d) from ", why)
    console_errors.allow(r"htmx-2\.min\.js: htmx:(sendError|afterRequest), ", why)


PACE, SLOW, HEARTBEAT = 10, 30, 60
# The back-off's cap (live.js), in seconds.
MAX_BACKOFF = 300

# Each poll the page starts, in its own (fake) time, and each answer it has
# handled: live.js schedules the next poll as it handles an answer.
COUNT_POLLS = """
window.__polls = [];
document.addEventListener("htmx:beforeRequest", (event) => {
  if (event.detail.elt.id === "poller") window.__polls.push(Date.now());
});
document.addEventListener("htmx:afterRequest", (event) => {
  if (event.detail.requestConfig?.elt?.id !== "poller") return;
  const html = document.documentElement;
  html.dataset.answered = String(Number(html.dataset.answered || 0) + 1);
});
"""


@pytest.fixture(autouse=True)
def production_paces(settings):
    settings.LIVE_POLL_SECONDS = PACE
    settings.LIVE_SLOW_POLL_SECONDS = SLOW
    settings.LIVE_PAUSED_POLL_SECONDS = HEARTBEAT
    settings.READER_POLLING = "normal"


class ClockedPage:
    """A reader's page on a paused fake clock, counting its polls."""

    def __init__(self, page: Page, server: str, story):
        self.page = page
        page.clock.install()
        page.clock.pause_at(1_800_000_000_000)
        page.add_init_script(COUNT_POLLS)
        # Routing also turns off the browser's HTTP cache: this page's time is
        # fake, the cache's is not.
        self.failing = None
        page.route("**/updates/**", self.answer)
        page.goto(server + story.get_absolute_url())
        expect(page.locator("#poller")).to_have_attribute("data-hx-get", re.compile(r"since=\d+"))
        page.evaluate("window.__marker = 1")

    def answer(self, route):
        if self.failing is None:
            route.continue_()
        elif self.failing == "abort":
            route.abort()
        else:
            route.fulfill(**self.failing)

    def polls(self) -> int:
        return self.page.evaluate("window.__polls.length")

    def seconds_to_next_poll(self, limit: int = MAX_BACKOFF + PACE + 1) -> int:
        """Advance the page's clock a second at a time until it polls; wait for
        that poll's answer to be handled; return the seconds it took."""
        before = self.polls()
        for second in range(1, limit + 1):
            self.page.clock.run_for(1000)
            if self.polls() > before:
                assert self.polls() == before + 1, "more than one poll at once"
                expect(self.page.locator("html")).to_have_attribute(
                    "data-answered", str(before + 1)
                )
                return second
        pytest.fail(f"no poll within {limit} s")

    def no_poll_for(self, seconds: int) -> None:
        before = self.polls()
        self.page.clock.run_for(seconds * 1000)
        assert self.polls() == before, f"the page polled within {seconds} s"


def set_poll_mode(story, mode):
    with committed():
        publishing.set_poll_mode(story.pk, mode)


def test_a_paused_page_slows_to_the_heartbeat_and_resumes_with_the_desk(server, reader):
    story = make_story()
    make_update(story)
    page = ClockedPage(reader, server, story)
    assert page.seconds_to_next_poll() == PACE
    assert page.seconds_to_next_poll() == PACE

    set_poll_mode(story, Story.PollMode.PAUSED)
    # The next poll learns of it (a new revision: a 200 with the new poller)...
    assert page.seconds_to_next_poll() == PACE
    expect(reader.locator("#poller")).to_have_attribute("data-poll-seconds", str(HEARTBEAT))
    # ...and from then on the page only keeps its heartbeat.
    assert page.seconds_to_next_poll() == HEARTBEAT
    assert page.seconds_to_next_poll() == HEARTBEAT

    set_poll_mode(story, Story.PollMode.NORMAL)
    # Within one heartbeat the page is back at the normal pace.
    assert page.seconds_to_next_poll() <= HEARTBEAT
    assert page.seconds_to_next_poll() == PACE
    assert_not_reloaded(reader)


def test_the_desk_s_control_slows_open_pages(server, reader, new_context):
    story = make_story()
    make_update(story)
    page = ClockedPage(reader, server, story)
    assert page.seconds_to_next_poll() == PACE

    editor = make_editor()
    desk = new_context().new_page()
    log_in(desk, server, editor.username)
    desk.goto(f"{server}/admin/coverage/story/{story.pk}/desk/")
    desk.locator("#desk-menu > summary").click()
    desk.get_by_label("Readers' pages check for news").select_option("slow")
    desk.get_by_role("button", name="Set polling").click()
    expect(desk.locator(".messagelist")).to_contain_text("every 30 s")

    assert page.seconds_to_next_poll() == PACE  # the poll that learns of it
    assert page.seconds_to_next_poll() == SLOW
    assert page.seconds_to_next_poll() == SLOW


def test_a_503_with_retry_after_is_obeyed_then_the_page_resumes(server, reader):
    story = make_story()
    make_update(story)
    page = ClockedPage(reader, server, story)
    assert page.seconds_to_next_poll() == PACE

    page.failing = {"status": 503, "headers": {"Retry-After": "30"}, "body": "busy"}
    assert page.seconds_to_next_poll() == PACE  # answered 503, Retry-After: 30
    page.failing = None
    page.no_poll_for(29)
    # Asked again after 30 s, spread over at most one pace after it.
    assert page.seconds_to_next_poll() <= PACE + 1
    assert page.seconds_to_next_poll() == PACE
    # The answer went on arriving meanwhile: an update reaches the page.
    arrived = make_update(story, body="<p>Back again.</p>")
    page.seconds_to_next_poll()
    expect(reader.locator(f"#update-{arrived.pk}")).to_be_visible()
    assert_not_reloaded(reader)


def test_a_429_with_retry_after_is_obeyed_too(server, reader):
    story = make_story()
    page = ClockedPage(reader, server, story)
    page.failing = {"status": 429, "headers": {"Retry-After": "45"}, "body": "slow down"}
    assert page.seconds_to_next_poll() == PACE
    page.failing = None
    page.no_poll_for(44)
    assert page.seconds_to_next_poll() <= PACE + 1
    assert page.seconds_to_next_poll() == PACE


def test_repeated_errors_make_growing_jittered_gaps_and_a_success_restores_the_pace(server, reader):
    story = make_story()
    page = ClockedPage(reader, server, story)
    assert page.seconds_to_next_poll() == PACE

    page.failing = {"status": 500, "body": "broken"}
    page.seconds_to_next_poll()  # the first failure
    gaps = [page.seconds_to_next_poll() for _ in range(3)]
    page.failing = "abort"  # no answer at all counts the same
    gaps.append(page.seconds_to_next_poll())
    # Half fixed, half random: the nth gap falls in [PACE * 2^(n-1), PACE * 2^n].
    for n, gap in enumerate(gaps, start=1):
        assert PACE * 2 ** (n - 1) <= gap <= PACE * 2**n + 1, gaps
    assert gaps == sorted(gaps), f"the gaps did not grow: {gaps}"

    page.failing = None
    page.seconds_to_next_poll()  # the success...
    assert page.seconds_to_next_poll() == PACE  # ...restores the pace
    assert_not_reloaded(reader)


def test_the_back_off_is_capped(server, reader):
    story = make_story()
    page = ClockedPage(reader, server, story)
    page.failing = {"status": 502, "body": "bad gateway"}
    gaps = [page.seconds_to_next_poll() for _ in range(8)]
    assert max(gaps) <= MAX_BACKOFF + 1, gaps
    assert gaps[-1] >= MAX_BACKOFF / 2, gaps


def test_the_kill_switch_slows_every_open_page(server, reader, settings):
    story = make_story()
    make_update(story)
    page = ClockedPage(reader, server, story)
    assert page.seconds_to_next_poll() == PACE

    settings.READER_POLLING = "paused"
    # No write: the next answer (a 204) carries the heartbeat in its header.
    assert page.seconds_to_next_poll() == PACE
    assert page.seconds_to_next_poll() == HEARTBEAT
    assert page.seconds_to_next_poll() == HEARTBEAT

    settings.READER_POLLING = "normal"
    assert page.seconds_to_next_poll() == HEARTBEAT
    assert page.seconds_to_next_poll() == PACE
    assert_not_reloaded(reader)


HIDE_TAB = """
window.__hidden = false;
Object.defineProperty(document, "hidden", { get: () => window.__hidden });
window.__setHidden = (hidden) => {
  window.__hidden = hidden;
  document.dispatchEvent(new Event("visibilitychange"));
};
"""


def test_a_background_tab_keeps_quiet_and_shown_again_respects_a_retry_after(server, reader):
    story = make_story()
    reader.add_init_script(HIDE_TAB)
    page = ClockedPage(reader, server, story)
    assert page.seconds_to_next_poll() == PACE

    reader.evaluate("window.__setHidden(true)")
    page.no_poll_for(3 * PACE)
    # Shown again: a poll at once, not at the next tick.
    reader.evaluate("window.__setHidden(false)")
    expect(reader.locator("html")).to_have_attribute("data-answered", "2")
    assert page.polls() == 2

    page.failing = {"status": 503, "headers": {"Retry-After": "120"}, "body": "busy"}
    assert page.seconds_to_next_poll() == PACE
    page.failing = None
    reader.evaluate("window.__setHidden(true)")
    page.no_poll_for(10)
    # Shown during the server's wait: it is still honoured.
    reader.evaluate("window.__setHidden(false)")
    page.no_poll_for(100)
    assert page.seconds_to_next_poll() <= 10 + PACE + 1
