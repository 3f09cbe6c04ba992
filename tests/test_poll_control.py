"""Poll control from the server: every poll answer says when to ask next (the
Poll-Interval header, and the poller in a 200), from the story's poll mode (the
desk's control, the admin's field) and the site's READER_POLLING kill switch."""

import os
import subprocess
import sys

import pytest
from django.conf import settings as django_settings
from django.urls import reverse

from coverage import live, publishing
from coverage.models import Story
from tests.factories import (
    committed,
    end_coverage,
    make_contributor,
    make_story,
    make_update,
)

pytestmark = pytest.mark.django_db


def poll(client, story, since, **headers):
    url = reverse("coverage:poll", kwargs={"slug": story.slug})
    return client.get(url, {"since": since}, headers=headers)


def revision_of(story):
    return Story.objects.values_list("revision", flat=True).get(pk=story.pk)


def set_poll_mode(story, mode):
    with committed():
        publishing.set_poll_mode(story.pk, mode)


def interval(response) -> int:
    return int(response["Poll-Interval"])


@pytest.fixture(autouse=True)
def paces(settings):
    settings.LIVE_POLL_SECONDS = 10
    settings.LIVE_SLOW_POLL_SECONDS = 30
    settings.LIVE_PAUSED_POLL_SECONDS = 60
    settings.LIVE_ENDED_POLL_SECONDS = 300
    settings.READER_POLLING = "normal"


def test_every_kind_of_poll_answer_carries_the_interval(client):
    story = make_story()
    make_update(story)
    now = revision_of(story)
    changed = poll(client, story, now - 1)
    assert changed.status_code == 200 and interval(changed) == 10
    assert 'data-poll-seconds="10"' in changed.content.decode()
    idle = poll(client, story, now)
    assert idle.status_code == 204 and interval(idle) == 10
    not_modified = poll(client, story, now - 1, If_None_Match=changed["ETag"])
    assert not_modified.status_code == 304 and interval(not_modified) == 10
    ahead = poll(client, story, now + 5)
    assert ahead.status_code == 409 and interval(ahead) == 10


def test_the_idle_poll_carries_the_interval_without_a_query(client, django_assert_num_queries):
    story = make_story()
    set_poll_mode(story, Story.PollMode.PAUSED)
    revision = revision_of(story)
    poll(client, story, revision)  # a first poll may fill the cache
    with django_assert_num_queries(0):
        response = poll(client, story, revision)
    assert response.status_code == 204
    assert interval(response) == 60


def test_the_poll_mode_is_loaded_with_the_live_state_in_one_query(django_assert_num_queries):
    story = make_story()
    set_poll_mode(story, Story.PollMode.SLOW)
    with django_assert_num_queries(1):
        state = live.load(pk=story.pk)
    assert state.poll_mode == "slow"


@pytest.mark.parametrize(("mode", "seconds"), [("normal", 10), ("slow", 30), ("paused", 60)])
def test_a_change_of_mode_reaches_open_pages_on_their_next_poll(client, mode, seconds):
    story = make_story()
    make_update(story)
    if mode == "normal":
        set_poll_mode(story, Story.PollMode.PAUSED)
    page_at = revision_of(story)
    assert poll(client, story, page_at).status_code == 204  # cached for everyone at page_at

    set_poll_mode(story, mode)
    # A revision of its own: every cached answer and page moves on with it.
    assert revision_of(story) == page_at + 1
    response = poll(client, story, page_at)
    assert response.status_code == 200
    assert interval(response) == seconds
    html = response.content.decode()
    assert f'data-poll-seconds="{seconds}"' in html
    assert f"?since={page_at + 1}" in html


def test_setting_the_same_mode_again_writes_nothing(client):
    story = make_story()
    set_poll_mode(story, Story.PollMode.SLOW)
    revision = revision_of(story)
    set_poll_mode(story, Story.PollMode.SLOW)
    assert revision_of(story) == revision


def test_an_unknown_mode_is_refused_by_the_write():
    story = make_story()
    with pytest.raises(ValueError):
        publishing.set_poll_mode(story.pk, "sometimes")
    assert Story.objects.get(pk=story.pk).poll_mode == "normal"


@pytest.mark.parametrize(
    ("site", "story_mode", "seconds"),
    [
        ("slow", "normal", 30),
        ("paused", "normal", 60),
        ("paused", "slow", 60),
        # Toward the slower: the kill switch never speeds up a story the desk slowed.
        ("slow", "paused", 60),
        ("normal", "slow", 30),
    ],
)
def test_the_kill_switch_overrides_every_story_toward_the_slower(
    client, settings, site, story_mode, seconds
):
    story = make_story()
    set_poll_mode(story, story_mode)
    settings.READER_POLLING = site
    revision = revision_of(story)
    assert interval(poll(client, story, revision)) == seconds
    assert interval(poll(client, story, revision - 1)) == seconds


def test_the_kill_switch_is_read_at_call_time_with_no_revision(client, settings):
    """A switch thrown in the settings reaches pages on their next poll, cached
    answers included (no write tells the cache)."""
    story = make_story()
    make_update(story)
    revision = revision_of(story)
    first = poll(client, story, revision - 1)
    assert 'data-poll-seconds="10"' in first.content.decode()
    settings.READER_POLLING = "paused"
    again = poll(client, story, revision - 1)
    assert interval(again) == 60
    assert 'data-poll-seconds="60"' in again.content.decode()
    assert interval(poll(client, story, revision)) == 60
    settings.READER_POLLING = "normal"
    assert interval(poll(client, story, revision)) == 10


