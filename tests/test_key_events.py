"""The key events box and the "Key events only" filter (issue 10, item 2):
on the page, without JavaScript, and kept current by the poll."""

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from coverage import publishing
from coverage.models import Story
from tests.factories import committed, edit, make_story, make_update, make_user, retract
from tests.test_poll import forget_live_state

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=0)


def box(html):
    return html.split('id="key-events"')[1].split("</details>")[0]


def box_links(html):
    return [int(n) for n in re.findall(r'<a href="#update-(\d+)">', box(html))]


def article_ids(html):
    return [int(n) for n in re.findall(r'<article id="update-(\d+)"', html)]


def revision_of(story):
    return Story.objects.values_list("revision", flat=True).get(pk=story.pk)


def poll(client, story, since):
    return client.get(reverse("coverage:poll", kwargs={"slug": story.slug}), {"since": since})


def test_the_box_lists_key_events_newest_first_with_times_linking_to_each(client):
    story = make_story()
    at = dt.datetime(2026, 11, 25, 19, 41, tzinfo=dt.UTC)
    older = make_update(story, key_event=True, headline="Bridge shut", published_at=at)
    make_update(story, body="<p>Routine.</p>", published_at=at + dt.timedelta(minutes=5))
    newer = make_update(
        story, key_event=True, body="<p>The river <b>peaks</b> at six metres</p>", published_at=NOW
    )
    make_update(story, key_event=True, status="draft", headline="Not yet")
    html = client.get(story.get_absolute_url()).content.decode()
    assert box_links(html) == [newer.pk, older.pk]
    assert '<time datetime="2026-11-25T19:41:00+00:00">1941 GMT</time> Bridge shut' in box(html)
    assert "The river peaks at six metres" in box(html)  # first words, without markup
    assert "Not yet" not in html
    # A <details> box, open for readers without JavaScript (live.js closes it on phones).
    assert re.search(r'<details id="key-events" class="key-events" open>', html)
    # At the top: before the first update.
    assert html.index('id="key-events"') < html.index("<article id=")


def test_key_events_only_works_without_javascript(client):
    story = make_story()
    key = make_update(story, key_event=True)
    other = make_update(story)
    html = client.get(story.get_absolute_url()).content.decode()
    assert set(article_ids(html)) == {key.pk, other.pk}
    link = re.search(r'<a id="key-events-toggle" href="([^"]+)"', html).group(1)
    assert link == f"{story.get_absolute_url()}?key_events=1"

    filtered = client.get(link).content.decode()
    assert article_ids(filtered) == [key.pk]
    assert f'<a href="{story.get_absolute_url()}">Show all updates</a>' in filtered
    # New updates of other kinds reaching the filtered page stay hidden (CSS).
    assert 'class="updates key-events-only"' in filtered
    # The unfiltered page is cached apart from it.
    assert set(article_ids(client.get(story.get_absolute_url()).content.decode())) == {
        key.pk,
        other.pk,
    }


def test_load_older_keeps_the_filter(client):
    story = make_story()
    for n in range(52):
        make_update(story, key_event=True, published_at=NOW - dt.timedelta(minutes=n))
    html = client.get(story.get_absolute_url(), {"key_events": "1"}).content.decode()
    link = re.search(r'<a class="load-older" href="([^"]+)"', html).group(1)
    assert link.endswith("&amp;key_events=1")
    older = client.get(link.replace("&amp;", "&")).content.decode()
    assert len(article_ids(older)) == 2


@pytest.mark.parametrize("change", ["marked", "unmarked", "edited", "retracted", "new"])
def test_every_poll_answer_resends_the_box(client, change):
    story = make_story()
    key = make_update(story, key_event=True, headline="Evacuation ordered")
    other = make_update(story, headline="Routine")
    since = revision_of(story)
    with committed():
        if change == "marked":
            publishing.set_key_event(other.pk, True)
        elif change == "unmarked":
            publishing.set_key_event(key.pk, False)
    if change == "edited":
        edit(key, headline="Evacuation lifted")
    elif change == "retracted":
        retract(key)
    elif change == "new":
        fresh = make_update(
            story, key_event=True, headline="Dam holds", published_at=timezone.now()
        )
    html = poll(client, story, since).content.decode()
    assert '<details id="key-events" class="key-events" open data-hx-swap-oob="innerHTML">' in html
    expected = {
        "marked": [other.pk, key.pk],
        "unmarked": [],
        "edited": [key.pk],
        "retracted": [],
        "new": [fresh.pk, key.pk] if change == "new" else None,
    }[change]
    assert box_links(html) == expected
    if change == "edited":
        assert "Evacuation lifted" in box(html)


def test_a_poll_answer_with_key_events_and_bylines_stays_at_five_queries(
    client, django_assert_max_num_queries
):
    story = make_story()
    writer = make_user("writer")
    for n in range(30):
        make_update(story, key_event=n % 3 == 0, actor=writer)
    since = revision_of(story) - 10
    forget_live_state()
    # State, changes, embeds, authors with bylines, key events with "Last updated".
    with django_assert_max_num_queries(5):
        response = poll(client, story, since)
    assert response.status_code == 200
    assert len(box_links(response.content.decode())) == 10
    current = revision_of(story)
    poll(client, story, current)  # a first poll may fill the cache
    with django_assert_max_num_queries(0):
        assert poll(client, story, current).status_code == 204
