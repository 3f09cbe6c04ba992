"""Who else is on a story's desk (coverage/presence.py), through the test client:
two editors, each in a client of their own, see each other in the panel the
desk's poll refreshes, with the update each is editing; an editor who leaves
lapses after DESK_PRESENCE_SECONDS (a settable clock: no sleeping); the desk
carries on when the cache is down; an idle desk poll stays a 204."""

import datetime as dt
import html
import re

import pytest
import redis
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from coverage import audience, live, presence
from coverage.models import Byline
from tests.conftest import CommittingClient
from tests.factories import make_editor, make_story, make_update

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
START = 1_800_000_000.0


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    """Wall-clock time for presence entries, moved by the test."""
    now = [START]
    monkeypatch.setattr(presence, "clock", lambda: now[0])
    monkeypatch.setattr(audience, "clock", lambda: now[0])
    audience.forget_in_process()
    yield now
    audience.forget_in_process()
    live.reset_cache_health()  # a test's failing cache must not reach the next one


@pytest.fixture
def story():
    return make_story(title="Floods")


@pytest.fixture
def update(story):
    return make_update(
        story, published_at=timezone.now().replace(hour=14, minute=7, second=0, microsecond=0)
    )


def signed_in(user):
    client = CommittingClient()
    client.force_login(user)
    return client


@pytest.fixture
def ana():
    user = make_editor("ana")
    Byline.objects.create(user=user, display_name="Ana Lima")
    return signed_in(user)


@pytest.fixture
def ben():
    return signed_in(make_editor("ben"))


def desk_url(story):
    return reverse("admin:coverage_story_desk", args=[story.pk])


def edit_url(update):
    return reverse("admin:coverage_story_desk_edit", args=[update.story_id, update.pk])


class Desk:
    """One editor's open desk page: polls as its poller would, carrying the
    cursor and the panel's digest, and the ids of its open edit forms."""

    def __init__(self, client, story):
        self.client = client
        page = client.get(desk_url(story))
        assert page.status_code == 200
        self.panel = panel_text(page)
        self.poller = poller_url(page)
        self.editing = []

    def poll(self):
        # As htmx sends hx-include's values on a GET: after the poller's own query.
        url = self.poller + "".join(f"&editing={pk}" for pk in self.editing)
        response = self.client.get(url, headers=HTMX)
        assert response.status_code in (200, 204), response.content
        if response.status_code == 200:
            self.panel = panel_text(response)
            self.poller = poller_url(response)
        return response

    def edit(self, update):
        form = self.client.get(edit_url(update), headers=HTMX)
        assert form.status_code == 200
        # The form the poller reports (hx-include).
        assert f'name="editing" value="{update.pk}"' in form.content.decode()
        self.editing.append(str(update.pk))


def poller_url(response) -> str:
    match = re.search(r'id="desk-poller" data-hx-get="([^"]+)"', response.content.decode())
    return html.unescape(match.group(1))


def panel_text(response) -> str:
    """The presence panel's words, as a person reads them."""
    match = re.search(r'<section id="desk-presence".*?</section>', response.content.decode(), re.S)
    assert match, "no presence panel"
    text = re.sub(r"<[^>]+>", "", match.group(0))
    return " ".join(html.unescape(text).split())


def test_a_colleague_who_opens_the_desk_shows_at_the_next_poll(story, ana, ben):
    bens = Desk(ben, story)
    assert "No one else has it open." in bens.panel
    Desk(ana, story)
    assert bens.poll().status_code == 200  # same revision: only the panel changed
    assert "Ana Lima has it open" in bens.panel  # the byline, not the login name
    assert "ben" not in bens.panel  # never yourself


def test_the_answer_to_a_presence_change_carries_only_the_panel_and_poller(story, ana, ben):
    make_update(story, body="<p>Already on the desk</p>")
    bens = Desk(ben, story)
    Desk(ana, story)
    response = bens.poll()
    body = response.content.decode()
    assert response.status_code == 200
    assert re.search(r'id="desk-presence"[^>]*data-hx-swap-oob="true"', body)
    assert "desk-update-" not in body  # no row is sent again
    assert "Already on the desk" not in body


def test_who_is_editing_which_update(story, update, ana, ben):
    bens, anas = Desk(ben, story), Desk(ana, story)
    bens.poll()
    anas.edit(update)
    bens.poll()
    assert "Ana Lima is editing 1407" in bens.panel
    assert f'href="#desk-update-{update.pk}"' in ben.get(desk_url(story)).content.decode()
    # Her poll reports the open form: she stays "editing" while it is open.
    anas.poll()
    assert bens.poll().status_code == 204
    assert "Ana Lima is editing 1407" in bens.panel
    # She closes the form (saves or cancels): her next poll says so.
    anas.editing = []
    anas.poll()
    bens.poll()
    assert "Ana Lima has it open" in bens.panel


