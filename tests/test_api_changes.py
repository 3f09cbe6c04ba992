"""The API's change stream: the poll's semantics as JSON. Idle answers cost no
query; a client far behind catches up in whole revisions; one ahead of the
story, or at a revision a restore voided, is told to start again; and a random
run of desk changes, replayed from the stream, rebuilds the story exactly."""

import datetime as dt
import random

import pytest
from django.core.cache import caches
from django.utils import timezone

from coverage import live, publishing, representation
from coverage.models import Embed, Story, Update
from coverage.textformat import ParsedUpdate
from coverage.views import shareable
from tests.api_helpers import assert_problem, assert_valid, get
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


def revision_of(story) -> int:
    return Story.objects.values_list("revision", flat=True).get(pk=story.pk)


def changes(client, story, since, **headers):
    response = get(client, "changes", {"since": since}, headers=headers, slug=story.slug)
    if response.status_code == 200:
        assert_valid("Changes", response.json())
    return response


def forget_live_state():
    for alias in ("default", "revisions"):
        caches[alias].clear()
    live.forget_in_process()


def test_nothing_new_costs_no_query_and_is_cached_like_the_poll(client, django_assert_num_queries):
    story = make_story(slug="floods")
    make_update(story)
    revision = revision_of(story)
    changes(client, story, revision)  # a first request may fill the cache
    with django_assert_num_queries(0):
        response = changes(client, story, revision)
        not_modified = changes(client, story, revision, **{"If-None-Match": response["ETag"]})
    assert response.status_code == 200
    assert response.json() == {
        "story": "floods",
        "status": "live",
        "since": revision,
        "revision": revision,
        "has_more": False,
        "changes": [],
    }
    poll_like = shareable(type(response)(), response["ETag"])
    assert response["Cache-Control"] == poll_like["Cache-Control"]
    assert response["ETag"].startswith('W/"') and str(revision) in response["ETag"]
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "Set-Cookie" not in response and "Cookie" not in response.get("Vary", "")
    assert not_modified.status_code == 304 and not_modified.content == b""
    assert not_modified["ETag"] == response["ETag"]


def test_each_change_says_what_to_do_and_what_happened(client):
    story = make_story(slug="floods")
    start = revision_of(story)
    kept = make_update(story, body="<p>First</p>")
    assert [
        (change["id"], change["op"], change["action"])
        for change in changes(client, story, start).json()["changes"]
    ] == [(kept.pk, "upsert", "published")]

    cases = [
        (lambda: edit(kept, body="<p>Edited</p>"), "upsert", "edited"),
        (lambda: committed_call(publishing.set_pinned, kept.pk, True), "upsert", "pinned"),
        (lambda: committed_call(publishing.set_key_event, kept.pk, True), "upsert", "key_event"),
        (lambda: make_embed(Update.objects.get(pk=kept.pk)), "upsert", "cards"),
        (lambda: retract(kept), "delete", "retracted"),
        (lambda: committed_call(publishing.restore, kept.pk), "upsert", "restored"),
        (lambda: edit(current(kept), status="draft"), "delete", "unpublished"),
        (lambda: committed_call(publishing.publish, kept.pk), "upsert", "published"),
        (
            lambda: edit(current(kept), published_at=timezone.now() + dt.timedelta(hours=1)),
            "delete",
            "scheduled",
        ),
    ]
    for change, op, action in cases:
        since = revision_of(story)
        change()
        document = changes(client, story, since).json()
        assert document["revision"] == revision_of(story) and not document["has_more"]
        [item] = document["changes"]
        assert (item["id"], item["op"], item["action"]) == (kept.pk, op, action)
        assert item["revision"] == document["revision"]
        if op == "upsert":
            fetched = Update.objects.select_related("story").with_cards_and_bylines()
            expected = representation.update_data(fetched.get(pk=kept.pk), "http://testserver")
            assert item["update"] == expected
        else:
            assert item["update"] is None


def current(update):
    return Update.objects.get(pk=update.pk)


