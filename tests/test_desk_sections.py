"""The desk's sections and its older updates, through the test client: retracted
updates in "Retracted" (on the page, after an action, in the poll), "Load older
updates" by cursor with and without htmx, End coverage's confirmation step, the
breadcrumbs, the stories list's desk link and the site's icon."""

import datetime as dt
import re

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse
from django.utils import timezone

from coverage.desk import rows
from coverage.models import Story
from tests.factories import make_update, retract

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
ROW_ID = re.compile(r'<div id="desk-update-(\d+)" class="desk-row')


def desk_url(story):
    return reverse("admin:coverage_story_desk", args=[story.pk])


def action_url(update, action):
    return reverse("admin:coverage_story_desk_action", args=[update.story_id, update.pk, action])


def poll_url(story, since):
    return reverse("admin:coverage_story_desk_poll", args=[story.pk]) + f"?since={since}"


def end_url(story):
    return reverse("admin:coverage_story_desk_lifecycle", args=[story.pk, "end"])


def section(html: str, name: str) -> str:
    """The HTML of one of the desk's lists (published, retracted, ...), up to its end."""
    start = html.index(f'id="desk-list-{name}"')
    return html[start : html.index("</section>", start)]


def row_ids(html: str) -> list[int]:
    return [int(pk) for pk in ROW_ID.findall(html)]


# Retracted ---------------------------------------------------------------------


def test_retracted_updates_are_listed_under_retracted_not_as_readers_see_them(
    client, story, editor
):
    shown = make_update(story, body="<p>Still true.</p>")
    withdrawn = retract(make_update(story, body="<p>A wrong report.</p>"))
    html = client.get(desk_url(story)).content.decode()
    assert '<h2 id="retracted-title">Retracted</h2>' in html
    assert row_ids(section(html, "published")) == [shown.pk]
    assert row_ids(section(html, "retracted")) == [withdrawn.pk]
    assert 'data-section="retracted"' in section(html, "retracted")


def test_retracting_and_restoring_move_the_row_between_the_sections(client, story, editor):
    update = make_update(story, body="<p>Contested.</p>")
    answer = client.post(action_url(update, "retract"), headers=HTMX).content.decode()
    assert f'id="desk-update-{update.pk}"' in answer
    assert 'data-section="retracted"' in answer
    html = client.get(desk_url(story)).content.decode()
    assert row_ids(section(html, "published")) == []
    assert row_ids(section(html, "retracted")) == [update.pk]

    answer = client.post(action_url(update, "restore"), headers=HTMX).content.decode()
    assert 'data-section="published"' in answer
    # Without htmx: a redirect back to the desk, where it is in place again.
    client.post(action_url(update, "retract"))
    client.post(action_url(update, "restore"))
    html = client.get(desk_url(story)).content.decode()
    assert row_ids(section(html, "published")) == [update.pk]
    assert row_ids(section(html, "retracted")) == []


def test_the_desks_poll_brings_a_retraction_as_a_retracted_row(client, story, editor):
    update = make_update(story)
    since = Story.objects.get(pk=story.pk).revision
    retract(update)
    answer = client.get(poll_url(story, since))
    assert answer.status_code == 200
    html = answer.content.decode()
    row = html[html.index(f'id="desk-update-{update.pk}"') :]
    assert row.index('data-section="retracted"') < row.index("</p>")
    assert "Restore" in row


# Load older ---------------------------------------------------------------------


def make_timeline(story, count):
    """count unpinned published updates a minute apart (newest first), and a pinned one."""
    now = timezone.now()
    updates = [
        make_update(story, body=f"<p>Minute {n}</p>", published_at=now - dt.timedelta(minutes=n))
        for n in range(1, count + 1)
    ]
    pinned = make_update(story, body="<p>Pinned</p>", pinned=True, published_at=now)
    return updates, pinned


OLDER = re.compile(r'class="button desk-load-older" href="([^"]+)" data-hx-get="([^"]+)"')


def test_load_older_without_htmx_pages_through_every_update_once(
    client, story, editor, monkeypatch
):
    monkeypatch.setattr(rows, "PAGE_SIZE", 3)
    updates, pinned = make_timeline(story, 8)
    # Two updates at the same second: the cursor's id breaks the tie.
    same_second = make_update(
        story, body="<p>Same second</p>", published_at=updates[4].published_at
    )
    expected = sorted([*updates, same_second], key=lambda u: (u.published_at, u.pk), reverse=True)

    html = client.get(desk_url(story)).content.decode()
    seen = row_ids(section(html, "published"))
    assert seen[0] == pinned.pk  # pinned first, then the newest page
    pages = 1
    while match := OLDER.search(html):
        href = match.group(1).replace("&amp;", "&")
        assert href.endswith("#updates-title")
        response = client.get(href.split("#")[0])
        assert response.status_code == 200
        html = response.content.decode()
        assert "Older updates, as readers see them" in html
        assert "← Back to the latest updates" in html
        assert 'id="compose"' in html  # the whole desk, for an editor without JavaScript
        seen += row_ids(section(html, "published"))
        pages += 1
    assert pages == 3  # 9 unpinned, 3 a page
    assert seen == [pinned.pk, *(u.pk for u in expected)]


