"""The embed kit over HTTP (coverage/embed_kit.py): who may frame its pages and
who may not frame the rest, no cookies, options checked, the fragment for
edge includes (and its 304), the teaser and its poll, and the desk's snippet."""

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from coverage.models import Embed, Story
from tests.factories import committed, make_embed, make_story, make_update

pytestmark = pytest.mark.django_db


def embed_url(story, **params):
    return reverse("coverage:embed", kwargs={"slug": story.slug}), params


def get_embed(client, story, **params):
    url, query = embed_url(story, **params)
    return client.get(url, query)


def get_fragment(client, story, headers=None, **params):
    url = reverse("coverage:embed-fragment", kwargs={"slug": story.slug})
    return client.get(url, params, headers=headers)


def csp(response) -> dict[str, str]:
    directives = (part.strip() for part in response["Content-Security-Policy"].split(";"))
    return dict(part.split(" ", 1) for part in directives if part)


def assert_no_cookie(response):
    assert "Set-Cookie" not in response.headers, response.headers.get("Set-Cookie")
    assert not response.cookies


@pytest.fixture
def story():
    story = make_story(title="Floods", standfirst="Rivers burst their banks.")
    make_update(story, body="<p>Rain all night.</p>")
    make_update(story, body="<p>The dam holds.</p>", key_event=True, headline="Dam holds")
    return story


# Framing ----------------------------------------------------------------


def test_the_embed_page_may_be_framed_by_any_site_by_default(client, story):
    response = get_embed(client, story, parent="https://news.example")
    assert response.status_code == 200
    assert "X-Frame-Options" not in response.headers
    assert csp(response)["frame-ancestors"] == "'self' *"
    # Everything else in the policy stays as strict as on the site's pages.
    assert csp(response)["script-src"].startswith("'self' 'nonce-")


def test_frame_ancestors_come_from_the_setting(client, story, settings):
    settings.LIVEBLOG_EMBED_ORIGINS = ["https://news.example", "https://*.example.org"]
    for response in (get_embed(client, story), get_embed(client, story, mode="teaser")):
        assert csp(response)["frame-ancestors"] == (
            "'self' https://news.example https://*.example.org"
        )


def test_every_other_page_still_refuses_to_be_framed(client, story):
    update = story.updates.first()
    for url in (
        "/",
        story.get_absolute_url(),
        update.get_absolute_url(),
        f"{story.get_absolute_url()}updates/?since=0",
        reverse("coverage:embed-fragment", kwargs={"slug": story.slug}),
        "/embed.js",
        "/admin/login/",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response["X-Frame-Options"] == "DENY", url
        assert csp(response)["frame-ancestors"] == "'none'", url


# What the embed page is ---------------------------------------------------


def test_the_embed_page_is_the_story_page_without_the_site_around_it(client, story):
    response = get_embed(client, story, parent="http://127.0.0.1:8101", theme="dark")
    html = response.content.decode()
    assert "Rain all night." in html and "Dam holds" in html
    # The same poller and poll endpoint, key events, local time toggle and Share.
    assert f'data-hx-get="/{story.slug}/updates/?since={story.updates.count() + 1}"' in html
    assert 'id="key-events"' in html and "time-toggle" in html and "share-link" in html
    assert 'class="site-header"' not in html and 'class="site-footer"' not in html
    assert 'data-theme="dark"' in html and 'data-parent="http://127.0.0.1:8101"' in html
    assert '<meta name="robots" content="noindex">' in html
    assert "/static/js/embed-frame.js" in html and "/static/js/live.js" in html
    assert html.index("embed-frame.js") < html.index("live.js")


def test_the_reading_order_is_the_storys_unless_the_snippet_says(client):
    story = make_story(reading_order=Story.ReadingOrder.OLDEST_FIRST)
    assert get_embed(client, story).context["reading_order"] == "oldest"
    assert get_embed(client, story, order="newest").context["reading_order"] == "newest"


def test_unknown_and_draft_stories_are_not_found(client):
    draft = make_story(status=Story.Status.DRAFT)
    assert client.get("/embed/no-such-story/").status_code == 404
    assert get_embed(client, draft).status_code == 404
    assert get_fragment(client, draft).status_code == 404


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"mode": "popup"}, "'mode' must be one of: full, teaser"),
        ({"limit": "0"}, "'limit' must be a whole number from 1 to 50"),
        ({"limit": "51"}, "'limit' must be a whole number from 1 to 50"),
        ({"limit": "five"}, "'limit' must be a whole number"),
        ({"limit": "99999999999999999999"}, "'limit' must be a whole number"),
        ({"theme": "sepia"}, "'theme' must be one of: auto, light, dark"),
        ({"order": "random"}, "'order' must be one of: newest, oldest"),
        ({"show": "all"}, "'show' must be one of: key-events, updates"),
        ({"permalink": "javascript:alert(1)"}, "'permalink' must be ours, host, or an http(s)"),
        ({"parent": "https://news.example/page"}, "'parent' must be an origin"),
        ({"parent": "ftp://news.example"}, "'parent' must be an origin"),
        ({"parent": "https://news.example:99999"}, "'parent' must be an origin"),
        ({"parent": "https://user@news.example"}, "'parent' must be an origin"),
    ],
)
def test_bad_options_are_a_400_saying_which(client, story, params, message):
    for response in (get_embed(client, story, **params), get_fragment(client, story, **params)):
        assert response.status_code == 400
        assert response["Content-Type"].startswith("text/plain")
        assert message in response.content.decode()
        assert_no_cookie(response)


