"""Optional oEmbed enrichment, against a fake provider on 127.0.0.1 (never the real ones)."""

import contextlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from django.tasks import TaskResultStatus
from django.test import Client
from django.urls import reverse

from coverage import tasks
from coverage.models import Embed, Story
from tests.factories import committed, make_editor, make_embed, make_story, make_update
from tests.test_embeds import TWEET_CODE, TWEET_ID, YT, editor_client, post_update  # noqa: F401
from tests.test_xss import assert_inert, feed_bodies

pytestmark = pytest.mark.django_db

YOUTUBE_URL = f"https://www.youtube.com/watch?v={YT}"
X_URL = f"https://x.com/Interior/status/{TWEET_ID}"

ANSWERS = {
    "/youtube": {
        "type": "video",
        "version": "1.0",
        "title": "Flood footage from the bridge",
        "author_name": "Eastmouth Council",
        "author_url": "https://www.youtube.com/@eastmouth",
        "provider_name": "YouTube",
        "thumbnail_url": "https://i.ytimg.com/vi/x/hqdefault.jpg",
        "html": f'<iframe src="https://www.youtube.com/embed/{YT}?feature=oembed"></iframe>',
    },
    "/x": {
        "type": "rich",
        "version": "1.0",
        "author_name": "US Department of the Interior",
        "author_url": "https://twitter.com/Interior",
        "provider_name": "Twitter",
        "html": TWEET_CODE,
    },
    "/hostile": {
        "type": "rich",
        "title": '<script>window.__xss=1</script>"><img src=x onerror=window.__xss=1>',
        "author_name": "<svg onload=window.__xss=1>",
        "author_url": "javascript:window.__xss=1",
        "html": (
            '<blockquote class="twitter-tweet"><p>Hello <script>window.__xss=1</script>'
            '<img src=x onerror="window.__xss=1"><a href="javascript:window.__xss=1">click</a>'
            '</p>&mdash; Evil (@evil) <a href="https://twitter.com/evil/status/'
            f'{TWEET_ID}">May 5, 2014</a></blockquote>'
            '<script src="https://evil.example/x.js"></script>'
            '<iframe srcdoc="<script>window.__xss=1</script>"></iframe>'
        ),
    },
}


class FakeProvider(BaseHTTPRequestHandler):
    requests: list[str] = []

    def do_GET(self):  # noqa: N802 (the http.server API)
        FakeProvider.requests.append(self.path)
        # The client gives up on slow answers, as it should: no traceback for that.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.route(urlsplit(self.path).path)

    def route(self, path):
        if path in ANSWERS:
            self.answer(json.dumps(ANSWERS[path]).encode())
        elif path == "/slow":
            time.sleep(4)
            self.answer(json.dumps(ANSWERS["/youtube"]).encode())
        elif path == "/drip":
            # Headers at once, then a byte now and then: a socket timeout alone never fires.
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            for _ in range(40):
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(0.1)
        elif path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/youtube")
            self.end_headers()
        elif path == "/html":
            self.answer(b"<html><script>window.__xss=1</script></html>", "text/html")
        elif path == "/huge":
            self.answer(json.dumps({"title": "x" * 400_000}).encode())
        elif path == "/broken":
            self.answer(b'{"title": "unterminated')
        else:
            self.send_error(404)

    def answer(self, body: bytes, content_type="application/json; charset=utf-8"):
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def provider_base():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeProvider)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def provider(provider_base, settings):
    """Enrichment on, every allow-listed provider pointed at the fake one."""
    FakeProvider.requests.clear()
    settings.EMBED_ENRICHMENT = True
    settings.OEMBED_TIMEOUT = 1
    settings.OEMBED_ENDPOINTS = {
        "YouTube": f"{provider_base}/youtube",
        "X": f"{provider_base}/x",
    }
    return provider_base


def point(settings, provider_name, url):
    settings.OEMBED_ENDPOINTS = {**settings.OEMBED_ENDPOINTS, provider_name: url}


def video_embed(update=None, **fields):
    """A bare YouTube card, as a pasted link leaves it."""
    fields = {"kind": "video", "url": YOUTUBE_URL, "provider": "YouTube", "text": ""} | fields
    fields.setdefault("author_name", "")
    fields.setdefault("author_handle", "")
    return make_embed(update or make_update(make_story()), **fields)


def test_enrichment_is_off_by_default_and_asks_nobody(
    provider, settings, django_capture_on_commit_callbacks
):
    settings.EMBED_ENRICHMENT = False
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        embed = video_embed()
    # Readers are told of the new card; no enrichment is queued.
    assert [c for c in callbacks if "refresh_on_commit" not in c.__qualname__] == []
    assert tasks.enrich_embed.call(embed.pk) == "skipped"
    assert FakeProvider.requests == []
    assert Embed.objects.get().enriched_at is None


