"""The first screen of a story page (issue 19, point 6): a reader who opens a
live story with a lead image sees the newest update without scrolling, on a
phone (375 x 812) and a desktop (1280 x 800). Screenshots of each go to
test-artifacts/ for a person to look at."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from coverage.models import Story
from tests.browser.showcase import picture
from tests.factories import end_coverage, make_story, make_update

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
SCREENS = {"phone": (375, 812), "desktop": (1280, 800)}
# Of the first update, this much at least on the first screen: its stamp and
# the first line or two of its text.
VISIBLE_PX = 90


def demo_like_story() -> Story:
    """A day of coverage as seed_demo's: a headline of a dozen words, a standfirst
    of two paragraphs, the previous day's link, a lead image with its caption
    and credit, key events, and updates."""
    previous = make_story(
        slug="floods-day-one", title="Eastmouth floods: River Alder rises as heavy rain continues"
    )
    end_coverage(previous)
    story = make_story(
        slug="floods-day-two",
        title="Eastmouth floods: hundreds evacuated as River Alder hits record level",
        standfirst="Severe flood warning for the Quayside as rescuers lift residents from "
        "rooftops.\n\nAll times GMT.",
        previous=previous,
        lead_image=picture(1600, 900, name="lead.jpg"),
        lead_image_caption="The River Alder at Eastmouth Bridge.",
        lead_image_credit="Demo Newsroom",
        lead_image_alt="Brown water under the arches of a stone bridge.",
    )
    make_update(story, body="<p>Evacuation centre opens at the leisure centre.</p>", key_event=True)
    make_update(
        story,
        body="<p>The Environment Agency has issued a severe flood warning.</p>",
        key_event=True,
    )
    make_update(
        story,
        body="<p>Rescuers in boats are lifting residents from the rooftops of the Quayside; "
        "the fire service says it has taken 40 people to safety since noon.</p>",
    )
    return story


@pytest.mark.parametrize("screen", SCREENS)
def test_the_first_update_is_on_the_first_screen(server, new_context, screen):
    story = demo_like_story()
    width, height = SCREENS[screen]
    page = new_context(viewport={"width": width, "height": height}).new_page()
    page.goto(server + story.get_absolute_url())
    first = page.locator("#updates article.update").first
    expect(first).to_be_visible()
    expect(page.locator(".lead-image img")).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"first-screen-{width}.png")
    top = first.bounding_box()["y"]
    assert page.evaluate("scrollY") == 0
    assert top + VISIBLE_PX <= height, (
        f"the first update starts at {top:.0f} px on a {width} x {height} screen"
    )
    # The lead image keeps its caption and stays a picture, not a sliver.
    image = page.locator(".lead-image img").bounding_box()
    assert image["height"] >= 100
    expect(page.locator(".lead-image figcaption")).to_be_visible()
