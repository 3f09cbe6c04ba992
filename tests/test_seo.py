"""What search engines read: LiveBlogPosting JSON-LD on the story page, the
sitemap and robots.txt, all through the HTTP client as a crawler asks."""

import datetime as dt
import io
import json
import re
import xml.etree.ElementTree as ET

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone
from PIL import Image

from coverage.models import Story, Update
from tests.factories import edit, end_coverage, make_story, make_update

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=0)
SITEMAP_NS = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
HOSTILE = "</script><script>alert(1)</script>"


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 40, 40)).save(buffer, format="PNG")
    return buffer.getvalue()


def json_ld_blocks(html: str) -> list[re.Match]:
    return list(
        re.finditer(r'<script type="application/ld\+json"([^>]*)>(.*?)</script>', html, re.S)
    )


def json_ld(client, story) -> dict:
    response = client.get(story.get_absolute_url())
    assert response.status_code == 200
    (block,) = json_ld_blocks(response.content.decode())
    return json.loads(block[2])


def parse_time(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def whole_seconds(moment: dt.datetime) -> dt.datetime:
    return moment.replace(microsecond=0)


def test_story_page_describes_itself_as_a_live_blog_posting(client, settings):
    settings.NEWSROOM_NAME = "The Daily Tide"
    story = make_story(
        title="Floods live",
        slug="floods",
        standfirst="Rivers rise.\nAll times GMT.",
        lead_image=ContentFile(png(), name="bridge.png"),
    )
    older = make_update(
        story, published_at=NOW - dt.timedelta(hours=2), body="<p>Rain.</p><p>More rain.</p>"
    )
    newer = make_update(
        story,
        published_at=NOW - dt.timedelta(hours=1),
        headline="Bridge shut",
        body="<p>Police &amp; army</p>",
    )
    make_update(story, status=Update.Status.DRAFT, body="<p>draft text</p>")
    data = json_ld(client, story)

    assert data["@context"] == "https://schema.org"
    assert data["@type"] == "LiveBlogPosting"
    assert data["url"] == "http://testserver/floods/"
    assert data["headline"] == "Floods live"
    assert data["description"] == "Rivers rise. All times GMT."
    story.refresh_from_db()
    # The display copy (resized, no metadata), as the page shows it.
    assert data["image"] == [f"http://testserver{story.lead_image_display.url}"]
    assert parse_time(data["coverageStartTime"]) == whole_seconds(story.started_at)
    assert parse_time(data["datePublished"]) == whole_seconds(story.started_at)
    assert parse_time(data["dateModified"]) == whole_seconds(story.updated_at)
    assert "coverageEndTime" not in data
    assert data["publisher"] == {"@type": "Organization", "name": "The Daily Tide"}

    first, second = data["liveBlogUpdate"]  # the page's order; the draft is not on the page
    assert first == {
        "@type": "BlogPosting",
        "headline": "Bridge shut",
        "datePublished": first["datePublished"],
        "dateModified": first["dateModified"],
        "articleBody": "Police & army",
        "url": f"http://testserver/floods/updates/{newer.pk}/",
    }
    assert parse_time(first["datePublished"]) == whole_seconds(newer.published_at)
    assert second["headline"] == f"UPDATE {older.stamp}"
    assert re.fullmatch(r"UPDATE \d{4} GMT", second["headline"])
    assert second["articleBody"] == "Rain.\nMore rain."
    assert second["url"] == f"http://testserver/floods/updates/{older.pk}/"


def test_an_edit_shows_as_modified_and_ended_coverage_has_an_end_time(client):
    story = make_story()
    update = make_update(story, published_at=NOW - dt.timedelta(hours=1))
    edited = edit(update, body="<p>Corrected.</p>")
    end_coverage(story)
    story.refresh_from_db()
    data = json_ld(client, story)
    (posting,) = data["liveBlogUpdate"]
    assert posting["articleBody"] == "Corrected."
    assert parse_time(posting["dateModified"]) == whole_seconds(edited.edited_at)
    assert parse_time(data["coverageEndTime"]) == whole_seconds(story.ended_at)


def test_hostile_text_cannot_break_out_of_the_data_block(client):
    story = make_story(title=f"Title {HOSTILE}", standfirst=f"Lead {HOSTILE}")
    make_update(
        story,
        headline=f"Headline {HOSTILE}",
        body="<p>&lt;/script&gt;&lt;script&gt;alert(2)&lt;/script&gt;</p>",
    )
    html = client.get(story.get_absolute_url()).content.decode()
    head = html.split("</head>")[0]
    # One data block, and no script the text could have opened.
    assert "alert(" not in "".join(
        re.findall(r"<script(?![^>]*ld\+json)[^>]*>(.*?)</script>", head, re.S)
    )
    (block,) = json_ld_blocks(html)
    assert "<" not in block[2]
    data = json.loads(block[2])
    assert data["headline"] == f"Title {HOSTILE}"
    assert data["description"] == f"Lead {HOSTILE}"
    assert data["liveBlogUpdate"][0]["headline"] == f"Headline {HOSTILE}"
    assert data["liveBlogUpdate"][0]["articleBody"] == "</script><script>alert(2)</script>"


def test_the_data_block_carries_the_pages_csp_nonce_even_when_cached(client):
    story = make_story()
    make_update(story)
    for _ in range(2):  # the second view comes from the fragment cache
        response = client.get(story.get_absolute_url())
        (block,) = json_ld_blocks(response.content.decode())
        nonce = re.search(r'nonce="([^"]+)"', block[1])[1]
        assert f"'nonce-{nonce}'" in response["Content-Security-Policy"]


def test_the_canonical_address_is_the_storys_whatever_the_query(client):
    # Campaign tags and the key-events filter name the same page; the first
    # visitor's query must not become the canonical cached for everyone.
    story = make_story(slug="floods")
    make_update(story)
    canonical = '<link rel="canonical" href="http://testserver/floods/">'
    for query in ("?utm_source=newsletter&x=%22%3E%3Cscript%3E", "?key_events=1", ""):
        page = client.get(f"/floods/{query}").content.decode()
        assert canonical in page, query
    older = client.get("/floods/?before=1764086460-123").content.decode()
    assert '<link rel="canonical" href="http://testserver/floods/?before=1764086460-123">' in older


def test_sitemap_lists_public_stories_with_their_last_change(client):
    live = make_story(slug="live-one")
    ended = make_story(slug="ended-one", status=Story.Status.ENDED)
    make_story(slug="secret-draft", status=Story.Status.DRAFT)
    make_update(live)  # bumps the story's updated_at
    live.refresh_from_db()
    response = client.get("/sitemap.xml")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/xml")
    urls = {
        url.find("s:loc", SITEMAP_NS).text: url.find("s:lastmod", SITEMAP_NS).text
        for url in ET.fromstring(response.content).findall("s:url", SITEMAP_NS)
    }
    assert set(urls) == {"http://testserver/live-one/", "http://testserver/ended-one/"}
    assert parse_time(urls["http://testserver/live-one/"]) == whole_seconds(live.updated_at)
    assert "secret-draft" not in response.content.decode()
    assert ended.updated_at  # both carry lastmod
    assert all(urls.values())


def test_robots_txt_allows_readers_pages_and_names_the_sitemap(client):
    response = client.get("/robots.txt")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    lines = response.content.decode().splitlines()
    assert lines[0] == "User-agent: *"
    assert "Disallow: /admin/" in lines
    assert [line for line in lines if line.startswith("Disallow:")] == ["Disallow: /admin/"]
    assert "Sitemap: http://testserver/sitemap.xml" in lines
    assert client.get(lines[-1].removeprefix("Sitemap: ")).status_code == 200
