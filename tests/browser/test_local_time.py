"""Times in the reader's own zone (issue 10, item 5), in Chromium: GMT stays the
house style; a remembered toggle shows every stamp in the reader's zone, each
instant with its own offset (DST), and datelines by the reader's days."""

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser.support import open_story
from tests.factories import make_story, make_update

pytestmark = pytest.mark.browser

UTC = dt.UTC


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def stamp(page, update):
    return page.locator(f"#update-{update.pk} .update-stamp time")


@pytest.fixture
def new_york(new_context):
    return new_context(timezone_id="America/New_York", locale="en-US").new_page()


def test_stamps_stay_gmt_until_asked_then_show_the_readers_zone_with_each_dates_offset(
    server, new_york
):
    story = make_story(started_at=at("2026-07-01T09:00"))
    summer = make_update(story, published_at=at("2026-07-01T18:41"), key_event=True)
    winter = make_update(story, published_at=at("2026-11-24T19:41"))
    open_story(new_york, server, story)
    expect(stamp(new_york, summer)).to_have_text("UPDATE 1841 GMT")
    expect(stamp(new_york, winter)).to_have_text("UPDATE 1941 GMT")
    toggle = new_york.locator(".time-toggle")
    expect(toggle).to_have_text("Show times in my time zone")

    toggle.click()
    expect(stamp(new_york, summer)).to_have_text("UPDATE 1441 EDT")
    expect(stamp(new_york, winter)).to_have_text("UPDATE 1441 EST")
    expect(new_york.locator("#key-events time")).to_have_text("1441 EDT")
    # The machine-readable instant is untouched; the house time is a hover away.
    expect(stamp(new_york, summer)).to_have_attribute("datetime", "2026-07-01T18:41:00+00:00")
    expect(stamp(new_york, summer)).to_have_attribute("title", "1841 GMT")
    expect(toggle).to_have_text("Show times in GMT")
    expect(toggle).to_have_attribute("aria-pressed", "true")
    expect(new_york.locator("#times-note")).to_have_text(
        re.compile(r"^All times E[SD]T, your time zone \(America/New_York\)\.$")
    )

    toggle.click()
    expect(stamp(new_york, summer)).to_have_text("UPDATE 1841 GMT")
    expect(new_york.locator("#times-note")).to_have_text("All times GMT.")


def test_the_choice_is_remembered_across_pages_and_reloads(server, new_york):
    story = make_story(started_at=at("2026-11-24T09:00"))
    update = make_update(story, published_at=at("2026-11-24T19:41"))
    open_story(new_york, server, story)
    new_york.locator(".time-toggle").click()
    expect(stamp(new_york, update)).to_have_text("UPDATE 1441 EST")

    new_york.reload()
    expect(stamp(new_york, update)).to_have_text("UPDATE 1441 EST")
    new_york.goto(server + update.get_absolute_url())
    expect(new_york.locator(".update-stamp time")).to_have_text("UPDATE 1441 EST")

    new_york.locator(".time-toggle").click()
    new_york.reload()
    expect(new_york.locator(".update-stamp time")).to_have_text("UPDATE 1941 GMT")


def test_an_update_arriving_by_poll_shows_in_the_chosen_zone(server, new_york):
    story = make_story()
    open_story(new_york, server, story)
    new_york.locator(".time-toggle").click()
    published = timezone.now().replace(second=0, microsecond=0)
    update = make_update(story, published_at=published)
    local = published.astimezone(ZoneInfo("America/New_York"))
    expected = f"UPDATE {local:%H%M} {'EDT' if local.dst() else 'EST'}"
    expect(stamp(new_york, update)).to_have_text(expected)
    # "Last updated", replaced by every poll answer, too.
    expect(new_york.locator("#last-updated time")).to_have_text(re.compile(r"^\d{4} E[SD]T$"))


def test_datelines_follow_the_readers_days(server, new_context):
    tokyo = new_context(timezone_id="Asia/Tokyo", locale="en-GB").new_page()
    # 1000 GMT is 1900 in Tokyo, on the 24th in both.
    story = make_story(started_at=at("2026-11-24T10:00"))
    # The 24th at 2300 GMT, but the 25th at 0800 in Tokyo.
    late = make_update(story, published_at=at("2026-11-24T23:00"))
    # The 23rd at 2000 GMT, but the 24th at 0500 in Tokyo: the story's own day there.
    early = make_update(story, published_at=at("2026-11-23T20:00"))
    open_story(tokyo, server, story)
    late_line = tokyo.locator(f"#update-{late.pk} .update-date")
    early_line = tokyo.locator(f"#update-{early.pk} .update-date")
    expect(late_line).to_have_count(0)
    expect(early_line).to_have_text("Monday 23 November")

    tokyo.locator(".time-toggle").click()
    expect(stamp(tokyo, late)).to_have_text(re.compile(r"^UPDATE 0800 "))
    expect(late_line).to_have_text("Wednesday 25 November")
    expect(early_line).to_be_hidden()

    tokyo.locator(".time-toggle").click()
    expect(late_line).to_have_count(0)
    expect(early_line).to_have_text("Monday 23 November")
    expect(early_line).to_be_visible()


def test_the_storys_date_follows_the_readers_day(server, new_context):
    tokyo = new_context(timezone_id="Asia/Tokyo", locale="en-GB").new_page()
    # 2000 GMT on the 24th is 0500 on the 25th in Tokyo: there, the story is the 25th's.
    story = make_story(started_at=at("2026-11-24T20:00"))
    make_update(story, published_at=at("2026-11-24T21:00"))
    open_story(tokyo, server, story)
    date = tokyo.locator(".story-head time.story-date")
    expect(date).to_have_text("Tuesday 24 November 2026")
    tokyo.locator(".time-toggle").click()
    expect(date).to_have_text("Wednesday 25 November 2026")
    tokyo.locator(".time-toggle").click()
    expect(date).to_have_text("Tuesday 24 November 2026")


def test_a_british_english_browser_in_new_york_sees_est_not_an_offset(server, new_context):
    # en-GB has no name of its own for New York's zone ("GMT-5"): readers
    # expect "EST" (issue 19, item 7), on the stamps and on the "All times" line.
    reader = new_context(timezone_id="America/New_York", locale="en-GB").new_page()
    story = make_story(started_at=at("2026-11-24T09:00"))
    winter = make_update(story, published_at=at("2026-11-24T19:41"))
    summer = make_update(story, published_at=at("2026-07-01T18:41"))
    open_story(reader, server, story)
    reader.locator(".time-toggle").click()
    expect(stamp(reader, winter)).to_have_text("UPDATE 1441 EST")
    expect(stamp(reader, summer)).to_have_text("UPDATE 1441 EDT")
    expect(reader.locator("#times-note")).to_have_text(
        re.compile(r"^All times E[SD]T, your time zone \(America/New_York\)\.$")
    )


def test_a_zone_without_any_name_falls_back_to_its_offset(server, new_context):
    # No language names Kathmandu's zone: its offset is the honest label.
    reader = new_context(timezone_id="Asia/Kathmandu", locale="en-GB").new_page()
    story = make_story(started_at=at("2026-11-24T09:00"))
    update = make_update(story, published_at=at("2026-11-24T19:41"))
    open_story(reader, server, story)
    reader.locator(".time-toggle").click()
    expect(stamp(reader, update)).to_have_text("UPDATE 0126 GMT+5:45")