def test_the_heartbeat_is_at_most_a_minute():
    environment = {**os.environ, "LIVE_PAUSED_POLL_SECONDS": "600"}
    code = "from django.conf import settings; print(settings.LIVE_PAUSED_POLL_SECONDS)"
    shown = run_settings(code, environment)
    assert shown.stdout.strip() == "60"


def test_a_misspelt_kill_switch_stops_the_site_from_starting():
    environment = {**os.environ, "READER_POLLING": "pause"}
    shown = run_settings("from django.conf import settings; settings.READER_POLLING", environment)
    assert shown.returncode != 0
    assert "READER_POLLING must be normal, slow or paused" in shown.stderr


def run_settings(code, environment):
    environment["DJANGO_SETTINGS_MODULE"] = "liveblog.settings"
    return subprocess.run(
        [sys.executable, "-c", code],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=django_settings.BASE_DIR,
    )


def test_an_ended_story_keeps_its_slow_pace_whatever_the_mode(client):
    story = make_story()
    set_poll_mode(story, Story.PollMode.PAUSED)
    end_coverage(story)
    assert interval(poll(client, story, revision_of(story))) == 300


def test_a_reader_catching_up_goes_on_at_the_mode_s_live_pace(client):
    story = make_story()
    for _ in range(110):
        make_update(story)
    set_poll_mode(story, Story.PollMode.SLOW)
    end_coverage(story)
    response = poll(client, story, 0)
    assert response.status_code == 200
    # Behind an ended story: on at the (slowed) live pace, not the ended one.
    assert interval(response) == 30
    assert 'data-poll-seconds="30"' in response.content.decode()


def test_the_story_page_starts_at_the_story_s_pace(client):
    story = make_story()
    make_update(story)
    url = reverse("coverage:story", kwargs={"slug": story.slug})
    assert 'data-poll-seconds="10"' in client.get(url).content.decode()
    set_poll_mode(story, Story.PollMode.PAUSED)
    html = client.get(url).content.decode()
    assert 'data-poll-seconds="60"' in html
    assert 'data-hx-trigger="poll-now"' in html


# The desk's control -----------------------------------------------------------


def readers_url(story):
    return reverse("admin:coverage_story_desk_readers", args=[story.pk])


def test_the_desk_slows_and_pauses_readers_pages(client, editor):
    story = make_story()
    desk = reverse("admin:coverage_story_desk", args=[story.pk])
    html = client.get(desk).content.decode()
    assert 'name="poll_mode"' in html and "Paused (every 60 s)" in html
    revision = revision_of(story)

    response = client.post(readers_url(story), {"poll_mode": "paused"}, follow=True)
    assert response.redirect_chain[-1][0] == desk
    assert "they only check every 60 s" in response.content.decode()
    story.refresh_from_db()
    assert story.poll_mode == "paused" and story.revision == revision + 1
    assert interval(poll(client, story, story.revision)) == 60
    # The menu shows the mode now set.
    assert '<option value="paused" selected>' in response.content.decode()


def test_the_desk_shows_that_the_kill_switch_is_on(client, editor, settings):
    story = make_story()
    settings.READER_POLLING = "slow"
    html = client.get(reverse("admin:coverage_story_desk", args=[story.pk])).content.decode()
    assert "holds every story at slow or slower (READER_POLLING)" in html


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"poll_mode": "sometimes"}, "Select a valid choice"),
        ({}, "Choose a poll mode or a reading order."),
    ],
)
def test_a_bad_choice_on_the_desk_is_a_400_with_a_message(client, editor, data, message):
    story = make_story()
    response = client.post(readers_url(story), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert Story.objects.get(pk=story.pk).poll_mode == "normal"


def test_only_who_may_run_the_story_changes_its_poll_mode(client):
    story = make_story()
    client.force_login(make_contributor())
    assert client.post(readers_url(story), {"poll_mode": "paused"}).status_code == 403
    assert Story.objects.get(pk=story.pk).poll_mode == "normal"
    html = client.get(reverse("admin:coverage_story_desk", args=[story.pk])).content.decode()
    assert 'name="poll_mode"' not in html


def test_the_desk_control_is_post_only(client, editor):
    assert client.get(readers_url(make_story())).status_code == 405


# The admin's story form ---------------------------------------------------------


def test_the_admin_story_form_sets_the_poll_mode_with_a_revision(client, editor):
    story = make_story()
    url = reverse("admin:coverage_story_change", args=[story.pk])
    html = client.get(url).content.decode()
    assert 'name="poll_mode"' in html and 'name="reading_order"' in html
    revision = revision_of(story)
    data = {
        "title": story.title,
        "slug": story.slug,
        "status": story.status,
        "standfirst": "",
        "started_at_0": story.started_at.strftime("%Y-%m-%d"),
        "started_at_1": story.started_at.strftime("%H:%M:%S"),
        "poll_mode": "slow",
        "reading_order": "newest",
        "original_entry": "",
        "lead_image_caption": "",
        "lead_image_credit": "",
        "lead_image_alt": "",
    }
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    story.refresh_from_db()
    assert story.poll_mode == "slow"
    assert story.revision > revision
    assert interval(poll(client, story, story.revision)) == 30


def test_a_contributor_sees_the_poll_mode_but_cannot_change_it(client):
    story = make_story()
    client.force_login(make_contributor())
    response = client.get(reverse("admin:coverage_story_change", args=[story.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Reader polling" in html  # shown, read-only
    assert 'name="poll_mode"' not in html and 'name="reading_order"' not in html
