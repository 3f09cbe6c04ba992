import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from coverage.models import Embed, Story, Update
from tests.factories import edit, end_coverage, make_embed, make_story, make_update, retract

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=0)


def page(client, story):
    return page_at(client, story.get_absolute_url())


def page_at(client, url):
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def article_ids(html):
    return [int(n) for n in re.findall(r'<article id="update-(\d+)"', html)]


def test_story_page_shows_the_story_and_its_updates_newest_first_pinned_on_top(client):
    previous = make_story(title="Monday's story", status=Story.Status.ENDED)
    story = make_story(
        title="Floods live",
        standfirst="Rivers rise.\nAll times GMT.",
        previous=previous,
        original_entry="<p>Where it all began.</p>",
    )
    oldest = make_update(story, published_at=NOW - dt.timedelta(hours=3))
    pinned = make_update(story, published_at=NOW - dt.timedelta(hours=2), pinned=True)
    newest = make_update(story, published_at=NOW - dt.timedelta(hours=1), headline="Bridge shut")
    make_update(story, status=Update.Status.DRAFT, body="<p>draft text</p>")
    retract(make_update(story, body="<p>retracted text</p>"))

    html = page(client, story)
    assert "<h1>Floods live</h1>" in html
    assert '<p class="standfirst">Rivers rise.</p>' in html
    assert article_ids(html) == [pinned.pk, newest.pk, oldest.pk]
    assert "Bridge shut" in html
    assert "draft text" not in html
    assert "retracted text" not in html
    assert f'href="{previous.get_absolute_url()}"' in html
    assert "Where it all began." in html
    # The original entry comes after every update.
    assert html.index("Where it all began.") > html.index(f'id="update-{oldest.pk}"')


def test_each_update_has_a_gmt_stamp_time_element_and_stable_anchor(client):
    story = make_story()
    update = make_update(story, published_at=dt.datetime(2025, 11, 25, 19, 41, tzinfo=dt.UTC))
    html = page(client, story)
    assert f'<article id="update-{update.pk}"' in html
    assert f'href="#update-{update.pk}"' in html
    assert '<time datetime="2025-11-25T19:41:00+00:00">UPDATE 1941 GMT</time>' in html


def test_the_page_is_complete_without_javascript(client):
    """Every update is server-rendered: nothing waits for a script to appear."""
    story = make_story()
    updates = [make_update(story, body=f"<p>Text {n}</p>") for n in range(5)]
    html = page(client, story)
    for n in range(5):
        assert f"Text {n}" in html
    assert set(article_ids(html)) == {u.pk for u in updates}


def test_live_page_polls_from_its_revision_and_ended_page_only_slowly(client, settings):
    story = make_story()
    make_update(story)
    story.refresh_from_db()
    html = page(client, story)
    poll_url = reverse("coverage:poll", kwargs={"slug": story.slug})
    assert f'data-hx-get="{poll_url}?since={story.revision}"' in html
    assert 'data-hx-swap="outerHTML"' in html
    assert 'data-hx-sync="this:drop"' in html

    end_coverage(story)
    html = page(client, story)
    assert 'data-ended="true"' in html
    assert f'data-poll-seconds="{settings.LIVE_ENDED_POLL_SECONDS}"' in html
    assert "Coverage ended" in html


def test_embeds_render_as_static_cards(client):
    story = make_story()
    update = make_update(story)
    make_embed(update, text="Water is rising fast", author_name="Coastguard")
    make_embed(update, kind=Embed.Kind.VIDEO, url="https://www.youtube.com/watch?v=abc", text="")
    make_embed(update, kind=Embed.Kind.QUOTE, text="Stay indoors", url="")
    html = page(client, story)
    assert "Water is rising fast" in html
    assert "Coastguard" in html
    assert "View on x.com" in html
    assert "www.youtube.com" in html
    assert "Stay indoors" in html
    assert "<iframe" not in html
    assert "<script" not in html.split("</head>")[1]


def test_embed_text_is_escaped(client):
    story = make_story()
    make_embed(make_update(story), text="<script>alert(1)</script>", author_name="<b>x</b>")
    html = page(client, story)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html


