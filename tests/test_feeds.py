import datetime as dt
import xml.etree.ElementTree as ET
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser

import pytest
from django.urls import reverse
from django.utils import timezone

from coverage.models import Embed, Story, Update
from tests.factories import make_embed, make_story, make_update, retract

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
        assert item.findtext("link").endswith(f"/floods/#update-{update.pk}")
        assert parsedate_to_datetime(item.findtext("pubDate")) == update.published_at
        assert item.findtext("pubDate").endswith("+0000")  # GMT
        assert item.findtext("title").startswith(f"UPDATE {update.stamp}")
    assert items[0].findtext("title").endswith(": Bridge shut")
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
    assert link.endswith(f"#update-{expected[0].pk}")
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
