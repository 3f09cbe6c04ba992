"""The live page in a real browser: Chromium, driven by Playwright, against the live server.

Each test opens a reader's page on a live story, changes the story (through the
admin like an editor, or through the models) and watches the page follow along
by polling, without reloading.

Chromium is Debian's (``apt-get install chromium``); Playwright never downloads
one. Without it these tests are skipped, or fail when CI is "true".
"""

import datetime as dt
import re
import time

import pytest
from django.conf import settings as django_settings
from django.db import transaction
from django.db.models.signals import post_save
from django.utils import timezone
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from coverage.models import Update
from tests.browser.support import (
    Polls,
    assert_not_reloaded,
    is_poll,
    open_story,
    wait_for_a_poll,
    wait_out_polls,
)
from tests.factories import edit, end_coverage, make_editor, make_story, make_update, retract

pytestmark = pytest.mark.browser

# Time for a poll's request, response and swap, on top of the interval.
SLACK_MS = 750

STAMP = re.compile(r"^UPDATE \d{4} GMT$")


@pytest.fixture
def commit_times():
    """{update id: when its last save committed, by time.monotonic()}, whoever saved it."""
    times = {}

    def on_save(sender, instance, **kwargs):
        pk = instance.pk
        transaction.on_commit(lambda: times.__setitem__(pk, time.monotonic()))

    post_save.connect(on_save, sender=Update, dispatch_uid="test_browser.commit_times")
    yield times
    post_save.disconnect(sender=Update, dispatch_uid="test_browser.commit_times")


# Helpers -------------------------------------------------------------------


def update_ids(page: Page) -> list[str]:
    """The ids of the updates on the page, top to bottom."""
    return page.eval_on_selector_all("#updates > article.update", "els => els.map(e => e.id)")


def assert_visible_within_one_poll(locator, committed_at: float) -> None:
    poll_ms = django_settings.LIVE_POLL_SECONDS * 1000
    # One interval, plus time for the request, the response and the swap.
    remaining_ms = poll_ms + SLACK_MS - (time.monotonic() - committed_at) * 1000
    try:
        locator.wait_for(state="visible", timeout=max(remaining_ms, 1))
    except PlaywrightTimeoutError:
        pytest.fail(f"The reader did not see the update within one poll interval ({poll_ms} ms)")


def long_body(n: int) -> str:
    paragraph = f"Paragraph of update {n}. " + "Words the reader is reading. " * 40
    return "".join(f"<p>{paragraph}</p>" for _ in range(3))


# Tests ---------------------------------------------------------------------


def test_an_update_posted_in_the_admin_reaches_an_open_reader_page(
    server, reader, logged_in, commit_times
):
    story = make_story(title="Budget day")
    make_update(story, body="<p>The chancellor arrives.</p>")
    editor = make_editor()
    open_story(reader, server, story)

    desk = logged_in(editor)
    desk.goto(f"{server}/admin/coverage/update/add/?story={story.pk}")
    desk.fill("textarea[name=body]", "The chancellor rises to speak.")
    wait_for_a_poll(reader)
    desk.click("input[name=_save]")
    # Back on the story's admin page: the update is saved and committed.
    expect(desk).to_have_url(re.compile(rf"/admin/coverage/story/{story.pk}/change/$"))
    update = Update.objects.get(story=story, body__contains="rises to speak")

    article = reader.locator(f"#update-{update.pk}")
    assert_visible_within_one_poll(article, commit_times[update.pk])
    expect(article).to_contain_text("The chancellor rises to speak.")
    stamp = article.locator(".update-stamp")
    expect(stamp).to_have_text(STAMP)
    expect(stamp).to_have_text(f"UPDATE {update.stamp}")
    assert update_ids(reader)[0] == f"update-{update.pk}"
    assert_not_reloaded(reader)


def test_browser_caching_of_poll_answers_does_not_delay_updates(
    server, reader, settings, commit_times
):
    # Production's shape (answers stale after 2 s, a poll every 10 s), scaled down.
    settings.LIVE_POLL_SECONDS = 3
    settings.LIVE_POLL_MAX_AGE = 2
    story = make_story()
    make_update(story)
    open_story(reader, server, story)

    wait_for_a_poll(reader)
    update = make_update(story, body="<p>On time.</p>")
    assert_visible_within_one_poll(reader.locator(f"#update-{update.pk}"), commit_times[update.pk])