def test_load_older_with_htmx_answers_the_next_rows_and_the_next_link(
    client, story, editor, monkeypatch
):
    monkeypatch.setattr(rows, "PAGE_SIZE", 4)
    updates, pinned = make_timeline(story, 10)
    retract(updates[1])  # not among the published ones, on any slice
    expected = [u.pk for u in updates if u.pk != updates[1].pk]

    html = client.get(desk_url(story)).content.decode()
    seen = [pk for pk in row_ids(section(html, "published")) if pk != pinned.pk]
    while match := OLDER.search(html):
        response = client.get(match.group(2).replace("&amp;", "&"), headers=HTMX)
        assert response.status_code == 200
        html = response.content.decode()
        # Only the slice: rows and the next link, no page around them.
        assert "<html" not in html and 'id="compose"' not in html
        assert pinned.pk not in row_ids(html)
        seen += row_ids(html)
    assert seen == expected
    assert "desk-load-older" not in html  # the last slice has no link


def test_the_first_desk_page_lists_one_page_of_published_updates(
    client, story, editor, monkeypatch
):
    monkeypatch.setattr(rows, "PAGE_SIZE", 5)
    updates, pinned = make_timeline(story, 5)
    html = client.get(desk_url(story)).content.decode()
    assert "desk-load-older" not in html  # exactly a page: nothing older
    make_update(story, published_at=updates[-1].published_at - dt.timedelta(minutes=1))
    html = client.get(desk_url(story)).content.decode()
    assert len(row_ids(section(html, "published"))) == 1 + 5
    cursor = updates[-1].cursor
    assert f"?before={cursor}" in section(html, "published")


@pytest.mark.parametrize("cursor", ["yesterday", "1-", "-5", "99999999999999-1"])
def test_a_bad_cursor_is_a_400_with_a_message(client, story, editor, cursor):
    response = client.get(desk_url(story) + f"?before={cursor}")
    assert response.status_code == 400
    assert "'before' must look like" in response.content.decode()


# End coverage -------------------------------------------------------------------


def test_end_coverage_is_two_steps_and_says_open_pages_slow_down(client, story, editor):
    html = client.get(desk_url(story)).content.decode()
    menu = html[html.index('id="desk-menu"') : html.index('id="awaiting-title"')]
    # The first step only opens the second: End coverage is a disclosure, not a button.
    assert '<summary class="button desk-end">End coverage…</summary>' in menu
    assert "their pages then check for changes every 300 seconds" in menu
    assert '<input type="hidden" name="confirm" value="yes">' in menu

    # A post that does not say yes (an old form, a stray request) is asked first.
    response = client.post(end_url(story))
    assert response.status_code == 200
    page = response.content.decode()
    assert "End coverage of “Floods”?" in page
    assert "their pages then check for changes every 300 seconds" in page
    assert 'name="confirm" value="yes"' in page
    story.refresh_from_db()
    assert story.status == Story.Status.LIVE

    response = client.post(end_url(story), {"confirm": "yes"})
    assert response.status_code == 302
    story.refresh_from_db()
    assert story.status == Story.Status.ENDED


def test_the_story_actions_are_in_one_menu_after_the_compose_box(client, story, editor):
    html = client.get(desk_url(story)).content.decode()
    menu = html[html.index('<details class="desk-menu"') : html.index('id="awaiting-title"')]
    for action in (
        "Reader page",
        "Story settings",
        "Paste several updates",
        "End coverage…",
        "Start next day's coverage",
    ):
        assert action in menu, action
    # The story's state comes first, then the compose box (writing first, on a
    # phone above all), then the menu, folded (closed) by default.
    assert '<details class="desk-menu" id="desk-menu">' in html
    assert html.index('id="desk-story-status"') < html.index('id="compose"')
    assert html.index('id="compose"') < html.index('id="desk-menu"')


# Breadcrumbs, the stories list, the icon -------------------------------------------


def test_the_desks_breadcrumbs_use_the_admins_list(client, story, editor):
    html = client.get(desk_url(story)).content.decode()
    crumbs = html[html.index('<ol class="breadcrumbs">') : html.index("</ol>")]
    assert crumbs.count("<li>") == 4
    assert '<li aria-current="page">Desk</li>' in crumbs


def test_the_stories_list_puts_the_desk_link_beside_the_title(client, story, editor):
    html = client.get(reverse("admin:coverage_story_changelist")).content.decode()
    row = html[html.index('<th class="field-title">') :]
    row = row[: row.index("</tr>")]
    assert row.index("Open the desk") < row.index('class="field-status"')
    assert "css/stories-admin.css" in html


@pytest.mark.parametrize(
    "path",
    [
        lambda story: "/",
        lambda story: story.get_absolute_url(),
        lambda story: reverse("admin:index"),
        lambda story: reverse("admin:coverage_story_desk", args=[story.pk]),
        lambda story: reverse("admin:coverage_story_changelist"),
    ],
)
def test_reader_and_admin_pages_link_the_icon(client, story, editor, path):
    html = client.get(path(story)).content.decode()
    assert re.search(r'<link rel="icon" href="/static/img/favicon[.\w]*\.svg"', html)


def test_favicon_ico_redirects_to_the_icon_that_exists(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert re.fullmatch(r"/static/img/favicon[.\w]*\.svg", response["Location"])
    assert finders.find("img/favicon.svg")
    assert client.head("/favicon.ico").status_code == 301
