"""The posting desk in a real browser: Chromium, driven by Playwright, against the live server.

Editors and contributors work in their own browser contexts (separate logins);
a reader keeps the story open in another. Chromium is launched by
tests/browser/conftest.py.
"""

import re

import pytest
from playwright.sync_api import Page, expect

from coverage.models import Update
from tests.browser.support import (
    assert_no_csp_violations,
    assert_not_reloaded,
    body_editor,
    open_desk,
    open_story,
    write_update,
)
from tests.factories import make_contributor, make_editor, make_story, make_update

pytestmark = pytest.mark.browser


# Helpers -------------------------------------------------------------------


def row(page: Page, update) -> object:
    return page.locator(f"#desk-update-{update.pk}")


# Tests ---------------------------------------------------------------------


def test_an_editor_publishes_with_the_keyboard_and_an_open_reader_page_shows_it(
    server, new_context, logged_in
):
    story = make_story(title="Budget day")
    make_update(story, body="<p>The chancellor arrives.</p>")
    editor = make_editor()
    reader = new_context().new_page()
    open_story(reader, server, story)

    desk = logged_in(editor)
    open_desk(desk, server, story)
    # Two interactions: type (the body has the focus), Ctrl+Enter.
    desk.keyboard.type("The chancellor rises to speak.")
    desk.keyboard.press("Control+Enter")

    expect(desk.locator("#compose .desk-posted")).to_contain_text("Published: UPDATE")
    update = Update.objects.get(body__contains="rises to speak")
    expect(row(desk, update)).to_contain_text("The chancellor rises to speak.")
    expect(desk.locator("#desk-list-published > .desk-row").first).to_have_id(
        f"desk-update-{update.pk}"
    )
    # A fresh, empty compose box with the cursor in it: ready for the next one.
    body = body_editor(desk)
    expect(body).to_have_text("")
    expect(body).to_be_focused()
    expect(desk.locator("#compose textarea[name=body]")).to_have_value("")
    assert_not_reloaded(desk)

    article = reader.locator(f"#update-{update.pk}")
    expect(article).to_contain_text("The chancellor rises to speak.")
    expect(article.locator(".update-stamp")).to_have_text(f"UPDATE {update.stamp}")
    assert_not_reloaded(reader)
    assert_no_csp_violations(desk)
    assert Update.objects.filter(story=story).count() == 2


def test_bad_input_gets_an_error_in_place_and_keeps_the_text(server, logged_in, console_errors):
    # The refused post is this test's subject: the browser logs its 422.
    console_errors.allow(r"/compose/: Failed to load resource: .* 422", "the form is refused")
    story = make_story()
    desk = logged_in(make_editor())
    open_desk(desk, server, story)
    write_update(desk, "Words I do not want to type again.")
    desk.fill("#compose input[name=time]", "25:61")
    desk.keyboard.press("Control+Enter")

    expect(desk.locator("#compose .errorlist")).to_contain_text("not a time")
    expect(body_editor(desk)).to_have_text("Words I do not want to type again.")
    expect(desk.locator("#compose input[name=time]")).to_have_value("25:61")
    assert not Update.objects.exists()

    desk.fill("#compose input[name=time]", "")
    desk.keyboard.press("Control+Enter")
    expect(desk.locator("#compose .desk-posted")).to_be_visible()
    assert Update.objects.count() == 1
    assert_not_reloaded(desk)