def test_no_embed_answer_sets_a_cookie(client, story, editor):
    """Not even for a logged-in editor: the embed never touches the session or
    the CSRF token (the editor fixture logs the client in)."""
    revision = Story.objects.get(pk=story.pk).revision
    responses = [
        get_embed(client, story),
        get_embed(client, story, mode="teaser"),
        get_embed(client, story, mode="teaser", since=revision),
        get_embed(client, story, mode="teaser", since=0),
        get_fragment(client, story),
        client.get("/embed.js"),
    ]
    etag = responses[4]["ETag"]
    responses.append(get_fragment(client, story, headers={"If-None-Match": etag}))
    assert [r.status_code for r in responses] == [200, 200, 204, 200, 200, 200, 304]
    for response in responses:
        assert_no_cookie(response)
        assert "Cookie" not in response.get("Vary", "")


def test_the_loader_is_javascript_cached_long(client):
    response = client.get("/embed.js")
    assert response["Content-Type"] == "text/javascript; charset=utf-8"
    assert response["Cache-Control"] == "public, max-age=86400, stale-while-revalidate=604800"
    body = response.content.decode()
    assert "postMessage" in body and "/embed/" in body


# The fragment -------------------------------------------------------------


def test_the_fragment_is_plain_html_with_absolute_links(client, story):
    update = story.updates.order_by("pk").first()
    make_embed(update, kind=Embed.Kind.SOCIAL, text="Water over the road")
    response = get_fragment(client, story)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<script" not in html and "<html" not in html and "hx-" not in html
    assert "Rain all night." in html and "Dam holds" in html
    # The card, as static HTML.
    assert "Water over the road" in html and 'class="embed embed-social"' in html
    hrefs = re.findall(r'href="([^"]*)"', html)
    assert hrefs and all(href.startswith(("http://", "https://")) for href in hrefs), hrefs
    assert f'href="http://testserver/{story.slug}/?around={update.pk}#update-{update.pk}"' in html


def test_the_fragment_limit_and_its_cache_headers(client, story):
    response = get_fragment(client, story, limit="1")
    assert response.content.decode().count('class="liveblog-update') == 1
    assert response["Cache-Control"].startswith("public, max-age=")
    assert response["ETag"].startswith('W/"fragment-')


def test_the_fragment_answers_304_by_its_revision_without_a_query(
    client, story, django_assert_num_queries
):
    etag = get_fragment(client, story)["ETag"]
    with django_assert_num_queries(0):
        response = get_fragment(client, story, headers={"If-None-Match": etag})
    assert response.status_code == 304
    make_update(story, body="<p>Evacuation ordered.</p>")
    response = get_fragment(client, story, headers={"If-None-Match": etag})
    assert response.status_code == 200 and response["ETag"] != etag
    assert "Evacuation ordered." in response.content.decode()


# The teaser ---------------------------------------------------------------


def teaser_items(response) -> list[str]:
    return re.findall(r'<span class="teaser-text">([^<]*)</span>', response.content.decode())


def test_the_teaser_shows_key_events_linking_to_the_coverage(client, story):
    response = get_embed(client, story, mode="teaser")
    html = response.content.decode()
    assert teaser_items(response) == ["Dam holds"]
    assert "Key events" in html and "Follow the live coverage" in html
    key_event = story.updates.get(key_event=True)
    assert (
        f'href="http://testserver/{story.slug}/?around={key_event.pk}#update-{key_event.pk}"'
        in html
    )
    assert 'target="_top"' in html


def test_the_teaser_shows_the_latest_updates_without_key_events_or_when_asked(client, story):
    other = make_story()
    for n in range(4):
        make_update(other, body=f"<p>Item {n}</p>")
    response = get_embed(client, other, mode="teaser", limit="3")
    assert teaser_items(response) == ["Item 3", "Item 2", "Item 1"]
    assert "Latest updates" in response.content.decode()
    asked = get_embed(client, story, mode="teaser", show="updates")
    assert teaser_items(asked) == ["Dam holds", "Rain all night."]


