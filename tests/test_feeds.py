import datetime as dt
import re
import xml.etree.ElementTree as ET
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser

import feedparser
import pytest
from django.core.cache import caches
from django.urls import reverse
from django.utils import timezone

from coverage.models import Embed, Story, Update
from tests.factories import edit, make_embed, make_story, make_update, retract

pytestmark = pytest.mark.django_db

ATOM = "{http://www.w3.org/2005/Atom}"
NOW = timezone.now().replace(microsecond=0)


@pytest.fixture
def story():
    story = make_story(slug="floods", title="Floods live", standfirst="Rivers rise.")
    make_update(story, published_at=NOW - dt.timedelta(hours=3), body="<p>Oldest</p>")
    make_update(story, published_at=NOW - dt.timedelta(hours=1), headline="Bridge shut")
    make_update(story, published_at=NOW - dt.timedelta(hours=2), body="<p>Middle</p>")
    make_update(story, status=Update.Status.DRAFT, body="<p>draft</p>")
    retract(make_update(story, body="<p>gone</p>"))
    make_update(story, published_at=NOW + dt.timedelta(hours=1), body="<p>scheduled</p>")
    return story


def fetch(client, name, slug):
    response = client.get(reverse(f"coverage:{name}", kwargs={"slug": slug}))
    assert response.status_code == 200
    return response, ET.fromstring(response.content)


def published(story):
    return list(story.updates.published().newest_first())


def test_rss_has_one_item_per_published_update_newest_first(client, story):
    response, root = fetch(client, "story-rss", "floods")
    assert response["Content-Type"].startswith("application/rss+xml")
    channel = root.find("channel")
    assert channel.findtext("title") == "Floods live"
    items = channel.findall("item")
    expected = published(story)
    assert len(items) == len(expected) == 3
    for item, update in zip(items, expected, strict=True):
        assert item.findtext("guid") == f"urn:liveblog:update:{update.pk}"
        assert item.find("guid").get("isPermaLink") == "false"
        assert item.findtext("link").endswith(f"/floods/updates/{update.pk}/")
        assert parsedate_to_datetime(item.findtext("pubDate")) == update.published_at
        assert item.findtext("pubDate").endswith("+0000")  # GMT
    # The headline, else the stamp and the first words.
    assert [item.findtext("title") for item in items] == [
        "Bridge shut",
        f"UPDATE {expected[1].stamp} — Middle",
        f"UPDATE {expected[2].stamp} — Oldest",
    ]
    text = response.content.decode()
    assert "draft" not in text
    assert "gone" not in text
    assert "scheduled" not in text


def test_atom_feed_matches(client, story):
    response, root = fetch(client, "story-atom", "floods")
    assert response["Content-Type"].startswith("application/atom+xml")
    entries = root.findall(f"{ATOM}entry")
    expected = published(story)
    assert [e.findtext(f"{ATOM}id") for e in entries] == [
        f"urn:liveblog:update:{u.pk}" for u in expected
    ]
    first = entries[0]
    link = first.find(f"{ATOM}link").get("href")
    assert link.endswith(f"/updates/{expected[0].pk}/")
    published_at = dt.datetime.fromisoformat(first.findtext(f"{ATOM}published"))
    assert published_at == expected[0].published_at


def test_feed_item_bodies_carry_embeds_escaped(client):
    story = make_story(slug="embeds")
    make_embed(make_update(story), text="<script>alert(1)</script> water rising")
    response, root = fetch(client, "story-rss", "embeds")
    description = root.find("channel/item").findtext("description")
    assert "water rising" in description
    assert "<script>" not in description


def test_feed_queries_do_not_grow_with_updates(client, django_assert_max_num_queries):
    story = make_story(slug="big")
    for _ in range(30):
        make_embed(make_update(story))
    with django_assert_max_num_queries(3):
        response = client.get(reverse("coverage:story-rss", kwargs={"slug": "big"}))
    assert response.status_code == 200
    items = ET.fromstring(response.content).findall("channel/item")
    assert len(items) == 30
    assert all("A post" in item.findtext("description") for item in items)


