"""The archive: the home page's pages of stories, the day-to-day chain, and search."""

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from coverage.forms import SearchForm
from coverage.models import Story, Update
from coverage.views import HOME_PAGE_SIZE
from tests.factories import edit, make_story, make_update, retract

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=0)
DAY = dt.timedelta(days=1)
SEARCH = reverse("coverage:search")


def get(client, url, status=200, **params):
    response = client.get(url, params)
    assert response.status_code == status, response.content[:500]
    return response.content.decode()


def titles(html):
    return re.findall(r'<h2><a href="[^"]+">([^<]+)</a></h2>', html)


def ended(title, started, ended_at):
    return make_story(title=title, status=Story.Status.ENDED, started_at=started, ended_at=ended_at)


def test_home_lists_live_stories_then_ended_ones_most_recently_ended_first(client):
    # Started first but ended last: a long-running story leads the archive.
    long_run = ended("Long run", NOW - 9 * DAY, NOW - DAY)
    short = ended("Short", NOW - 3 * DAY, NOW - 2 * DAY)
    no_end_time = ended("No end time", NOW - 5 * DAY, None)
    # A row from before ended_at was kept (publishing sets it now): ordered by its start.
    Story.objects.filter(pk=no_end_time.pk).update(ended_at=None)
    older_live = make_story(title="Older live", started_at=NOW - 2 * DAY)
    newer_live = make_story(title="Newer live", started_at=NOW - DAY)
    make_story(title="A draft", status=Story.Status.DRAFT)
    order = [newer_live, older_live, long_run, short, no_end_time]
    assert titles(get(client, "/")) == [story.title for story in order]


def test_the_archive_is_paginated_and_bad_page_numbers_get_the_nearest_page(client):
    stories = [
        ended(f"Day {n}", NOW - (n + 1) * DAY, NOW - n * DAY) for n in range(HOME_PAGE_SIZE + 5)
    ]
    first = get(client, "/")
    assert titles(first) == [s.title for s in stories[:HOME_PAGE_SIZE]]
    assert 'rel="next" href="?page=2"' in first
    assert 'rel="prev"' not in first
    second = get(client, "/", page="2")
    assert titles(second) == [s.title for s in stories[HOME_PAGE_SIZE:]]
    assert 'rel="prev" href="?page=1"' in second
    assert "Page 2 of 2" in second
    for bad, nearest in [
        ("abc", 1),
        ("0", 2),
        ("-3", 2),
        ("999", 2),
        ("9" * 30, 2),
        ("", 1),
        ("9" * 5000, 1),
    ]:
        assert f"Page {nearest} of 2" in get(client, "/", page=bad), bad


def test_the_home_page_stays_small_in_queries(client, django_assert_max_num_queries):
    for n in range(HOME_PAGE_SIZE + 5):
        ended(f"Day {n}", NOW - (n + 1) * DAY, NOW - n * DAY)
    # The count and the page.
    with django_assert_max_num_queries(2):
        response = client.get("/", {"page": "2"})
    assert response.status_code == 200


def test_a_story_links_both_ways_along_its_day_to_day_chain(client):
    monday = ended("Monday's floods", NOW - 3 * DAY, NOW - 2 * DAY)
    tuesday = make_story(
        title="Tuesday's floods",
        status=Story.Status.ENDED,
        started_at=NOW - 2 * DAY,
        previous=monday,
    )
    wednesday = make_story(title="Wednesday's floods", started_at=NOW - DAY, previous=tuesday)
    html = get(client, tuesday.get_absolute_url())
    assert f'<a href="{monday.get_absolute_url()}">← ' in html
    assert "Monday&#x27;s floods" in html
    assert f'<a href="{wednesday.get_absolute_url()}">Coverage continues: ' in html
    # Each end of the chain links the one way it can.
    assert f'href="{tuesday.get_absolute_url()}"' in get(client, monday.get_absolute_url())
    assert f'href="{tuesday.get_absolute_url()}"' in get(client, wednesday.get_absolute_url())


def test_home_page_has_a_search_box(client):
    html = get(client, "/")
    assert f'<form class="search" role="search" method="get" action="{SEARCH}">' in html
    assert 'type="search" name="q"' in html
    assert f'maxlength="{SearchForm.MAX_LENGTH}"' in html


