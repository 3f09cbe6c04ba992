import datetime as dt
import re

import pytest
from django.conf import settings
from django.core.cache import caches
from django.urls import reverse
from django.utils import timezone

from coverage import live, publishing
from coverage.models import Story, Update
from tests.factories import (
    committed,
    edit,
    end_coverage,
    make_embed,
    make_story,
    make_update,
    retract,
)

pytestmark = pytest.mark.django_db


def poll(client, story, since, **headers):
    url = reverse("coverage:poll", kwargs={"slug": story.slug})
    return client.get(url, {"since": since}, headers=headers)


def forget_live_state():
    for alias in ("default", "revisions"):
        caches[alias].clear()
    live.forget_in_process()


def revision_of(story):
    return Story.objects.values_list("revision", flat=True).get(pk=story.pk)


def oob_ids(html, mode):
    return [int(n) for n in re.findall(rf'id="update-(\d+)"[^>]*data-hx-swap-oob="{mode}"', html)]


def test_nothing_new_is_a_204_without_database_queries(client, django_assert_num_queries):
    story = make_story()
    make_update(story)
    revision = revision_of(story)
    poll(client, story, revision)  # a first poll may fill the cache
    with django_assert_num_queries(0):
        response = poll(client, story, revision)
    assert response.status_code == 204
    assert response.content == b""
    # When to ask next, from the same cached state.
    assert response["Poll-Interval"] == str(settings.LIVE_POLL_SECONDS)


def test_poll_responses_are_shareable_by_http_caches(client):
    story = make_story()
    make_update(story)
    for since in (revision_of(story), 0):
        response = poll(client, story, since)
        assert response.status_code in (200, 204)
        assert "public" in response["Cache-Control"]
        assert "max-age=" in response["Cache-Control"]
        assert "stale-while-revalidate=" in response["Cache-Control"]
        assert "Cookie" not in response.get("Vary", "")
        assert not response.cookies
        assert response["ETag"].startswith('W/"')


def test_if_none_match_gets_a_304(client):
    story = make_story()
    make_update(story)
    first = poll(client, story, 0)
    again = poll(client, story, 0, if_none_match=first["ETag"])
    assert again.status_code == 304


def test_a_new_update_arrives_with_the_new_cursor(client):
    story = make_story()
    since = revision_of(story)
    update = make_update(story, body="<p>Breaking: the bridge has reopened.</p>")
    response = poll(client, story, since)
    html = response.content.decode()
    assert response.status_code == 200
    assert oob_ids(html, "true") == [update.pk]
    assert "Breaking: the bridge has reopened." in html
    assert f"UPDATE {update.stamp}" in html
    assert f"?since={revision_of(story)}" in html
    assert 'data-hx-trigger="poll-now"' in html


def test_an_edit_is_sent_as_a_replacement(client):
    story = make_story()
    update = make_update(story, body="<p>Old text</p>")
    since = revision_of(story)
    edit(update, body="<p>New text</p>")
    html = poll(client, story, since).content.decode()
    assert oob_ids(html, "true") == [update.pk]
    assert "New text" in html
    assert "Old text" not in html


@pytest.mark.parametrize("withdraw", ["retract", "draft"])
def test_retracted_or_drafted_updates_are_removed(client, withdraw):
    story = make_story()
    update = make_update(story, body="<p>Wrong figure</p>")
    since = revision_of(story)
    if withdraw == "retract":
        retract(update)
    else:
        edit(update, status=Update.Status.DRAFT)
    html = poll(client, story, since).content.decode()
    assert oob_ids(html, "delete") == [update.pk]
    assert "Wrong figure" not in html


def test_drafts_never_reach_readers(client):
    story = make_story()
    since = revision_of(story)
    make_update(story, status=Update.Status.DRAFT, body="<p>Secret draft</p>")
    html = poll(client, story, since).content.decode()
    assert "Secret draft" not in html


def test_an_embed_change_resends_its_update(client):
    story = make_story()
    update = make_update(story)
    since = revision_of(story)
    make_embed(update, text="A new post card")
    html = poll(client, story, since).content.decode()
    assert oob_ids(html, "true") == [update.pk]
    assert "A new post card" in html


@pytest.mark.parametrize("reading_order", ["newest", "oldest"])
def test_a_reader_that_is_behind_gets_every_change_once_in_revision_order(client, reading_order):
    story = make_story(reading_order=reading_order)
    first = make_update(story)
    second = make_update(story)
    edit(first, body="<p>first edited</p>")
    html = poll(client, story, 0).content.decode()
    assert oob_ids(html, "true") == [second.pk, first.pk]