def test_two_editors_editing_one_update_get_a_conflict_and_nothing_is_lost(
    server, logged_in, console_errors
):
    # The refused save is this test's subject: the browser logs its 409.
    console_errors.allow(r"/edit/: Failed to load resource: .* 409", "the stale save is refused")
    story = make_story()
    update = make_update(story, body="<p>The river peaked at 5.9 metres.</p>")
    alice = logged_in(make_editor("alice"))
    bob = logged_in(make_editor("bob"))
    for desk in (alice, bob):
        open_desk(desk, server, story)
        row(desk, update).get_by_role("link", name="Edit").click()
        body_editor(desk, f"#desk-update-{update.pk}")

    alice_body = write_update(alice, "The river peaked at 6.1 metres.", f"#desk-update-{update.pk}")
    alice_body.press("Control+Enter")
    expect(row(alice, update)).not_to_have_class(re.compile("is-editing"))
    expect(row(alice, update)).to_contain_text("6.1 metres")

    # Bob's desk hears of it but leaves his open form alone, and says so.
    expect(row(bob, update).locator(".desk-changed-elsewhere")).to_be_visible()
    write_update(bob, "The river peaked at 6 metres, the agency says.", f"#desk-update-{update.pk}")
    row(bob, update).get_by_role("button", name="Save changes").click()

    conflict = row(bob, update).locator(".desk-conflict")
    expect(conflict).to_contain_text("alice changed this update")
    expect(conflict).to_contain_text("6.1 metres")
    expect(body_editor(bob, f"#desk-update-{update.pk}")).to_have_text(
        "The river peaked at 6 metres, the agency says."
    )
    update.refresh_from_db()
    assert "6.1 metres" in update.body  # Alice's save stands

    # Bob, having seen Alice's version, saves his deliberately.
    row(bob, update).get_by_role("button", name="Save changes").click()
    expect(row(bob, update)).not_to_have_class(re.compile("is-editing"))
    expect(row(bob, update)).to_contain_text("the agency says")
    # And Alice's desk follows.
    expect(row(alice, update)).to_contain_text("the agency says")
    update.refresh_from_db()
    actors = [v.actor.username for v in update.versions.filter(action="edited").order_by("id")]
    assert actors == ["alice", "bob"]
    for desk in (alice, bob):
        assert_not_reloaded(desk)
        assert_no_csp_violations(desk)


def test_a_contributor_submits_an_editor_approves_and_the_reader_sees_it(
    server, new_context, logged_in
):
    story = make_story(title="Storm")
    make_update(story, body="<p>Winds pick up.</p>")
    reader = new_context().new_page()
    open_story(reader, server, story)
    editor_desk = logged_in(make_editor())
    open_desk(editor_desk, server, story)
    contributor_desk = logged_in(make_contributor())
    open_desk(contributor_desk, server, story)
    expect(contributor_desk.get_by_role("button", name="Publish", exact=True)).to_have_count(0)

    contributor_desk.keyboard.type("A tree is down on the ring road.")
    contributor_desk.keyboard.press("Control+Enter")
    expect(contributor_desk.locator("#compose .desk-posted")).to_have_text(
        "Submitted for approval."
    )
    update = Update.objects.get(body__contains="tree is down")
    assert update.status == Update.Status.SUBMITTED

    # It arrives on the editor's open desk, awaiting approval.
    waiting = editor_desk.locator(f"#desk-list-submitted #desk-update-{update.pk}")
    expect(waiting).to_contain_text("A tree is down on the ring road.")
    expect(reader.locator(f"#update-{update.pk}")).to_have_count(0)

    waiting.get_by_role("button", name="Publish").click()
    published = editor_desk.locator(f"#desk-list-published #desk-update-{update.pk}")
    expect(published).to_contain_text("A tree is down")
    expect(editor_desk.locator("#desk-list-submitted .desk-row")).to_have_count(0)

    expect(reader.locator(f"#update-{update.pk}")).to_contain_text("A tree is down")
    # The contributor's desk moves it too.
    expect(
        contributor_desk.locator(f"#desk-list-published #desk-update-{update.pk}")
    ).to_be_visible()
    for page in (reader, editor_desk, contributor_desk):
        assert_not_reloaded(page)


def test_the_desk_works_without_javascript(server, logged_in):
    story = make_story()
    desk = logged_in(make_editor(), java_script_enabled=False)
    desk.goto(f"{server}/admin/coverage/story/{story.pk}/desk/")
    desk.fill("#compose textarea[name=body]", "Posted by a plain form.")
    desk.get_by_role("button", name="Publish", exact=True).click()
    expect(desk.locator(".messagelist")).to_contain_text("Published: UPDATE")
    update = Update.objects.get()
    expect(row(desk, update)).to_contain_text("Posted by a plain form.")

    row(desk, update).get_by_role("button", name="Pin").click()
    expect(row(desk, update).get_by_role("button", name="Unpin")).to_be_visible()
    row(desk, update).get_by_role("link", name="Edit").click()
    desk.fill("textarea[name=body]", "Posted by a plain form, then edited.")
    desk.get_by_role("button", name="Save changes").click()
    expect(row(desk, update)).to_contain_text("then edited")
    update.refresh_from_db()
    assert update.pinned and "then edited" in update.body
