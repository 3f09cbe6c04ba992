"""Key events (box and filter) and bylines with "Last updated", in Chromium
(issue 10, items 2 and 4): what a reader sees, kept current without a reload."""

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from coverage import publishing
from coverage.models import Byline
from tests.browser.support import assert_not_reloaded, open_story
from tests.factories import committed, make_story, make_update, make_user

pytestmark = pytest.mark.browser


def long_body(n: int) -> str:
    return f"<p>Paragraph of update {n}. " + "Words the reader is reading. " * 40 + "</p>"


@pytest.mark.parametrize(("width", "starts_open"), [(375, False), (1280, True)])
def test_the_key_events_box_is_closed_on_phones_open_on_wide_screens(
    server, new_context, width, starts_open
):
    reader = new_context(viewport={"width": width, "height": 800}).new_page()
    story = make_story()
    make_update(story, key_event=True, headline="Bridge shut")
    open_story(reader, server, story)
    box = reader.locator("#key-events")
    expect(box).to_be_visible()
    assert box.evaluate("d => d.open") is starts_open
    box.locator("summary").click()
    assert box.evaluate("d => d.open") is not starts_open


def test_a_key_event_link_jumps_to_its_update(server, reader):
    story = make_story()
    start = timezone.now() - dt.timedelta(hours=2)
    key = make_update(story, key_event=True, headline="Bridge shut", published_at=start)
    for n in range(8):
        make_update(story, body=long_body(n), published_at=start + dt.timedelta(minutes=n + 1))
    open_story(reader, server, story)
    target = reader.locator(f"#update-{key.pk}")
    expect(target).not_to_be_in_viewport()
    reader.locator("#key-events a", has_text="Bridge shut").click()
    expect(reader).to_have_url(re.compile(rf"#update-{key.pk}$"))
    expect(target).to_be_in_viewport()
    assert_not_reloaded(reader)


def test_key_events_only_toggles_without_a_reload_and_the_poll_keeps_both_current(server, reader):
    story = make_story()
    key = make_update(story, key_event=True, headline="Evacuation ordered")
    other = make_update(story, headline="Routine")
    open_story(reader, server, story)
    toggle = reader.locator("#key-events-toggle")
    toggle.click()
    expect(reader.locator(f"#update-{other.pk}")).to_be_hidden()
    expect(reader.locator(f"#update-{key.pk}")).to_be_visible()
    expect(toggle).to_have_attribute("aria-pressed", "true")

    # Marked a key event on the desk: it joins the box and shows through the filter.
    with committed():
        publishing.set_key_event(other.pk, True)
    expect(reader.locator("#key-events a", has_text="Routine")).to_be_visible()
    expect(reader.locator(f"#update-{other.pk}")).to_be_visible()
    # A new update of another kind arrives hidden; a new key event arrives listed.
    plain = make_update(story, headline="Weather")
    expect(reader.locator(f"#update-{plain.pk}")).to_have_count(1)
    expect(reader.locator(f"#update-{plain.pk}")).to_be_hidden()
    fresh = make_update(story, key_event=True, headline="Dam holds")
    expect(reader.locator("#key-events li").first).to_contain_text("Dam holds")
    expect(reader.locator(f"#update-{fresh.pk}")).to_be_visible()
    expect(reader.locator("#key-events summary")).to_have_text("Key events (3)")
    # The reader closed the box: polls replace its contents, not their choice.
    reader.locator("#key-events summary").click()
    make_update(story, key_event=True, headline="Roads reopen")
    expect(reader.locator("#key-events summary")).to_have_text("Key events (4)")
    assert reader.locator("#key-events").evaluate("d => d.open") is False

    toggle.click()
    expect(reader.locator(f"#update-{plain.pk}")).to_be_visible()
    expect(toggle).to_have_text("Key events only")
    assert_not_reloaded(reader)


def test_the_filtered_page_works_without_javascript(server, new_context):
    reader = new_context(java_script_enabled=False).new_page()
    story = make_story()
    key = make_update(story, key_event=True, headline="Evacuation ordered")
    other = make_update(story, headline="Routine")
    reader.goto(server + story.get_absolute_url())
    reader.get_by_role("link", name="Key events only").click()
    expect(reader).to_have_url(re.compile(r"\?key_events=1$"))
    expect(reader.locator(f"#update-{key.pk}")).to_be_visible()
    expect(reader.locator(f"#update-{other.pk}")).to_have_count(0)
    reader.get_by_role("link", name="Show all updates").click()
    expect(reader.locator(f"#update-{other.pk}")).to_be_visible()


def test_bylines_and_last_updated_arrive_with_a_poll(server, reader):
    story = make_story()
    jane = make_user("jdoe")
    Byline.objects.create(user=jane, display_name="Jane Doe")
    first = make_update(
        story, actor=jane, published_at=dt.datetime(2026, 11, 25, 9, 5, tzinfo=dt.UTC)
    )
    open_story(reader, server, story)
    expect(reader.locator(f"#update-{first.pk} .byline")).to_have_text("By Jane Doe")
    last_updated = reader.locator("#last-updated")
    expect(last_updated).to_have_text("Last updated 0905 GMT")

    arrived = make_update(story, actor=jane, body="<p>Later.</p>", published_at=timezone.now())
    expect(reader.locator(f"#update-{arrived.pk} .byline")).to_have_text("By Jane Doe")
    expect(last_updated).to_have_text(f"Last updated {arrived.stamp}")
    assert_not_reloaded(reader)
