"""The JSON API's stories and updates: content, pagination, visibility, caching
headers and 304s, CORS, problem+json errors, and the docs."""

import datetime as dt
import io
import json
import re

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone
from openapi_spec_validator import validate
from PIL import Image

from coverage import publishing
from coverage.models import Embed, Story
from tests.api_helpers import assert_problem, assert_valid, get
from tests.factories import (
    committed,
    edit,
    end_coverage,
    make_editor,
    make_embed,
    make_story,
    make_update,
    retract,
)

pytestmark = pytest.mark.django_db


def png(size=(40, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, "navy").save(buffer, "PNG")
    return buffer.getvalue()


def ago(**delta):
    return timezone.now() - dt.timedelta(**delta)


# Stories ------------------------------------------------------------------


def test_stories_are_listed_newest_first_a_page_at_a_time_without_drafts(client):
    make_story(slug="draft", status=Story.Status.DRAFT)
    slugs = []
    for n in range(5):
        story = make_story(slug=f"day-{n}", started_at=ago(days=5 - n))
        slugs.insert(0, story.slug)
    end_coverage(Story.objects.get(slug="day-0"))

    seen, response = [], get(client, "stories", {"limit": 2})
    pages = 0
    while True:
        assert response.status_code == 200
        assert response["Content-Type"] == "application/json"
        document = response.json()
        assert_valid("StoryList", document)
        seen += [story["slug"] for story in document["items"]]
        pages += 1
        if document["next"] is None:
            assert "Link" not in response
            break
        assert response["Link"] == f'<{document["next"]}>; rel="next"'
        response = client.get(document["next"])
    assert seen == slugs and pages == 3
    first = get(client, "stories", {"limit": 2})
    again = get(client, "stories", {"limit": 2}, headers={"If-None-Match": first["ETag"]})
    assert (again.status_code, again.content) == (304, b"")

    live = get(client, "stories", {"status": "live"}).json()["items"]
    assert [story["slug"] for story in live] == slugs[:4]
    ended = get(client, "stories", {"status": "ended"}).json()["items"]
    assert [story["slug"] for story in ended] == ["day-0"]


@pytest.mark.parametrize(
    "params",
    [{"status": "draft"}, {"limit": 0}, {"limit": 101}, {"limit": "x"}, {"cursor": "yesterday"}],
)
def test_a_bad_story_list_parameter_is_a_400_problem(client, params):
    document = assert_problem(get(client, "stories", params), 400, "invalid-parameter")
    assert list(params)[0] in document["detail"]


def test_a_story_carries_its_fields_links_and_days(client):
    monday = make_story(slug="monday", title="Monday", started_at=ago(days=1))
    story = make_story(
        slug="tuesday",
        title="Floods <b>rise</b>",
        standfirst="Rivers rising.\nRoads shut.",
        previous=monday,
        lead_image=ContentFile(png(), name="bridge.png"),
        lead_image_caption="The bridge",
        lead_image_credit="Desk",
        lead_image_alt="A bridge under water",
    )
    response = get(client, "story", slug="tuesday")
    assert response.status_code == 200
    data = response.json()
    assert_valid("Story", data)
    base = "http://testserver"
    assert data["url"] == f"{base}/tuesday/"
    assert data["title"] == "Floods <b>rise</b>"  # text, not markup: clients escape it
    assert data["standfirst"] == ["Rivers rising.", "Roads shut."]
    assert data["status"] == "live" and data["revision"] == story.revision
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", data["started_at"])
    image = data["lead_image"]
    assert (image["width"], image["height"]) == (40, 30)
    assert (image["alt"], image["credit"]) == ("A bridge under water", "Desk")
    assert image["url"].startswith(f"{base}/media/")
    assert data["previous"] == {"slug": "monday", "title": "Monday", "url": f"{base}/monday/"}
    assert data["links"]["changes"] == f"{base}/api/v1/stories/tuesday/changes"
    assert data["links"]["json_feed"] == f"{base}/tuesday/feed/json/"
    assert get(client, "story", slug="monday").json()["next"]["slug"] == "tuesday"
    listed = {item["slug"]: item for item in get(client, "stories").json()["items"]}
    assert listed["monday"]["next"]["slug"] == "tuesday" and listed["tuesday"] == data


def test_an_unchanged_story_costs_no_query_and_answers_conditional_requests(
    client, django_assert_num_queries, monkeypatch
):
    story = make_story(slug="floods")
    first = get(client, "story", slug="floods")
    etag = first["ETag"]
    assert first["Cache-Control"].startswith("public, max-age=")
    with django_assert_num_queries(0):
        again = get(client, "story", slug="floods")
        not_modified = get(client, "story", slug="floods", headers={"If-None-Match": etag})
    assert again.content == first.content
    assert not_modified.status_code == 304 and not_modified.content == b""
    assert not_modified["ETag"] == etag

    # Last-Modified is given once its second is over, and answers If-Modified-Since.
    later = timezone.now().timestamp() + 5
    monkeypatch.setattr("coverage.api.http.time.time", lambda: later)
    last_modified = get(client, "story", slug="floods")["Last-Modified"]
    since = get(client, "story", slug="floods", headers={"If-Modified-Since": last_modified})
    assert since.status_code == 304

    with committed():
        publishing.save_story(Story.objects.get(pk=story.pk))
    changed = get(client, "story", slug="floods", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed["ETag"] != etag


def test_drafts_unknown_stories_and_unknown_addresses_are_404_problems(client):
    make_story(slug="secret", status=Story.Status.DRAFT)
    assert_problem(get(client, "story", slug="secret"), 404, "not-found")
    assert_problem(get(client, "updates", slug="secret"), 404, "not-found")
    assert_problem(get(client, "story", slug="nowhere"), 404, "not-found")
    for path in ("/api/v1/nothing", "/api/v1/stories/x/y/z", "/api/", "/api/v2/stories"):
        assert_problem(client.get(path), 404, "not-found")
    slashed = assert_problem(client.get("/api/v1/stories/"), 404, "not-found")
    assert slashed["detail"].endswith("without the final slash it is /api/v1/stories")


def test_the_api_is_read_only_and_readable_from_any_origin(client):
    make_story(slug="floods")
    url = reverse("api:story", kwargs={"slug": "floods"})
    for method in ("post", "put", "patch", "delete"):
        response = getattr(client, method)(url)
        assert_problem(response, 405, "method-not-allowed")
        assert response["Allow"] == "GET, HEAD, OPTIONS"

    response = client.get(url, headers={"Origin": "https://news.example"})
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "ETag" in response["Access-Control-Expose-Headers"]
    assert "Access-Control-Allow-Credentials" not in response
    assert "Set-Cookie" not in response and "Cookie" not in response.get("Vary", "")

    preflight = client.options(
        url,
        headers={
            "Origin": "https://news.example",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "if-none-match",
        },
    )
    assert preflight.status_code == 204
    assert preflight["Access-Control-Allow-Origin"] == "*"
    assert preflight["Access-Control-Allow-Methods"] == "GET, HEAD, OPTIONS"
    assert "If-None-Match" in preflight["Access-Control-Allow-Headers"]

    head = client.head(url)
    assert head.status_code == 200 and head.content == b""
    assert head["ETag"] == response["ETag"]


# Updates ------------------------------------------------------------------


def test_updates_come_newest_or_oldest_first_by_cursor_without_hidden_ones(client):
    story = make_story(slug="floods")
    visible = [
        make_update(story, body=f"<p>Visible {n}</p>", published_at=ago(minutes=30 - n))
        for n in range(5)
    ]
    make_update(story, status="draft", body="<p>Draft</p>")
    make_update(story, status="submitted", body="<p>Awaiting approval</p>")
    make_update(story, published_at=timezone.now() + dt.timedelta(hours=1), body="<p>Later</p>")
    retract(make_update(story, body="<p>Withdrawn</p>"))
    newest = [update.pk for update in reversed(visible)]

    def all_pages(params):
        ids, response = [], get(client, "updates", params, slug="floods")
        while True:
            document = response.json()
            assert_valid("UpdateList", document)
            ids += [item["id"] for item in document["items"]]
            if not document["next"]:
                return ids
            response = client.get(document["next"])

    assert all_pages({"limit": 2}) == newest
    assert all_pages({"limit": 2, "order": "oldest"}) == newest[::-1]
    assert all_pages({}) == newest


def test_key_events_only(client):
    story = make_story(slug="floods")
    make_update(story, body="<p>Routine</p>")
    key = make_update(story, body="<p>Dam breaks</p>", key_event=True)
    items = get(client, "updates", {"key_events": 1}, slug="floods").json()["items"]
    assert [item["id"] for item in items] == [key.pk]
    assert items[0]["key_event"] is True


@pytest.mark.parametrize(
    "params",
    [
        {"order": "sideways"},
        {"cursor": "12"},
        {"cursor": "1-2-3"},
        {"cursor": "99999999999999999-1"},
        {"limit": -1},
        {"key_events": "maybe"},
    ],
)
def test_a_bad_updates_parameter_is_a_400_problem(client, params):
    make_story(slug="floods")
    assert_problem(get(client, "updates", params, slug="floods"), 400, "invalid-parameter")


def test_an_update_carries_permalink_times_html_text_and_cards(client):
    story = make_story(slug="floods")
    at = dt.datetime(2025, 12, 8, 19, 41, 7, tzinfo=dt.UTC)
    author = make_editor()
    update = make_update(
        story,
        headline="Rivers rise",
        body='<p>First <a href="https://example.com" onclick="x()">line</a></p><script></script>',
        published_at=at,
        actor=author,
    )
    make_embed(update, text="Stay safe", posted_at=at)
    with committed():
        publishing.add_embed(
            update.pk,
            Embed(
                kind=Embed.Kind.IMAGE,
                image=ContentFile(png((64, 48)), name="bridge.png"),
                caption="The bridge",
                credit="Desk",
                alt_text="A bridge",
            ),
        )
    response = get(client, "update", slug="floods", update_id=update.pk)
    assert response.status_code == 200
    data = response.json()
    assert_valid("Update", data)
    assert data["url"] == f"http://testserver/floods/updates/{update.pk}/"
    assert data["published_at"] == "2025-12-08T19:41:07Z"
    assert data["stamp"] == "UPDATE 1941 GMT"
    assert "onclick" not in data["content_html"] and "<script" not in data["content_html"]
    assert data["content_text"] == "First line"
    social, image = data["embeds"]
    assert social["kind"] == "social" and social["text"] == "Stay safe"
    assert (image["image"]["alt"], image["image"]["credit"]) == ("A bridge", "Desk")
    assert image["image"]["width"] and image["image"]["height"]
    assert all(rendition["width"] for rendition in image["image"]["renditions"])
    listed = get(client, "updates", slug="floods").json()["items"]
    assert listed == [data]


def test_hidden_updates_are_404_problems(client):
    story = make_story(slug="floods")
    draft = make_update(story, status="draft")
    scheduled = make_update(story, published_at=timezone.now() + dt.timedelta(hours=1))
    withdrawn = retract(make_update(story))
    elsewhere = make_update(make_story(slug="other"))
    for update in (draft, scheduled, withdrawn, elsewhere):
        assert_problem(get(client, "update", slug="floods", update_id=update.pk), 404, "not-found")
    huge = client.get(f"/api/v1/stories/floods/updates/{2**64}")
    assert_problem(huge, 400, "invalid-parameter")


def test_repeat_update_requests_cost_no_query_until_the_story_changes(
    client, django_assert_num_queries
):
    story = make_story(slug="floods")
    update = make_update(story, body="<p>Before</p>")
    get(client, "update", slug="floods", update_id=update.pk)
    get(client, "update", slug="floods", update_id=update.pk + 1000)
    get(client, "updates", slug="floods")
    with django_assert_num_queries(0):
        one = get(client, "update", slug="floods", update_id=update.pk)
        listed = get(client, "updates", slug="floods")
        gone = get(client, "update", slug="floods", update_id=update.pk + 1000)
    assert one.status_code == listed.status_code == 200 and gone.status_code == 404
    for name, kwargs in (("update", {"update_id": update.pk}), ("updates", {})):
        etag = one["ETag"] if name == "update" else listed["ETag"]
        cached = get(client, name, headers={"If-None-Match": etag}, slug="floods", **kwargs)
        assert (cached.status_code, cached.content) == (304, b"")
    edit(update, body="<p>After</p>")
    assert (
        "After" in get(client, "update", slug="floods", update_id=update.pk).json()["content_html"]
    )
    not_modified = get(client, "updates", slug="floods", headers={"If-None-Match": listed["ETag"]})
    assert not_modified.status_code == 200


# The document, the docs, and discovery ---------------------------------------


def test_the_openapi_document_is_valid_openapi_3_1(client):
    response = client.get(reverse("api:openapi"))
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"
    document = response.json()
    assert document["openapi"].startswith("3.1")
    validate(document)
    assert document["servers"] == [{"url": "http://testserver/api/v1"}]
    assert set(document["paths"]) == {
        "/stories",
        "/stories/{slug}",
        "/stories/{slug}/updates",
        "/stories/{slug}/updates/{update_id}",
        "/stories/{slug}/changes",
    }
    changes = document["paths"]["/stories/{slug}/changes"]["get"]["responses"]
    assert "application/problem+json" in changes["409"]["content"]
    assert (
        client.get(reverse("api:openapi"), headers={"If-None-Match": response["ETag"]}).status_code
        == 304
    )


def test_the_docs_page_is_generated_from_the_document_under_the_strict_policy(client):
    response = client.get(reverse("api:docs"))
    assert response.status_code == 200
    html = response.content.decode()
    policy = response["Content-Security-Policy"]
    assert "script-src 'self' 'nonce-" in policy and "unsafe-inline" not in policy
    # Every script is a same-origin file: nothing inline, nothing from elsewhere.
    for tag in re.findall(r"<script[^>]*>", html):
        assert re.search(r'src="/static/', tag), tag
    assert 'style="' not in html and "http" not in "".join(re.findall(r'src="[^"]*"', html))
    document = client.get(reverse("api:openapi")).json()
    for path, methods in document["paths"].items():
        assert f'id="{methods["get"]["operationId"]}"' in html
        assert path.replace("{", "").replace("}", "") in html.replace("{", "").replace("}", "")
    for name in document["components"]["schemas"]:
        assert f'id="schema-{name}"' in html
    for kind in ("invalid-parameter", "not-found", "method-not-allowed", "resync", "unavailable"):
        assert f'id="problem-{kind}"' in html
    # The docstrings' `code` is code on the page, and their text is escaped.
    assert "follow <code>next</code>" in html and "`" not in html


def test_story_and_home_pages_name_the_api_and_json_feeds(client):
    make_story(slug="floods", title="Floods")
    page = client.get("/floods/").content.decode()
    api_link = 'type="application/json" title="Floods (JSON API)" href="/api/v1/stories/floods"'
    feed_link = 'type="application/feed+json" title="Floods (JSON Feed)" href="/floods/feed/json/"'
    assert api_link in page and feed_link in page
    home = client.get("/").content.decode()
    live_link = 'type="application/feed+json" title="Live stories (JSON Feed)"'
    assert f'{live_link} href="/feeds/live/json/"' in home
    assert client.get("/api/v1/stories/floods").json()["slug"] == "floods"
    assert json.loads(client.get("/floods/feed/json/").content)["title"] == "Floods"


def test_a_database_error_is_a_503_problem_with_retry_after(client, monkeypatch):
    from django.db import OperationalError

    make_story(slug="floods")

    def unavailable(state):
        raise OperationalError("the database is down")

    monkeypatch.setattr("coverage.api.views.story_at", unavailable)
    response = get(client, "story", slug="floods")
    document = assert_problem(response, 503, "unavailable")
    assert response["Retry-After"] == str(settings.RETRY_AFTER_SECONDS)
    assert response["Retry-After"] in document["detail"]
    assert "Retry-After" in response["Access-Control-Expose-Headers"]


def test_every_surface_names_the_same_next_day(client):
    """Two stories continuing one (a day restarted, say): the page, the poll,
    the API's story and list, and the webhooks' story all name the first."""
    monday = make_story(slug="monday", title="Monday", started_at=ago(days=2))
    make_story(slug="tuesday-late", title="Late", previous=monday, started_at=ago(hours=20))
    make_story(slug="tuesday", title="Tuesday", previous=monday, started_at=ago(days=1))
    make_story(
        slug="tuesday-draft", previous=monday, status="draft", started_at=ago(days=1, hours=1)
    )
    since = Story.objects.get(slug="monday").revision
    end_coverage(monday)

    assert Story.objects.get(slug="monday").next_day().slug == "tuesday"
    page = client.get("/monday/").content.decode()
    assert 'href="/tuesday/">Coverage continues' in page
    poll = client.get("/monday/updates/", {"since": since}).content.decode()
    assert 'href="/tuesday/">Coverage continues' in poll
    assert get(client, "story", slug="monday").json()["next"]["slug"] == "tuesday"
    listed = {item["slug"]: item for item in get(client, "stories").json()["items"]}
    assert listed["monday"]["next"]["slug"] == "tuesday"
