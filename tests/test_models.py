import datetime as dt

import pytest
from django.db import transaction
from django.utils import timezone

from coverage.models import Embed, Story, Update
from tests.factories import make_embed, make_story, make_update

pytestmark = pytest.mark.django_db


def stored_revision(story):
    return Story.objects.values_list("revision", flat=True).get(pk=story.pk)


def test_every_change_bumps_the_story_revision_and_stamps_the_update():
    story = make_story()
    start = stored_revision(story)

    update = make_update(story)
    assert stored_revision(story) == start + 1
    assert update.revision == start + 1

    update.body = "<p>Edited</p>"
    update.save()
    assert update.revision == stored_revision(story) == start + 2

    update.pinned = True
    update.save()
    update.retract()
    assert stored_revision(story) == start + 4
    assert update.revision == start + 4

    update.restore()
    assert update.retracted_at is None
    assert stored_revision(story) == start + 5


def test_embed_changes_bump_the_revision_of_their_update():
    story = make_story()
    update = make_update(story)
    embed = make_embed(update)
    update.refresh_from_db()
    assert update.revision == stored_revision(story)

    embed.delete()
    update.refresh_from_db()
    assert update.revision == stored_revision(story)
    assert not Embed.objects.exists()


def test_saving_a_stale_story_object_never_moves_the_revision_backwards():
    story = make_story()
    stale = Story.objects.get(pk=story.pk)
    make_update(story)
    make_update(story)
    stale.title = "New title"
    stale.save()
    assert stored_revision(story) == stale.revision == 4


def test_a_failed_transaction_leaves_the_revision_alone():
    story = make_story()
    before = stored_revision(story)
    with pytest.raises(RuntimeError), transaction.atomic():
        make_update(story)
        raise RuntimeError("editor's save failed")
    assert stored_revision(story) == before
    assert not Update.objects.exists()


@pytest.mark.parametrize(
    ("dirty", "clean"),
    [
        ("<p>Hi<script>alert(1)</script></p>", "<p>Hi</p>"),
        ('<p onclick="alert(1)">Hi</p>', "<p>Hi</p>"),
        ('<a href="javascript:alert(1)">x</a>', '<a rel="noopener noreferrer nofollow">x</a>'),
        ('<img src=x onerror="alert(1)">', ""),
        ("<iframe src='https://evil.example'></iframe>", ""),
        ("<h2>Head</h2><ul><li>one</li></ul>", "<h2>Head</h2><ul><li>one</li></ul>"),
        ("<blockquote><p>quote</p></blockquote>", "<blockquote><p>quote</p></blockquote>"),
    ],
)
def test_update_bodies_are_sanitised_on_save(dirty, clean):
    update = make_update(make_story(), body=dirty)
    update.refresh_from_db()
    assert update.body == clean


def test_links_keep_their_href_and_get_safe_rel():
    update = make_update(make_story(), body='<p><a href="https://example.org/a">a</a></p>')
    assert 'href="https://example.org/a"' in update.body
    assert 'rel="noopener noreferrer nofollow"' in update.body


def test_published_excludes_drafts_retracted_and_scheduled():
    story = make_story()
    visible = make_update(story)
    make_update(story, status=Update.Status.DRAFT)
    make_update(story).retract()
    make_update(story, published_at=timezone.now() + dt.timedelta(hours=1))
    assert list(Update.objects.published()) == [visible]


def test_stamp_is_gmt_hours_and_minutes():
    update = make_update(
        make_story(), published_at=dt.datetime(2026, 11, 25, 19, 41, 59, tzinfo=dt.UTC)
    )
    assert update.stamp == "1941 GMT"


def test_story_lifecycle_sets_coverage_times():
    story = make_story(status=Story.Status.DRAFT)
    assert story.started_at is None
    story.go_live()
    assert story.started_at is not None
    assert story.ended_at is None
    story.end_coverage()
    assert story.ended_at is not None


def test_home_page_order_lists_live_stories_first():
    now = timezone.now()
    ended_recent = make_story(status=Story.Status.ENDED, started_at=now)
    live_old = make_story(status=Story.Status.LIVE, started_at=now - dt.timedelta(days=2))
    make_story(status=Story.Status.DRAFT)
    assert list(Story.objects.for_home_page()) == [live_old, ended_recent]


def test_starting_the_next_day_retries_a_slug_taken_meanwhile(monkeypatch):
    story = make_story(title="Floods")
    make_story(slug="floods-taken")
    slugs = iter(["floods-taken", "floods-free"])  # the first was free when checked
    monkeypatch.setattr(Story, "next_day_slug", staticmethod(lambda title, now: next(slugs)))
    following, created = story.start_next_day()
    assert created
    assert following.slug == "floods-free"
    assert following.previous == story
    story.refresh_from_db()
    assert story.status == Story.Status.ENDED
