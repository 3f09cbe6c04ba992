"""Floods an attacker can send, and what a restore leaves behind (issue 19,
points 9, 12, 13 and 14): bounded memory, at most one query per (story,
revision) whatever the cursor or the junk around it, every reader ahead of a
restored story told at once, and the cache answering while the database is down.
"""

import re

import pytest
from django.core.cache import caches
from django.db import OperationalError, connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from coverage import audience, live, middleware, views
from coverage.api import views as api_views
from coverage.bounded import BoundedDict
from coverage.models import Story, Update
from tests.factories import make_story, make_update

pytestmark = pytest.mark.django_db


def poll(client, slug, since, **extra):
    return client.get(reverse("coverage:poll", kwargs={"slug": slug}), {"since": since, **extra})


def revision_of(story):
    return Story.objects.values_list("revision", flat=True).get(pk=story.pk)


def forget_everything():
    for alias in ("default", "revisions"):
        caches[alias].clear()
    live.forget_in_process()


class DatabaseDown:
    def __init__(self):
        self.wrapper = connection.execute_wrapper(self.refuse)

    @staticmethod
    def refuse(execute, sql, params, many, context):
        raise OperationalError("connection refused (test)")

    def __enter__(self):
        self.wrapper.__enter__()

    def __exit__(self, *exc):
        self.wrapper.__exit__(*exc)


# 9. Bounded memory ----------------------------------------------------------


def test_the_bounded_map_forgets_the_least_recently_used_entry():
    remembered = BoundedDict(2)
    remembered["a"], remembered["b"] = 1, 2
    assert remembered.get("a") == 1  # now the most recently used
    remembered["c"] = 3
    assert "b" not in remembered and remembered.get("a") == 1 and remembered["c"] == 3
    assert len(remembered) == 2
    with pytest.raises(KeyError):
        remembered["b"]


def test_every_in_process_map_is_bounded():
    for memory in (
        live._in_process,
        live._verified_at,
        api_views._idle,
        api_views._changed_at,
        middleware._last_good_pages,
        audience._pending,
    ):
        assert isinstance(memory, BoundedDict)


def test_a_flood_of_distinct_slugs_keeps_live_memory_capped(client, monkeypatch):
    monkeypatch.setattr(live, "_in_process", BoundedDict(5))
    monkeypatch.setattr(live, "_verified_at", BoundedDict(5))
    for n in range(20):
        assert poll(client, f"no-such-story-{n}", 1).status_code == 404
    assert len(live._in_process) == 5 and len(live._verified_at) == 5


def test_an_over_long_slug_is_a_404_without_a_query_or_a_cache_call(
    client, django_assert_num_queries, monkeypatch
):
    def no_cache(*args):
        raise AssertionError("the cache was asked about an over-long slug")

    monkeypatch.setattr(live, "_cache", no_cache)
    slug = "a" * 60_000
    with django_assert_num_queries(0):
        assert client.get(f"/{slug}/").status_code == 404
        assert client.get(f"/{slug}/updates/", {"since": 1}).status_code == 404
        assert client.get(f"/{slug}/feed/rss/").status_code == 404
    assert live.get("a" * 121) is None


def test_a_slug_as_long_as_the_model_allows_still_works(client):
    story = make_story(slug="s" * 120)
    assert client.get(story.get_absolute_url()).status_code == 200


def test_no_such_story_is_remembered_by_the_shared_cache(client, django_assert_num_queries):
    """Another process (or this one, past its own second) asks the cache, not the database."""
    assert poll(client, "nothing-here", 1).status_code == 404
    live.forget_in_process()
    with django_assert_num_queries(0):
        assert poll(client, "nothing-here", 1).status_code == 404
        assert client.get("/nothing-here/").status_code == 404


def test_a_story_created_after_its_slug_was_asked_for_is_found(client):
    assert client.get("/later/").status_code == 404
    story = make_story(slug="later")
    live.forget_in_process()  # another process
    assert client.get(story.get_absolute_url()).status_code == 200


def stories_listed(response) -> list[str]:
    return re.findall(r'<h2><a href="[^"]*">([^<]*)</a></h2>', response.content.decode())


def test_a_repeat_of_a_home_page_costs_no_query(client, django_assert_num_queries):
    for n in range(25):
        make_story(slug=f"story-{n}", title=f"Story {n}")
    first = client.get("/", {"page": 2})
    with django_assert_num_queries(0):
        again = client.get("/", {"page": 2})
        junk = client.get("/", {"page": "999", "x": "1"})  # past the end: the last page
    listed = [stories_listed(page) for page in (first, again, junk)]
    assert (
        listed[0]
        == listed[1]
        == listed[2]
        == ["Story 4", "Story 3", "Story 2", "Story 1", "Story 0"]
    )
    make_story(slug="newest", title="The newest story")
    assert b"The newest story" in client.get("/").content


def test_a_repeat_of_around_costs_no_query(client, django_assert_num_queries):
    story = make_story()
    updates = [make_update(story) for _ in range(views.PAGE_SIZE + 5)]
    url = story.get_absolute_url()
    first = client.get(url, {"around": updates[0].pk})
    with django_assert_num_queries(0):
        again = client.get(url, {"around": updates[0].pk})
    assert first.status_code == again.status_code == 302
    assert again["Location"] == first["Location"] and "?before=" in first["Location"]
    assert client.get(url, {"around": "x"}).status_code == 400


# 12. After a restore: every reader ahead is told at once --------------------


