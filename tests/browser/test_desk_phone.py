"""The desk on a phone (issue 11): touch-sized controls, nothing wider than the
screen, writing first, and posting and ending coverage done by touch.

Phones are emulated with a touch screen (has_touch, so locator.tap() sends
touch events) and is_mobile (Chromium honours the page's viewport meta tag
as a phone does). The story holds an update in every state the desk shows,
cards and an image among them (tests/browser/showcase.py). Also, at a phone's
width and a desktop's: the stories list's desk link, and a row's Edit link and
text links (a button's look, underlines).
"""

import pytest
from playwright.sync_api import Page, expect

from coverage.models import Story, Update
from tests.browser.showcase import add_desk_states, make_showcase
from tests.browser.support import (
    assert_no_csp_violations,
    assert_not_reloaded,
    body_editor,
    open_desk,
)
from tests.factories import make_editor, make_story, make_update

pytestmark = pytest.mark.browser

PHONES = {"375x812": (375, 812), "320x700": (320, 700)}
TOUCH_TARGET = 44  # px, WCAG 2.5.5's (AAA) and the platforms' own minimum

# Every visible control in the desk, with its size. A checkbox counts with its
# label (a tap on either toggles it). Links inside an update's text are left
# out: WCAG exempts a link in a sentence, whose size the sentence sets.
CONTROL_SIZES = """() => {
  const controls = document.querySelectorAll(
    '.desk a[href], .desk button, .desk summary, .desk select, .desk textarea,'
    + ' .desk input:not([type=hidden]), .desk [contenteditable=true]');
  const sizes = [];
  for (const el of controls) {
    if (el.closest('.update-body')) continue;
    let box = el.getBoundingClientRect();
    if (!box.width || !box.height || getComputedStyle(el).visibility === 'hidden') continue;
    if (el.type === 'checkbox' && el.labels.length) {
      const label = el.labels[0].getBoundingClientRect();
      const left = Math.min(box.left, label.left), top = Math.min(box.top, label.top);
      box = {width: Math.max(box.right, label.right) - left,
             height: Math.max(box.bottom, label.bottom) - top};
    }
    const name = (el.textContent || el.name || el.getAttribute('aria-label') || '').trim();
    const what = `${el.tagName.toLowerCase()}.${[...el.classList].join('.')}`;
    sizes.push({what: `${what} "${name.slice(0, 30)}"`,
                width: Math.round(box.width), height: Math.round(box.height)});
  }
  return sizes;
}"""

# What reaches past the screen's right edge, for the failure message.
OVERFLOWING = """() => [...document.querySelectorAll("body *")]
    .filter(e => e.getBoundingClientRect().right > innerWidth + 1)
    .slice(0, 10)
    .map(e => `${e.tagName.toLowerCase()}.${[...e.classList].join(".")}`
        + ` (right edge at ${Math.round(e.getBoundingClientRect().right)} px)`)"""


def phone(logged_in, user, size: tuple[int, int]) -> Page:
    width, height = size
    return logged_in(
        user, viewport={"width": width, "height": height}, has_touch=True, is_mobile=True
    )


def is_desk_poll(response) -> bool:
    return "/desk/poll/" in response.url


def assert_fits_the_screen(page: Page, where: str) -> None:
    width, screen = page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
    assert width <= screen, f"{where}: {width} px wide on a {screen} px screen: " + ", ".join(
        page.evaluate(OVERFLOWING)
    )


def small_controls(page: Page) -> list[str]:
    return [
        f"{c['what']} {c['width']}x{c['height']}"
        for c in page.evaluate(CONTROL_SIZES)
        if c["width"] < TOUCH_TARGET or c["height"] < TOUCH_TARGET
    ]


def open_everything(page: Page) -> None:
    """Open what the desk folds away: the story actions menu, End coverage's
    confirmation and the compose box's embed and image fields."""
    page.locator("#desk-menu > summary").tap()
    page.locator("#desk-end > summary").tap()
    expect(page.locator(".desk-end-confirm")).to_be_visible()
    page.locator("#compose .desk-extras > summary").tap()
    expect(page.locator("#compose input[type=file]")).to_be_visible()


