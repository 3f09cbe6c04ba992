"""The reader's pages on the narrowest phone screens (320 px, WCAG's reflow width):
nothing, not a long headline, URL, handle or word, an embed card or a badge,
makes the page wider than the screen, so nobody scrolls sideways to read."""

import pytest
from playwright.sync_api import expect

from tests.browser.showcase import LONG_URL, LONG_WORD, READER_PAGES, make_showcase

pytestmark = pytest.mark.browser

NARROWEST = 320

# Elements reaching past the screen's right edge, for the failure message.
OVERFLOWING = """() => [...document.querySelectorAll("body *")]
    .filter(e => e.getBoundingClientRect().right > innerWidth + 1)
    .slice(0, 10)
    .map(e => `${e.tagName.toLowerCase()}.${[...e.classList].join(".")}`
        + ` (right edge at ${Math.round(e.getBoundingClientRect().right)} px)`)"""


def test_no_reader_page_is_wider_than_a_320_px_screen(server, new_context):
    showcase = make_showcase()
    page = new_context(viewport={"width": NARROWEST, "height": 800}).new_page()
    # The long things the check is about are on the story page.
    page.goto(server + showcase.story.get_absolute_url())
    expect(page.locator(f"a[href='{LONG_URL}']").first).to_be_visible()
    expect(page.get_by_text(LONG_WORD).first).to_be_visible()
    too_wide = {}
    for name, (path, shown) in READER_PAGES.items():
        page.goto(server + path(showcase))
        expect(page.locator(shown).first).to_be_visible()
        width, screen = page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
        if width > screen:
            too_wide[name] = (width, page.evaluate(OVERFLOWING))
    assert not too_wide, f"wider than {NARROWEST} px (page width, what reaches past): {too_wide}"
