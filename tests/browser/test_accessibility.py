"""axe-core (tests/browser/axe.py) on every page a reader or an editor works in,
light and dark, on a phone and a desktop: no serious or critical violation.

Each page is checked as it is used: the story with an update of every kind and
card, the home page with live and ended stories, search with marked results, an
update's own page, and the desk with updates in every state. One browser context
per colour scheme and width goes through every page, which keeps the run short.
The desk is checked again with its story actions menu and End coverage's
confirmation open, with the keyboard shortcuts dialog open, with its Retracted
section and a "Load older updates" button."""

import pytest
from playwright.sync_api import Page, expect

from coverage.desk import rows
from tests.browser.axe import axe_source, describe, failing, run_axe
from tests.browser.showcase import READER_PAGES, add_desk_states, make_showcase
from tests.browser.support import open_desk
from tests.factories import make_editor

pytestmark = pytest.mark.browser

VIEWS = [(scheme, width) for scheme in ("light", "dark") for width in (375, 1280)]


def context_options(scheme: str, width: int) -> dict:
    return {"color_scheme": scheme, "viewport": {"width": width, "height": 900}}


def serious_violations(page: Page, where: str) -> list[str]:
    """What axe finds serious or critical in the page, described under `where`."""
    violations = failing(run_axe(page))
    return [f"{where}:\n{describe(violations)}"] if violations else []


def test_reader_pages_have_no_serious_accessibility_violations(server, new_context):
    axe_source()  # skip (or fail in CI) before any set-up when axe-core is missing
    showcase = make_showcase()
    found = []
    for scheme, width in VIEWS:
        page = new_context(**context_options(scheme, width)).new_page()
        for name, (path, shown) in READER_PAGES.items():
            page.goto(server + path(showcase))
            # What the check is about is there: the updates, the stories, the results.
            expect(page.locator(shown).first).to_be_visible()
            found += serious_violations(page, f"{name}, {scheme}, {width} px")
        page.context.close()
    assert not found, "axe-core found serious or critical violations:\n" + "\n".join(found)


def test_the_desk_has_no_serious_accessibility_violations(server, logged_in, monkeypatch):
    axe_source()
    # A page smaller than the showcase's updates: "Load older updates" shows.
    monkeypatch.setattr(rows, "PAGE_SIZE", 3)
    showcase = make_showcase()
    states = add_desk_states(showcase.story)
    editor = make_editor()
    found = []
    for scheme, width in VIEWS:
        page = logged_in(editor, **context_options(scheme, width))
        open_desk(page, server, showcase.story)
        for update in states.values():
            expect(page.locator(f"#desk-update-{update.pk}")).to_be_visible()
        retracted = page.locator(f"#desk-list-retracted #desk-update-{states['retracted'].pk}")
        expect(retracted).to_be_visible()
        expect(page.locator(".desk-load-older")).to_be_visible()
        found += serious_violations(page, f"desk, {scheme}, {width} px")

        page.locator("#desk-menu > summary").click()
        page.locator("#desk-end > summary").click()
        expect(page.locator(".desk-end-confirm")).to_be_visible()
        found += serious_violations(page, f"desk, menu and End coverage open, {scheme}, {width} px")

        page.locator(".desk-shortcuts-open").click()
        expect(page.locator("#desk-shortcuts")).to_be_visible()
        found += serious_violations(page, f"desk, shortcuts open, {scheme}, {width} px")
        page.context.close()
    assert not found, "axe-core found serious or critical violations:\n" + "\n".join(found)