@pytest.mark.parametrize("size", PHONES.values(), ids=PHONES.keys())
def test_the_desk_fits_a_phone_and_every_control_is_finger_sized(server, logged_in, size):
    showcase = make_showcase()
    states = add_desk_states(showcase.story)
    desk = phone(logged_in, make_editor(), size)
    open_desk(desk, server, showcase.story)
    for update in [*showcase.updates.values(), *states.values()]:
        expect(desk.locator(f"#desk-update-{update.pk}")).to_be_attached()
    # The image card's picture is there and loaded (its width is the one that counts).
    image = desk.locator(f"#desk-update-{showcase.updates['image'].pk} img").first
    image.scroll_into_view_if_needed()  # it loads lazily
    loaded = "img => img.complete && img.naturalWidth > 0"
    desk.wait_for_function(loaded, arg=image.element_handle())
    desk.evaluate("scrollTo(0, 0)")

    assert_fits_the_screen(desk, "the desk")
    assert not small_controls(desk), f"smaller than {TOUCH_TARGET} px: {small_controls(desk)}"

    open_everything(desk)
    assert_fits_the_screen(desk, "the desk with its menus open")
    small = small_controls(desk)
    assert not small, f"smaller than {TOUCH_TARGET} px, menus open: {small}"


def test_on_a_phone_the_compose_box_comes_before_the_updates_and_the_story_actions(
    server, logged_in
):
    story = make_story()
    make_update(story, body="<p>The first update.</p>")
    desk = phone(logged_in, make_editor(), PHONES["375x812"])
    open_desk(desk, server, story)

    compose = desk.locator("#compose")
    later = {
        "the story actions": desk.locator("#desk-menu"),
        "the update list": desk.locator("#desk-list-published"),
        "the first update": desk.locator("#desk-list-published > .desk-row").first,
    }
    compose_box = compose.bounding_box()
    for name, locator in later.items():
        # In the document (reading and focus order) ...
        follows = compose.evaluate(
            "(compose, other) => Boolean(compose.compareDocumentPosition(other)"
            " & Node.DOCUMENT_POSITION_FOLLOWING)",
            locator.element_handle(),
        )
        assert follows, f"{name} comes before the compose box in the document"
        # ... and on the screen.
        assert locator.bounding_box()["y"] >= compose_box["y"] + compose_box["height"], (
            f"{name} is shown above the compose box's end"
        )
    # Writing starts on the first screen.
    assert compose_box["y"] < PHONES["375x812"][1] / 2, compose_box


def test_an_update_posted_by_touch_is_published_once(server, logged_in):
    story = make_story()
    desk = phone(logged_in, make_editor(), PHONES["375x812"])
    open_desk(desk, server, story)

    body_editor(desk).tap()
    desk.keyboard.type("Posted from a phone.")
    desk.locator("#compose .desk-publish").tap()

    expect(desk.locator("#compose .desk-posted")).to_contain_text("Published: UPDATE")
    rows = desk.locator("#desk-list-published > .desk-row")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Posted from a phone.")
    # A tap is touch events and a click: still one post. Two polls answered
    # later (time for a second post to land and show), there is still one.
    for _ in range(2):
        with desk.expect_response(is_desk_poll):
            pass
    expect(rows).to_have_count(1)
    assert Update.objects.filter(story=story).count() == 1
    assert Update.objects.get().status == Update.Status.PUBLISHED
    assert_not_reloaded(desk)
    assert_no_csp_violations(desk)


def test_coverage_is_ended_by_touch_after_a_confirmation(server, logged_in):
    story = make_story(title="Storm")
    make_update(story)
    desk = phone(logged_in, make_editor(), PHONES["375x812"])
    open_desk(desk, server, story)

    desk.locator("#desk-menu > summary").tap()
    end = desk.locator("#desk-end > summary")
    expect(end).to_be_visible()
    end.tap()
    # The second step says what ending does, and nothing has ended yet.
    confirm = desk.get_by_role("button", name="Yes, end coverage")
    expect(confirm).to_be_visible()
    expect(desk.locator("#desk-end")).to_contain_text("their pages then check for changes every")
    story.refresh_from_db()
    assert story.status == Story.Status.LIVE

    confirm.tap()
    expect(desk.locator(".messagelist")).to_contain_text("Coverage ended")
    expect(desk.locator("#desk-story-status")).to_contain_text("Coverage ended")
    story.refresh_from_db()
    assert story.status == Story.Status.ENDED


# The desk link's box and its text's lines, and whether the box is what is
# drawn at its corners (not hidden under a neighbour or cut off by a scroller).
DESK_LINK_GEOMETRY = """(link) => {
  const box = link.getBoundingClientRect();
  const range = document.createRange();
  range.selectNodeContents(link);
  const lines = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
  const inset = 3;
  const corners = [[box.left + inset, box.top + inset], [box.right - inset, box.top + inset],
                   [box.left + inset, box.bottom - inset], [box.right - inset, box.bottom - inset]];
  return {
    left: box.left, right: box.right, top: box.top, bottom: box.bottom,
    screenWidth: innerWidth, screenHeight: innerHeight,
    lines: lines.size,
    textHeight: range.getBoundingClientRect().height,
    lineHeight: parseFloat(getComputedStyle(link).fontSize) * 1.6,
    drawn: corners.every(([x, y]) => link.contains(document.elementFromPoint(x, y))),
  };
}"""


