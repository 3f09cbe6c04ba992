"""The one representation of stories and updates that the API, JSON Feed and
webhooks share: fields, absolute links, GMT ISO times, sanitised HTML and text."""

import datetime as dt

import pytest

from coverage import representation
from coverage.models import Update
from tests.factories import make_embed, make_story, make_update

pytestmark = pytest.mark.django_db

BASE = "https://news.example"


def fetched(update):
    return Update.objects.select_related("story").with_cards_and_bylines().get(pk=update.pk)


def test_update_carries_permalink_times_html_text_and_cards(django_assert_num_queries):
    story = make_story(slug="floods", title="Floods")
    at = dt.datetime(2026, 12, 8, 19, 41, 7, tzinfo=dt.UTC)
    update = make_update(
        story,
        headline="Rivers rise",
        body="<p>First <b>line</b></p><p>Second</p><script>alert(1)</script>",
        published_at=at,
        key_event=True,
    )
    make_embed(update, text="Stay safe", posted_at=at)
    update = fetched(update)
    with django_assert_num_queries(0):
        data = representation.update_data(update, BASE)
    assert data["id"] == update.pk
    assert data["url"] == f"{BASE}/floods/updates/{update.pk}/"
    assert data["in_story_url"].startswith(f"{BASE}/floods/?around={update.pk}")
    assert data["published_at"] == "2026-12-08T19:41:07Z"
    assert data["stamp"] == "UPDATE 1941 GMT"
    assert data["content_html"] == "<p>First <b>line</b></p><p>Second</p>"
    assert data["content_text"] == "First line\nSecond"
    assert data["key_event"] is True and data["pinned"] is False
    assert data["revision"] == update.revision
    [card] = data["embeds"]
    assert card["kind"] == "social"
    assert card["provider"] is None or isinstance(card["provider"], str)
    assert card["author_handle"] == "@someone"
    assert card["posted_at"] == "2026-12-08T19:41:07Z"


def test_story_links_previous_day_but_never_a_draft():
    draft = make_story(slug="draft-day", status="draft")
    yesterday = make_story(slug="monday", title="Monday")
    story = make_story(slug="tuesday", previous=yesterday)
    data = representation.story_data(story, BASE)
    assert data["previous"] == {"slug": "monday", "title": "Monday", "url": f"{BASE}/monday/"}
    assert data["next"] is None
    assert data["status"] == "live"
    hidden = make_story(slug="wednesday", previous=draft)
    assert representation.story_data(hidden, BASE)["previous"] is None


def test_base_url_prefers_site_url(rf, settings):
    request = rf.get("/", HTTP_HOST="127.0.0.1:8000")
    settings.SITE_URL = ""
    assert representation.base_url(request) == "http://127.0.0.1:8000"
    settings.SITE_URL = "https://news.example/"
    assert representation.base_url(request) == "https://news.example"
    assert representation.base_url() == "https://news.example"
