"""Colleagues on the desk, in a real browser: two editors in browser contexts of
their own see each other in the presence panel the desk's poll refreshes, and
which update the other is editing, on a desktop and on a phone; axe finds
nothing serious with the panel showing."""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from tests.browser.axe import axe_source, describe, failing, run_axe
from tests.browser.support import (
    FEW_POLLS_MS,
    assert_no_csp_violations,
    assert_not_reloaded,
    body_editor,
    open_desk,
)
from tests.factories import make_editor, make_story, make_update

pytestmark = pytest.mark.browser


def watch_console_errors(page: Page) -> list[str]:
    errors = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    return errors


@pytest.mark.parametrize("width", [1280, 375])
def test_two_editors_see_each_other_and_what_each_is_editing(server, logged_in, settings, width):
    axe_source()
    # A few of the tests' one-second polls: a closed desk lapses within the test.
    settings.DESK_PRESENCE_SECONDS = 3
    story = make_story(title="Floods")
    update = make_update(story, published_at=timezone.now() - dt.timedelta(hours=1))
    label = update.stamp.removesuffix(" GMT")
    viewport = {"width": width, "height": 900}
    ana = logged_in(make_editor("ana"), viewport=viewport)
    ben = logged_in(make_editor("ben"), viewport=viewport)
    ben_errors, ana_errors = watch_console_errors(ben), watch_console_errors(ana)

    open_desk(ben, server, story)
    panel = ben.locator("#desk-presence")
    expect(panel).to_contain_text("No one else has it open.")
    open_desk(ana, server, story)
    expect(panel).to_contain_text("ana has it open")
    expect(ana.locator("#desk-presence")).to_contain_text("ben has it open")
    expect(panel).not_to_contain_text("ben")  # never yourself

    ana.locator(f"#desk-update-{update.pk}").get_by_role("link", name="Edit").click()
    body_editor(ana, f"#desk-update-{update.pk}")
    expect(panel).to_contain_text(f"ana is editing {label}")
    # Still editing after several of her polls: they report her open form.
    for _ in range(3):
        with ana.expect_response(lambda r: "/desk/poll/" in r.url and "editing=" in r.url):
            pass
    expect(panel).to_contain_text(f"ana is editing {label}")
    # The label leads to the update's row.
    link = panel.get_by_role("link", name=label)
    expect(link).to_have_attribute("href", f"#desk-update-{update.pk}")
    if width < 600:
        assert link.bounding_box()["height"] >= 44  # a touch target on a phone

    violations = failing(run_axe(ben))
    assert not violations, describe(violations)

    ana.locator(f"#desk-update-{update.pk}").get_by_role("link", name="Cancel").click()
    expect(panel).to_contain_text("ana has it open")

    # Ana closes her desk: she lapses from Ben's panel, with no goodbye needed.
    ana.context.close()
    expect(panel).to_contain_text("No one else has it open.", timeout=3 * FEW_POLLS_MS)

    assert_not_reloaded(ben)
    assert_no_csp_violations(ben)
    # Not even htmx's complaint about the poller's hx-include matching nothing
    # (the desk has other, older complaints of its own).
    assert [e for e in ben_errors + ana_errors if "hx-include" in e or "presence" in e] == []
