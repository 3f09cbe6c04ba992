"""The desk by keyboard alone (issue 11), at 1280x800: the shortcuts (? / n m Esc,
listed in templates/admin/coverage/desk/_shortcuts.html, run by static/js/desk.js),
ending coverage with Tab, Enter and Space, a visible focus, and "Load older
updates" without a mouse or a reload.

Nothing here clicks: controls are reached with Tab (so the browser's
:focus-visible applies, as it does for a keyboard user) and used with keys.
"""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import Locator, Page, expect

from coverage.desk import rows
from coverage.models import Story, Update
from tests.browser.support import (
    assert_no_csp_violations,
    assert_not_reloaded,
    body_editor,
    open_desk,
)
from tests.factories import make_editor, make_story, make_update

pytestmark = pytest.mark.browser

# More than any page of the desk has controls before the ones tested here.
MAX_TABS = 150


def is_focused(locator: Locator) -> bool:
    return locator.evaluate("el => el === document.activeElement")


def tab_to(page: Page, locator: Locator) -> None:
    """Press Tab until the locator's element has the focus, as a keyboard user would."""
    for _ in range(MAX_TABS):
        if is_focused(locator):
            return
        page.keyboard.press("Tab")
    pytest.fail(f"{MAX_TABS} presses of Tab never reached {locator}")


def leave_the_compose_box(page: Page) -> Locator:
    """Tab out of the compose box to the story actions menu's button (the next
    control after it): a place where letters are shortcuts, not text."""
    summary = page.locator("#desk-menu > summary")
    tab_to(page, summary)
    return summary


def shortcuts_dialog(page: Page) -> Locator:
    return page.locator("#desk-shortcuts")


@pytest.fixture
def desk(server, logged_in):
    """An editor's desk, at 1280x800, on a live story with one update."""
    story = make_story(title="Budget day")
    make_update(story, body="<p>The chancellor arrives.</p>")
    page = logged_in(make_editor(), viewport={"width": 1280, "height": 800})
    open_desk(page, server, story)
    page.story = story
    return page


# The shortcuts -------------------------------------------------------------------


def test_question_mark_opens_the_shortcuts_and_escape_closes_them_returning_focus(desk):
    summary = leave_the_compose_box(desk)
    desk.keyboard.press("?")
    dialog = shortcuts_dialog(desk)
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Open or close the Story actions menu")
    # A modal dialog: the focus is in it, not behind it.
    assert dialog.evaluate("d => d.contains(document.activeElement)")

    desk.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(summary).to_be_focused()
    # Esc closed the dialog only: the menu behind it stayed as it was.
    expect(desk.locator("#desk-menu")).not_to_have_attribute("open", "")
    assert_no_csp_violations(desk)


def test_a_question_mark_typed_in_the_compose_box_is_text_not_a_shortcut(desk):
    body = body_editor(desk)
    expect(body).to_be_focused()  # the desk opens with the cursor in it
    desk.keyboard.type("Is the budget late? No/never, says the minister.")
    expect(body).to_have_text("Is the budget late? No/never, says the minister.")
    expect(shortcuts_dialog(desk)).to_be_hidden()
    expect(desk.locator("#desk-menu")).not_to_have_attribute("open", "")
    expect(body).to_be_focused()


@pytest.mark.parametrize("key", ["n", "/"])
def test_n_and_slash_put_the_cursor_in_the_compose_box(desk, key):
    body = body_editor(desk)
    leave_the_compose_box(desk)
    expect(body).not_to_be_focused()
    desk.keyboard.press(key)
    expect(body).to_be_focused()
    # The key moved the cursor; it typed nothing.
    expect(body).to_have_text("")


def test_m_opens_and_closes_the_story_actions_menu(desk):
    # From anywhere but a field: here, the first update's Edit link.
    edit = desk.locator(".desk-row .desk-edit-link").first
    tab_to(desk, edit)
    menu = desk.locator("#desk-menu")
    desk.keyboard.press("m")
    expect(menu).to_have_attribute("open", "")
    expect(desk.locator("#desk-menu > summary")).to_be_focused()
    expect(menu.get_by_role("link", name="Story settings")).to_be_visible()
    desk.keyboard.press("m")
    expect(menu).not_to_have_attribute("open", "")
    # And Esc closes it too, the focus staying on its button.
    desk.keyboard.press("m")
    expect(menu).to_have_attribute("open", "")
    desk.keyboard.press("Escape")
    expect(menu).not_to_have_attribute("open", "")
    expect(desk.locator("#desk-menu > summary")).to_be_focused()


# Ending coverage -----------------------------------------------------------------


