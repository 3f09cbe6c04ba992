"""Sharing an update, and opening a link to one, in Chromium (issue 10, item 3):
the share sheet where there is one, else the link copied; an #update-<id>
older than the first page still shows."""

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from coverage import publishing
from coverage.views import PAGE_SIZE
from tests.browser.support import CSP_WATCH, assert_no_csp_violations, open_story, wait_for_a_poll
from tests.factories import committed, make_story, make_update, retract

pytestmark = pytest.mark.browser


def test_share_copies_the_updates_own_link_where_there_is_no_share_sheet(server, new_context):
    story = make_story(slug="floods")
    update = make_update(story, headline="Bridge closed")
    context = new_context()
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server)
    page = context.new_page()
    page.add_init_script(CSP_WATCH)
    page.add_init_script("delete Navigator.prototype.share")  # a desktop browser's lot
    open_story(page, server, story)
    article = page.locator(f"#update-{update.pk}")
    article.get_by_role("link", name="Share this update").click()
    expect(article.locator(".share-status")).to_have_text("Link copied")
    assert (
        page.evaluate("navigator.clipboard.readText()") == f"{server}/floods/updates/{update.pk}/"
    )
    expect(page).to_have_url(f"{server}/floods/")  # stayed on the live page
    assert_no_csp_violations(page)


@pytest.mark.parametrize("width", [375, 1280])
def test_share_opens_the_share_sheet_with_the_updates_title_and_link(server, new_context, width):
    story = make_story(slug="floods")
    update = make_update(story, headline="Bridge closed")
    page = new_context(viewport={"width": width, "height": 800}, is_mobile=width < 400).new_page()
    # Headless Chromium has no share sheet: record what the page asks of one.
    page.add_init_script(
        "window.__shared = [];"
        "Navigator.prototype.share = function (data) { window.__shared.push(data);"
        " return Promise.resolve(); };"
    )
    open_story(page, server, story)
    share = page.locator(f"#update-{update.pk} .share-link")
    box = share.bounding_box()
    assert box["height"] >= 44, box  # a touch target
    share.click()
    page.wait_for_function("window.__shared.length === 1")
    assert page.evaluate("window.__shared") == [
        {"title": "Bridge closed", "url": f"{server}/floods/updates/{update.pk}/"}
    ]
    expect(page).to_have_url(f"{server}/floods/")


def test_without_javascript_share_opens_the_updates_page_which_leads_back(server, new_context):
    story = make_story(slug="floods", title="Floods live")
    update = make_update(story, headline="Bridge closed")
    page = new_context(java_script_enabled=False).new_page()
    page.goto(f"{server}/floods/")
    page.locator(f"#update-{update.pk}").get_by_role("link", name="Share this update").click()
    expect(page).to_have_url(f"{server}/floods/updates/{update.pk}/")
    expect(page).to_have_title("Bridge closed | Floods live")
    page.get_by_role("link", name="See this update in the live coverage").click()
    expect(page).to_have_url(f"{server}/floods/#update-{update.pk}")
    expect(page.locator(f"#update-{update.pk}")).to_be_visible()


def older_than_the_first_page(story):
    start = timezone.now() - dt.timedelta(hours=3)
    updates = [
        make_update(
            story, body=f"<p>Update number {n}</p>", published_at=start + dt.timedelta(minutes=n)
        )
        for n in range(PAGE_SIZE + 10)
    ]
    return updates[3]  # far below the newest PAGE_SIZE


def test_a_link_to_an_update_older_than_the_first_page_still_shows_it(server, new_context):
    story = make_story(slug="floods")
    old = older_than_the_first_page(story)
    page = new_context().new_page()
    page.goto(f"{server}/floods/#update-{old.pk}")
    article = page.locator(f"#update-{old.pk}")
    expect(article).to_be_visible()
    expect(article).to_contain_text("Update number 3")
    expect(page).to_have_url(re.compile(rf"/floods/\?before=\d+-\d+#update-{old.pk}$"))
    expect(article).to_be_in_viewport()
    # The slice it is on leads back to the live page.
    expect(page.get_by_role("link", name="← Back to the latest updates")).to_be_visible()


def test_the_updates_page_leads_to_its_place_in_a_long_story(server, new_context):
    story = make_story(slug="floods")
    old = older_than_the_first_page(story)
    for javascript in (True, False):
        page = new_context(java_script_enabled=javascript).new_page()
        page.goto(f"{server}/floods/updates/{old.pk}/")
        page.get_by_role("link", name="See this update in the live coverage").click()
        expect(page.locator(f"#update-{old.pk}")).to_be_in_viewport()


def test_a_key_event_older_than_the_first_page_is_reached_from_the_key_events_box(
    server, new_context
):
    story = make_story(slug="floods")
    old = older_than_the_first_page(story)
    with committed():
        publishing.set_key_event(old.pk, key_event=True)
    page = new_context().new_page()
    open_story(page, server, story)
    expect(page.locator(f"#update-{old.pk}")).to_have_count(0)  # not on the first page
    page.locator("#key-events").get_by_role("link", name=re.compile("Update number 3")).click()
    expect(page.locator(f"#update-{old.pk}")).to_be_in_viewport()


def test_a_link_to_a_withdrawn_update_opens_the_live_page_once(server, new_context):
    story = make_story(slug="floods")
    old = older_than_the_first_page(story)
    retract(old)
    page = new_context().new_page()
    navigations = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))
    page.goto(f"{server}/floods/#update-{old.pk}")
    expect(page.locator("#poller")).to_have_attribute("data-hx-get", re.compile(r"since=\d+"))
    # Asked once (?around=), answered with the live page; not asked again.
    page.wait_for_function("document.querySelectorAll('#updates > .update').length > 0")
    wait_for_a_poll(page)
    assert navigations == [f"{server}/floods/#update-{old.pk}"] * 2, navigations


def test_the_desk_offers_share_only_for_updates_readers_can_open(server, logged_in):
    # A draft's or a scheduled update's page is a 404: no Share link to it
    # (issue 19, item 7); a published one keeps its link, and it opens.
    from tests.browser.support import open_desk
    from tests.factories import make_editor

    story = make_story(slug="floods")
    published = make_update(story, body="<p>Published words.</p>")
    draft = make_update(story, body="<p>Draft words.</p>", status="draft")
    scheduled = make_update(
        story, body="<p>Later words.</p>", published_at=timezone.now() + dt.timedelta(hours=2)
    )
    page = logged_in(make_editor())
    open_desk(page, server, story)
    row = "#desk-update-{} .share-link"
    expect(page.locator(f"#desk-update-{draft.pk}")).to_contain_text("Draft words.")
    expect(page.locator(f"#desk-update-{scheduled.pk}")).to_contain_text("Later words.")
    expect(page.locator(row.format(draft.pk))).to_have_count(0)
    expect(page.locator(row.format(scheduled.pk))).to_have_count(0)
    link = page.locator(row.format(published.pk))
    expect(link).to_have_count(1)
    assert page.request.get(server + link.get_attribute("href")).status == 200