@pytest.mark.parametrize("width", [320, 375, 1280])
def test_the_stories_lists_desk_link_is_whole_and_on_one_line(server, logged_in, width):
    # A long title, the case that squeezed the link's column.
    make_story(
        title="Eastmouth floods: the River Alder reaches its highest level since records began"
    )
    page = logged_in(
        make_editor(),
        viewport={"width": width, "height": 800},
        has_touch=width < 768,
        is_mobile=width < 768,
    )
    page.goto(server + "/admin/coverage/story/")
    link = page.get_by_role("link", name="Open the desk")
    expect(link).to_be_visible()
    geometry = link.evaluate(DESK_LINK_GEOMETRY)
    assert geometry["left"] >= 0 and geometry["right"] <= geometry["screenWidth"], geometry
    assert geometry["top"] >= 0 and geometry["bottom"] <= geometry["screenHeight"], geometry
    assert geometry["drawn"], f"something covers or clips the link: {geometry}"
    assert geometry["lines"] == 1, f"the link's words wrap: {geometry}"
    assert geometry["textHeight"] <= geometry["lineHeight"], geometry
    if width < 768:
        assert geometry["bottom"] - geometry["top"] >= TOUCH_TARGET, geometry
    # It looks like the button it is, not like the title's link beside it.
    assert link.evaluate("a => getComputedStyle(a).textDecorationLine") == "none"


# How a row's controls are drawn: its Edit link beside its action buttons, and
# its text links.
ROW_LOOK = """row => {
  const look = el => {
    const s = getComputedStyle(el);
    return {height: Math.round(el.getBoundingClientRect().height), padding: s.padding,
            fontSize: s.fontSize, background: s.backgroundColor, color: s.color,
            underline: s.textDecorationLine, radius: s.borderRadius};
  };
  return {
    edit: look(row.querySelector('.desk-edit-link')),
    button: look(row.querySelector('.desk-action-pin')),
    links: [...row.querySelectorAll('a:not(.button)')]
      .map(a => [a.textContent.trim(), look(a).underline]),
  };
}"""


@pytest.mark.parametrize("width", [375, 1280])
def test_a_rows_edit_link_looks_like_its_buttons_and_its_text_links_are_underlined(
    server, logged_in, width
):
    story = make_story()
    update = make_update(story, body="<p>A row.</p>")
    desk = logged_in(make_editor(), viewport={"width": width, "height": 800})
    open_desk(desk, server, story)
    look = desk.locator(f"#desk-update-{update.pk}").evaluate(ROW_LOOK)
    # Edit is a link (it works without JavaScript) but one of the row's buttons.
    assert look["edit"] == look["button"], look
    assert look["edit"]["underline"] == "none"
    # The history, share and stamp links are told from text by more than colour.
    assert {text for text, _ in look["links"]} >= {f"Version {update.version} · history"}
    not_underlined = [text for text, underline in look["links"] if underline != "underline"]
    assert not not_underlined, f"links without an underline: {not_underlined}"
    if width < 768:
        assert look["edit"]["height"] >= TOUCH_TARGET


def test_on_a_phone_the_extras_still_show_that_they_open(server, logged_in):
    # Made a flex box to be finger-sized, the summary loses its disclosure
    # triangle; the desk draws one, pointing down once open.
    story = make_story()
    desk = phone(logged_in, make_editor(), PHONES["375x812"])
    open_desk(desk, server, story)
    summary = desk.locator("#compose .desk-extras > summary")
    marker = "el => getComputedStyle(el, '::before').content"
    assert summary.evaluate(marker) == '"▸"'
    summary.tap()
    expect(desk.locator("#compose .desk-extras")).to_have_attribute("open", "")
    assert summary.evaluate(marker) == '"▾"'


@pytest.mark.parametrize("size", list(PHONES))
def test_on_a_phone_the_compose_box_and_publish_are_on_the_first_screen(server, logged_in, size):
    """Issue 19, point 5: no scrolling to start writing or to publish."""
    showcase = make_showcase()  # a story that follows another, with every kind of update
    add_desk_states(showcase.story)
    desk = phone(logged_in, make_editor(), PHONES[size])
    open_desk(desk, server, showcase.story)
    width, height = PHONES[size]
    assert desk.evaluate("scrollY") == 0
    for name, locator in {
        "the compose box": body_editor(desk),
        "Publish": desk.locator("#compose .desk-publish"),
    }.items():
        box = locator.bounding_box()
        assert box["y"] >= 0 and box["y"] + box["height"] <= height, (
            f"{name} is not on the first screen of {size}: {box}"
        )
    assert_fits_the_screen(desk, size)