def test_coverage_is_ended_with_the_keyboard_alone_through_its_confirmation(desk):
    story = desk.story
    leave_the_compose_box(desk)
    desk.keyboard.press("Enter")  # a <summary> opens its <details> with Enter ...
    expect(desk.locator("#desk-menu")).to_have_attribute("open", "")
    end = desk.locator("#desk-end > summary")
    tab_to(desk, end)
    desk.keyboard.press("Space")  # ... and with Space
    confirm = desk.get_by_role("button", name="Yes, end coverage")
    expect(confirm).to_be_visible()
    expect(desk.locator("#desk-end")).to_contain_text("their pages then check for changes every")

    # A colleague posts meanwhile: the poll brings the new row and a fresh
    # menu, and the keyboard's place in the menu is kept, not thrown back to
    # the top of the page.
    colleagues = make_update(story, body="<p>A colleague's update.</p>")
    expect(desk.locator(f"#desk-update-{colleagues.pk}")).to_be_visible()
    expect(end).to_be_focused()
    expect(confirm).to_be_visible()
    story.refresh_from_db()
    assert story.status == Story.Status.LIVE

    tab_to(desk, confirm)
    desk.keyboard.press("Enter")
    expect(desk.locator(".messagelist")).to_contain_text("Coverage ended")
    expect(desk.locator("#desk-story-status")).to_contain_text("Coverage ended")
    story.refresh_from_db()
    assert story.status == Story.Status.ENDED


# Visible focus -------------------------------------------------------------------

# How the focused element is drawn: an outline, or a ring made of box-shadow.
FOCUS_STYLE = """el => {
  const s = getComputedStyle(el);
  return {focusVisible: el.matches(':focus-visible'), outlineStyle: s.outlineStyle,
          outlineWidth: parseFloat(s.outlineWidth), boxShadow: s.boxShadow};
}"""


def assert_focus_drawn(locator: Locator, what: str) -> None:
    style = locator.evaluate(FOCUS_STYLE)
    assert style["focusVisible"], f"{what}: keyboard focus but not :focus-visible ({style})"
    outlined = style["outlineStyle"] != "none" and style["outlineWidth"] > 0
    assert outlined or style["boxShadow"] != "none", f"{what}: focus not drawn ({style})"


def test_keyboard_focus_is_outlined_on_buttons_links_and_the_menu(desk):
    publish = desk.locator("#compose .desk-publish")
    tab_to(desk, publish)
    assert_focus_drawn(publish, "the Publish button")
    summary = desk.locator("#desk-menu > summary")
    tab_to(desk, summary)
    assert_focus_drawn(summary, "the Story actions button")
    desk.keyboard.press("Enter")
    settings = desk.get_by_role("link", name="Story settings")
    tab_to(desk, settings)
    assert_focus_drawn(settings, "a link in the menu")
    desk.keyboard.press("Escape")
    history = desk.locator(".desk-row .desk-history").first
    tab_to(desk, history)
    assert_focus_drawn(history, "a row's history link")
    edit = desk.locator(".desk-row .desk-edit-link").first
    tab_to(desk, edit)
    assert_focus_drawn(edit, "a row's Edit link")


# Load older updates --------------------------------------------------------------


ROW_IDS = "() => [...document.querySelectorAll('.desk-list > .desk-row')].map(r => r.id)"


def test_load_older_by_keyboard_adds_the_next_rows_once_and_focuses_the_first(
    server, logged_in, monkeypatch
):
    # The server runs in this process (pytest-django's live server, a thread),
    # so a smaller page applies to the desk it serves.
    monkeypatch.setattr(rows, "PAGE_SIZE", 3)
    story = make_story()
    now = timezone.now()
    updates = [
        make_update(
            story, body=f"<p>Update number {n}.</p>", published_at=now - dt.timedelta(minutes=n)
        )
        for n in range(1, 8)
    ]  # newest first: updates[0] is the latest
    page = logged_in(make_editor(), viewport={"width": 1280, "height": 800})
    open_desk(page, server, story)
    published = page.locator("#desk-list-published > .desk-row")
    expect(published).to_have_count(3)

    older = page.locator(".desk-load-older")
    tab_to(page, older)
    page.keyboard.press("Enter")
    expect(published).to_have_count(6)
    ids = page.evaluate(ROW_IDS)
    assert len(ids) == len(set(ids)), f"a row is listed twice: {ids}"
    assert ids == [f"desk-update-{u.pk}" for u in updates[:6]]
    # The focus is on the first row it brought, where reading continues.
    first_new = page.locator(f"#desk-update-{updates[3].pk}")
    expect(first_new).to_be_focused()
    assert first_new.evaluate("el => el.matches(':focus-visible')")

    # The next press of Tab goes on from there, to the last slice's link.
    tab_to(page, older)
    page.keyboard.press("Enter")
    expect(published).to_have_count(7)
    expect(page.locator(f"#desk-update-{updates[6].pk}")).to_be_focused()
    expect(older).to_have_count(0)
    ids = page.evaluate(ROW_IDS)
    assert len(ids) == len(set(ids)) == 7
    assert_not_reloaded(page)
    assert_no_csp_violations(page)
    assert Update.objects.filter(story=story).count() == 7
