"""The one write path (coverage.publishing): one transaction, one revision bump,
one version row and an on-commit refresh of the live state for every change."""

import ast
import datetime as dt
from pathlib import Path

import pytest
from django.contrib.admin.sites import site
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from coverage import live, publishing
from coverage.desk.views import ACTIONS as DESK_ACTIONS
from coverage.models import Embed, Story, Update
from tests.factories import (
    admin_update_form,
    committed,
    make_editor,
    make_embed,
    make_story,
    make_update,
)

pytestmark = pytest.mark.django_db

COVERAGE_APP = Path(__file__).resolve().parent.parent / "coverage"


def stored_revision(story):
    return Story.objects.values_list("revision", flat=True).get(pk=story.pk)


def rows(update):
    return list(update.versions.order_by("id").values_list("version", "action"))


# Every write: one revision, one version ----------------------------------------

WRITES = {
    "edit": lambda u: publishing.edit_update(u.pk, expected_version=u.version, body="<p>New</p>"),
    "retime": lambda u: publishing.edit_update(
        u.pk, expected_version=u.version, published_at=u.published_at - dt.timedelta(hours=1)
    ),
    "retract": lambda u: publishing.retract(u.pk),
    "pin": lambda u: publishing.set_pinned(u.pk, True),
    "key event": lambda u: publishing.set_key_event(u.pk, True),
    "add embed": lambda u: publishing.add_embed(u.pk, Embed(kind="quote", text="Quoted")),
    "remove embed": lambda u: publishing.remove_embed(u.embeds.get().pk),
    "fill embed": lambda u: publishing.fill_embed(u.embeds.get().pk, {"title": "Filled in"}),
    "card edit": lambda u: publishing.edit_update(
        u.pk,
        expected_version=u.version,
        embeds=publishing.EmbedChanges(added=[Embed(kind="quote", text="Another")]),
    ),
}


@pytest.mark.parametrize("write", WRITES)
def test_every_write_bumps_the_revision_once_and_records_one_version(write):
    story = make_story()
    update = make_update(story)
    make_embed(update, title="")
    update.refresh_from_db()
    before_revision, before_version, before_rows = (
        stored_revision(story),
        update.version,
        rows(update),
    )

    with committed():
        WRITES[write](update)

    update.refresh_from_db()
    assert stored_revision(story) == before_revision + 1
    assert update.revision == before_revision + 1
    assert update.version == before_version + 1
    assert rows(update)[: len(before_rows)] == before_rows
    assert [version for version, _ in rows(update)[len(before_rows) :]] == [update.version]


@pytest.mark.parametrize(
    "repeat",
    [
        lambda u: publishing.set_pinned(u.pk, False),
        lambda u: publishing.restore(u.pk),
        lambda u: publishing.publish(u.pk),
        lambda u: publishing.submit(u.pk),
        lambda u: publishing.edit_update(u.pk, expected_version=u.version, body=u.body),
    ],
)
def test_a_write_that_changes_nothing_bumps_nothing(repeat):
    story = make_story()
    update = make_update(story)
    before = stored_revision(story), update.version, rows(update)
    with committed():
        repeat(update)
    update.refresh_from_db()
    assert (stored_revision(story), update.version, rows(update)) == before


def test_a_post_with_an_embed_is_one_revision_and_version_one():
    story = make_story()
    start = stored_revision(story)
    with committed():
        update, created = publishing.post_update(
            story, body="<p>With a card</p>", embeds=[Embed(kind="quote", text="Said")]
        )
    update.refresh_from_db()
    assert created
    assert stored_revision(story) == start + 1 == update.revision
    assert update.version == 1
    assert rows(update) == [(1, Update.Action.PUBLISHED)]
    assert update.embeds.get().text == "Said"


def test_the_live_state_is_refreshed_only_when_the_write_commits(
    client, django_capture_on_commit_callbacks
):
    story = make_story()
    update = make_update(story)
    since = stored_revision(story)
    assert client.get(f"/{story.slug}/updates/?since={since}").status_code == 204
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        publishing.edit_update(update.pk, expected_version=update.version, body="<p>Later</p>")
    # Not committed yet: the cached state still says nothing happened.
    assert live.get(story.slug).revision == since
    assert len(callbacks) == 1
    callbacks[0]()
    assert live.get(story.slug).revision == since + 1
    response = client.get(f"/{story.slug}/updates/?since={since}")
    assert response.status_code == 200
    assert "Later" in response.content.decode()