def test_search_finds_published_updates_of_public_stories_by_their_words(client):
    story = make_story(title="Floods live", slug="floods", started_at=NOW - DAY)
    by_headline = make_update(
        story,
        headline="Reservoir overflows",
        body="<p>Water is coming over the dam.</p>",
        published_at=dt.datetime(2025, 11, 25, 19, 41, tzinfo=dt.UTC),
    )
    by_body = make_update(story, body="<p>The <b>reservoir</b> level is falling.</p>")
    make_update(story, body="<p>Nothing to do with it.</p>")
    make_update(story, body="<p>Draft reservoir</p>", status=Update.Status.DRAFT)
    retract(make_update(story, body="<p>Retracted reservoir</p>"))
    make_update(story, body="<p>Scheduled reservoir</p>", published_at=NOW + DAY)
    hidden = make_story(title="Draft story", status=Story.Status.DRAFT)
    make_update(hidden, body="<p>Reservoir in a draft story</p>")

    html = get(client, SEARCH, q="reservoir")
    assert "2 updates found for “reservoir”." in html
    ids = [int(n) for n in re.findall(r'href="/floods/\?around=(\d+)#update-\d+"', html)]
    assert sorted(ids) == sorted([by_headline.pk, by_body.pk])
    assert '<a href="/floods/">Floods live</a>' in html
    assert "25 November 2025, UPDATE 1941 GMT" in html
    assert "Reservoir overflows" in html
    # A snippet of the text, the word marked, the body's HTML gone.
    assert "The <mark>reservoir</mark> level is falling." in html
    for absent in ("Draft reservoir", "Retracted", "Scheduled", "draft story"):
        assert absent not in html
    # Every word must match.
    assert "0 updates found" in get(client, SEARCH, q="reservoir falling nowhere")
    assert "1 update found" in get(client, SEARCH, q="reservoir falling")


def test_a_snippet_keeps_the_space_between_paragraphs(client):
    story = make_story(title="Floods live", slug="floods")
    make_update(story, body="<p>The reservoir is full.</p><p>Gates open at noon.</p>")
    html = get(client, SEARCH, q="reservoir")
    assert "The <mark>reservoir</mark> is full. Gates open at noon." in html


def test_search_results_escape_the_query_and_the_text(client):
    story = make_story()
    update = make_update(story, body="<p>Police say &lt;img src=x onerror=alert(1)&gt; here</p>")
    html = get(client, SEARCH, q="police <say>")
    assert "<say>" not in html
    assert "police &lt;say&gt;" in html
    assert "<img src=x" not in html
    assert f"#update-{update.pk}" in html


@pytest.mark.parametrize("size", [1, 30])
def test_search_answers_in_a_constant_number_of_queries(
    client, django_assert_max_num_queries, size
):
    for n in range(size):
        story = make_story(title=f"Story {n}")
        make_update(story, headline=f"Storm {n}", body="<p>The storm reaches the coast.</p>")
    # The count and the page (stories joined).
    with django_assert_max_num_queries(2):
        response = client.get(SEARCH, {"q": "storm coast"})
    assert response.status_code == 200
    html = response.content.decode()
    assert f"{size} update{'s' if size > 1 else ''} found" in html
    assert html.count('class="search-result"') == min(size, 20)


def test_search_pages_keep_the_query(client):
    story = make_story()
    for n in range(25):
        make_update(story, body=f"<p>Storm {n}</p>", published_at=NOW - dt.timedelta(minutes=n))
    html = get(client, SEARCH, q="storm")
    assert 'rel="next" href="?q=storm&amp;page=2"' in html
    assert get(client, SEARCH, q="storm", page="2").count('class="search-result"') == 5
    assert get(client, SEARCH, q="storm", page="x").count('class="search-result"') == 20


def test_empty_and_oversized_searches_say_why(client):
    assert "Search updates" in get(client, SEARCH)  # the blank form
    for blank in ("", "   ", "?!"):
        assert "Type a word or two to search for." in get(client, SEARCH, 400, q=blank)
    too_long = get(client, SEARCH, 400, q="flood " * 100)
    assert "limited to 200 characters" in too_long


@pytest.mark.parametrize("odd", ['"unclosed', "-", "a & b | !c", "flood:*", "(", "or", "'"])
def test_search_syntax_never_fails(client, odd):
    make_update(make_story(), body="<p>Flood</p>")
    assert client.get(SEARCH, {"q": odd}).status_code in (200, 400)


def test_search_answers_head(client):
    assert client.head(SEARCH, {"q": "flood"}).status_code == 200


def test_search_edits_are_found_by_their_new_words(client):
    update = make_update(make_story(), body="<p>Rain</p>")
    edit(update, body="<p>Hail</p>")
    assert "1 update found" in get(client, SEARCH, q="hail")
    assert "0 updates found" in get(client, SEARCH, q="rain")


def test_a_search_result_without_a_headline_is_titled_by_its_first_words(client):
    story = make_story(title="Floods")
    make_update(story, body="<p>Sandbags are being handed out at the depot on Mill Lane.</p>")
    html = get(client, SEARCH, q="sandbags")
    assert titles(html) == ["Sandbags are being handed out at the depot on Mill Lane."]