def test_draft_story_has_no_feed(client):
    make_story(slug="secret", status=Story.Status.DRAFT)
    assert client.get(reverse("coverage:story-rss", kwargs={"slug": "secret"})).status_code == 404


def test_live_stories_feed_lists_only_live_stories(client):
    make_story(title="On now")
    make_story(title="Finished", status=Story.Status.ENDED)
    make_story(title="Draft", status=Story.Status.DRAFT)
    response = client.get(reverse("coverage:live-feed"))
    root = ET.fromstring(response.content)
    assert [i.findtext("title") for i in root.iter("item")] == ["On now"]


HOSTILE = "Police say <img src=x onerror=alert(1)> & <script>alert(2)</script> more"


class RenderedHtml(HTMLParser):
    """What a feed reader builds from an HTML field: its elements and attributes."""

    def __init__(self, html):
        super().__init__()
        self.tags = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def assert_renders_harmlessly(html):
    tags = RenderedHtml(html).tags
    assert all(tag not in ("img", "script") for tag, _ in tags), html
    assert all(not name.startswith("on") for _, attrs in tags for name in attrs), html


def hostile_story():
    story = make_story(slug="hostile", title=HOSTILE, standfirst=HOSTILE)
    update = make_update(story, headline=HOSTILE, body=f"<p>{HOSTILE}</p>", correction_note=HOSTILE)
    for kind in ("social", "link", "quote", "video"):
        make_embed(
            update,
            kind=kind,
            url="https://example.org/post",
            # Cut to the column's length: PostgreSQL refuses longer values.
            provider=HOSTILE[: Embed._meta.get_field("provider").max_length],
            title=HOSTILE,
            author_name=HOSTILE,
            author_handle=HOSTILE,
            text=HOSTILE,
            caption=HOSTILE,
        )
    return story


@pytest.mark.parametrize("name", ["story-rss", "story-atom"])
def test_hostile_markup_in_every_field_stays_text_in_story_feeds(client, name):
    hostile_story()
    response, root = fetch(client, name, "hostile")
    if name == "story-rss":
        channel = root.find("channel")
        html_fields = [channel.findtext("description")]
        html_fields += [item.findtext("description") for item in channel.findall("item")]
        text_fields = [channel.findtext("title")]
        text_fields += [item.findtext("title") for item in channel.findall("item")]
    else:
        assert root.find(f"{ATOM}subtitle").get("type") in (None, "text")
        html_fields = [e.findtext(f"{ATOM}summary") for e in root.findall(f"{ATOM}entry")]
        for entry in root.findall(f"{ATOM}entry"):
            assert entry.find(f"{ATOM}summary").get("type") == "html"
        text_fields = [root.findtext(f"{ATOM}title"), root.findtext(f"{ATOM}subtitle")]
    assert html_fields and all(html_fields)
    for html in html_fields:
        assert_renders_harmlessly(html)
        assert "Police say" in html
    # Text fields are shown as text: the markup reads as typed, it does not vanish.
    assert all("Police say <img" in text for text in text_fields)


def test_hostile_standfirst_stays_text_in_live_stories_feed(client):
    hostile_story()
    root = ET.fromstring(client.get(reverse("coverage:live-feed")).content)
    descriptions = [item.findtext("description") for item in root.iter("item")]
    assert descriptions
    for html in descriptions:
        assert_renders_harmlessly(html)
        assert "Police say &lt;img" in html


def test_an_untitled_updates_paragraphs_and_list_items_keep_their_spaces(client):
    story = make_story(slug="words")
    update = make_update(story, body="<p>Roads shut:</p><ul><li>A3</li><li>B12</li></ul>")
    _, root = fetch(client, "story-rss", "words")
    assert root.findtext("channel/item/title") == f"UPDATE {update.stamp} — Roads shut: A3 B12"


def test_a_long_update_without_a_headline_is_titled_by_its_first_words(client):
    story = make_story(slug="words")
    body = "<p>Police have closed the high street &amp; the bridge after a fire at a warehouse.</p>"
    update = make_update(story, body=body)
    _, root = fetch(client, "story-rss", "words")
    assert root.findtext("channel/item/title") == (
        f"UPDATE {update.stamp} — Police have closed the high street & the bridge after…"
    )