def committed_call(function, *args):
    with committed():
        return function(*args)


def test_a_draft_never_shows_its_content(client):
    story = make_story(slug="floods")
    since = revision_of(story)
    draft = make_update(story, status="draft", body="<p>Secret plans</p>")
    document = changes(client, story, since).json()
    assert document["changes"] == [
        {
            "id": draft.pk,
            "op": "delete",
            "action": "unpublished",
            "revision": draft.revision,
            "update": None,
        }
    ]
    assert b"Secret" not in changes(client, story, 0).content


def test_a_client_far_behind_catches_up_in_whole_revisions(client, monkeypatch):
    monkeypatch.setattr("coverage.views.MAX_CHANGES_PER_POLL", 3)
    story = make_story(slug="floods")
    since = revision_of(story)
    pairs = [
        [make_update(story, body=f"<p>{n}</p>") for n in range(2)],
        [make_update(story, body=f"<p>{n}</p>") for n in range(2, 4)],
    ]
    # Two revisions of two updates each: the first answer stops after the first.
    for pair in pairs:
        revision = pair[-1].revision
        Update.objects.filter(pk__in=[u.pk for u in pair]).update(revision=revision)
    forget_live_state()
    first = changes(client, story, since).json()
    assert [c["id"] for c in first["changes"]] == [u.pk for u in pairs[0]]
    assert first["has_more"] and first["revision"] == pairs[1][-1].revision - 1
    second = changes(client, story, first["revision"]).json()
    assert [c["id"] for c in second["changes"]] == [u.pk for u in pairs[1]]
    assert not second["has_more"] and second["revision"] == revision_of(story)

    # One revision bigger than a page comes whole: never split, never stuck.
    before = revision_of(story)
    parsed = [ParsedUpdate(published_at=timezone.now(), body_html=f"<p>I{n}</p>") for n in range(5)]
    with committed():
        publishing.import_updates(story, parsed)
    whole = changes(client, story, before).json()
    assert len(whole["changes"]) == 5 and not whole["has_more"]
    assert whole["revision"] == before + 1


def test_a_client_ahead_of_the_story_is_told_to_start_again(client, settings):
    story = make_story(slug="floods")
    revision = revision_of(story)
    # Judged against the state the database confirmed this second (no other
    # process stored a newer one in the shared cache): told at once.
    live.forget_in_process()
    changes(client, story, revision)
    document = assert_problem(changes(client, story, revision + 5), 409, "resync")
    assert document["revision"] == revision
    assert "fetch the story and its updates again" in document["detail"]


def test_a_revision_voided_by_a_restore_is_told_to_start_again(client, settings):
    story = make_story(slug="floods")
    kept = make_update(story, body="<p>In the backup</p>")
    restored_revision = revision_of(story)
    lost = [make_update(story, body=f"<p>Lost {n}</p>") for n in range(2)]
    high_water = revision_of(story)
    assert changes(client, story, high_water).status_code == 200
    # Restore the backup taken at restored_revision; Redis is not flushed.
    Update.objects.filter(pk__in=[u.pk for u in lost]).delete()
    Story.objects.filter(pk=story.pk).update(revision=restored_revision)
    settings.LIVE_STATE_VERIFY_SECONDS = 0
    live.forget_in_process()
    assert_problem(changes(client, story, high_water), 409, "resync")
    settings.LIVE_STATE_VERIFY_SECONDS = 2

    new = make_update(story, body="<p>After the restore</p>")
    # A client that saw a lost update starts again; one from before gets the new one.
    assert_problem(changes(client, story, high_water - 1), 409, "resync")
    ids = [c["id"] for c in changes(client, story, restored_revision).json()["changes"]]
    assert ids == [new.pk] and kept.pk not in ids


@pytest.mark.parametrize("since", ["", "abc", "-1", "1.5", "+3", " 3", str(2**63), "9" * 30])
def test_a_bad_since_is_a_400_problem(client, since):
    story = make_story(slug="floods")
    assert_problem(changes(client, story, since), 400, "invalid-parameter")