def test_the_same_since_gives_the_same_answer_until_the_story_changes(client):
    story = make_story()
    make_update(story)
    make_update(story)
    first = poll(client, story, 1).content
    assert poll(client, story, 1).content == first
    make_update(story)
    assert poll(client, story, 1).content != first


def test_ending_the_story_changes_the_badge_and_slows_the_poller(client, settings):
    story = make_story()
    since = revision_of(story)
    end_coverage(story)
    response = poll(client, story, since)
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="poller"' in html
    assert 'data-ended="true"' in html
    assert f'data-poll-seconds="{settings.LIVE_ENDED_POLL_SECONDS}"' in html
    badge = html.split('id="story-badge"')[1].split("</span></span>")[0]
    assert 'data-hx-swap-oob="true"' in badge
    assert "Coverage ended" in badge and "badge-live" not in badge
    story.refresh_from_db()
    assert f"{story.ended_at:%H%M} GMT" in badge


def test_coverage_that_resumes_reaches_pages_of_the_ended_story(client, settings):
    story = make_story()
    end_coverage(story)
    since = revision_of(story)
    with committed():
        publishing.go_live(story.pk)
    html = poll(client, story, since).content.decode()
    assert "badge-live" in html.split('id="story-badge"')[1]
    assert f'data-poll-seconds="{settings.LIVE_POLL_SECONDS}"' in html
    assert 'data-ended="true"' not in html


def test_an_update_due_after_the_end_keeps_the_ended_page_polling(client, settings):
    story = make_story()
    make_update(story, published_at=timezone.now() + dt.timedelta(minutes=5))
    since = revision_of(story)
    end_coverage(story)
    html = poll(client, story, since).content.decode()
    # Until it falls due, the page polls as often as a live one.
    assert f'data-poll-seconds="{settings.LIVE_POLL_SECONDS}"' in html


def test_a_reader_ahead_of_the_story_is_told_to_reload(client):
    story = make_story()
    response = poll(client, story, revision_of(story) + 5)
    assert response.status_code == 409
    assert response["HX-Refresh"] == "true"
    assert b"reload" in response.content


def test_a_stale_cache_does_not_make_a_fresh_reader_look_ahead(client):
    story = make_story()
    poll(client, story, revision_of(story))  # caches the state
    # A change made by another server process: this process's cache is not told.
    Story.objects.filter(pk=story.pk).update(revision=revision_of(story) + 1)
    response = poll(client, story, revision_of(story))
    assert response.status_code == 204


@pytest.mark.parametrize(
    "since",
    [None, "", "abc", "-1", "1.5", "１２", "99999999999999999999", str(2**63), "0x10", " 1"],
)
def test_bad_since_is_a_400_with_a_message(client, since):
    story = make_story()
    url = reverse("coverage:poll", kwargs={"slug": story.slug})
    response = client.get(url, {} if since is None else {"since": since})
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")
    assert b"since" in response.content


def test_unknown_and_draft_stories_are_404(client):
    draft = make_story(status=Story.Status.DRAFT)
    assert client.get("/no-such-story/updates/?since=0").status_code == 404
    assert poll(client, draft, 0).status_code == 404


def test_scheduled_updates_are_not_sent_before_their_time(client):
    story = make_story()
    since = revision_of(story)
    make_update(story, published_at=timezone.now() + dt.timedelta(hours=1), body="<p>Later</p>")
    html = poll(client, story, since).content.decode()
    assert "Later" not in html


def test_poll_is_get_only(client):
    story = make_story()
    url = reverse("coverage:poll", kwargs={"slug": story.slug})
    assert client.post(url + "?since=0").status_code == 405


@pytest.mark.parametrize("size", [10, 2000])
def test_something_new_costs_five_queries_whatever_the_story_size(
    client, django_assert_max_num_queries, size
):
    story = make_story()
    now = timezone.now()
    Update.objects.bulk_create(
        Update(story=story, body=f"<p>{n}</p>", published_at=now, revision=n + 1)
        for n in range(size)
    )
    Story.objects.filter(pk=story.pk).update(revision=size + 1)
    forget_live_state()
    since = revision_of(story)
    update = make_update(story)
    make_embed(update)
    # State, changes, embeds; then the authors' prefetch and the key events
    # box with "Last updated" (one query), re-sent by every answer.
    with django_assert_max_num_queries(5):
        response = poll(client, story, since)
    assert response.status_code == 200
    assert oob_ids(response.content.decode(), "true") == [update.pk]


