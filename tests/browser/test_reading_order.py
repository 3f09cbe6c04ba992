"""A story read oldest first, in Chromium: new updates arrive at the bottom,
"N new updates" sits there, "Load newer updates" pages on, and a reader who has
not reached the newest slice gets no arrival out of place."""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from tests.browser.support import Polls, assert_not_reloaded, open_story
from tests.factories import edit, make_story, make_update, retract

pytestmark = pytest.mark.browser


def update_ids(page: Page) -> list[str]:
    return page.eval_on_selector_all("#updates > article.update", "els => els.map(e => e.id)")


def long_body(n: int) -> str:
    return f"<p>Paragraph of update {n}. " + "Words the reader is reading. " * 40 + "</p>"


def oldest_first_story(count: int, body=lambda n: f"<p>Number {n}</p>", **fields):
    story = make_story(reading_order="oldest", **fields)
    start = timezone.now() - dt.timedelta(hours=2)
    updates = [
        make_update(story, body=body(n), published_at=start + dt.timedelta(minutes=n))
        for n in range(count)
    ]
    return story, updates


def test_a_reader_at_the_end_sees_a_new_update_appended_at_the_bottom(server, reader):
    story, updates = oldest_first_story(3)
    open_story(reader, server, story)
    assert update_ids(reader) == [f"update-{u.pk}" for u in updates]

    arrived = make_update(story, body="<p>Full time.</p>")
    expect(reader.locator(f"#update-{arrived.pk}")).to_be_visible()
    assert update_ids(reader)[-1] == f"update-{arrived.pk}"
    expect(reader.locator("#new-updates")).to_be_hidden()
    expect(reader.locator("#live-announcer")).to_contain_text("New update")
    assert_not_reloaded(reader)


def test_a_reader_further_up_gets_the_new_updates_button_at_the_bottom(server, reader):
    story, _ = oldest_first_story(12, body=long_body, title="Cup final")
    open_story(reader, server, story)
    scroll_y = reader.evaluate("window.scrollY")

    arrived = make_update(story, body="<p>Goal!</p>")
    button = reader.locator("#new-updates")
    expect(button).to_have_text("1 new update")
    expect(button).to_be_in_viewport()
    expect(reader).to_have_title("(1) Cup final")
    expect(reader.locator("#live-announcer")).to_have_text("1 new update")
    article = reader.locator(f"#update-{arrived.pk}")
    expect(article).to_be_attached()
    expect(article).to_be_hidden()
    assert update_ids(reader)[-1] == f"update-{arrived.pk}"
    # Below the list, pinned to the bottom of the screen.
    box = button.bounding_box()
    assert box["y"] > reader.viewport_size["height"] / 2, box
    assert abs(reader.evaluate("window.scrollY") - scroll_y) <= 3, "the page jumped"

    button.click()
    expect(article).to_be_visible()
    expect(article).to_be_in_viewport()
    expect(reader).to_have_title("Cup final")
    expect(button).to_be_hidden()
    assert_not_reloaded(reader)


def test_reaching_the_end_shows_the_waiting_updates(server, reader):
    story, _ = oldest_first_story(12, body=long_body)
    open_story(reader, server, story)
    arrived = make_update(story, body="<p>Goal!</p>")
    expect(reader.locator("#new-updates")).to_have_text("1 new update")
    reader.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    expect(reader.locator(f"#update-{arrived.pk}")).to_be_visible()
    expect(reader.locator("#new-updates")).to_be_hidden()


def test_before_the_newest_slice_arrivals_wait_for_load_newer(server, reader):
    story, updates = oldest_first_story(55)
    open_story(reader, server, story)
    assert update_ids(reader) == [f"update-{u.pk}" for u in updates[:50]]
    polls = Polls(reader)

    # Newer than everything loaded: it belongs after the slices still to load.
    arrived = make_update(story, body="<p>Arrived meanwhile.</p>")
    # An edit and a retraction of updates on the page still apply.
    edited = edit(updates[10], body="<p>Number 10, corrected.</p>")
    retract(updates[20])
    expect(reader.locator(f"#update-{edited.pk}")).to_contain_text("corrected")
    expect(reader.locator(f"#update-{updates[20].pk}")).to_have_count(0)
    polls.wait_for_answers(1)
    expect(reader.locator(f"#update-{arrived.pk}")).to_have_count(0)
    expect(reader.locator("#new-updates")).to_be_hidden()

    reader.get_by_role("link", name="Load newer updates").click()
    expect(reader.locator("#updates > article.update")).to_have_count(55)
    expected = [u.pk for u in updates if u.pk != updates[20].pk] + [arrived.pk]
    assert update_ids(reader) == [f"update-{pk}" for pk in expected]
    expect(reader.locator(".load-newer")).to_have_count(0)

    # Now at the newest: the next one is appended live, once.
    latest = make_update(story, body="<p>The latest.</p>")
    expect(reader.locator(f"#update-{latest.pk}")).to_be_attached()
    polls.wait_for_answers(1)
    assert update_ids(reader)[-2:] == [f"update-{arrived.pk}", f"update-{latest.pk}"]
    assert len(set(update_ids(reader))) == len(update_ids(reader))
    assert_not_reloaded(reader)


def test_load_newer_by_keyboard_moves_focus_to_the_first_newer_update(server, reader):
    story, updates = oldest_first_story(53)
    open_story(reader, server, story)
    link = reader.get_by_role("link", name="Load newer updates")
    link.focus()
    reader.keyboard.press("Enter")
    expect(reader.locator(f"#update-{updates[50].pk}")).to_be_focused()


def test_a_pinned_update_stays_on_top_oldest_first(server, reader):
    story, updates = oldest_first_story(3)
    open_story(reader, server, story)
    pinned = edit(updates[1], pinned=True)
    expect(reader.locator(f"#update-{updates[1].pk}")).to_have_class("update is-pinned")
    expect(reader.locator("#updates > article.update").first).to_have_id(f"update-{updates[1].pk}")
    assert update_ids(reader) == [f"update-{u.pk}" for u in (updates[1], updates[0], updates[2])]
    edit(pinned, pinned=False)
    expect(reader.locator(f"#update-{updates[1].pk}")).to_have_class("update")
    assert update_ids(reader) == [f"update-{u.pk}" for u in updates]