def test_every_reader_ahead_of_a_confirmed_state_is_told_in_the_same_second(client, settings):
    story = make_story()
    make_update(story)
    restored = revision_of(story)
    settings.LIVE_STATE_VERIFY_SECONDS = 0  # the state is checked at once
    live.forget_in_process()
    cursors = range(restored + 1, restored + 101)  # a hundred pages ahead
    answers = [poll(client, story.slug, since) for since in cursors]
    assert {answer.status_code for answer in answers} == {409}
    assert all(answer["HX-Refresh"] == "true" for answer in answers)


def test_a_newer_write_of_another_process_is_not_mistaken_for_a_restore(client):
    story = make_story()
    revision = revision_of(story)
    assert poll(client, story.slug, revision).status_code == 204  # confirmed just now
    newer = live.load(pk=story.pk)._replace(revision=revision + 1)
    caches["default"].set(live.cache_key(story.slug), newer)  # another process's write
    assert poll(client, story.slug, revision + 1).status_code == 204


# 13. Expensive polls ----------------------------------------------------------


def jump_revision(story, by: int) -> None:
    """Revisions spent on nothing readers see (edits of drafts, say)."""
    Story.objects.filter(pk=story.pk).update(revision=revision_of(story) + by)


def test_far_behind_and_junk_polls_cost_one_query_per_story_revision(client):
    story = make_story()
    updates = [make_update(story) for _ in range(5)]
    jump_revision(story, 3 * views.MAX_CHANGES_PER_POLL)
    # An import: more updates in one revision than one answer carries.
    bulk = [make_update(story) for _ in range(views.MAX_CHANGES_PER_POLL + 1)]
    revision = revision_of(story) + 1
    Story.objects.filter(pk=story.pk).update(revision=revision)
    Update.objects.filter(pk__in=[u.pk for u in bulk]).update(revision=revision)
    forget_everything()
    assert poll(client, story.slug, revision).status_code == 204  # the state, cached
    # The import is all that comes next: too much for one answer.
    far = range(updates[-1].revision, revision - views.MAX_CHANGES_PER_POLL)
    assert len(far) > 200
    with CaptureQueriesContext(connection) as queries:
        answers = [poll(client, story.slug, since) for since in far]
        answers += [poll(client, story.slug, far[0], **{f"junk{n}": n}) for n in range(50)]
    assert len(queries) == 1, [q["sql"] for q in queries]
    assert {answer.status_code for answer in answers} == {200}
    assert all(answer["HX-Refresh"] == "true" for answer in answers)
    assert b"Too much has changed" in answers[0].content


def test_far_cursors_with_the_same_changes_after_them_share_one_answer(
    client, django_assert_num_queries
):
    story = make_story()
    first = make_update(story)
    jump_revision(story, 3 * views.MAX_CHANGES_PER_POLL)
    late = make_update(story)
    forget_everything()
    answer = poll(client, story.slug, first.revision)
    far = range(first.revision + 1, late.revision - views.MAX_CHANGES_PER_POLL)
    with django_assert_num_queries(0):
        between = [poll(client, story.slug, since) for since in far]
    assert len(between) > 100 and all(b.content == answer.content for b in between)
    assert f"update-{late.pk}".encode() in answer.content
    assert f"update-{first.pk}".encode() not in answer.content


def test_a_reader_too_far_behind_reloads_without_loading_updates(client, monkeypatch):
    monkeypatch.setattr(views, "MAX_CHANGES_TO_CATCH_UP", 3)
    story = make_story()
    jump_revision(story, 3 * views.MAX_CHANGES_PER_POLL)
    for _ in range(5):
        make_update(story)

    def no_loading(*args, **kwargs):
        raise AssertionError("updates were loaded for a reader too far behind")

    monkeypatch.setattr(views, "answer_changes", no_loading)
    answer = poll(client, story.slug, 0)
    assert answer.status_code == 200 and answer["HX-Refresh"] == "true"


# 14. Smaller ----------------------------------------------------------------


def test_a_fresh_process_with_the_database_down_answers_an_ahead_poll_from_the_cache(client):
    story = make_story()
    revision = revision_of(story)
    assert poll(client, story.slug, revision).status_code == 204  # the cache holds the state
    live.forget_in_process()  # a process started since
    with DatabaseDown():
        ahead = poll(client, story.slug, revision + 3)
        idle = poll(client, story.slug, revision)
    assert ahead.status_code == 204 and ahead["Cache-Control"] == "no-store"
    assert idle.status_code == 204


@pytest.mark.parametrize(
    "restores, void, valid",
    [
        # Two restores with revisions published between them: those stay valid.
        ([(5, 10), (15, 20)], [6, 10, 16, 20], [5, 11, 15, 21]),
        # A second restore to a backup older than the first: one range.
        ([(5, 10), (3, 12)], [4, 5, 6, 11, 12], [3, 13]),
        # Overlapping.
        ([(5, 10), (8, 14)], [6, 9, 11, 14], [5, 15]),
    ],
)
def test_void_ranges_of_several_restores_merge_as_a_union(restores, void, valid):
    story = make_story()
    for restored, high_water in restores:
        live.note_restore(story.pk, restored=restored, high_water=high_water)
    state = live._with_void(live.load(pk=story.pk))
    assert [since for since in void if state.is_void(since)] == void
    assert [since for since in valid if state.is_void(since)] == []


def test_a_void_range_stored_before_several_were_kept_still_reads():
    story = make_story()
    caches["default"].set(live.void_key(story.pk), (4, 9))
    state = live._with_void(live.load(pk=story.pk))
    assert state.is_void(5) and not state.is_void(10)
