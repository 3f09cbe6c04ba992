"""Each update's own page (/<slug>/updates/<id>/), its share card and
NewsArticle data, and ?around= finding an update's place in the story
(issue 10, item 3)."""

import datetime as dt
import html as html_lib
import io
import json
import re

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from coverage.models import Embed
from coverage.views import PAGE_SIZE, UPDATES_ABOVE
from tests.factories import edit, make_embed, make_story, make_update, retract

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=0)


def png(size=(40, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (20, 90, 160)).save(buffer, format="PNG")
    return buffer.getvalue()


def meta(page: str) -> dict[str, str]:
    """<meta property|name=... content=...> as a dict, values unescaped."""
    pairs = re.findall(r'<meta (?:property|name)="([^"]+)" content="([^"]*)">', page)
    return {key: html_lib.unescape(value) for key, value in pairs}


def json_ld(page: str) -> dict:
    (block,) = re.findall(r'<script type="application/ld\+json"[^>]*>(.*?)</script>', page, re.S)
    return json.loads(block)


def get(client, url) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.content
    return response.content.decode()


def test_an_update_has_a_page_of_its_own_with_title_description_card_and_canonical(client):
    story = make_story(title="Floods live", slug="floods", standfirst="Rivers rise.")
    update = make_update(
        story,
        headline="River bursts its banks",
        body="<p>Water reached the <strong>high street</strong> at noon.</p>",
        published_at=NOW - dt.timedelta(minutes=5),
    )
    url = f"/floods/updates/{update.pk}/"
    assert update.get_absolute_url() == url
    page = get(client, url)
    assert "<title>River bursts its banks | Floods live</title>" in page
    assert f'<link rel="canonical" href="http://testserver{url}">' in page
    tags = meta(page)
    assert tags["description"] == "Water reached the high street at noon."
    assert tags["og:type"] == "article"
    assert tags["og:title"] == tags["twitter:title"] == "River bursts its banks"
    assert tags["og:url"] == f"http://testserver{url}"
    assert tags["twitter:card"] == "summary"  # no image anywhere
    assert "og:image" not in tags
    # One page heading, the story's, leading back to it (screen readers jump by it).
    assert re.findall(r"<h1[^>]*>(.*?)</h1>", page, re.S) == ['<a href="/floods/">Floods live</a>']
    # The update itself, rendered as on the story page, and the way to its place there.
    assert f'id="update-{update.pk}"' in page
    assert "<strong>high street</strong>" in page
    assert f'href="/floods/?around={update.pk}#update-{update.pk}"' in page
    assert 'href="/floods/feed/rss/"' in page  # the story's feed, first


def test_an_update_without_headline_is_titled_by_its_time_and_first_words(client):
    story = make_story(slug="floods")
    update = make_update(story, body="<p>Rain again over the hills tonight</p>")
    page = get(client, update.get_absolute_url())
    assert f"<title>UPDATE {update.stamp} — Rain again over the hills tonight |" in page


def test_the_card_shows_the_updates_image_else_the_storys_lead_image(client):
    story = make_story(
        slug="floods",
        lead_image=ContentFile(png((60, 40)), name="lead.png"),
        lead_image_alt="The river at dawn",
    )
    plain = make_update(story)
    tags = meta(get(client, plain.get_absolute_url()))
    # Its display copy (resized, no EXIF), as on the page.
    story.refresh_from_db()
    assert story.lead_image_display
    assert tags["og:image"] == f"http://testserver{story.lead_image_display.url}"
    assert tags["og:image:alt"] == "The river at dawn"
    assert tags["twitter:card"] == "summary_large_image"

    pictured = make_update(story)
    embed = make_embed(
        pictured,
        kind=Embed.Kind.IMAGE,
        image=SimpleUploadedFile("street.png", png(), content_type="image/png"),
        caption="The high street",
        credit="Agency",
        alt_text="Water up to the shop doors",
        url="",
        author_name="",
        author_handle="",
        text="",
    )
    embed.refresh_from_db()
    tags = meta(get(client, pictured.get_absolute_url()))
    assert tags["og:image"].startswith("http://testserver/media/")
    assert tags["og:image"] != f"http://testserver{story.lead_image.url}"
    assert tags["og:image:alt"] == "Water up to the shop doors"


def test_the_update_page_is_a_news_article_part_of_the_live_blog(client, settings):
    settings.NEWSROOM_NAME = "The Daily Tide"
    story = make_story(title="Floods live", slug="floods")
    update = make_update(story, headline="Bridge closed", body="<p>Police &amp; army.</p>")
    edit(update, body="<p>Police &amp; army, now.</p>")
    data = json_ld(get(client, update.get_absolute_url()))
    assert data["@context"] == "https://schema.org"
    assert data["@type"] == "NewsArticle"
    assert data["headline"] == "Bridge closed"
    assert data["articleBody"] == "Police & army, now."
    assert (
        data["url"] == data["mainEntityOfPage"] == f"http://testserver/floods/updates/{update.pk}/"
    )
    published = dt.datetime.fromisoformat(data["datePublished"])
    modified = dt.datetime.fromisoformat(data["dateModified"])
    assert modified >= published
    assert data["publisher"] == {"@type": "Organization", "name": "The Daily Tide"}
    assert data["author"]  # required by Google: the newsroom when there is no byline
    assert data["isPartOf"] == {
        "@type": "LiveBlogPosting",
        "headline": "Floods live",
        "url": "http://testserver/floods/",
    }


def test_hostile_text_stays_text_in_the_title_meta_and_data(client):
    story = make_story(slug="floods", title='Floods "live" <b>')
    update = make_update(
        story,
        headline='Say "hi" </script><script>alert(1)</script>',
        body='<p>Police <img src=x onerror="alert(2)"> say</p>',
    )
    page = get(client, update.get_absolute_url())
    assert "<script>alert(1)" not in page
    assert "onerror" not in page
    assert json_ld(page)["headline"].startswith('Say "hi" </script>')
    assert meta(page)["og:title"] == 'Say "hi" </script><script>alert(1)</script>'


def test_a_retracted_scheduled_or_foreign_update_has_no_page(client):
    story = make_story(slug="floods")
    other = make_story(slug="fires")
    withdrawn = make_update(story)
    retract(withdrawn)
    later = make_update(story, published_at=NOW + dt.timedelta(hours=1))
    elsewhere = make_update(other)
    for update_id in (withdrawn.pk, later.pk, elsewhere.pk, 999999):
        assert client.get(f"/floods/updates/{update_id}/").status_code == 404
    draft = make_story(slug="secret", status="draft")
    hidden = make_update(draft)
    assert client.get(f"/secret/updates/{hidden.pk}/").status_code == 404


def test_an_update_page_is_answered_from_the_cache_until_the_story_changes(
    client, django_assert_num_queries
):
    story = make_story(slug="floods")
    update = make_update(story, headline="First")
    get(client, update.get_absolute_url())
    with django_assert_num_queries(0):
        get(client, update.get_absolute_url())
    edit(update, headline="Second")
    assert "Second" in get(client, update.get_absolute_url())
    retract(update)
    assert client.get(update.get_absolute_url()).status_code == 404


def test_every_update_offers_a_share_link_to_its_own_page(client):
    story = make_story(slug="floods")
    update = make_update(story, headline="Bridge closed")
    share = (
        f'<a class="share-link" href="/floods/updates/{update.pk}/"'
        ' data-share-title="Bridge closed">'
    )
    assert share in get(client, "/floods/")
    # Arriving by poll, it carries one too.
    assert share in get(client, "/floods/updates/?since=0")


def test_the_story_page_has_a_share_card_too(client):
    story = make_story(title="Floods live", slug="floods", standfirst="Rivers rise.\nRoads shut.")
    tags = meta(get(client, story.get_absolute_url()))
    assert tags["og:title"] == "Floods live"
    assert tags["og:description"] == tags["description"] == "Rivers rise. Roads shut."
    assert tags["og:url"] == "http://testserver/floods/"


def story_with_many_updates(count):
    story = make_story(slug="floods")
    updates = [
        make_update(story, published_at=NOW - dt.timedelta(minutes=count - n)) for n in range(count)
    ]
    return story, updates  # oldest first


def test_around_sends_a_recent_update_to_the_live_page(client):
    story, updates = story_with_many_updates(3)
    response = client.get(f"/floods/?around={updates[0].pk}")
    assert response.status_code == 302
    assert response["Location"] == "/floods/"


def test_around_sends_an_older_update_to_the_slice_that_holds_it_with_context_above(client):
    story, updates = story_with_many_updates(PAGE_SIZE + 5)
    newest_first = updates[::-1]
    target = newest_first[PAGE_SIZE + 2]  # past the first page
    response = client.get(f"/floods/?around={target.pk}")
    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith("/floods/?before=")
    page = get(client, location)
    shown = [int(n) for n in re.findall(r'<article id="update-(\d+)"', page)]
    # It is there, with UPDATES_ABOVE newer ones above it for context.
    assert shown[UPDATES_ABOVE] == target.pk
    assert shown[:UPDATES_ABOVE] == [u.pk for u in newest_first[PAGE_SIZE : PAGE_SIZE + 2]]


def test_the_last_update_on_the_first_page_stays_on_the_live_page(client):
    story, updates = story_with_many_updates(PAGE_SIZE + 1)
    newest_first = updates[::-1]
    assert client.get(f"/floods/?around={newest_first[PAGE_SIZE - 1].pk}")["Location"] == "/floods/"
    assert client.get(f"/floods/?around={newest_first[PAGE_SIZE].pk}")["Location"] != "/floods/"


def test_around_a_withdrawn_update_goes_to_the_story_and_nonsense_is_a_400(client):
    story, updates = story_with_many_updates(2)
    retract(updates[0])
    assert client.get(f"/floods/?around={updates[0].pk}")["Location"] == "/floods/"
    for bad in ("x", "-1", "1" * 30, "١"):
        response = client.get("/floods/", {"around": bad})
        assert response.status_code == 400
        assert b"around" in response.content


def test_an_updates_own_page_shows_its_date(client):
    story = make_story(started_at=dt.datetime(2026, 11, 24, 9, tzinfo=dt.UTC))
    update = make_update(story, published_at=dt.datetime(2026, 11, 24, 19, 41, tzinfo=dt.UTC))
    page = client.get(update.get_absolute_url()).content.decode()
    assert re.search(
        r'<time class="update-page-date" datetime="2026-11-24T19:41:00\+00:00">'
        r"Tuesday 24 November 2026</time>",
        page,
    )
