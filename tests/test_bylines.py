"""Bylines and "Last updated" (issue 10, item 4)."""

import datetime as dt
import re

import pytest
from django.urls import reverse

from coverage.models import Byline, Story
from tests.factories import make_story, make_update, make_user, retract

pytestmark = pytest.mark.django_db


def revision_of(story):
    return Story.objects.values_list("revision", flat=True).get(pk=story.pk)


def article(html, update):
    return html.split(f'id="update-{update.pk}"')[1].split("</article>")[0]


def test_each_update_shows_its_authors_display_names(client):
    story = make_story()
    jane = make_user("jdoe")
    Byline.objects.create(user=jane, display_name="Jane Doe")
    sam = make_user("sam")
    sam.first_name, sam.last_name = "Sam", "Okafor"
    sam.save()
    nameless = make_user("desk7")
    by_jane = make_update(story, actor=jane)
    by_sam = make_update(story, actor=sam)
    by_nobody = make_update(story, actor=nameless)
    html = client.get(story.get_absolute_url()).content.decode()
    assert '<p class="byline">By Jane Doe</p>' in article(html, by_jane)
    assert '<p class="byline">By Sam Okafor</p>' in article(html, by_sam)  # full name
    assert "byline" not in article(html, by_nobody)  # a login name is no byline
    assert "desk7" not in html
    # The poll's copy carries it too.
    answer = client.get(f"/{story.slug}/updates/?since=0").content.decode()
    assert '<p class="byline">By Jane Doe</p>' in article(answer, by_jane)


def test_bylines_can_be_turned_off(client, settings):
    settings.SHOW_BYLINES = False
    story = make_story()
    jane = make_user("jdoe")
    Byline.objects.create(user=jane, display_name="Jane Doe")
    make_update(story, actor=jane)
    assert "Jane Doe" not in client.get(story.get_absolute_url()).content.decode()
    assert "Jane Doe" not in client.get(f"/{story.slug}/updates/?since=0").content.decode()


def test_bylines_cost_one_query_whatever_the_number_of_updates(
    client, django_assert_max_num_queries
):
    story = make_story()
    for n in range(20):
        user = make_user(f"writer{n}")
        Byline.objects.create(user=user, display_name=f"Writer {n}")
        make_update(story, actor=user)
    with django_assert_max_num_queries(7):
        html = client.get(story.get_absolute_url()).content.decode()
    assert html.count('class="byline"') == 20


def test_an_editor_sets_a_byline_in_the_admin(client):
    from tests.factories import make_editor

    editor = make_editor()
    client.force_login(editor)
    response = client.post(
        reverse("admin:coverage_byline_add"), {"user": editor.pk, "display_name": "Ed Itor"}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Byline.objects.get(user=editor).display_name == "Ed Itor"


def last_updated(html):
    return re.search(r'<span id="last-updated"[^>]*>(.*?)</span>', html).group(1)


def test_the_story_shows_when_it_was_last_updated_and_the_poll_keeps_it_current(client):
    story = make_story()
    make_update(story, published_at=dt.datetime(2026, 11, 25, 9, 5, tzinfo=dt.UTC))
    html = client.get(story.get_absolute_url()).content.decode()
    assert last_updated(html) == (
        'Last updated <time datetime="2026-11-25T09:05:00+00:00">0905 GMT</time>'
    )
    since = revision_of(story)
    newest = make_update(story, published_at=dt.datetime(2026, 11, 25, 19, 41, tzinfo=dt.UTC))
    answer = client.get(f"/{story.slug}/updates/?since={since}").content.decode()
    assert '<span id="last-updated" class="last-updated" data-hx-swap-oob="true">' in answer
    assert "1941 GMT" in last_updated(answer)
    # Retracting the newest takes "Last updated" back to what readers can see.
    since = revision_of(story)
    retract(newest)
    answer = client.get(f"/{story.slug}/updates/?since={since}").content.decode()
    assert "0905 GMT" in last_updated(answer)


def test_a_story_without_updates_shows_no_last_updated(client):
    story = make_story()
    assert last_updated(client.get(story.get_absolute_url()).content.decode()) == ""
