import datetime as dt

import pytest
from django.utils import timezone

from coverage.models import Story, Update
from tests.factories import make_story, make_update, retract

pytestmark = pytest.mark.django_db


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
    retract(make_update(story))
    make_update(story, published_at=timezone.now() + dt.timedelta(hours=1))
    assert list(Update.objects.published()) == [visible]


def test_stamp_is_gmt_hours_and_minutes():
    update = make_update(
        make_story(), published_at=dt.datetime(2026, 11, 25, 19, 41, 59, tzinfo=dt.UTC)
    )
    assert update.stamp == "1941 GMT"


def test_home_page_order_lists_live_stories_first():
    now = timezone.now()
    ended_recent = make_story(status=Story.Status.ENDED, started_at=now)
    live_old = make_story(status=Story.Status.LIVE, started_at=now - dt.timedelta(days=2))
    make_story(status=Story.Status.DRAFT)
    assert list(Story.objects.for_home_page()) == [live_old, ended_recent]