def test_a_failed_transaction_leaves_the_revision_and_live_state_alone(
    django_capture_on_commit_callbacks,
):
    story = make_story()
    before = stored_revision(story)
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        publishing.post_update(story, body="<p>Lost</p>")
        raise RuntimeError("the editor's save failed")
    assert callbacks == []
    assert stored_revision(story) == before
    assert not Update.objects.exists()


def test_saving_a_stale_story_object_never_moves_the_revision_backwards():
    story = make_story()
    stale = Story.objects.get(pk=story.pk)
    make_update(story)
    make_update(story)
    stale.title = "New title"
    with committed():
        publishing.save_story(stale)
    assert stored_revision(story) == stale.revision == 4


def test_saving_a_story_tells_the_day_before_and_a_day_it_no_longer_follows():
    monday, sunday = make_story(), make_story()
    tuesday = make_story(previous=monday)
    before = stored_revision(monday), stored_revision(sunday)
    tuesday.previous = sunday
    with committed():
        publishing.save_story(tuesday)
    assert (stored_revision(monday), stored_revision(sunday)) == (before[0] + 1, before[1] + 1)


def test_story_lifecycle_sets_coverage_times():
    story = make_story(status=Story.Status.DRAFT)
    assert story.started_at is None
    with committed():
        story = publishing.go_live(story.pk)
    assert story.started_at is not None
    assert story.ended_at is None
    with committed():
        story = publishing.end_coverage(story.pk)
    assert story.ended_at is not None


def test_starting_the_next_day_is_one_change_to_each_story(monkeypatch):
    story = make_story(title="Floods")
    before = stored_revision(story)
    make_story(slug="floods-taken")
    slugs = iter(["floods-taken", "floods-free"])  # the first was free when checked
    monkeypatch.setattr(publishing, "next_day_slug", lambda title, now: next(slugs))
    with committed():
        following, created = publishing.start_next_day(story.pk)
    assert created
    assert following.slug == "floods-free"
    assert following.previous == story
    assert stored_revision(following) == 1
    story.refresh_from_db()
    assert story.status == Story.Status.ENDED
    assert story.revision == before + 1


def test_releasing_due_updates_is_one_revision_and_one_version_each():
    story = make_story()
    due = [
        make_update(story, published_at=timezone.now() + dt.timedelta(minutes=5)) for _ in range(2)
    ]
    # The clock passes their time: saved an hour ago for a minute ago.
    now = timezone.now()
    Update.objects.filter(pk__in=[u.pk for u in due]).update(
        published_at=now - dt.timedelta(minutes=1), updated_at=now - dt.timedelta(hours=1)
    )
    before = stored_revision(story)
    with committed():
        assert publishing.release_due_updates(story.pk) == 2
    assert stored_revision(story) == before + 1
    for update in due:
        update.refresh_from_db()
        assert update.revision == before + 1
        assert rows(update)[-1] == (2, Update.Action.PUBLISHED)


# The original text, whatever path first changes it ---------------------------


@pytest.mark.parametrize("write", ["edit", "retract", "pin", "add embed"])
def test_the_original_text_is_kept_the_first_time_anything_changes_an_update(write):
    story = make_story()
    # Written before versions were recorded: no version rows.
    legacy = Update.objects.create(story=story, body="<p>As first written</p>")
    with committed():
        WRITES[write](legacy)
    first = legacy.versions.order_by("id").first()
    assert first.action == Update.Action.ORIGINAL
    assert first.body == "<p>As first written</p>"
    assert legacy.versions.count() == 2


# Conflicts that are real ----------------------------------------------------


def loaded(update):
    return Update.objects.get(pk=update.pk)


@pytest.mark.parametrize(
    "colleague",
    [
        lambda u: publishing.set_pinned(u.pk, True),
        lambda u: publishing.set_key_event(u.pk, True),
        lambda u: publishing.add_embed(u.pk, Embed(kind="quote", text="A card")),
        lambda u: publishing.edit_update(
            u.pk, expected_version=u.version, published_at=u.published_at - dt.timedelta(hours=1)
        ),
    ],
)
def test_a_colleagues_other_change_merges_with_an_open_text_edit(colleague):
    update = make_update(make_story(), headline="Old", body="<p>Old text</p>")
    opened = loaded(update)
    with committed():
        colleague(update)
    theirs = loaded(update)
    with committed():
        edited = publishing.edit_update(
            update.pk, expected_version=opened.version, headline="Old", body="<p>Mine</p>"
        )
    edited.refresh_from_db()
    assert edited.body == "<p>Mine</p>"
    # What the colleague did stays.
    assert (edited.pinned, edited.key_event, edited.published_at) == (
        theirs.pinned,
        theirs.key_event,
        theirs.published_at,
    )
    assert edited.embeds.count() == theirs.embeds.count()