def test_legacy_unsanitised_bodies_are_cleaned_on_output(client):
    story = make_story()
    update = make_update(story)
    Update.objects.filter(pk=update.pk).update(body='<p onclick="x()">hi</p><script>bad()</script>')
    html = page(client, story)
    assert "bad()" not in html
    assert "onclick" not in html


def test_page_advertises_feeds_and_sends_a_strict_csp(client):
    story = make_story()
    response = client.get(story.get_absolute_url())
    html = response.content.decode()
    assert reverse("coverage:story-rss", kwargs={"slug": story.slug}) in html
    assert reverse("coverage:story-atom", kwargs={"slug": story.slug}) in html
    assert 'type="application/atom+xml"' in html
    csp = response["Content-Security-Policy"]
    assert "script-src 'self' 'nonce-" in csp
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp


def test_draft_and_unknown_stories_are_404(client):
    draft = make_story(status=Story.Status.DRAFT)
    assert client.get(draft.get_absolute_url()).status_code == 404
    assert client.get("/nothing-here/").status_code == 404


def test_next_day_link_on_the_previous_story(client):
    monday = make_story(status=Story.Status.ENDED, title="Monday")
    assert "Coverage continues" not in page(client, monday)  # now cached
    make_story(previous=monday, title="Tuesday: the water recedes")
    html = page(client, monday)
    assert "Coverage continues: Tuesday: the water recedes" in html


def test_home_lists_live_stories_first(client):
    ended = make_story(title="Old news", status=Story.Status.ENDED, started_at=NOW)
    live = make_story(title="Happening now", started_at=NOW - dt.timedelta(days=1))
    make_story(title="Not yet", status=Story.Status.DRAFT)
    html = client.get("/").content.decode()
    assert html.index(live.title) < html.index(ended.title)
    assert "Not yet" not in html


@pytest.mark.parametrize("size", [5, 60])
def test_story_page_query_count_does_not_grow_with_the_story(
    client, django_assert_max_num_queries, size
):
    story = make_story()
    for _ in range(size):
        make_embed(make_update(story))
    # Story, next day, pinned updates, the others, their embeds, their authors
    # (with bylines), and the key events box with "Last updated" (one query).
    with django_assert_max_num_queries(7):
        response = client.get(story.get_absolute_url())
    assert response.status_code == 200
    html = response.content.decode()
    assert story.title in html
    assert len(article_ids(html)) == min(size, 50)
    assert html.count('class="embed ') == min(size, 50)


def test_healthz_needs_no_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok\n"


def test_the_page_shows_the_newest_fifty_and_a_cursor_to_older_ones(client):
    story = make_story()
    start = NOW - dt.timedelta(days=1)
    updates = [make_update(story, published_at=start + dt.timedelta(minutes=n)) for n in range(60)]
    pinned = updates[3]
    pinned = edit(pinned, pinned=True)
    newest_first = sorted(
        (u for u in updates if u.pk != pinned.pk), key=lambda u: u.published_at, reverse=True
    )

    html = page(client, story)
    first_page = article_ids(html)
    assert first_page == [pinned.pk] + [u.pk for u in newest_first[:50]]
    link = re.search(r'<a class="load-older" href="([^"]+)"', html).group(1)
    assert f"?before={newest_first[49].cursor}" in link

    # New updates arriving meanwhile do not shift the next slice.
    make_update(story, published_at=NOW)
    older = client.get(link).content.decode()
    assert article_ids(older) == [u.pk for u in newest_first[50:]]
    assert "load-older" not in older
    assert 'id="poller" data-hx-get' not in older
    assert "Back to the latest updates" in older


def test_load_older_with_htmx_returns_only_the_slice(client):
    story = make_story()
    for n in range(55):
        make_update(story, published_at=NOW - dt.timedelta(minutes=n))
    html = page(client, story)
    url = re.search(r'data-hx-get="([^"]+before=[^"]+)"', html).group(1)
    response = client.get(url.replace("&amp;", "&"), headers={"HX-Request": "true"})
    fragment = response.content.decode()
    assert len(article_ids(fragment)) == 5
    assert "<html" not in fragment
    assert "<h1>" not in fragment


@pytest.mark.parametrize("before", ["x", "12", "1-", "-5", "1.5-2", "9" * 30 + "-1"])
def test_a_bad_cursor_is_a_400(client, before):
    story = make_story()
    response = client.get(story.get_absolute_url(), {"before": before})
    assert response.status_code == 400
    assert b"before" in response.content


