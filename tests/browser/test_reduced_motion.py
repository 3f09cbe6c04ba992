"""Readers who ask for less motion (prefers-reduced-motion: reduce) are taken to
the new updates at once, not by a smooth scroll up the page; others still get
the smooth one."""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser.support import open_story
from tests.factories import make_story, make_update

pytestmark = pytest.mark.browser

# Press the button and, in the same turn of the page's event loop (before any
# frame of a smooth scroll could be drawn), say where the updates' top now is.
PRESS_AND_MEASURE = """() => {
    document.getElementById("new-updates").click();
    return document.getElementById("updates").getBoundingClientRect().top;
}"""
AT_THE_UPDATES = (
    "() => Math.abs(document.getElementById('updates').getBoundingClientRect().top) < 3"
)


def reader_scrolled_past_a_new_update(server, new_context, reduced_motion):
    page = new_context(
        reduced_motion=reduced_motion, viewport={"width": 375, "height": 800}
    ).new_page()
    story = make_story(title="Election night")
    start = timezone.now() - dt.timedelta(hours=1)
    for n in range(12):
        body = f"<p>Count {n}. " + "Words the reader is reading. " * 40 + "</p>"
        make_update(story, body=body, published_at=start + dt.timedelta(minutes=n))
    open_story(page, server, story)
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    page.wait_for_function("() => window.scrollY > 1500")
    make_update(story, body="<p>Exit poll published.</p>", published_at=timezone.now())
    expect(page.locator("#new-updates")).to_have_text("1 new update")
    return page


def test_with_reduced_motion_the_new_updates_button_jumps_to_them_at_once(server, new_context):
    page = reader_scrolled_past_a_new_update(server, new_context, reduced_motion="reduce")
    top = page.evaluate(PRESS_AND_MEASURE)
    assert abs(top) <= 2, f"the updates' top is at {top} px, not yet at the top of the screen"
    assert page.evaluate("getComputedStyle(document.documentElement).scrollBehavior") == "auto"


def test_without_a_preference_the_new_updates_button_scrolls_smoothly(server, new_context):
    page = reader_scrolled_past_a_new_update(server, new_context, reduced_motion="no-preference")
    top = page.evaluate(PRESS_AND_MEASURE)
    assert top < -1500, "the page jumped: the scroll was not smooth"
    page.wait_for_function(AT_THE_UPDATES)