@pytest.mark.parametrize("order", ["newest", "oldest"])
def test_an_edit_replaces_the_update_in_place_and_a_retraction_removes_it(server, reader, order):
    story = make_story(reading_order=order)
    older = make_update(
        story, body="<p>Older update.</p>", published_at=timezone.now() - dt.timedelta(minutes=5)
    )
    update = make_update(story, body="<p>Crowds gather at the square.</p>")
    open_story(reader, server, story)
    article = reader.locator(f"#update-{update.pk}")
    expect(article).to_contain_text("Crowds gather")

    edit(update, body="<p>Thousands gather at the square.</p>")
    expect(article).to_contain_text("Thousands gather at the square.")
    expect(article).to_have_count(1)
    expect(article).not_to_contain_text("Crowds")
    in_order = [f"update-{update.pk}", f"update-{older.pk}"]
    assert update_ids(reader) == (in_order if order == "newest" else in_order[::-1])

    retract(update)
    expect(article).to_have_count(0)
    expect(reader.locator("#updates")).not_to_contain_text("gather at the square")
    assert update_ids(reader) == [f"update-{older.pk}"]
    assert_not_reloaded(reader)


def test_a_reader_scrolled_down_is_not_moved_and_gets_a_new_updates_button(server, reader):
    story = make_story(title="Election night")
    start = timezone.now() - dt.timedelta(hours=1)
    for n in range(15):
        make_update(story, body=long_body(n), published_at=start + dt.timedelta(minutes=n))
    open_story(reader, server, story)

    reader.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    reader.wait_for_function("window.scrollY > 2000")
    scroll_y = reader.evaluate("window.scrollY")

    update = make_update(story, body="<p>Exit poll published.</p>", published_at=timezone.now())
    button = reader.locator("#new-updates")
    expect(button).to_be_visible()
    expect(button).to_have_text("1 new update")
    expect(reader).to_have_title("(1) Election night")
    article = reader.locator(f"#update-{update.pk}")
    expect(article).to_be_attached()
    expect(article).to_be_hidden()
    assert abs(reader.evaluate("window.scrollY") - scroll_y) <= 3, "the page jumped"

    # Edited while still waiting behind the button: it stays there.
    edit(update, body="<p>Exit poll published, with figures.</p>")
    expect(article).to_contain_text("with figures")
    expect(article).to_be_hidden()
    expect(button).to_have_text("1 new update")
    assert abs(reader.evaluate("window.scrollY") - scroll_y) <= 3, "the page jumped"

    button.click()
    expect(article).to_be_visible()
    expect(article).to_be_in_viewport()
    assert update_ids(reader)[0] == f"update-{update.pk}"
    expect(reader).to_have_title("Election night")
    expect(button).to_be_hidden()
    assert_not_reloaded(reader)


@pytest.mark.parametrize("order", ["newest", "oldest"])
def test_a_backdated_update_is_placed_in_time_order(server, reader, order):
    story = make_story(reading_order=order)
    now = timezone.now()
    earliest, middle, latest = (
        make_update(
            story,
            body=f"<p>{minutes} minutes ago.</p>",
            published_at=now - dt.timedelta(minutes=minutes),
        )
        for minutes in (30, 20, 10)
    )
    open_story(reader, server, story)

    def in_order(*updates):
        ids = [f"update-{u.pk}" for u in updates]
        return ids if order == "newest" else ids[::-1]

    assert update_ids(reader) == in_order(latest, middle, earliest)

    backdated = make_update(
        story, body="<p>Filed late.</p>", published_at=now - dt.timedelta(minutes=25)
    )
    expect(reader.locator(f"#update-{backdated.pk}")).to_be_visible()
    assert update_ids(reader) == in_order(latest, middle, backdated, earliest)
    assert_not_reloaded(reader)


def test_ending_the_story_slows_polling_right_down(server, reader, settings):
    story = make_story()
    make_update(story)
    # Another reader, on a story still live, polling on the same interval: its
    # answers measure the chances the ended page had to poll.
    witness = reader.context.new_page()
    open_story(witness, server, make_story(slug="still-live"))
    polls = Polls(reader)
    open_story(reader, server, story)
    polls.wait_for_answers(1)

    end_coverage(story)
    poller = reader.locator("#poller")
    expect(poller).to_have_attribute("data-ended", "true")
    # Still polling, for coverage that resumes, but at the ended pace only.
    expect(poller).to_have_attribute("data-poll-seconds", str(settings.LIVE_ENDED_POLL_SECONDS))

    polls.requested.clear()
    wait_out_polls(witness, 3)
    assert polls.requested == [], (
        f"the page kept polling fast after coverage ended: {polls.requested}"
    )
    assert_not_reloaded(reader)


