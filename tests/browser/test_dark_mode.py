"""The reader's pages when the reader's system is dark (prefers-color-scheme):
the page and every box on it (key events, pinned, corrections, embed cards,
video posters, search highlights) dark with light text, and what keeps its own
colour (badges, provider marks, the new-updates button) still readable, on a
phone and a desktop. axe-core then finds nothing serious, the new-updates button
showing."""

import re

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from tests.browser.axe import axe_source, describe, failing, run_axe
from tests.browser.showcase import SEARCH_WORD, make_showcase
from tests.factories import make_update

pytestmark = pytest.mark.browser

# Boxes that are part of the page's surface: dark, under light text.
DARK_SURFACES = [
    "body",
    ".key-events",
    ".update.is-pinned",
    ".correction",
    ".social-post",
    ".link-card",
    ".video-card",
    ".video-poster",
    ".quote",
]
# What keeps a colour of its own: readable on it (WCAG AA, 4.5:1).
OWN_COLOURS = [
    ".badge-live",
    ".badge-pinned",
    ".badge-key",
    ".provider-mark[data-provider='x']",
    ".provider-mark[data-provider='bluesky']",
    ".provider-mark[data-provider='youtube']",
    ".provider-mark:not([data-provider='x'], [data-provider='bluesky'], [data-provider='youtube'],"
    " [data-provider='mastodon'])",
    ".update-stamp a",
    ".key-events-list time",
    ".link-title a",
    ".handle",
    ".link-host",
    ".video-play",
    ".share-link",
    "#new-updates",
]

# The first element matching a selector: its text colour and the colour behind
# it (its own background, else the nearest ancestor's that is not transparent).
COLOURS = """selector => {
    const element = document.querySelector(selector);
    if (!element) return null;
    let behind = element;
    while (behind && getComputedStyle(behind).backgroundColor.endsWith(", 0)")) {
        behind = behind.parentElement;
    }
    const background = behind ? getComputedStyle(behind).backgroundColor : "rgb(255, 255, 255)";
    return [getComputedStyle(element).color, background];
}"""


def luminance(css_colour: str) -> float:
    """WCAG's relative luminance of an rgb()/rgba() colour (its alpha ignored)."""
    red, green, blue = (int(n) / 255 for n in re.findall(r"[\d.]+", css_colour)[:3])
    linear = [
        c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in (red, green, blue)
    ]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(one: str, other: str) -> float:
    lighter, darker = sorted((luminance(one), luminance(other)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def colours(page: Page, selector: str) -> tuple[str, str]:
    found = page.evaluate(COLOURS, selector)
    assert found, f"nothing on the page matches {selector}"
    return tuple(found)


def unreadable(page: Page, where: str) -> list[str]:
    problems = []
    for selector in DARK_SURFACES:
        text, background = colours(page, selector)
        if luminance(background) > 0.05 or luminance(text) < 0.4:
            problems.append(f"{where} {selector}: {text} on {background}, not light on dark")
    for selector in OWN_COLOURS:
        text, background = colours(page, selector)
        if contrast(text, background) < 4.5:
            ratio = contrast(text, background)
            problems.append(f"{where} {selector}: {text} on {background}, {ratio:.1f}:1")
    # The player's place shows: the poster visibly lighter than its card
    # (#1d1d1d on #151515, 1.1:1, was a black hole; #2b2b2b is 1.3:1).
    poster, card = colours(page, ".video-poster")[1], colours(page, ".video-card")[1]
    if luminance(poster) <= luminance(card) or contrast(poster, card) < 1.2:
        problems.append(f"{where} a video poster ({poster}) hardly shows on its card ({card})")
    return problems


@pytest.mark.parametrize("width", [375, 1280])
def test_the_story_and_search_read_light_on_dark(server, new_context, width):
    axe_source()
    showcase = make_showcase()
    page = new_context(color_scheme="dark", viewport={"width": width, "height": 900}).new_page()
    page.goto(server + showcase.story.get_absolute_url())
    expect(page.locator(".embed-video").first).to_be_visible()
    # A reader far down the page when an update arrives: the new-updates button.
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    page.wait_for_function("() => window.scrollY > 1500")
    make_update(showcase.story, body="<p>The water is falling.</p>", published_at=timezone.now())
    expect(page.locator("#new-updates")).to_be_visible()

    problems = unreadable(page, f"story, {width} px:")
    violations = failing(run_axe(page))
    if violations:
        problems.append(f"axe on the story, {width} px:\n{describe(violations)}")

    page.goto(f"{server}/search/?q={SEARCH_WORD}")
    text, background = colours(page, ".snippet mark")
    if luminance(background) > 0.05 or contrast(text, background) < 4.5:
        problems.append(f"search, {width} px: a highlight is {text} on {background}")
    violations = failing(run_axe(page))
    if violations:
        problems.append(f"axe on search, {width} px:\n{describe(violations)}")
    assert not problems, "\n".join(problems)
