"""Reading order: a story read oldest first (Q&As, sports, timelines) lists its
updates from the first, pinned ones still on top, with "Load newer updates"
paging on; the desk and the admin set it, feeds and the API are unchanged, and
the order is the story view's `reading_order` context variable (the embed page
renders story.html with its own)."""

import datetime as dt
import random
import re

import pytest
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from coverage import publishing, views
from coverage.models import Story
from coverage.views import PAGE_SIZE, UPDATES_ABOVE, UpdateSlice
from tests.factories import committed, edit, make_contributor, make_story, make_update

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=0)


def article_ids(html):
    return [int(n) for n in re.findall(r'<article id="update-(\d+)"', html)]


def get(client, url):
    response = client.get(url.replace("&amp;", "&"))
    assert response.status_code == 200, response.content[:500]
    return response.content.decode()


def next_link(html, order):
    kind = "load-newer" if order == "oldest" else "load-older"
    match = re.search(rf'<a class="{kind}" href="([^"]+)"', html)
    return match.group(1) if match else None


def set_order(story, order):
    with committed():
        publishing.set_reading_order(story.pk, order)


def test_an_oldest_first_page_lists_from_the_first_update_pinned_still_on_top(client):
    story = make_story(reading_order="oldest")
    updates = [
        make_update(story, published_at=NOW - dt.timedelta(minutes=60 - n)) for n in range(55)
    ]
    pinned = edit(updates[30], pinned=True)
    oldest_first = [u.pk for u in updates if u.pk != pinned.pk]

    html = get(client, story.get_absolute_url())
    assert article_ids(html) == [pinned.pk, *oldest_first[:PAGE_SIZE]]
    assert 'data-order="oldest"' in html
    assert "Load older updates" not in html
    link = next_link(html, "oldest")
    assert f"?after={updates[50].cursor}" in link
    # "N new updates" sits below the list, where new updates arrive.
    assert html.index('id="new-updates"') > html.index('class="load-newer"')

    newer = get(client, link)
    assert article_ids(newer) == oldest_first[PAGE_SIZE:]
    assert "Load newer updates" not in newer
    assert 'id="poller" data-hx-get' not in newer  # a further slice does not poll
    assert "Back to the first updates" in newer


def test_a_newest_first_page_keeps_the_button_above_the_list(client):
    story = make_story()
    make_update(story)
    html = get(client, story.get_absolute_url())
    assert 'data-order="newest"' in html
    assert html.index('id="new-updates"') < html.index('id="updates"')