def test_no_csp_violations_or_script_errors_while_polling(server, reader):
    violations_script = """
        window.__cspViolations = [];
        document.addEventListener("securitypolicyviolation", (event) => {
            window.__cspViolations.push(event.violatedDirective + " " + event.blockedURI);
        });
    """
    reader.add_init_script(violations_script)
    console_errors, page_errors = [], []
    reader.on(
        "console", lambda msg: console_errors.append(msg.text) if msg.type == "error" else None
    )
    reader.on("pageerror", lambda error: page_errors.append(str(error)))
    polls = Polls(reader)
    story = make_story()
    make_update(story, body="<p>Before the page opened.</p>")
    open_story(reader, server, story)

    update = make_update(story, body="<p>After the page opened.</p>")
    expect(reader.locator(f"#update-{update.pk}")).to_be_visible()

    def a_200_then_a_204():
        statuses = polls.statuses
        return 200 in statuses and 204 in statuses[statuses.index(200) :]

    polls.wait_until(a_200_then_a_204, "no poll answered 200 and then 204")
    assert not [text for text in console_errors if "Content Security Policy" in text]
    assert reader.evaluate("window.__cspViolations") == []
    assert page_errors == []
    # htmx logs every new update as "htmx:oobErrorNoTarget" (there is no element to
    # swap yet; live.js inserts it): expected. Any other console error is not.
    unexpected = [text for text in console_errors if not text.startswith("htmx:oobErrorNoTarget")]
    assert unexpected == []
    assert_not_reloaded(reader)


def test_the_story_page_is_readable_without_javascript(server, new_context):
    story = make_story(title="Storm warning")
    now = timezone.now()
    updates = [
        make_update(
            story, body=f"<p>Update number {n}.</p>", published_at=now - dt.timedelta(minutes=n)
        )
        for n in (1, 2, 3)
    ]
    page = new_context(java_script_enabled=False).new_page()
    page.goto(server + story.get_absolute_url())
    expect(page.locator("h1")).to_have_text("Storm warning")
    for n, update in zip((1, 2, 3), updates, strict=True):
        article = page.locator(f"#update-{update.pk}")
        expect(article).to_be_visible()
        expect(article.locator(".update-body")).to_have_text(f"Update number {n}.")
        expect(article.locator(".update-stamp")).to_have_text(f"UPDATE {update.stamp}")
    assert update_ids(page) == [f"update-{u.pk}" for u in updates]
    expect(page.locator("#new-updates")).to_be_hidden()


HIDE_TAB = """
window.__hidden = false;
Object.defineProperty(document, "hidden", { get: () => window.__hidden });
Object.defineProperty(document, "visibilityState", {
  get: () => (window.__hidden ? "hidden" : "visible"),
});
window.__setHidden = (hidden) => {
  window.__hidden = hidden;
  document.dispatchEvent(new Event("visibilitychange"));
};
"""


def test_a_background_tab_does_not_poll_and_catches_up_when_shown(server, reader):
    story = make_story()
    make_update(story)
    reader.add_init_script(HIDE_TAB)
    open_story(reader, server, story)
    wait_for_a_poll(reader)
    # A tab of the same story left in view: its poll answers measure the chances
    # the hidden one had to poll.
    witness = reader.context.new_page()
    open_story(witness, server, story)

    reader.evaluate("window.__setHidden(true)")
    polls = Polls(reader)
    update = make_update(story, body="<p>Posted while the tab was hidden.</p>")
    expect(witness.locator(f"#update-{update.pk}")).to_be_visible()
    wait_out_polls(witness, 3)
    assert polls.requested == [], f"a hidden tab kept polling: {polls.requested}"
    expect(reader.locator(f"#update-{update.pk}")).to_have_count(0)

    with reader.expect_response(is_poll):
        reader.evaluate("window.__setHidden(false)")  # polls at once, not at the next tick
    expect(reader.locator(f"#update-{update.pk}")).to_contain_text("while the tab was hidden")


def test_load_older_updates_appends_the_next_slice_in_place(server, reader):
    story = make_story()
    start = timezone.now() - dt.timedelta(hours=2)
    updates = [
        make_update(story, body=f"<p>Number {n}</p>", published_at=start + dt.timedelta(minutes=n))
        for n in range(55)
    ]
    open_story(reader, server, story)
    assert len(update_ids(reader)) == 50
    reader.get_by_role("link", name="Load older updates").click()
    expect(reader.locator("#updates > article.update")).to_have_count(55)
    expected = [f"update-{u.pk}" for u in reversed(updates)]
    assert update_ids(reader) == expected
    expect(reader.locator(".load-older")).to_have_count(0)
    assert_not_reloaded(reader)
