"""Test data: small functions with sensible defaults, overridable by keyword.

They write through coverage.publishing, as the app does, and count as committed
writes: the on-commit refresh of the live state runs as each returns (tests
run inside a transaction that never commits, which would otherwise drop it).
"""

import datetime as dt
import itertools

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import TestCase
from django.utils import timezone

from coverage import publishing
from coverage.models import Embed, Story, Update
from coverage.roles import CONTRIBUTOR, EDITOR, install_roles

_counter = itertools.count(1)


def make_story(**fields) -> Story:
    n = next(_counter)
    fields.setdefault("slug", f"story-{n}")
    fields.setdefault("title", f"Story {n}")
    fields.setdefault("status", Story.Status.LIVE)
    with committed():
        return publishing.create_story(**fields)


def make_update(story: Story, **fields) -> Update:
    fields.setdefault("body", f"<p>Update {next(_counter)}</p>")
    fields.setdefault("published_at", timezone.now() - dt.timedelta(minutes=1))
    with committed():
        return publishing.post_update(story, **fields)[0]


def make_embed(update: Update, **fields) -> Embed:
    fields.setdefault("kind", Embed.Kind.SOCIAL)
    fields.setdefault("url", "https://x.com/someone/status/1")
    fields.setdefault("author_name", "Someone")
    fields.setdefault("author_handle", "@someone")
    fields.setdefault("text", "A post")
    with committed():
        return publishing.add_embed(update.pk, Embed(**fields))


def committed():
    """Run the on-commit callbacks of the writes inside, as a real commit would."""
    return TestCase.captureOnCommitCallbacks(execute=True)


def make_user(username, password="correct horse battery staple", *, role=None, is_staff=True):
    """A user in one of the newsroom's roles (auth groups), or in none."""
    user = get_user_model().objects.create_user(
        username=username, password=password, is_staff=is_staff
    )
    if role:
        # A flushed database (live-server tests) has lost the migration's groups.
        install_roles(only_missing=True)
        user.groups.add(Group.objects.get(name=role))
    return user


def make_editor(username="editor", password="correct horse battery staple"):
    return make_user(username, password, role=EDITOR)


def make_contributor(username="contributor", password="correct horse battery staple"):
    return make_user(username, password, role=CONTRIBUTOR)


def admin_update_form(story: Story, embeds=(), **fields) -> dict:
    """What the admin's update form posts: every field, the embeds formset, Save.
    ``embeds`` is a list of {field: value} for the inline forms."""
    data = {
        "story": story.pk,
        "headline": "",
        "body": "<p>Posted from the desk</p>",
        "status": "published",
        "published_at_0": "",
        "published_at_1": "",
        "correction_note": "",
        "embeds-TOTAL_FORMS": str(len(embeds)),
        "embeds-INITIAL_FORMS": "0",
        "embeds-MIN_NUM_FORMS": "0",
        "embeds-MAX_NUM_FORMS": "1000",
        "_save": "Save",
    }
    for n, embed in enumerate(embeds):
        data.update({f"embeds-{n}-position": str(n), f"embeds-{n}-kind": ""})
        data.update({f"embeds-{n}-{name}": value for name, value in embed.items()})
    data.update(fields)
    return data


def edit(update: Update, **changes) -> Update:
    """An editor's committed edit of the update as loaded."""
    with committed():
        return publishing.edit_update(update.pk, expected_version=update.version, **changes)


def retract(update: Update) -> Update:
    with committed():
        return publishing.retract(update.pk)


def end_coverage(story: Story) -> Story:
    with committed():
        return publishing.end_coverage(story.pk)
