"""What a reader sees of a changing story, in Chromium: the "new updates" button,
backdated arrivals, the badge when coverage ends or resumes, a playing video
through an edit, keyboard focus after "Load older updates", a quiet console."""

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from coverage import publishing
from coverage.models import Embed
from tests.browser.support import Polls, assert_not_reloaded, open_story
from tests.factories import (
    committed,
    edit,
    end_coverage,
    make_embed,
    make_story,
    make_update,
    retract,
)

pytestmark = pytest.mark.browser


def long_body(n: int) -> str:
    return f"<p>Paragraph of update {n}. " + "Words the reader is reading. " * 40 + "</p>"


def scrolled_reader(page: Page, server: str, story) -> float:
    open_story(page, server, story)
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    page.wait_for_function("window.scrollY > 1500")
    return page.evaluate("window.scrollY")


def console_errors(page: Page) -> list[str]:
    errors = []
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    return errors


@pytest.mark.parametrize("width", [375, 1280])
def test_the_new_updates_button_is_readable(server, new_context, width):
    reader = new_context(viewport={"width": width, "height": 800}).new_page()
    story = make_story(title="Election night")
    start = timezone.now() - dt.timedelta(hours=1)
    for n in range(12):
        make_update(story, body=long_body(n), published_at=start + dt.timedelta(minutes=n))
    scrolled_reader(reader, server, story)

    make_update(story, body="<p>Exit poll published.</p>", published_at=timezone.now())
    button = reader.locator("#new-updates")
    expect(button).to_have_text("1 new update")
    box = button.bounding_box()
    assert box["height"] >= 40, box  # a touch target, not a 16 px sliver
    # The label fits inside the button: nothing spills over the text behind it.
    fits = button.evaluate(
        "b => b.scrollWidth <= b.clientWidth + 1 && b.scrollHeight <= b.clientHeight + 1"
    )
    assert fits
    assert box["x"] >= 0 and box["x"] + box["width"] <= width


def test_a_backdated_update_reaching_a_scrolled_reader_is_shown_in_place_not_counted_as_new(
    server, reader
):
    story = make_story(title="Election night")
    start = timezone.now() - dt.timedelta(hours=2)
    for n in range(12):
        make_update(story, body=long_body(n), published_at=start + dt.timedelta(minutes=10 * n))
    scrolled_reader(reader, server, story)
    errors = console_errors(reader)
    # What the reader is looking at, and where it is on their screen.
    reading = reader.evaluate(
        "() => document.elementFromPoint(innerWidth / 2, innerHeight / 2).closest('article').id"
    )
    where = f"() => document.getElementById('{reading}').getBoundingClientRect().top"
    top = reader.evaluate(where)

    filed_late = make_update(
        story, body="<p>Filed late.</p>", published_at=start + dt.timedelta(minutes=55)
    )
    article = reader.locator(f"#update-{filed_late.pk}")
    expect(article).to_be_visible()
    expect(reader.locator("#new-updates")).to_be_hidden()
    expect(reader).to_have_title("Election night")
    # Inserted above them, yet what they read has not moved (scroll anchoring).
    assert abs(reader.evaluate(where) - top) <= 3, "the text moved under the reader"
    assert errors == []
    assert_not_reloaded(reader)


@pytest.mark.parametrize("order", ["newest", "oldest"])
def test_arrivals_and_removals_leave_the_console_quiet(server, reader, order):
    story = make_story(reading_order=order)
    gone = make_update(story, body="<p>To be withdrawn.</p>")
    errors = console_errors(reader)
    open_story(reader, server, story)
    # An update the page never had is retracted: its removal must not error either.
    unseen = make_update(story, published_at=timezone.now() + dt.timedelta(seconds=1))
    polls = Polls(reader)
    arrived = make_update(story, body="<p>Arrived.</p>")
    expect(reader.locator(f"#update-{arrived.pk}")).to_be_visible()
    retract(gone)
    retract(unseen)
    expect(reader.locator(f"#update-{gone.pk}")).to_have_count(0)
    polls.wait_for_answers(1)
    assert errors == []


def test_ending_and_resuming_coverage_change_the_badge_without_a_reload(server, reader, settings):
    settings.LIVE_ENDED_POLL_SECONDS = 1  # an ended page's slow poll, sped up for the test
    story = make_story()
    make_update(story)
    open_story(reader, server, story)
    badge = reader.locator("#story-badge")
    expect(badge).to_have_text("Live")

    end_coverage(story)
    expect(badge).to_have_text(re.compile(r"^Coverage ended \d{4} GMT$"))
    expect(reader.locator("#poller")).to_have_attribute("data-ended", "true")

    with committed():
        publishing.go_live(story.pk)
    expect(badge).to_have_text("Live")
    resumed = make_update(story, body="<p>We are back.</p>")
    expect(reader.locator(f"#update-{resumed.pk}")).to_be_visible()
    assert_not_reloaded(reader)


def test_an_update_scheduled_before_the_end_reaches_pages_open_after_it(server, reader):
    story = make_story()
    make_update(story)
    due = timezone.now() + dt.timedelta(seconds=2)
    scheduled = make_update(story, body="<p>Embargo lifts.</p>", published_at=due)
    open_story(reader, server, story)
    end_coverage(story)
    expect(reader.locator("#story-badge")).to_contain_text("Coverage ended")
    expect(reader.locator(f"#update-{scheduled.pk}")).to_be_visible()


def test_a_playing_video_keeps_playing_through_an_edit_of_its_update(server, reader):
    story = make_story()
    update = make_update(story, headline="Footage", body="<p>From the bridge.</p>")
    make_embed(
        update,
        kind=Embed.Kind.VIDEO,
        url="https://www.youtube.com/watch?v=dQw4w9WgXcQ",
        provider="YouTube",
        text="",
        author_name="",
        author_handle="",
    )
    update.refresh_from_db()
    open_story(reader, server, story)
    reader.locator(".video-play").click()
    frame = reader.locator(f"#update-{update.pk} iframe.video-frame")
    expect(frame).to_have_count(1)
    frame.evaluate("f => { f.__playing = true; }")

    edit(update, headline="Footage from the bridge")
    article = reader.locator(f"#update-{update.pk}")
    expect(article.locator(".update-headline")).to_have_text("Footage from the bridge")
    # The same frame, never detached: it would have reloaded back to its poster.
    assert frame.evaluate("f => f.__playing === true && f.isConnected")
    expect(article.locator(".video-play")).to_have_count(0)


def test_load_older_by_keyboard_moves_focus_to_the_first_older_update(server, reader):
    story = make_story()
    start = timezone.now() - dt.timedelta(days=1)
    updates = [make_update(story, published_at=start + dt.timedelta(minutes=n)) for n in range(55)]
    open_story(reader, server, story)
    link = reader.locator(".load-older")
    link.focus()
    reader.keyboard.press("Enter")
    # The page showed the newest 50 (updates[5:]); the next slice starts at updates[4].
    expect(reader.locator(f"#update-{updates[4].pk}")).to_be_focused()
    assert reader.evaluate("document.activeElement !== document.body")