def test_a_scheduled_update_reaches_readers_when_its_time_comes(client, django_assert_num_queries):
    story = make_story()
    scheduled = make_update(
        story, published_at=timezone.now() + dt.timedelta(hours=1), body="<p>Embargoed</p>"
    )
    since = revision_of(story)
    assert poll(client, story, since).status_code == 204
    with django_assert_num_queries(0):  # the cached state knows when it is due
        response = poll(client, story, since)
    assert response.status_code == 204
    assert response.content == b""

    # The clock passes its time: it was saved an hour ago for a minute ago.
    now = timezone.now()
    Update.objects.filter(pk=scheduled.pk).update(
        published_at=now - dt.timedelta(minutes=1), updated_at=now - dt.timedelta(hours=1)
    )
    forget_live_state()  # stands in for the cached state's due time passing
    response = poll(client, story, since)
    assert response.status_code == 200
    assert oob_ids(response.content.decode(), "true") == [scheduled.pk]
    assert revision_of(story) == since + 1

    # Released once: the next poll from the new cursor has nothing new.
    assert poll(client, story, since + 1).status_code == 204
    assert publishing.release_due_updates(story.pk) == 0


def test_the_cached_due_time_triggers_the_release(client, monkeypatch):
    story = make_story()
    due_at = timezone.now() + dt.timedelta(hours=1)
    scheduled = make_update(story, published_at=due_at, body="<p>At noon</p>")
    since = revision_of(story)
    assert poll(client, story, since).status_code == 204

    later = due_at + dt.timedelta(seconds=1)
    monkeypatch.setattr(timezone, "now", lambda: later)
    monkeypatch.setattr("coverage.live.time.time", later.timestamp)
    html = poll(client, story, since).content.decode()
    assert oob_ids(html, "true") == [scheduled.pk]
    assert "At noon" in html


def cursor_in(html):
    return int(re.search(r"\?since=(\d+)", html).group(1))


@pytest.mark.parametrize("reading_order", ["newest", "oldest"])
def test_a_reader_far_behind_catches_up_over_several_polls_without_a_gap(client, reading_order):
    story = make_story(reading_order=reading_order)
    updates = [make_update(story) for _ in range(130)]
    end_coverage(story)  # polling must go on until the reader has caught up
    seen, since = [], 0
    for _ in range(5):
        response = poll(client, story, since)
        if response.status_code == 204:
            break
        html = response.content.decode()
        seen += oob_ids(html, "true")
        if 'data-ended="true"' in html:
            break
        since = cursor_in(html)
    assert seen == [u.pk for u in updates]
    # Caught up with an ended story: the last answer slows polling right down.
    assert f'data-poll-seconds="{settings.LIVE_ENDED_POLL_SECONDS}"' in html


def test_catching_up_never_splits_one_revision_across_answers(client):
    """A release stamps several updates with one revision: they arrive together."""
    story = make_story()
    batch = [make_update(story) for _ in range(120)]
    revision = revision_of(story) + 1
    Story.objects.filter(pk=story.pk).update(revision=revision)
    Update.objects.filter(pk__in=[u.pk for u in batch[50:]]).update(revision=revision)
    forget_live_state()  # written behind the models' back
    first = poll(client, story, 0).content.decode()
    assert oob_ids(first, "true") == [u.pk for u in batch[:50]]
    second = poll(client, story, cursor_in(first)).content.decode()
    assert sorted(oob_ids(second, "true")) == [u.pk for u in batch[50:]]


def test_readers_at_the_same_state_share_one_rendered_answer(client, django_assert_num_queries):
    story = make_story()
    since = revision_of(story)
    make_embed(make_update(story, body="<p>Shared</p>"))
    first = poll(client, story, since)
    with django_assert_num_queries(0):
        second = poll(client, story, since)
    assert second.status_code == 200
    assert second.content == first.content
    assert b"Shared" in second.content


def test_readers_of_a_finished_day_learn_where_coverage_continues(client):
    story = make_story(title="Monday")
    since = revision_of(story)
    with committed():
        tuesday, created = publishing.start_next_day(story.pk, title="Tuesday")
    assert created
    html = poll(client, story, since).content.decode()
    assert 'id="story-continues"' in html
    assert 'data-hx-swap-oob="true"' in html.split('id="story-continues"')[1].split(">")[0]
    assert f'href="{tuesday.get_absolute_url()}"' in html
    assert "Coverage continues: Tuesday" in html
    assert 'data-ended="true"' in html  # and Monday's page polls only slowly


def test_a_live_story_poll_carries_no_continuation(client):
    story = make_story()
    since = revision_of(story)
    make_update(story)
    assert "story-continues" not in poll(client, story, since).content.decode()


def test_poll_answers_carry_a_fixed_strict_policy_of_their_own(client):
    story = make_story()
    make_update(story)
    for since in (0, revision_of(story)):
        csp = poll(client, story, since)["Content-Security-Policy"]
        assert csp.startswith("default-src 'none'")
        assert "nonce" not in csp