def test_an_open_pin_does_not_undo_a_colleagues_text_edit():
    """The other way round: a flag change after a text edit keeps the text."""
    update = make_update(make_story(), body="<p>Old text</p>")
    opened = loaded(update)
    with committed():
        publishing.edit_update(update.pk, expected_version=opened.version, body="<p>Theirs</p>")
    with committed():
        edited = publishing.edit_update(
            update.pk, expected_version=opened.version, body="<p>Old text</p>", pinned=True
        )
    assert (edited.body, edited.pinned) == ("<p>Theirs</p>", True)


@pytest.mark.parametrize(
    ("theirs", "mine"),
    [
        ({"body": "<p>Theirs</p>"}, {"body": "<p>Mine</p>"}),
        ({"headline": "Their headline"}, {"body": "<p>Mine</p>"}),
        ({"body": "<p>Theirs</p>"}, {"correction_note": "Mine"}),
    ],
)
def test_two_text_edits_of_the_same_update_still_conflict(theirs, mine):
    update = make_update(make_story(), body="<p>Old text</p>")
    opened = loaded(update)
    with committed():
        publishing.edit_update(update.pk, expected_version=opened.version, **theirs)
    with pytest.raises(publishing.EditConflict) as refused:
        publishing.edit_update(update.pk, expected_version=opened.version, **mine)
    assert refused.value.current.version == opened.version + 1
    assert loaded(update).body == theirs.get("body", "<p>Old text</p>")


def test_the_same_text_edit_twice_is_not_a_conflict():
    update = make_update(make_story(), body="<p>Old text</p>")
    opened = loaded(update)
    with committed():
        publishing.edit_update(update.pk, expected_version=opened.version, body="<p>Same</p>")
    same = publishing.edit_update(update.pk, expected_version=opened.version, body="<p>Same</p>")
    assert same.body == "<p>Same</p>"
    assert same.version == opened.version + 1


# No other way in ------------------------------------------------------------

WRITING_METHODS = {"save", "delete", "update", "create", "bulk_create", "bulk_update"}
WRITING_METHODS |= {"get_or_create", "update_or_create", "add", "remove", "set", "clear"}
MODELS = {"Story", "Update", "Embed", "UpdateVersion"}
# Names the app gives its story, update and embed objects.
ROW_NAMES = {"story", "update", "embed", "following", "previous", "card", "locked", "stale"}