def test_a_long_since_with_leading_zeros_is_still_a_revision(client):
    story = make_story(slug="floods")
    make_update(story)
    # 19 characters: past the front door's quick reading, through the validation.
    padded = changes(client, story, "0" * 18 + "1")
    assert padded.status_code == 200
    assert padded.json()["changes"] == changes(client, story, 1).json()["changes"]


def test_a_story_turned_draft_behind_the_cached_state_is_a_404_problem(client):
    story = make_story(slug="floods")
    revision = revision_of(story)
    # Written behind the models' back: the cached state still says live.
    Story.objects.filter(pk=story.pk).update(status=Story.Status.DRAFT)
    assert_problem(changes(client, story, revision), 404, "not-found")


def test_a_missing_since_is_a_400_problem(client):
    make_story(slug="floods")
    response = client.get("/api/v1/stories/floods/changes")
    assert "since" in assert_problem(response, 400, "invalid-parameter")["detail"]


def test_unknown_and_draft_stories_are_404_problems(client):
    draft = make_story(slug="secret", status=Story.Status.DRAFT)
    assert_problem(changes(client, draft, 0), 404, "not-found")
    assert_problem(client.get("/api/v1/stories/nowhere/changes?since=0"), 404, "not-found")
    assert_problem(client.get("/api/v1/stories/nowhere/changes?since=x"), 400, "invalid-parameter")


def test_the_end_of_coverage_moves_the_cursor(client):
    story = make_story(slug="floods")
    since = revision_of(story)
    end_coverage(story)
    document = changes(client, story, since).json()
    assert document["status"] == "ended" and document["changes"] == []
    assert document["revision"] == revision_of(story) > since


def test_a_scheduled_update_arrives_when_its_time_comes(client, django_assert_num_queries):
    story = make_story(slug="floods")
    scheduled = make_update(story, published_at=timezone.now() + dt.timedelta(hours=1))
    since = revision_of(story)
    changes(client, story, since)
    with django_assert_num_queries(0):  # the cached state knows when it is due
        assert changes(client, story, since).json()["changes"] == []
    now = timezone.now()
    Update.objects.filter(pk=scheduled.pk).update(
        published_at=now - dt.timedelta(minutes=1), updated_at=now - dt.timedelta(hours=1)
    )
    forget_live_state()  # stands in for the cached state's due time passing
    document = changes(client, story, since).json()
    assert [(c["id"], c["op"]) for c in document["changes"]] == [(scheduled.pk, "upsert")]
    assert document["revision"] == since + 1


# Replay: random desk work, rebuilt from the stream ------------------------------