def test_editing_ids_from_a_poll_are_named_by_their_time_and_others_stories_ignored(
    story, update, ana, ben
):
    other = make_update(make_story(), body="<p>Elsewhere</p>")
    bens, anas = Desk(ben, story), Desk(ana, story)
    # A poll names the forms it has open, even ones this entry never heard of
    # (the edit form's check-in lost, say): looked up in this story only.
    anas.editing = [str(update.pk), str(other.pk), "not-an-id"]
    anas.poll()
    bens.poll()
    assert "Ana Lima is editing 1407" in bens.panel
    assert str(other.pk) not in bens.panel.replace("1407", "")
    assert "," not in bens.panel  # one update only


def test_a_colleague_who_leaves_lapses_after_the_presence_ttl(story, ana, ben, clock, settings):
    settings.DESK_PRESENCE_SECONDS = 30
    bens = Desk(ben, story)
    Desk(ana, story)
    bens.poll()
    assert "Ana Lima has it open" in bens.panel
    clock[0] += 29  # Ana closed her tab; Ben keeps polling
    assert bens.poll().status_code == 204
    clock[0] += 2
    assert bens.poll().status_code == 200
    assert "No one else has it open." in bens.panel
    # Her entry is gone from the story's index too.
    index = caches["default"].get(presence.index_key(story.pk))
    assert index == {int(ben.session["_auth_user_id"])}


def test_an_idle_desk_poll_is_a_204_and_asks_nothing_of_updates_or_bylines(story, ana, ben):
    bens = Desk(ben, story)
    Desk(ana, story)
    bens.poll()
    with CaptureQueriesContext(connection) as queries:
        assert bens.poll().status_code == 204
    tables = " ".join(query["sql"] for query in queries.captured_queries)
    assert "coverage_update" not in tables and "coverage_byline" not in tables


def test_a_revision_change_brings_rows_and_the_panel_together(story, ana, ben):
    bens = Desk(ben, story)
    Desk(ana, story)
    update = make_update(story, body="<p>New from Ana</p>")
    response = bens.poll()
    body = response.content.decode()
    assert f'id="desk-update-{update.pk}"' in body
    assert "Ana Lima has it open" in bens.panel


class DownCache:
    """Redis down: every call raises as redis-py does."""

    def __getattr__(self, name):
        def call(*args, **kwargs):
            raise redis.exceptions.ConnectionError("Connection refused")

        return call


def test_the_desk_works_when_the_cache_is_down(story, update, ana, ben, monkeypatch):
    bens = Desk(ben, story)
    Desk(ana, story)
    monkeypatch.setattr(live, "cache", DownCache())
    monkeypatch.setattr(live, "CACHE_RETRY_SECONDS", 0.0)  # every call tries again
    live.forget_in_process()
    page = ben.get(desk_url(story))
    assert page.status_code == 200
    assert "Colleagues: unknown for now" in panel_text(page)
    assert ana.get(edit_url(update), headers=HTMX).status_code == 200
    response = bens.poll()
    assert response.status_code == 200  # the panel changed: now unknown
    assert "Colleagues: unknown for now" in bens.panel
    assert "Readers now" not in bens.panel
    assert bens.poll().status_code == 204


def test_presence_is_information_only_the_lock_still_decides(story, update, ana, ben):
    """Both open the same update; the second save still meets the lock."""
    anas, bens = Desk(ana, story), Desk(ben, story)
    anas.edit(update)
    bens.edit(update)
    anas.poll()
    bens.poll()
    assert "Ana Lima is editing 1407" in bens.panel
    version = str(update.version)
    saved = ana.post(edit_url(update), {"version": version, "body": "Ana's text"}, headers=HTMX)
    assert saved.status_code == 200
    refused = ben.post(edit_url(update), {"version": version, "body": "Ben's text"}, headers=HTMX)
    assert refused.status_code == 409


def test_rough_reader_figures():
    def shown(n):
        return presence.Presence(others=(), known=True, readers=n).readers_text

    assert [shown(n) for n in (0, 7, 19, 23, 1234, 98765)] == [
        "0",
        "7",
        "19",
        "23",
        "1,200",
        "99,000",
    ]
    assert shown(None) == ""


def test_published_at_label_is_gmt(story):
    update = make_update(story, published_at=dt.datetime(2026, 3, 29, 23, 5, tzinfo=dt.UTC))
    assert presence.label_of(update) == "2305"
