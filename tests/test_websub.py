"""WebSub: the feeds name the hub, and a real HTTP server on 127.0.0.1 standing in
for the hub hears of every change to a story, after it commits."""

import logging
import threading
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import feedparser
import pytest
from django.urls import reverse

from coverage import publishing, websub
from tests.factories import make_editor, make_story, make_update

pytestmark = pytest.mark.django_db

SITE = "https://live.example.com"
ATOM = "{http://www.w3.org/2005/Atom}"


class FakeHub(BaseHTTPRequestHandler):
    pings: list[dict] = []
    status = 204

    def do_POST(self):  # noqa: N802 (the http.server API)
        length = int(self.headers["Content-Length"])
        FakeHub.pings.append(parse_qs(self.rfile.read(length).decode()))
        self.send_response(FakeHub.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def hub_address():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeHub)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/hub"
    server.shutdown()
    server.server_close()


@pytest.fixture
def hub(hub_address, settings):
    FakeHub.pings.clear()
    FakeHub.status = 204
    settings.WEBSUB_HUB_URL = hub_address
    settings.SITE_URL = SITE
    return hub_address


def feed_links(content: bytes, name: str) -> dict:
    root = ET.fromstring(content)
    links = root.iter(f"{ATOM}link") if name == "story-rss" else root.findall(f"{ATOM}link")
    return {link.get("rel"): link.get("href") for link in links}


@pytest.mark.parametrize("name", ["story-rss", "story-atom"])
def test_feeds_name_the_hub_and_their_own_public_address(client, hub, name):
    make_story(slug="floods")
    response = client.get(reverse(f"coverage:{name}", kwargs={"slug": "floods"}))
    links = feed_links(response.content, name)
    assert links["hub"] == hub
    assert links["self"] == f"{SITE}/floods/feed/{name.removeprefix('story-')}/"
    parsed = feedparser.parse(response.content)
    assert not parsed.bozo
    assert {"hub", "self"} <= {link.rel for link in parsed.feed.links}


def test_without_a_hub_the_feeds_name_none_and_nothing_is_pinged(
    client, settings, django_capture_on_commit_callbacks
):
    settings.WEBSUB_HUB_URL = ""
    story = make_story(slug="floods")
    with django_capture_on_commit_callbacks() as callbacks:
        publishing.post_update(story, body="<p>Quiet</p>")
    assert [c for c in callbacks if "ping" in c.__qualname__] == []
    response = client.get(reverse("coverage:story-atom", kwargs={"slug": "floods"}))
    assert "hub" not in feed_links(response.content, "story-atom")


@pytest.mark.parametrize(
    "write",
    [
        lambda story, update: publishing.post_update(story, body="<p>New</p>"),
        lambda story, update: publishing.edit_update(
            update.pk, expected_version=update.version, body="<p>Edited</p>"
        ),
        lambda story, update: publishing.retract(update.pk),
    ],
    ids=["publish", "edit", "retract"],
)
def test_the_hub_is_pinged_with_both_feeds_once_the_change_commits(
    hub, write, django_capture_on_commit_callbacks
):
    story = make_story(slug="floods")
    update = make_update(story)
    FakeHub.pings.clear()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        write(story, update)
    assert FakeHub.pings == []  # not before the commit
    for callback in callbacks:
        callback()
    assert FakeHub.pings == [
        {
            "hub.mode": ["publish"],
            "hub.url": [f"{SITE}/floods/feed/rss/", f"{SITE}/floods/feed/atom/"],
        }
    ]


def test_a_failing_hub_never_fails_the_editors_post(client, hub, caplog):
    FakeHub.status = 500
    story = make_story(slug="floods")
    client.force_login(make_editor())
    FakeHub.pings.clear()
    with caplog.at_level(logging.WARNING, logger="coverage.websub"):
        response = client.post(
            reverse("admin:coverage_story_desk_compose", args=[story.pk]),
            {"client_token": "6f1c3b58-3f1e-4c59-9a53-2a4b1f1f5b10", "body": "Out it goes"},
        )
    assert response.status_code == 302
    assert story.updates.get().body == "<p>Out it goes</p>"
    assert len(FakeHub.pings) == 1
    assert "WebSub ping to 127.0.0.1 failed" in caplog.text


def test_an_unreachable_hub_is_a_logged_failure(settings, caplog):
    settings.WEBSUB_HUB_URL = "http://127.0.0.1:9/hub"  # the discard port: nothing listens
    settings.SITE_URL = SITE
    story = make_story()
    with caplog.at_level(logging.WARNING, logger="coverage.websub"):
        assert websub.ping_hub.call(story.pk) == "failed"
    assert "WebSub ping" in caplog.text