def writes_outside_publishing(path: Path) -> list[str]:
    """Calls that could change a story, update or embed without a revision bump:
    ``Update.objects....update()``, ``update.save()``, ``story.updates.create()``..."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if node.func.attr not in WRITING_METHODS:
            continue
        names = {n.id for n in ast.walk(node.func.value) if isinstance(n, ast.Name)}
        names |= {n.attr for n in ast.walk(node.func.value) if isinstance(n, ast.Attribute)}
        if names & (MODELS | ROW_NAMES | {"updates", "embeds"}):
            found.append(f"{path.name}:{node.lineno} {ast.unparse(node)[:80]}")
    return found


def test_nothing_but_the_write_path_changes_stories_updates_or_embeds():
    allowed = {"publishing.py", "models.py"}
    offenders = [
        line
        for path in sorted(COVERAGE_APP.rglob("*.py"))
        if path.name not in allowed and "migrations" not in path.parts
        for line in writes_outside_publishing(path)
    ]
    # The display image is the embed's own derived field, written in the
    # caller's publishing transaction (images.refresh_display_image).
    offenders = [line for line in offenders if not line.startswith("images.py")]
    assert offenders == []


def test_the_tripwire_catches_a_write_behind_the_readers_back(tmp_path):
    sneaky = tmp_path / "sneaky.py"
    sneaky.write_text(
        "def f(update, story):\n"
        "    update.save()\n"
        "    Update.objects.filter(pk=1).update(body='x')\n"
        "    story.updates.create(body='x')\n"
    )
    assert len(writes_outside_publishing(sneaky)) == 3


def test_every_admin_list_action_bumps_the_revision(client):
    client.force_login(make_editor())
    update_admin = site._registry[Update]
    story = make_story()
    for action in update_admin.actions:
        update = make_update(story, pinned=action == "unpin")
        if action == "restore":
            with committed():
                publishing.retract(update.pk)
        before, versions = stored_revision(story), update.versions.count()
        with committed():
            response = client.post(
                "/admin/coverage/update/",
                {"action": action, "_selected_action": [update.pk], "index": 0},
            )
        assert response.status_code == 302, action
        assert stored_revision(story) == before + 1, action
        assert update.versions.count() == versions + 1, action


def desk_action_target(story, action):
    """An update the desk action changes: a draft to publish or submit, a pinned
    one to unpin, a retracted one to restore, and so on."""
    fields = {
        "publish": {"status": Update.Status.SUBMITTED},
        "submit": {"status": Update.Status.DRAFT},
        "unpin": {"pinned": True},
        "not-key-event": {"key_event": True},
    }.get(action, {})
    update = make_update(story, **fields)
    if action == "restore":
        with committed():
            publishing.retract(update.pk)
    return update


@pytest.mark.parametrize("action", list(DESK_ACTIONS))
def test_every_desk_action_bumps_the_revision_and_records_a_version(client, action):
    client.force_login(make_editor())
    story = make_story()
    update = desk_action_target(story, action)
    before, versions = stored_revision(story), update.versions.count()
    url = reverse("admin:coverage_story_desk_action", args=[story.pk, update.pk, action])
    assert client.post(url).status_code == 302
    assert stored_revision(story) == before + 1
    assert update.versions.count() == versions + 1


@pytest.mark.parametrize("path", ["desk", "admin"])
def test_edits_from_the_desk_and_the_admin_bump_the_revision_once(client, path):
    client.force_login(make_editor())
    story = make_story()
    update = make_update(story, body="<p>Before</p>")
    before = stored_revision(story)
    if path == "desk":
        url = reverse("admin:coverage_story_desk_edit", args=[story.pk, update.pk])
        data = {"version": update.version, "headline": "", "body": "After", "time": ""}
    else:
        url = reverse("admin:coverage_update_change", args=[update.pk])
        data = admin_update_form(story, body="<p>After</p>", loaded_version=update.version)
        data.update(published_at_0="2026-11-24", published_at_1="10:00:00")
    assert client.post(url, data).status_code == 302
    update.refresh_from_db()
    assert update.body == "<p>After</p>"
    assert stored_revision(story) == before + 1 == update.revision
    assert [action for _, action in rows(update)] == ["published", "edited"]


def test_an_edit_of_an_update_without_a_record_of_what_was_loaded_conflicts_on_any_difference():
    story = make_story()
    legacy = Update.objects.create(story=story, body="<p>Old</p>")  # no version rows
    with committed():
        publishing.set_pinned(legacy.pk, True)  # keeps the original: version 1 -> 2
    # Loaded at a version no row records.
    with pytest.raises(publishing.EditConflict):
        publishing.edit_update(legacy.pk, expected_version=7, body="<p>Mine</p>")
    # Asking for what is already there is no conflict.
    unchanged = publishing.edit_update(legacy.pk, expected_version=7, body="<p>Old</p>")
    assert unchanged.body == "<p>Old</p>"


def test_an_edit_cannot_change_what_the_write_path_does_not_edit():
    update = make_update(make_story())
    with pytest.raises(TypeError, match="revision"):
        publishing.edit_update(update.pk, expected_version=update.version, revision=1)


def test_the_admin_removes_a_card_in_the_same_write_as_the_text(client, admin_user):
    # Removing cards takes the delete_embed permission, which the roles leave out.
    client.force_login(admin_user)
    story = make_story()
    update = make_update(story, body="<p>Before</p>")
    card = make_embed(update, kind="quote", text="Quoted")
    update.refresh_from_db()
    before = stored_revision(story)
    data = admin_update_form(story, body="<p>After</p>", loaded_version=update.version)
    data.update(published_at_0="2026-11-24", published_at_1="10:00:00")
    data.update(
        {
            "embeds-TOTAL_FORMS": "1",
            "embeds-INITIAL_FORMS": "1",
            "embeds-0-id": str(card.pk),
            "embeds-0-update": str(update.pk),
            "embeds-0-kind": "quote",
            "embeds-0-text": "Quoted",
            "embeds-0-position": "0",
            "embeds-0-DELETE": "on",
        }
    )
    response = client.post(reverse("admin:coverage_update_change", args=[update.pk]), data)
    assert response.status_code == 302
    update.refresh_from_db()
    assert update.body == "<p>After</p>"
    assert not update.embeds.exists()
    assert stored_revision(story) == before + 1
    assert update.versions.first().action == Update.Action.EDITED