def test_enrichment_runs_only_after_the_update_is_saved_and_readers_get_it(
    provider, client, django_capture_on_commit_callbacks
):
    story = make_story()
    # A plain client: this test runs the commit's callbacks itself.
    editor = Client()
    editor.force_login(make_editor())
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = post_update(editor, story, [{"paste": f"https://youtu.be/{YT}"}])
    assert response.status_code == 302
    # Saved, not yet committed: nobody has been asked anything.
    assert FakeProvider.requests == []
    revision = Story.objects.get().revision

    for callback in callbacks:
        callback()
    [request] = FakeProvider.requests
    query = parse_qs(urlsplit(request).query)
    assert query == {"url": [YOUTUBE_URL], "format": ["json"], "maxwidth": ["600"]}

    embed = Embed.objects.get()
    assert embed.title == "Flood footage from the bridge"
    assert (embed.author_name, embed.author_handle) == ("Eastmouth Council", "@eastmouth")
    assert embed.enriched_at is not None
    # The change reaches open pages like any other: the story moved on.
    assert Story.objects.get().revision > revision
    poll = client.get(reverse("coverage:poll", args=[story.slug]), {"since": revision})
    assert "Flood footage from the bridge" in poll.content.decode()
    # The provider's thumbnail is not used: no third-party image on the card.
    assert "ytimg" not in client.get(story.get_absolute_url()).content.decode()


def test_an_x_link_card_becomes_a_social_post_once_its_text_is_known(
    provider,
    editor_client,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        post_update(editor_client, make_story(), [{"paste": X_URL}])
    embed = Embed.objects.get()
    assert embed.kind == Embed.Kind.SOCIAL
    assert embed.text.startswith("Sunsets don't get much better")
    assert (embed.author_name, embed.author_handle) == (
        "US Department of the Interior",
        "@Interior",
    )


def test_what_the_editor_wrote_is_kept(provider):
    embed = video_embed(title="Our own headline")
    assert tasks.enrich_embed.call(embed.pk) == "enriched"
    embed.refresh_from_db()
    assert embed.title == "Our own headline"
    assert embed.author_name == "Eastmouth Council"


def test_it_is_a_django_task(provider):
    embed = video_embed()
    result = tasks.enrich_embed.enqueue(embed.pk)
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == "enriched"


def test_answers_are_cached(provider):
    first, second = video_embed(), video_embed()
    tasks.enrich_embed.call(first.pk)
    tasks.enrich_embed.call(second.pk)
    assert len(FakeProvider.requests) == 1
    assert Embed.objects.get(pk=second.pk).title == "Flood footage from the bridge"


@pytest.mark.parametrize("path", ["/slow", "/drip"])
def test_a_slow_provider_is_given_up_on_at_the_deadline(provider, settings, path):
    point(settings, "YouTube", provider + path)
    embed = video_embed()
    started = time.monotonic()
    assert tasks.enrich_embed.call(embed.pk) == "no answer"
    assert time.monotonic() - started < settings.OEMBED_TIMEOUT + 0.5
    embed.refresh_from_db()
    assert (embed.title, embed.enriched_at) == ("", None)
    # The failure is cached too: the next save does not wait again.
    started = time.monotonic()
    tasks.enrich_embed.call(embed.pk)
    assert time.monotonic() - started < 0.2


def test_the_deadline_is_never_above_three_seconds():
    from django.conf import settings

    assert 0 < settings.OEMBED_TIMEOUT <= 3


@pytest.mark.parametrize("path", ["/redirect", "/html", "/huge", "/broken", "/missing"])
def test_odd_answers_change_nothing(provider, settings, path):
    point(settings, "YouTube", provider + path)
    embed = video_embed()
    assert tasks.enrich_embed.call(embed.pk) == "no answer"
    assert Embed.objects.get().title == ""
    # A redirect is not followed, even to the same provider.
    assert not any(request.startswith("/youtube") for request in FakeProvider.requests)


def test_only_allow_listed_providers_are_asked(provider, settings):
    mastodon = make_embed(
        make_update(make_story()), provider="Mastodon", url="https://mastodon.social/@a/1"
    )
    assert tasks.enrich_embed.call(mastodon.pk) == "not an allow-listed provider's link"
    # A card claiming to be YouTube but linking elsewhere is not sent to YouTube.
    impostor = video_embed(url="https://evil.example/watch?v=" + YT)
    assert tasks.enrich_embed.call(impostor.pk) == "not an allow-listed provider's link"
    assert FakeProvider.requests == []


def test_a_hostile_answer_is_read_as_text_and_escaped_everywhere(provider, settings, client):
    point(settings, "X", provider + "/hostile")
    point(settings, "YouTube", provider + "/hostile")
    story = make_story(slug="hostile")
    update = make_update(story)
    post = make_embed(update, kind="link", provider="X", url=X_URL, text="", author_name="")
    Embed.objects.filter(pk=post.pk).update(author_handle="")
    video = video_embed(update=update)
    with committed():
        assert tasks.enrich_embed.call(post.pk) == "enriched"
        assert tasks.enrich_embed.call(video.pk) == "enriched"

    post.refresh_from_db()
    assert post.kind == Embed.Kind.SOCIAL
    assert post.text == "Hello click"  # the markup's words only; scripts and frames dropped
    assert post.author_handle == "@evil"
    video.refresh_from_db()
    assert video.title == ANSWERS["/hostile"]["title"]  # plain text, shown escaped
    assert video.author_handle == ""  # a javascript: author URL gives no handle

    page = client.get(story.get_absolute_url()).content.decode()
    poll = client.get(reverse("coverage:poll", args=["hostile"]), {"since": 0}).content.decode()
    for html in (page, poll):
        assert_inert(html, page=html is page)
        assert "&lt;svg onload=window.__xss=1&gt;" in html
        assert "&lt;script&gt;window.__xss=1&lt;/script&gt;&quot;&gt;&lt;img" in html
    rss = client.get(reverse("coverage:story-rss", args=["hostile"])).content
    for body in feed_bodies(rss):
        assert_inert(body, page=False)