class Desk:
    """Random publishing calls on one story, as editors make them."""

    def __init__(self, story, rng: random.Random):
        self.story = story
        self.rng = rng

    def ids(self, **filters):
        return list(
            Update.objects.filter(story=self.story, **filters)
            .order_by("pk")
            .values_list("pk", flat=True)
        )

    def pick(self, **filters):
        ids = self.ids(**filters)
        return self.rng.choice(ids) if ids else None

    def step(self):
        rng = self.rng
        now = timezone.now().replace(microsecond=0)
        action = rng.choice(
            [
                "post", "post", "backdate", "draft", "submit_publish", "edit", "retract",
                "restore", "pin", "key_event", "schedule", "release", "reschedule",
                "add_card", "remove_card", "to_draft", "import", "story",
            ]
        )  # fmt: skip
        visible = {"status": "published", "retracted_at__isnull": True, "published_at__lte": now}
        with committed():
            if action == "post":
                publishing.post_update(self.story, body=f"<p>Post {rng.random()}</p>")
            elif action == "backdate":
                if pk := self.pick(**visible):
                    moved = now - dt.timedelta(minutes=rng.randint(1, 600))
                    self.edit(pk, published_at=moved)
            elif action == "draft":
                publishing.post_update(self.story, status="draft", body="<p>Draft</p>")
            elif action == "submit_publish":
                if pk := self.pick(status="draft"):
                    publishing.submit(pk)
                    if rng.random() < 0.7:
                        publishing.publish(pk)
            elif action == "edit":
                if pk := self.pick(**visible):
                    self.edit(pk, headline=f"Headline {rng.randint(1, 99)}", body="<p>Edited</p>")
            elif action == "retract":
                if pk := self.pick(**visible):
                    publishing.retract(pk)
            elif action == "restore":
                if pk := self.pick(retracted_at__isnull=False):
                    publishing.restore(pk)
            elif action == "pin":
                if pk := self.pick(**visible):
                    publishing.set_pinned(pk, rng.random() < 0.6)
            elif action == "key_event":
                if pk := self.pick(**visible):
                    publishing.set_key_event(pk, rng.random() < 0.6)
            elif action == "schedule":
                later = now + dt.timedelta(hours=rng.randint(1, 5))
                publishing.post_update(self.story, body="<p>Embargoed</p>", published_at=later)
            elif action == "release":
                if pk := self.pick(status="published", published_at__gt=now):
                    # Its time comes: saved an hour ago for a minute ago.
                    Update.objects.filter(pk=pk).update(
                        published_at=now - dt.timedelta(minutes=1),
                        updated_at=now - dt.timedelta(hours=1),
                    )
                    publishing.release_due_updates(self.story.pk)
            elif action == "reschedule":
                if pk := self.pick(**visible):
                    self.edit(pk, published_at=now + dt.timedelta(hours=2))
            elif action == "add_card":
                if pk := self.pick(**visible):
                    publishing.add_embed(pk, Embed(kind=Embed.Kind.QUOTE, text="Said so"))
            elif action == "remove_card":
                card = Embed.objects.filter(update__story=self.story).order_by("pk").first()
                if card:
                    publishing.remove_embed(card.pk)
            elif action == "to_draft":
                if pk := self.pick(**visible):
                    self.edit(pk, status="draft")
            elif action == "import":
                parsed = [
                    ParsedUpdate(published_at=now - dt.timedelta(minutes=n), body_html="<p>I</p>")
                    for n in range(rng.randint(2, 5))
                ]
                publishing.import_updates(self.story, parsed)
            else:
                story = Story.objects.get(pk=self.story.pk)
                story.title = f"Floods {rng.randint(1, 99)}"
                publishing.save_story(story)

    def edit(self, pk, **changes):
        version = Update.objects.values_list("version", flat=True).get(pk=pk)
        publishing.edit_update(pk, expected_version=version, **changes)


def follow(client, story, since: int, copy: dict) -> int:
    """Apply the stream from ``since`` to ``copy`` as a client would; the new cursor."""
    while True:
        document = changes(client, story, since).json()
        assert document["revision"] >= since
        for change in document["changes"]:
            if change["op"] == "upsert":
                copy[change["id"]] = change["update"]
            else:
                copy.pop(change["id"], None)
        since = document["revision"]
        if not document["has_more"]:
            return since


def published_now(story) -> dict:
    updates = Update.objects.published().filter(story=story).select_related("story")
    return {
        update.pk: representation.update_data(update, "http://testserver")
        for update in updates.with_cards_and_bylines()
    }


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_random_run_of_desk_work_is_rebuilt_exactly_from_the_stream(client, monkeypatch, seed):
    # Small pages, so that catching up takes several requests (and imports
    # bigger than a page come whole).
    monkeypatch.setattr("coverage.views.MAX_CHANGES_PER_POLL", 3)
    story = make_story(slug=f"replay-{seed}")
    desk = Desk(story, random.Random(seed))
    copy, cursor = {}, 0
    for step in range(40):
        desk.step()
        if step % 4 == 3:
            cursor = follow(client, story, cursor, copy)
            assert copy == published_now(story)
    cursor = follow(client, story, cursor, copy)
    assert cursor == revision_of(story)
    assert copy == published_now(story)
    rebuilt = {}
    follow(client, story, 0, rebuilt)
    assert rebuilt == published_now(story)
    assert len(rebuilt) > 3