@pytest.mark.parametrize("name", ["story-rss", "story-atom"])
def test_feeds_parse_cleanly_and_atom_names_an_author(client, story, name, settings):
    response, _ = fetch(client, name, "floods")
    parsed = feedparser.parse(response.content)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert [entry.id for entry in parsed.entries] == [
        f"urn:liveblog:update:{u.pk}" for u in published(story)
    ]
    assert parsed.entries[0].title == "Bridge shut"
    if name == "story-atom":
        assert parsed.feed.author == settings.NEWSROOM_NAME
        assert all(entry.get("updated") for entry in parsed.entries)


def test_an_edit_moves_the_atom_entrys_updated_time(client, story):
    update = published(story)[0]
    _, before = fetch(client, "story-atom", "floods")
    updated = before.find(f"{ATOM}entry").findtext(f"{ATOM}updated")
    Update.objects.filter(pk=update.pk).update(updated_at=NOW - dt.timedelta(days=1))
    edit(Update.objects.get(pk=update.pk), headline="Bridge reopened")
    _, after = fetch(client, "story-atom", "floods")
    entry = after.find(f"{ATOM}entry")
    assert entry.findtext(f"{ATOM}title") == "Bridge reopened"
    assert entry.findtext(f"{ATOM}updated") != updated


@pytest.mark.parametrize("name", ["story-rss", "story-atom"])
def test_an_unchanged_feed_costs_no_query_and_answers_conditional_requests_with_304(
    client, story, name, django_assert_num_queries
):
    url = reverse(f"coverage:{name}", kwargs={"slug": "floods"})
    first = client.get(url)
    assert first.status_code == 200
    assert first["Cache-Control"].startswith("public, max-age=")
    etag, last_modified = first["ETag"], first["Last-Modified"]
    with django_assert_num_queries(0):
        again = client.get(url)
        by_etag = client.get(url, headers={"If-None-Match": etag})
        by_date = client.get(url, headers={"If-Modified-Since": last_modified})
    assert (again.status_code, again.content) == (200, first.content)
    assert (by_etag.status_code, by_etag.content) == (304, b"")
    assert by_date.status_code == 304

    make_update(story, headline="Something new")
    changed = client.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed["ETag"] != etag
    assert b"Something new" in changed.content


def test_a_story_feed_is_kept_as_long_as_the_settings_say(client, story, settings, monkeypatch):
    # Read when rendering, not at import: a deployment's (or a test's) setting counts.
    revisions = caches["revisions"]
    kept_for = []
    real_set = revisions.set
    monkeypatch.setattr(
        revisions,
        "set",
        lambda key, value, timeout: kept_for.append(timeout) or real_set(key, value, timeout),
    )
    settings.LIVE_PAGE_CACHE_SECONDS = 1234
    assert client.get(reverse("coverage:story-rss", kwargs={"slug": "floods"})).status_code == 200
    assert kept_for == [1234]


def test_the_live_stories_feed_answers_conditional_requests(client, django_assert_num_queries):
    make_story(title="On now")
    url = reverse("coverage:live-feed")
    first = client.get(url)
    with django_assert_num_queries(0):
        assert client.get(url, headers={"If-None-Match": first["ETag"]}).status_code == 304


def test_a_story_page_offers_its_own_feeds_first_and_the_home_page_the_site_feed(client, story):
    page = client.get(story.get_absolute_url()).content.decode()
    alternates = re.findall(r'<link rel="alternate"[^>]*href="([^"]+)"', page)
    assert alternates[:2] == ["/floods/feed/rss/", "/floods/feed/atom/"]
    assert "/feeds/live/" not in alternates
    home = client.get(reverse("coverage:home")).content.decode()
    assert re.findall(r'<link rel="alternate"[^>]*href="([^"]+)"', home) == [
        "/feeds/live/",
        "/feeds/live/json/",
    ]