@pytest.mark.parametrize("order", ["newest", "oldest"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_paging_through_either_order_shows_every_update_exactly_once(client, order, seed):
    """Random times (many in the same second), pins and updates arriving while
    the reader pages: each slice picks up exactly where the last one stopped."""
    rng = random.Random(seed)
    story = make_story(reading_order=order)
    start = NOW - dt.timedelta(hours=3)
    updates = [
        make_update(
            story,
            published_at=start + dt.timedelta(seconds=rng.choice([0, 1, 60, 61, 3600])),
            pinned=rng.random() < 0.05,
        )
        for _ in range(2 * PAGE_SIZE + 7)
    ]
    seen, url, arrivals = [], story.get_absolute_url(), []
    while url:
        html = get(client, url)
        seen += article_ids(html)
        url = next_link(html, order)
        if url:
            # Arriving while the reader pages: newer than every cursor (newest
            # first above what the reader has; oldest first, after it: to come).
            arrival = make_update(story, published_at=NOW + dt.timedelta(seconds=len(arrivals)))
            arrivals.append(arrival)
            updates.append(arrival)
    assert len(seen) == len(set(seen)), "an update was shown twice"
    expected = {u.pk for u in updates}
    if order == "newest":
        expected -= {u.pk for u in arrivals}  # the poll brings them, above the first page
    assert arrivals and set(seen) == expected
    unpinned = [pk for pk in seen if pk not in {u.pk for u in updates if u.pinned}]
    keys = {u.pk: (u.published_at, u.pk) for u in updates}
    in_order = sorted(unpinned, key=keys.get, reverse=order == "newest")
    assert unpinned == in_order


def test_load_newer_with_htmx_returns_only_the_slice(client):
    story = make_story(reading_order="oldest")
    for n in range(55):
        make_update(story, published_at=NOW - dt.timedelta(minutes=n))
    html = get(client, story.get_absolute_url())
    url = re.search(r'data-hx-get="([^"]+after=[^"]+)"', html).group(1)
    response = client.get(url.replace("&amp;", "&"), headers={"HX-Request": "true"})
    fragment = response.content.decode()
    assert len(article_ids(fragment)) == 5
    assert "<html" not in fragment


def test_key_events_only_pages_oldest_first_too(client):
    story = make_story(reading_order="oldest")
    keys = [
        make_update(story, key_event=True, published_at=NOW - dt.timedelta(minutes=200 - n))
        for n in range(PAGE_SIZE + 2)
    ]
    make_update(story, published_at=NOW - dt.timedelta(minutes=300))
    html = get(client, story.get_absolute_url() + "?key_events=1")
    assert article_ids(html) == [u.pk for u in keys[:PAGE_SIZE]]
    link = next_link(html, "oldest")
    assert "key_events=1" in link
    assert article_ids(get(client, link)) == [u.pk for u in keys[PAGE_SIZE:]]


@pytest.mark.parametrize("after", ["x", "12", "1-", "9" * 30 + "-1"])
def test_a_bad_after_cursor_is_a_400_naming_it(client, after):
    story = make_story(reading_order="oldest")
    response = client.get(story.get_absolute_url(), {"after": after})
    assert response.status_code == 400
    assert b"'after' must look like" in response.content
    assert b"Load newer updates" in response.content


@pytest.mark.parametrize(("order", "stale"), [("oldest", "before"), ("newest", "after")])
def test_a_cursor_paging_the_other_way_starts_the_reader_at_the_top(client, order, stale):
    """A link from before the desk turned the order round."""
    story = make_story(reading_order=order)
    response = client.get(story.get_absolute_url(), {stale: "1764086460-123"})
    assert response.status_code == 302
    assert response["Location"] == story.get_absolute_url()


def test_around_finds_an_update_oldest_first_with_older_ones_above_it(client):
    story = make_story(reading_order="oldest")
    updates = [
        make_update(story, published_at=NOW - dt.timedelta(minutes=100 - n))
        for n in range(PAGE_SIZE + 10)
    ]
    assert (
        client.get(f"{story.get_absolute_url()}?around={updates[PAGE_SIZE - 1].pk}")["Location"]
        == story.get_absolute_url()
    )
    target = updates[PAGE_SIZE + 4]
    location = client.get(f"{story.get_absolute_url()}?around={target.pk}")["Location"]
    assert "?after=" in location
    shown = article_ids(get(client, location))
    assert shown[UPDATES_ABOVE] == target.pk
    assert shown[:UPDATES_ABOVE] == [u.pk for u in updates[PAGE_SIZE + 2 : PAGE_SIZE + 4]]


def test_changing_the_order_is_a_write_with_a_revision_that_moves_every_page_on(client):
    story = make_story()
    first, second = (make_update(story, published_at=NOW - dt.timedelta(minutes=m)) for m in (2, 1))
    assert article_ids(get(client, story.get_absolute_url())) == [second.pk, first.pk]
    revision = Story.objects.get(pk=story.pk).revision
    set_order(story, "oldest")
    assert Story.objects.get(pk=story.pk).revision == revision + 1
    # The cached page (per revision) moves on with it.
    assert article_ids(get(client, story.get_absolute_url())) == [first.pk, second.pk]
    set_order(story, "oldest")
    assert Story.objects.get(pk=story.pk).revision == revision + 1  # no change, no write
    with pytest.raises(ValueError):
        publishing.set_reading_order(story.pk, "sideways")


def test_the_desk_sets_the_reading_order(client, editor):
    story = make_story()
    html = get(client, reverse("admin:coverage_story_desk", args=[story.pk]))
    assert 'name="reading_order"' in html
    url = reverse("admin:coverage_story_desk_readers", args=[story.pk])
    response = client.post(url, {"reading_order": "oldest"}, follow=True)
    assert "the desk keeps newest first" in response.content.decode()
    assert Story.objects.get(pk=story.pk).reading_order == "oldest"
    assert client.post(url, {"reading_order": "sideways"}).status_code == 400


def test_only_who_may_run_the_story_sets_its_reading_order(client):
    story = make_story()
    client.force_login(make_contributor())
    url = reverse("admin:coverage_story_desk_readers", args=[story.pk])
    assert client.post(url, {"reading_order": "oldest"}).status_code == 403
    assert Story.objects.get(pk=story.pk).reading_order == "newest"


def test_the_desk_keeps_newest_first(client, editor):
    story = make_story(reading_order="oldest")
    first, second = (make_update(story, published_at=NOW - dt.timedelta(minutes=m)) for m in (2, 1))
    html = get(client, reverse("admin:coverage_story_desk", args=[story.pk]))
    assert html.index(f'id="desk-update-{second.pk}"') < html.index(f'id="desk-update-{first.pk}"')


def test_feeds_keep_newest_first(client):
    story = make_story(reading_order="oldest")
    first, second = (
        make_update(story, body=f"<p>Item {n}</p>", published_at=NOW - dt.timedelta(minutes=m))
        for n, m in ((1, 2), (2, 1))
    )
    rss = get(client, reverse("coverage:story-rss", kwargs={"slug": story.slug}))
    assert rss.index(second.get_absolute_url()) < rss.index(first.get_absolute_url())


# The context variable, for pages that render story.html with their own order ----


def render_story(client_request, story, reading_order):
    """story.html as the story view renders it, with the order a page (the
    embed) chooses instead of the story's."""
    state = views.public_state(story.slug)
    context = {
        "story": story,
        "following": None,
        "revision": state.revision,
        "slice": UpdateSlice(story, None, False, reading_order),
        "summary": views.StorySummary(story.pk),
        "key_events_only": False,
        "show_bylines": False,
        "reading_order": reading_order,
        "cursor": None,
        "cache_seconds": 300,
        "poll_seconds": 10,
    }
    return views.render(client_request, "coverage/story.html", context).content.decode()


def test_a_page_may_render_the_story_in_another_order_at_the_same_revision(client):
    story = make_story()
    first, second = (make_update(story, published_at=NOW - dt.timedelta(minutes=m)) for m in (2, 1))
    story.refresh_from_db()
    request = RequestFactory().get(story.get_absolute_url())
    assert article_ids(render_story(request, story, "oldest")) == [first.pk, second.pk]
    # Cached per order too: the same revision in the other order is its own page.
    assert article_ids(render_story(request, story, "newest")) == [second.pk, first.pk]
    assert 'data-order="oldest"' in render_story(request, story, "oldest")


def test_the_story_view_names_the_order_in_its_context(client):
    story = make_story(reading_order="oldest")
    response = client.get(story.get_absolute_url())
    assert response.context["reading_order"] == "oldest"
    assert response.context["slice"].reading_order == "oldest"
    assert UpdateSlice(story, None).reading_order == "oldest"  # the story's by default