def test_the_teaser_links_to_the_newsrooms_page_when_given(client, story):
    page = "https://news.example/live/floods"
    html = get_embed(client, story, mode="teaser", permalink=page + "#top").content.decode()
    key_event = story.updates.get(key_event=True)
    assert f'href="{page}#liveblog-update-{key_event.pk}"' in html
    assert f'href="{page}" target="_top">Follow the live coverage' in html


def test_the_teasers_poll_is_free_while_nothing_changes(client, story, django_assert_num_queries):
    html = get_embed(client, story, mode="teaser", limit="2").content.decode()
    poll_url = re.search(r'data-hx-get="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert "mode=teaser" in poll_url and "limit=2" in poll_url
    with django_assert_num_queries(0):
        idle = client.get(poll_url)
    assert idle.status_code == 204
    assert idle["Cache-Control"].startswith("public, max-age=")

    with committed():
        make_update(story, body="<p>Bridge closed.</p>", key_event=True, headline="Bridge shut")
    answer = client.get(poll_url)
    assert answer.status_code == 200
    assert teaser_items(answer) == ["Bridge shut", "Dam holds"]
    # Only the box (it swaps itself), with the cursor moved on.
    html = answer.content.decode()
    assert html.lstrip().startswith('<section id="teaser"') and "<html" not in html
    revision = Story.objects.get(pk=story.pk).revision
    assert f"since={revision}" in html
    # Every reader at this state gets the one answer, from the cache, and may reuse it.
    with django_assert_num_queries(0):
        again = client.get(poll_url)
    assert again.content == answer.content
    with django_assert_num_queries(0):
        unchanged = client.get(poll_url, headers={"If-None-Match": answer["ETag"]})
    assert unchanged.status_code == 304


def test_the_teasers_poll_checks_its_cursor(client, story):
    response = get_embed(client, story, mode="teaser", since="-1")
    assert response.status_code == 400
    assert "'since' must be a non-negative whole number" in response.content.decode()


# The desk -----------------------------------------------------------------


def test_the_desk_shows_the_snippet_a_copy_button_and_a_preview(client, story, editor):
    response = client.get(f"/admin/coverage/story/{story.pk}/desk/")
    html = response.content.decode()
    assert (
        f"&lt;script src=&quot;http://testserver/embed.js&quot; "
        f"data-story=&quot;{story.slug}&quot; async&gt;&lt;/script&gt;" in html
    )
    assert 'data-copy="desk-embed-snippet"' in html
    assert f'data-src="/embed/{story.slug}/"' in html
    assert "/static/js/desk-embed.js" in html
    # The preview is this site's own page: the desk may frame it.
    assert csp(response)["frame-src"].startswith("'self' ")


def test_a_draft_storys_desk_says_the_embed_waits_for_it(client, editor):
    draft = make_story(status=Story.Status.DRAFT)
    html = client.get(f"/admin/coverage/story/{draft.pk}/desk/").content.decode()
    assert "The embed shows the story once it is live." in html
    assert "desk-embed-preview" not in html


# Order and limit in full mode ---------------------------------------------


def ids_in(html: str) -> list[int]:
    return [int(found) for found in re.findall(r'<article id="update-(\d+)"', html)]


def test_full_embed_pages_in_its_own_order_and_size_from_its_own_address(client):
    story = make_story(title="Match")
    start = timezone.now() - dt.timedelta(hours=1)
    updates = [
        make_update(story, body=f"<p>Minute {n}</p>", published_at=start + dt.timedelta(minutes=n))
        for n in range(5)
    ]
    oldest_first = [update.pk for update in updates]

    first = get_embed(client, story, order="oldest", limit="2")
    assert first.status_code == 200
    assert ids_in(first.content.decode()) == oldest_first[:2]
    html = first.content.decode()
    link = re.search(r'class="load-newer" href="([^"]+)"', html)
    assert link, "an oldest-first frame offers newer updates, from its own address"
    href = link[1].replace("&amp;", "&")
    assert href.startswith(reverse("coverage:embed", kwargs={"slug": story.slug}) + "?")
    assert "order=oldest" in href and "limit=2" in href

    second = client.get(href, headers={"HX-Request": "true"})
    assert second.status_code == 200
    assert ids_in(second.content.decode()) == oldest_first[2:4]
    assert "<html" not in second.content.decode()  # the slice alone, for htmx

    # The story's own page (newest first, 50 a page) is not what the frame cached.
    page = client.get(story.get_absolute_url())
    assert ids_in(page.content.decode()) == oldest_first[::-1]
    assert 'class="load-' not in page.content.decode()


def test_a_bad_cursor_in_the_frame_is_a_400(client, story):
    response = get_embed(client, story, order="oldest", after="yesterday")
    assert response.status_code == 400
    assert "after" in response.content.decode()
    assert_no_cookie(response)
