"""JSON Feed 1.1 (https://jsonfeed.org/version/1.1): each story's updates and
the live stories, with the RSS and Atom feeds' items, titles and HTML, checked
against the spec's required fields and types."""

import datetime as dt
import json
import xml.etree.ElementTree as ET

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from coverage.models import Story, Update
from tests.factories import edit, make_editor, make_embed, make_story, make_update, retract

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=0)
VERSION = "https://jsonfeed.org/version/1.1"


def assert_json_feed_1_1(feed: dict) -> None:
    """The spec's rules for a feed: what is required, and each field's type."""
    assert feed["version"] == VERSION
    assert isinstance(feed["title"], str) and feed["title"]
    assert isinstance(feed["items"], list)
    for name in ("home_page_url", "feed_url", "description", "language"):
        assert isinstance(feed.get(name, ""), str)
    for author in feed.get("authors", []):
        assert isinstance(author, dict) and set(author) <= {"name", "url", "avatar"}
    ids = [item["id"] for item in feed["items"]]
    assert len(set(ids)) == len(ids), "ids are unique"
    for item in feed["items"]:
        assert isinstance(item["id"], str) and item["id"]
        assert "content_html" in item or "content_text" in item
        for name in ("url", "title", "content_html", "content_text", "summary", "image"):
            assert isinstance(item.get(name, ""), str)
        for name in ("date_published", "date_modified"):
            if name in item:  # RFC 3339
                assert dt.datetime.fromisoformat(item[name]).tzinfo is not None
        for author in item.get("authors", []):
            assert isinstance(author["name"], str)
        # Extensions are objects under a key starting with "_"; nothing else is unknown.
        known = {
            "id", "url", "external_url", "title", "content_html", "content_text", "summary",
            "image", "banner_image", "date_published", "date_modified", "authors", "tags",
            "language", "attachments",
        }  # fmt: skip
        for name in set(item) - known:
            assert name.startswith("_") and isinstance(item[name], dict), name


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


def json_feed(client, slug="floods", **headers):
    return client.get(reverse("coverage:story-json", kwargs={"slug": slug}), headers=headers)


def test_a_story_feed_has_one_item_per_published_update_as_rss_does(client, story):
    response = json_feed(client)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/feed+json; charset=utf-8"
    feed = json.loads(response.content)
    assert_json_feed_1_1(feed)
    assert feed["title"] == "Floods live"
    assert feed["description"] == "Rivers rise."
    assert feed["home_page_url"] == "http://testserver/floods/"
    assert feed["feed_url"] == "http://testserver/floods/feed/json/"
    assert feed["authors"] == [{"name": settings.NEWSROOM_NAME}]

    expected = list(story.updates.published().newest_first())
    assert [item["id"] for item in feed["items"]] == [
        f"urn:liveblog:update:{update.pk}" for update in expected
    ]
    # The same items, titles, links and HTML as RSS.
    rss = ET.fromstring(
        client.get(reverse("coverage:story-rss", kwargs={"slug": "floods"})).content
    )
    rss_items = rss.find("channel").findall("item")
    for item, rss_item, update in zip(feed["items"], rss_items, expected, strict=True):
        assert item["title"] == rss_item.findtext("title")
        assert item["url"] == rss_item.findtext("link")
        assert item["url"] == f"http://testserver/floods/updates/{update.pk}/"
        assert item["content_html"] == rss_item.findtext("description")
        assert dt.datetime.fromisoformat(item["date_published"]) == update.published_at
        assert item["_liveblog"]["stamp"] == f"UPDATE {update.stamp}"
    assert [item["title"] for item in feed["items"]][0] == "Bridge shut"
    assert feed["items"][1]["content_text"] == "Middle"


def test_items_carry_text_bylines_cards_and_corrections(client):
    story = make_story(slug="floods", title="Floods")
    author = make_editor()
    author.first_name, author.last_name = "Jane", "Doe"
    author.save()
    update = make_update(
        story, headline="Dam breaks", body="<p>Water <b>everywhere</b>.</p>", actor=author
    )
    make_embed(update, author_name="Someone", text="Stay safe", url="https://x.com/a/status/1")
    edit(
        Update.objects.get(pk=update.pk), correction_note="An earlier version named the wrong dam."
    )
    [item] = json.loads(json_feed(client).content)["items"]
    assert item["authors"] == [{"name": "Jane Doe"}]
    assert item["content_text"].split("\n\n") == [
        "Dam breaks",
        "Water everywhere.",
        "Someone — Stay safe — https://x.com/a/status/1",
        "Correction: An earlier version named the wrong dam.",
    ]
    assert "Stay safe" in item["content_html"] and "<b>everywhere</b>" in item["content_html"]
    [card] = item["_liveblog"]["embeds"]
    assert card["kind"] == "social" and card["url"] == "https://x.com/a/status/1"
    assert item["date_modified"] >= item["date_published"]


def test_hostile_text_stays_text(client):
    story = make_story(slug="floods", title="<script>alert(1)</script> Floods")
    make_update(story, headline="<img src=x onerror=alert(1)>", body="<p>ok</p><script>x</script>")
    feed = json.loads(json_feed(client).content)
    assert feed["title"] == "<script>alert(1)</script> Floods"  # JSON strings are text
    [item] = feed["items"]
    assert "<script" not in item["content_html"] and "<img" not in item["content_html"]
    assert "&lt;img src=x onerror=alert(1)&gt;" in item["content_html"]


def test_an_unchanged_feed_costs_no_query_and_answers_conditional_requests(
    client, story, django_assert_num_queries
):
    first = json_feed(client)
    assert first["Cache-Control"].startswith("public, max-age=")
    with django_assert_num_queries(0):
        again = json_feed(client)
        by_etag = json_feed(client, **{"If-None-Match": first["ETag"]})
        by_date = json_feed(client, **{"If-Modified-Since": first["Last-Modified"]})
    assert again.content == first.content
    assert (by_etag.status_code, by_etag.content) == (304, b"")
    assert by_date.status_code == 304
    make_update(story, headline="Something new")
    changed = json_feed(client, **{"If-None-Match": first["ETag"]})
    assert changed.status_code == 200 and b"Something new" in changed.content


def test_draft_and_unknown_stories_have_no_feed(client):
    make_story(slug="secret", status=Story.Status.DRAFT)
    assert json_feed(client, "secret").status_code == 404
    assert json_feed(client, "nowhere").status_code == 404


def test_the_live_stories_feed(client, django_assert_num_queries):
    on_now = make_story(slug="on-now", title="On now", standfirst="Live from the river.")
    make_story(slug="ended", title="Over", status=Story.Status.ENDED)
    make_story(slug="draft", title="Not yet", status=Story.Status.DRAFT)
    url = reverse("coverage:live-json-feed")
    response = client.get(url)
    assert response["Content-Type"] == "application/feed+json; charset=utf-8"
    feed = json.loads(response.content)
    assert_json_feed_1_1(feed)
    assert feed["title"] == "Live coverage"
    [item] = feed["items"]
    assert item["id"] == f"urn:liveblog:story:{on_now.pk}"
    assert item["url"] == "http://testserver/on-now/"
    assert item["title"] == "On now" and item["content_text"] == "Live from the river."
    with django_assert_num_queries(0):
        assert client.get(url, headers={"If-None-Match": response["ETag"]}).status_code == 304