def test_story_page_queries_stay_constant_at_two_thousand_updates(
    client, django_assert_max_num_queries
):
    from coverage.models import Update

    story = make_story()
    Update.objects.bulk_create(
        Update(story=story, body=f"<p>{n}</p>", published_at=NOW - dt.timedelta(minutes=n))
        for n in range(2000)
    )
    # Two more than before bylines and key events: the authors' prefetch and
    # the key events box with "Last updated".
    with django_assert_max_num_queries(10):
        response = client.get(story.get_absolute_url())
    assert response.status_code == 200
    html = response.content.decode()
    assert len(article_ids(html)) == 50
    assert "<p>0</p>" in html


def test_a_repeat_view_reuses_the_rendered_update_list_until_the_story_changes(
    client, django_assert_max_num_queries
):
    story = make_story()
    for n in range(5):
        make_embed(make_update(story, body=f"<p>Cached {n}</p>"))

    def update_list(html):
        return html.split('id="updates"')[1].split("</section>")[0]

    first = page(client, story)
    with django_assert_max_num_queries(2):  # the story and its next day; no updates
        response = client.get(story.get_absolute_url())
    assert response.status_code == 200
    assert update_list(response.content.decode()) == update_list(first)
    assert "Cached 4" in update_list(first)
    make_update(story, body="<p>Fresh news</p>")
    assert "Fresh news" in page(client, story)


def test_with_fifty_pinned_updates_load_older_skips_no_unpinned_one(client):
    story = make_story()
    start = NOW - dt.timedelta(days=1)
    pinned = [
        make_update(story, pinned=True, published_at=start + dt.timedelta(hours=2, minutes=n))
        for n in range(52)
    ]
    unpinned = [make_update(story, published_at=start + dt.timedelta(minutes=n)) for n in range(60)]
    seen, url = [], story.get_absolute_url()
    while url:
        html = page_at(client, url)
        seen += article_ids(html)
        match = re.search(r'<a class="load-older" href="([^"]+)"', html)
        url = match.group(1).replace("&amp;", "&") if match else None
    assert sorted(seen) == sorted(u.pk for u in pinned + unpinned)
    assert len(seen) == len(set(seen))


def test_an_update_from_another_day_shows_its_date(client):
    story = make_story(started_at=dt.datetime(2026, 11, 25, 6, 0, tzinfo=dt.UTC))
    late = make_update(story, published_at=dt.datetime(2026, 11, 24, 23, 0, tzinfo=dt.UTC))
    same_day = make_update(story, published_at=dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC))
    html = page(client, story)
    article = html.split(f'id="update-{late.pk}"')[1].split("</article>")[0]
    assert "UPDATE 2300 GMT" in article
    assert '<p class="update-date">Tuesday 24 November</p>' in article
    other = html.split(f'id="update-{same_day.pk}"')[1].split("</article>")[0]
    assert "update-date" not in other
    # The poll's copy says the same.
    answer = client.get(f"/{story.slug}/updates/?since=0").content.decode()
    assert '<p class="update-date">Tuesday 24 November</p>' in answer


def test_reader_pages_answer_head_as_link_checkers_and_monitors_ask(client):
    story = make_story(slug="head-story")
    make_update(story)
    story.refresh_from_db()
    for url, status in [
        ("/", 200),
        (story.get_absolute_url(), 200),
        (f"{story.get_absolute_url()}updates/?since=0", 200),
        (f"{story.get_absolute_url()}updates/?since={story.revision}", 204),
        ("/healthz", 200),
        ("/readyz", 200),
        ("/robots.txt", 200),
        ("/sitemap.xml", 200),
        ("/feeds/live/", 200),
        (reverse("coverage:story-rss", args=[story.slug]), 200),
        (reverse("coverage:story-atom", args=[story.slug]), 200),
    ]:
        got = client.get(url)
        head = client.head(url)
        assert (head.status_code, got.status_code) == (status, status), url
        assert head.content == b"", url
        assert head["Content-Type"] == got["Content-Type"], url
    # Still only the safe methods.
    assert client.post("/").status_code == 405
    assert client.post(story.get_absolute_url()).status_code == 405
