"""The posting desk, through the test client: who may do what (posting directly,
past whatever the page shows), composing, the one-time token, times, edits and
the optimistic lock, actions and their audit trail, the staff poll, the story's
lifecycle and paste import."""

import datetime as dt
import io
import re
import uuid

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group
from django.core.cache import caches
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from PIL import Image

from coverage import live
from coverage.desk.forms import ImportForm
from coverage.desk.text import editable_text, gmt_text, parse_gmt
from coverage.models import Embed, Story, Update, UpdateQuerySet, UpdateVersion
from coverage.publishing import EditConflict, edit_update, post_update
from coverage.roles import ROLES
from tests.factories import (
    admin_update_form,
    committed,
    make_contributor,
    make_editor,
    make_embed,
    make_story,
    make_update,
    make_user,
    retract,
)

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


# Helpers -------------------------------------------------------------------


def desk_url(story):
    return reverse("admin:coverage_story_desk", args=[story.pk])


def compose_url(story):
    return reverse("admin:coverage_story_desk_compose", args=[story.pk])


def edit_url(update):
    return reverse("admin:coverage_story_desk_edit", args=[update.story_id, update.pk])


def action_url(update, action):
    return reverse("admin:coverage_story_desk_action", args=[update.story_id, update.pk, action])


def lifecycle_url(story, action):
    return reverse("admin:coverage_story_desk_lifecycle", args=[story.pk, action])


def poll_url(story, since):
    return reverse("admin:coverage_story_desk_poll", args=[story.pk]) + f"?since={since}"


def import_url(story):
    return reverse("admin:coverage_story_desk_import", args=[story.pk])


def compose(client, story, headers=None, **fields):
    data = {"client_token": str(uuid.uuid4()), "body": "The bridge is closed.", "intent": "publish"}
    data.update(fields)
    return client.post(compose_url(story), data, headers=headers or {})


def edit(client, update, version=None, headers=None, **fields):
    data = {
        "version": update.version if version is None else version,
        "headline": update.headline,
        "body": editable_text(update.body),
        "correction_note": update.correction_note,
        "time": gmt_text(update.published_at),
    }
    data.update(fields)
    return client.post(edit_url(update), data, headers=headers or {})


def login(client, user):
    client.force_login(user)
    return user


def png(size=(8, 8)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 40, 40)).save(buffer, format="PNG")
    return buffer.getvalue()


def revision_of(story):
    return Story.objects.values_list("revision", flat=True).get(pk=story.pk)


@pytest.fixture
def story():
    return make_story(title="Floods")


@pytest.fixture
def editor(client):
    return login(client, make_editor())


@pytest.fixture
def contributor(client):
    return login(client, make_contributor())


# Roles and permissions ----------------------------------------------------------


def test_the_roles_migration_made_both_groups_with_their_permissions():
    for name, codenames in ROLES.items():
        group = Group.objects.get(name=name)
        assert sorted(group.permissions.values_list("codename", flat=True)) == sorted(codenames)
    editor = set(ROLES["Editor"])
    assert {"publish_update", "run_story"} <= editor
    assert not {"publish_update", "run_story"} & set(ROLES["Contributor"])


def test_the_roles_migration_is_reversible():
    from importlib import import_module

    from django.apps import apps

    migration = import_module("coverage.migrations.0003_roles")
    migration.remove_roles(apps, None)
    assert not Group.objects.filter(name__in=ROLES).exists()
    migration.create_roles(apps, None)
    assert Group.objects.filter(name__in=ROLES).count() == 2


def test_anonymous_users_are_sent_to_log_in_and_post_nothing(client, story):
    response = client.get(desk_url(story))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    for url in (compose_url(story), lifecycle_url(story, "end"), import_url(story)):
        response = client.post(url, {"body": "x", "client_token": str(uuid.uuid4())})
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))
    assert not Update.objects.exists()
    story.refresh_from_db()
    assert story.status == Story.Status.LIVE


def test_a_reader_without_staff_status_is_refused(client, story):
    login(client, make_user("reader", is_staff=False, role="Editor"))
    update = make_update(story)
    assert client.get(desk_url(story)).status_code == 302
    assert compose(client, story).status_code == 302
    assert client.post(action_url(update, "retract")).status_code == 302
    assert client.get(poll_url(story, 0)).status_code == 302
    update.refresh_from_db()
    assert not update.is_retracted
    assert Update.objects.count() == 1


def test_staff_without_a_role_are_forbidden(client, story):
    login(client, make_user("intern"))
    assert client.get(desk_url(story)).status_code == 403
    assert compose(client, story).status_code == 403
    assert client.get(poll_url(story, 0)).status_code == 403
    assert not Update.objects.exists()


def test_a_contributor_sees_submit_not_publish(client, story, contributor):
    html = client.get(desk_url(story)).content.decode()
    assert 'value="submit"' in html
    assert 'value="publish"' not in html
    assert 'name="pinned"' not in html
    assert "Start next day" not in html


def test_a_contributor_cannot_publish_by_posting_directly(client, story, contributor):
    response = compose(client, story, intent="publish")
    assert response.status_code == 403
    assert not Update.objects.exists()


def test_a_contributor_submits_and_cannot_pin(client, story, contributor):
    response = compose(client, story, intent="submit", pinned="on", key_event="on")
    assert response.status_code == 302
    update = Update.objects.get()
    assert update.status == Update.Status.SUBMITTED
    assert not update.pinned
    assert update.key_event
    assert list(update.authors.all()) == [contributor]
    # Not on the reader's page until an editor publishes it.
    assert "The bridge is closed" not in client.get(story.get_absolute_url()).content.decode()


@pytest.mark.parametrize(
    "action", ["publish", "pin", "unpin", "key-event", "not-key-event", "retract", "restore"]
)
def test_a_contributor_cannot_act_as_an_editor(client, story, contributor, action):
    update = make_update(story, status=Update.Status.SUBMITTED)
    update.authors.add(contributor)
    version = update.version
    assert client.post(action_url(update, action)).status_code == 403
    update.refresh_from_db()
    assert update.version == version
    assert update.status == Update.Status.SUBMITTED


def test_a_contributor_edits_and_submits_only_their_own_unpublished_updates(
    client, story, contributor
):
    own = make_update(story, status=Update.Status.DRAFT, body="<p>Mine</p>")
    own.authors.add(contributor)
    others = make_update(story, status=Update.Status.DRAFT, body="<p>Theirs</p>")
    published = make_update(story, body="<p>Out</p>")
    published.authors.add(contributor)

    assert edit(client, own, body="Mine, better").status_code == 302
    own.refresh_from_db()
    assert own.body == "<p>Mine, better</p>"
    assert client.post(action_url(own, "submit")).status_code == 302
    own.refresh_from_db()
    assert own.status == Update.Status.SUBMITTED

    assert client.get(edit_url(others)).status_code == 403
    assert edit(client, others, body="Hijacked").status_code == 403
    assert client.post(action_url(others, "submit")).status_code == 403
    assert edit(client, published, body="Changed after publication").status_code == 403
    others.refresh_from_db()
    published.refresh_from_db()
    assert others.body == "<p>Theirs</p>"
    assert others.status == Update.Status.DRAFT
    assert published.body == "<p>Out</p>"


@pytest.mark.parametrize("action", ["go-live", "end", "next-day"])
def test_a_contributor_cannot_start_or_end_coverage(client, story, contributor, action):
    assert client.post(lifecycle_url(story, action)).status_code == 403
    story.refresh_from_db()
    assert story.status == Story.Status.LIVE
    assert Story.objects.count() == 1


def test_a_contributor_cannot_publish_through_the_classic_admin(client, story, contributor):
    response = client.post(
        reverse("admin:coverage_update_add"),
        admin_update_form(story, body="<p>Sneaky</p>", pinned="on"),
    )
    assert response.status_code == 302
    update = Update.objects.get()
    assert update.status == Update.Status.DRAFT
    assert not update.pinned
    published = make_update(story)
    changelist = reverse("admin:coverage_update_changelist")
    client.post(changelist, {"action": "retract", "_selected_action": [published.pk]})
    published.refresh_from_db()
    assert not published.is_retracted
    response = client.post(
        reverse("admin:coverage_update_change", args=[published.pk]), {"body": "<p>x</p>"}
    )
    assert response.status_code == 403


def test_a_contributor_cannot_end_a_story_through_the_classic_admin(client, story, contributor):
    changelist = reverse("admin:coverage_story_changelist")
    client.post(changelist, {"action": "end_coverage", "_selected_action": [story.pk]})
    story.refresh_from_db()
    assert story.status == Story.Status.LIVE


# Composing --------------------------------------------------------------------


def test_the_desk_is_linked_from_the_story_and_the_stories_list(client, story, editor):
    url = desk_url(story)
    change = client.get(reverse("admin:coverage_story_change", args=[story.pk])).content.decode()
    assert url in change
    assert url in client.get(reverse("admin:coverage_story_changelist")).content.decode()
    html = client.get(url).content.decode()
    assert 'id="gmt-clock"' in html
    assert "js/desk.js" in html
    assert 'name="body"' in html and "autofocus" in html


def test_an_editor_publishes_stamped_now_and_readers_see_it(client, story, editor):
    before = timezone.now().replace(microsecond=0)
    response = compose(client, story, headline="Bridge shut", key_event="on")
    assert response.status_code == 302
    assert response["Location"].startswith(desk_url(story))
    update = Update.objects.get()
    assert update.status == Update.Status.PUBLISHED
    assert before <= update.published_at <= timezone.now()
    assert update.body == "<p>The bridge is closed.</p>"
    assert update.headline == "Bridge shut"
    assert update.key_event
    assert list(update.authors.all()) == [editor]
    assert "The bridge is closed." in client.get(story.get_absolute_url()).content.decode()
    assert update.versions.count() == 1
    version = update.versions.first()
    assert (version.action, version.actor, version.version) == ("published", editor, update.version)
    assert LogEntry.objects.filter(object_id=str(update.pk), user=editor).exists()


def test_publishing_with_htmx_answers_a_fresh_form_and_the_new_row(client, story, editor):
    token = str(uuid.uuid4())
    response = compose(client, story, headers=HTMX, client_token=token)
    assert response.status_code == 200
    html = response.content.decode()
    update = Update.objects.get()
    assert html.lstrip().startswith('<form id="compose"')
    assert token not in html  # a new one-time token for the next update
    assert re.search(rf'id="desk-update-{update.pk}"[^>]*data-hx-swap-oob="true"', html)
    assert f"Published: UPDATE {update.stamp}" in html


def test_plain_text_becomes_paragraphs_and_markup_is_sanitised(client, story, editor):
    compose(
        client,
        story,
        body='First <strong>line</strong>\nsame paragraph\n\n<em onclick="x()">Second</em>'
        '<script>alert(1)</script> <a href="javascript:alert(1)">link</a>',
    )
    body = Update.objects.get().body
    assert body.startswith("<p>First <strong>line</strong><br>same paragraph</p><p><em>Second</em>")
    assert "script" not in body and "onclick" not in body and "javascript" not in body


def test_a_double_click_with_one_token_creates_one_update(client, story, editor):
    token = str(uuid.uuid4())
    first = compose(client, story, client_token=token)
    second = compose(client, story, client_token=token, body="The bridge is closed.")
    assert first.status_code == second.status_code == 302
    assert Update.objects.count() == 1
    again = compose(client, story, headers=HTMX, client_token=token)
    assert again.status_code == 200
    assert f'id="desk-update-{Update.objects.get().pk}"' in again.content.decode()
    assert Update.objects.count() == 1
    assert UpdateVersion.objects.count() == 1


def test_a_token_race_lost_at_the_database_returns_the_winner(story, monkeypatch):
    token = uuid.uuid4()
    winner = make_update(story, client_token=token)
    real_filter = UpdateQuerySet.filter
    missed = []

    def filter_missing_once(self, *args, **kwargs):
        # The other request inserts between this one's check and its insert.
        if "client_token" in kwargs and not missed:
            missed.append(True)
            return self.none()
        return real_filter(self, *args, **kwargs)

    monkeypatch.setattr(UpdateQuerySet, "filter", filter_missing_once)
    update, created = post_update(story, client_token=token, body="<p>Twice</p>")
    assert missed
    assert (update, created) == (winner, False)
    assert Update.objects.count() == 1


def test_an_earlier_time_backdates(client, story, editor):
    yesterday = timezone.now() - dt.timedelta(days=1)
    compose(client, story, time=yesterday.strftime("%Y-%m-%d 09:05"))
    update = Update.objects.get()
    assert update.published_at == dt.datetime.combine(
        yesterday.date(), dt.time(9, 5), tzinfo=dt.UTC
    )
    assert update.versions.get().action == "published"
    assert "The bridge is closed." in client.get(story.get_absolute_url()).content.decode()


def test_hh_mm_is_today_in_gmt(client, story, editor):
    now = timezone.now()
    compose(client, story, time=now.strftime("%H:%M"))
    assert Update.objects.get().published_at == now.replace(second=0, microsecond=0)


def test_a_later_time_schedules(client, story, editor):
    later = timezone.now() + dt.timedelta(hours=2)
    compose(client, story, time=later.strftime("%Y-%m-%d %H:%M GMT"))
    update = Update.objects.get()
    assert update.published_at == later.replace(second=0, microsecond=0)
    assert update.versions.get().action == "scheduled"
    assert "The bridge is closed." not in client.get(story.get_absolute_url()).content.decode()
    html = client.get(desk_url(story)).content.decode()
    assert f"Scheduled for {update.stamp}" in html


@pytest.mark.parametrize(
    "text, expected",
    [
        ("", None),
        ("09:05", dt.datetime(2026, 11, 25, 9, 5, tzinfo=dt.UTC)),
        ("0905", dt.datetime(2026, 11, 25, 9, 5, tzinfo=dt.UTC)),
        ("9:05 GMT", dt.datetime(2026, 11, 25, 9, 5, tzinfo=dt.UTC)),
        ("2026-11-24 23:59", dt.datetime(2026, 11, 24, 23, 59, tzinfo=dt.UTC)),
        ("2026-11-24T07:30:15", dt.datetime(2026, 11, 24, 7, 30, 15, tzinfo=dt.UTC)),
    ],
)
def test_time_formats(text, expected):
    now = dt.datetime(2026, 11, 25, 14, 0, tzinfo=dt.UTC)
    assert parse_gmt(text, now) == expected


@pytest.mark.parametrize(
    "text", ["25:61", "24:00", "12:60", "tomorrow-ish", "2026-02-30 10:00", "10", "2026-11-24"]
)
def test_impossible_times_are_form_errors_that_keep_the_text(client, story, editor, text):
    response = compose(client, story, body="Kept words", headline="Kept headline", time=text)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="errorlist"' in html
    assert "Kept words" in html and "Kept headline" in html and text in html
    assert not Update.objects.exists()


def test_an_empty_body_is_a_form_error_in_place(client, story, editor):
    response = compose(client, story, headers=HTMX, body="  ", headline="Kept headline")
    assert response.status_code == 422
    html = response.content.decode()
    assert html.lstrip().startswith('<form id="compose"')
    assert "Write the update first." in html
    assert "Kept headline" in html
    assert not Update.objects.exists()


def test_a_body_over_50000_characters_is_an_error_never_truncated(client, story, editor):
    body = "word " * 10_001  # 50,005 characters
    response = compose(client, story, headers=HTMX, body=body)
    assert response.status_code == 422
    html = response.content.decode()
    assert "at most 50000 characters" in html
    assert body.strip() in html  # all of it, back in the box
    assert not Update.objects.exists()
    # Exactly at the limit is fine.
    assert compose(client, story, body="x" * 50_000).status_code == 302


def test_an_upload_that_is_not_an_image_is_a_form_error(client, story, editor):
    upload = SimpleUploadedFile("photo.jpg", b"not an image at all", content_type="image/jpeg")
    response = compose(client, story, headers=HTMX, body="Kept", image=upload, image_alt="A")
    assert response.status_code == 422
    html = response.content.decode()
    assert "Upload a valid image" in html
    assert "Kept" in html
    assert not Update.objects.exists()


def test_an_image_over_10_mb_is_a_form_error(client, story, editor):
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16)).save(buffer, format="JPEG")
    # A real JPEG, padded past the limit (decoders ignore data after the image).
    data = buffer.getvalue() + b"\0" * (10 * 1024 * 1024)
    upload = SimpleUploadedFile("huge.jpg", data, content_type="image/jpeg")
    response = compose(client, story, headers=HTMX, body="Kept", image=upload, image_alt="A")
    assert response.status_code == 422
    assert "the limit is 10 MB" in response.content.decode()
    assert not Update.objects.exists()


@pytest.mark.parametrize("missing", ["caption", "credit", "alt_text"])
def test_an_image_needs_caption_credit_and_alt_text_as_in_the_admin(client, story, editor, missing):
    """The one image rule (Embed.REQUIRED), as the admin's inline applies it."""
    upload = SimpleUploadedFile("photo.png", png(), content_type="image/png")
    fields = {"image_caption": "A caption", "image_credit": "A credit", "image_alt": "Alt"}
    fields[f"image_{missing.removesuffix('_text')}"] = ""
    response = compose(client, story, body="Kept", image=upload, **fields)
    assert response.status_code == 200
    html = response.content.decode()
    assert escape(Embed.REQUIRED[Embed.Kind.IMAGE][missing]) in html
    assert "Kept" in html
    assert not Update.objects.exists()


def test_an_image_with_caption_credit_and_alt_becomes_an_image_embed(client, story, editor):
    upload = SimpleUploadedFile("photo.png", png((40, 30)), content_type="image/png")
    compose(
        client,
        story,
        image=upload,
        image_alt="Water under the bridge",
        image_caption="The bridge at noon",
        image_credit="Desk",
    )
    embed = Embed.objects.get()
    assert embed.kind == Embed.Kind.IMAGE
    assert (embed.alt_text, embed.caption, embed.credit) == (
        "Water under the bridge",
        "The bridge at noon",
        "Desk",
    )
    assert (embed.image_width, embed.image_height) == (40, 30)
    html = client.get(story.get_absolute_url()).content.decode()
    assert 'alt="Water under the bridge"' in html


def test_a_pasted_link_or_embed_code_becomes_an_embed(client, story, editor):
    compose(client, story, **{"embed-paste": "https://www.youtube.com/watch?v=dQw4w9WgXcQ"})
    compose(client, story, **{"embed-paste": "https://example.org/report"})
    code = (
        '<blockquote class="twitter-tweet"><p>Water is rising.</p>&mdash; Coastguard '
        '(@coastguard) <a href="https://twitter.com/coastguard/status/1861234567890123456">'
        "November 25, 2026</a></blockquote>"
    )
    compose(client, story, **{"embed-paste": code})
    kinds = sorted(Embed.objects.values_list("kind", "provider"))
    assert kinds == [("link", ""), ("social", "X"), ("video", "YouTube")]
    social = Embed.objects.get(kind="social")
    assert (social.text, social.author_handle) == ("Water is rising.", "@coastguard")
    assert "twitter-tweet" not in Update.objects.get(embeds=social).body


def test_a_bad_paste_is_a_form_error_that_keeps_everything(client, story, editor):
    response = compose(
        client, story, headers=HTMX, body="Kept body", **{"embed-paste": "javascript:alert(1)"}
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "Links must start with https://" in html
    assert "Kept body" in html and "javascript:alert(1)" in html
    assert not Update.objects.exists()


def test_save_draft_keeps_it_from_readers(client, story, editor):
    compose(client, story, intent="draft")
    update = Update.objects.get()
    assert update.status == Update.Status.DRAFT
    assert update.versions.get().action == "drafted"
    assert "The bridge is closed." not in client.get(story.get_absolute_url()).content.decode()
    assert "The bridge is closed." in client.get(desk_url(story)).content.decode()


# Approval ---------------------------------------------------------------------


def test_an_editor_approves_a_submission_and_it_goes_out_now(client, story):
    writer = make_contributor()
    login(client, writer)
    compose(client, story, intent="submit", body="From the scene.")
    update = Update.objects.get()
    created = update.published_at

    boss = login(client, make_editor())
    html = client.get(desk_url(story)).content.decode()
    awaiting = html[html.index('id="desk-list-submitted"') : html.index('id="drafts-title"')]
    assert "From the scene." in awaiting
    update.created_at -= dt.timedelta(minutes=10)  # written ten minutes ago
    update.published_at = created - dt.timedelta(minutes=10)
    Update.objects.filter(pk=update.pk).update(
        created_at=update.created_at, published_at=update.published_at
    )

    response = client.post(action_url(update, "publish"), headers=HTMX)
    assert response.status_code == 200
    assert 'data-section="published"' in response.content.decode()
    update.refresh_from_db()
    assert update.status == Update.Status.PUBLISHED
    assert update.published_at >= created  # stamped when it went out
    assert [(v.action, v.actor) for v in update.versions.order_by("id")] == [
        ("submitted", writer),
        ("published", boss),
    ]
    assert "From the scene." in client.get(story.get_absolute_url()).content.decode()


def test_approving_keeps_a_time_the_writer_chose(client, story):
    login(client, make_contributor())
    backdated = (timezone.now() - dt.timedelta(hours=3)).replace(second=0, microsecond=0)
    compose(client, story, intent="submit", time=gmt_text(backdated))
    login(client, make_editor())
    update = Update.objects.get()
    client.post(action_url(update, "publish"))
    update.refresh_from_db()
    assert update.published_at == backdated


# Edits, corrections and the lock ---------------------------------------------


def test_an_edit_keeps_the_time_and_shows_the_correction(client, story, editor):
    stamp = timezone.now().replace(microsecond=0) - dt.timedelta(minutes=30, seconds=7)
    update = make_update(story, published_at=stamp, body="<p>The River Ouse.</p>")
    response = edit(
        client,
        update,
        body="<p>The River Alder.</p>",
        correction_note="An earlier version named the wrong river.",
    )
    assert response.status_code == 302
    update.refresh_from_db()
    assert update.published_at == stamp  # seconds and all
    assert update.body == "<p>The River Alder.</p>"
    assert update.edited_at is not None
    html = client.get(story.get_absolute_url()).content.decode()
    edited = update.edited_at.strftime("%H%M")
    assert re.search(
        rf"<strong>Correction, <time[^>]*>{edited} GMT</time>:</strong> "
        "An earlier version named the wrong river.",
        html,
    )
    assert f"edited {edited} GMT" in client.get(desk_url(story)).content.decode()
    latest = update.versions.first()
    assert (latest.action, latest.actor, latest.body) == ("edited", editor, update.body)


def test_previous_text_is_kept_and_shown_in_the_versions(client, story, editor):
    response = compose(client, story, body="First wording.")
    update = Update.objects.get()
    edit(client, update, body="Second wording.")
    update.refresh_from_db()
    client.post(action_url(update, "retract"))
    client.post(action_url(update, "restore"))
    update.refresh_from_db()
    bodies = list(update.versions.order_by("id").values_list("action", "body"))
    assert bodies == [
        ("published", "<p>First wording.</p>"),
        ("edited", "<p>Second wording.</p>"),
        ("retracted", "<p>Second wording.</p>"),
        ("restored", "<p>Second wording.</p>"),
    ]
    url = reverse("admin:coverage_story_desk_versions", args=[story.pk, update.pk])
    response = client.get(url)
    html = response.content.decode()
    assert "First wording." in html and "Second wording." in html
    assert html.index("Restored") < html.index("First wording.")  # newest first
    assert "by editor" in html


def test_a_stale_save_is_refused_and_nothing_is_lost(client, story):
    update = make_update(story, body="<p>Original.</p>")
    loaded = update.version
    first = make_editor("first")
    second = make_editor("second")

    login(client, first)
    assert edit(client, update, version=loaded, body="First editor's text.").status_code == 302

    login(client, second)
    response = edit(client, update, version=loaded, headers=HTMX, body="Second editor's text.")
    assert response.status_code == 409
    html = response.content.decode()
    assert "first saved this update" in html
    assert "First editor's text." in html  # theirs, shown as readers would see it
    assert "Second editor&#x27;s text." in html  # mine, kept in the form
    update.refresh_from_db()
    assert update.body == "<p>First editor's text.</p>"  # not overwritten
    assert f'name="version" value="{update.version}"' in html

    # Plain post: the same refusal as a form error.
    response = edit(client, update, version=loaded, body="Second editor's text.")
    assert response.status_code == 200
    assert "your changes were not saved" in response.content.decode()

    # Having seen theirs, saving again (at the current version) is a choice.
    response = edit(client, update, version=update.version, body="Second editor's text.")
    assert response.status_code == 302
    update.refresh_from_db()
    assert update.body == "<p>Second editor's text.</p>"
    history = [(v.action, v.actor, v.body) for v in update.versions.order_by("id")]
    assert history == [
        ("published", None, "<p>Original.</p>"),
        ("edited", first, "<p>First editor's text.</p>"),
        ("edited", second, "<p>Second editor's text.</p>"),
    ]


def test_the_lock_is_checked_in_the_model_too(story):
    update = make_update(story)
    edit_update(update.pk, expected_version=update.version, body="<p>One</p>")
    with pytest.raises(EditConflict) as refused:
        edit_update(update.pk, expected_version=update.version, body="<p>Two</p>")
    assert refused.value.current.body == "<p>One</p>"
    # The same save posted twice is not a conflict with itself.
    assert edit_update(update.pk, expected_version=update.version, body="<p>One</p>").body == (
        "<p>One</p>"
    )


def test_a_pin_by_a_colleague_merges_with_an_open_edit(client, story, editor):
    update = make_update(story)
    loaded = update.version
    client.post(action_url(update, "pin"))
    response = edit(client, update, version=loaded, headers=HTMX, body="Changed.")
    assert response.status_code == 200
    assert "Changed." in response.content.decode()
    update.refresh_from_db()
    assert (update.body, update.pinned) == ("<p>Changed.</p>", True)


def test_a_colleagues_text_edit_still_conflicts_with_an_open_pin_and_edit(client, story, editor):
    update = make_update(story)
    loaded = update.version
    assert edit(client, update, version=loaded, body="Theirs.").status_code == 302
    response = edit(client, update, version=loaded, headers=HTMX, body="Mine.")
    assert response.status_code == 409
    update.refresh_from_db()
    assert update.body == "<p>Theirs.</p>"


def test_moving_an_update_later_schedules_it(client, story, editor):
    update = make_update(story)
    later = timezone.now() + dt.timedelta(hours=1)
    edit(client, update, time=gmt_text(later))
    update.refresh_from_db()
    assert update.versions.first().action == "scheduled"
    assert update.is_scheduled()


def test_edit_form_in_place_and_as_a_page(client, story, editor):
    update = make_update(story, body="<p>Words.</p>")
    partial = client.get(edit_url(update), headers=HTMX).content.decode()
    assert partial.lstrip().startswith(f'<div id="desk-update-{update.pk}"')
    assert "is-editing" in partial
    page = client.get(edit_url(update)).content.decode()
    assert "<html" in page and "desk-edit-form" in page
    row = reverse("admin:coverage_story_desk_row", args=[story.pk, update.pk])
    assert "is-editing" not in client.get(row, headers=HTMX).content.decode()


def test_an_edit_shows_plain_text_and_an_untouched_body_is_not_an_edit(client, story, editor):
    update = make_update(story, body="<p>One &amp; two</p>\n<p>Three<br>four</p>")
    html = client.get(edit_url(update), headers=HTMX).content.decode()
    assert ">\nOne &amp; two\n\nThree\nfour</textarea>" in html  # & as typed, escaped once
    edit(client, update, correction_note="Fixed a typo elsewhere.")
    update.refresh_from_db()
    assert update.body == "<p>One &amp; two</p>\n<p>Three<br>four</p>"  # byte for byte
    assert update.correction_note == "Fixed a typo elsewhere."


def test_edit_errors_keep_the_text(client, story, editor):
    update = make_update(story)
    response = edit(client, update, headers=HTMX, body="Kept text", time="25:61")
    assert response.status_code == 422
    html = response.content.decode()
    assert "Kept text" in html and "25:61" in html
    response = edit(client, update, headers=HTMX, body="")
    assert response.status_code == 422


# Actions and the audit trail ------------------------------------------------------


@pytest.mark.parametrize(
    "action, check, recorded",
    [
        ("pin", lambda u: u.pinned, "pinned"),
        ("key-event", lambda u: u.key_event, "key_event"),
        ("retract", lambda u: u.is_retracted, "retracted"),
    ],
)
def test_actions_change_the_update_and_are_recorded(client, story, editor, action, check, recorded):
    update = make_update(story)
    response = client.post(action_url(update, action), headers=HTMX)
    assert response.status_code == 200
    assert f'id="desk-update-{update.pk}"' in response.content.decode()
    update.refresh_from_db()
    assert check(update)
    assert update.versions.count() == 2  # published, then this action
    version = update.versions.first()
    assert (version.action, version.actor, version.version) == (recorded, editor, update.version)
    entry = LogEntry.objects.get(object_id=str(update.pk))
    assert entry.user == editor
    assert entry.get_change_message().startswith(Update.Action(recorded).label)


def test_undo_actions(client, story, editor):
    update = make_update(story, pinned=True, key_event=True)
    retract(update)
    for action in ("unpin", "not-key-event", "restore"):
        assert client.post(action_url(update, action)).status_code == 302
    update.refresh_from_db()
    assert not (update.pinned or update.key_event or update.is_retracted)
    assert [v.action for v in update.versions.order_by("id")] == [
        "published",
        "retracted",
        "unpinned",
        "not_key_event",
        "restored",
    ]


def test_repeating_an_action_changes_and_records_nothing(client, story, editor):
    update = make_update(story)
    client.post(action_url(update, "pin"))
    client.post(action_url(update, "pin"))
    assert [v.action for v in update.versions.order_by("id")] == ["published", "pinned"]


def test_unknown_actions_and_wrong_methods(client, story, editor):
    update = make_update(story)
    assert client.post(action_url(update, "delete")).status_code == 404
    assert client.get(action_url(update, "pin")).status_code == 405
    other = make_update(make_story())
    wrong_story = reverse("admin:coverage_story_desk_action", args=[story.pk, other.pk, "pin"])
    assert client.post(wrong_story).status_code == 404


DESK_URLS = [
    ("desk", lambda story, update: [story.pk]),
    ("desk_compose", lambda story, update: [story.pk]),
    ("desk_poll", lambda story, update: [story.pk]),
    ("desk_import", lambda story, update: [story.pk]),
    ("desk_lifecycle", lambda story, update: [story.pk, "end"]),
    ("desk_row", lambda story, update: [story.pk, update.pk]),
    ("desk_edit", lambda story, update: [story.pk, update.pk]),
    ("desk_versions", lambda story, update: [story.pk, update.pk]),
    ("desk_action", lambda story, update: [story.pk, update.pk, "pin"]),
]


@pytest.mark.parametrize("method", ["put", "delete", "options", "trace"])
@pytest.mark.parametrize("name, args", DESK_URLS, ids=[name for name, _ in DESK_URLS])
def test_every_desk_url_refuses_methods_it_does_not_handle(
    client, story, editor, name, args, method
):
    update = make_update(story)
    before = revision_of(story)
    url = reverse(f"admin:coverage_story_{name}", args=args(story, update)) + "?since=0"
    response = getattr(client, method)(url)
    assert response.status_code == 405
    assert response.headers["Allow"] in ("GET", "POST", "GET, POST")
    assert revision_of(story) == before  # nothing written


def test_a_get_on_compose_goes_back_to_the_desk(client, story, editor):
    response = client.get(compose_url(story))
    assert (response.status_code, response.url) == (302, desk_url(story))
    assert not Update.objects.exists()


# The desk's poll ---------------------------------------------------------------


def test_the_desk_poll_brings_colleagues_drafts(client, story, editor):
    revision = revision_of(story)
    assert client.get(poll_url(story, revision)).status_code == 204
    colleague = make_contributor()
    with committed():
        draft, _ = post_update(
            story, actor=colleague, status=Update.Status.DRAFT, body="<p>Half-written</p>"
        )
    response = client.get(poll_url(story, revision))
    assert response.status_code == 200
    html = response.content.decode()
    assert re.search(rf'id="desk-update-{draft.pk}"[^>]*data-hx-swap-oob="true"', html)
    assert "Half-written" in html
    assert f"since={revision_of(story)}" in html
    assert "private" in response["Cache-Control"] or "no-cache" in response["Cache-Control"]


def test_the_desk_poll_rejects_a_bad_cursor(client, story, editor):
    assert client.get(poll_url(story, "abc")).status_code == 400
    assert client.get(poll_url(story, 10**6)).status_code == 409
    # The readers' limit (2^63 - 1), not a shorter one of its own.
    assert client.get(poll_url(story, 2**63 - 1)).status_code == 409
    assert client.get(poll_url(story, 2**63)).status_code == 400


def test_seed_demo_prints_the_address_it_is_served_on(settings, monkeypatch):
    settings.DEBUG = True
    monkeypatch.setenv("PORT", "8101")
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert "http://127.0.0.1:8101/admin/" in out.getvalue()


def test_the_desk_poll_releases_a_scheduled_update(client, story, editor):
    update = make_update(story, published_at=timezone.now() + dt.timedelta(hours=1))
    revision = revision_of(story)
    # Saved an hour ago for a time that has just come.
    now = timezone.now()
    Update.objects.filter(pk=update.pk).update(
        published_at=now - dt.timedelta(seconds=1), updated_at=now - dt.timedelta(hours=1)
    )
    # Stands in for the cached state's due time passing (written an hour ahead).
    caches["default"].clear()
    live.forget_in_process()
    response = client.get(poll_url(story, revision))
    assert response.status_code == 200
    assert f'id="desk-update-{update.pk}"' in response.content.decode()


# The story's lifecycle -----------------------------------------------------------


def test_go_live_and_end_coverage(client, editor):
    story = make_story(status=Story.Status.DRAFT)
    assert client.post(lifecycle_url(story, "go-live")).status_code == 302
    story.refresh_from_db()
    assert story.status == Story.Status.LIVE
    assert client.post(lifecycle_url(story, "end"), {"confirm": "yes"}).status_code == 302
    story.refresh_from_db()
    assert story.status == Story.Status.ENDED
    assert story.ended_at is not None
    # Readers' pages learn it ended (and poll slowly from then on).
    assert 'data-ended="true"' in client.get(story.get_absolute_url()).content.decode()
    messages = list(LogEntry.objects.filter(object_id=str(story.pk)).values_list("change_message"))
    assert messages == [("Ended coverage from the desk.",), ("Went live from the desk.",)]
    assert client.get(lifecycle_url(story, "end")).status_code == 405
    assert client.post(lifecycle_url(story, "explode")).status_code == 404


def test_start_next_days_coverage(client, editor):
    old = make_story(
        title="Floods: day one",
        slug="floods-day-one",
        standfirst="Rivers are rising.",
        lead_image=ContentFile(png(), name="bridge.png"),
        lead_image_caption="The bridge",
        lead_image_credit="Desk",
        lead_image_alt="A bridge",
    )
    make_update(old, body="<p>Last of the day.</p>")
    response = client.post(lifecycle_url(old, "next-day"), {"title": "Floods: day two"})
    new = Story.objects.exclude(pk=old.pk).get()
    assert response["Location"] == desk_url(new)
    old.refresh_from_db()
    assert old.status == Story.Status.ENDED and old.ended_at is not None
    assert new.status == Story.Status.LIVE
    assert new.previous == old
    assert new.title == "Floods: day two"
    assert new.slug.startswith("floods-day-two-")
    assert (new.standfirst, new.lead_image.name, new.lead_image_caption) == (
        "Rivers are rising.",
        old.lead_image.name,
        "The bridge",
    )
    assert (new.lead_image_credit, new.lead_image_alt) == ("Desk", "A bridge")
    old_page = client.get(old.get_absolute_url()).content.decode()
    assert "Coverage continues: Floods: day two" in old_page
    assert new.get_absolute_url() in old_page
    new_page = client.get(new.get_absolute_url()).content.decode()
    assert old.get_absolute_url() in new_page and "Floods: day one" in new_page

    # Pressed again (or by a colleague): still one next day.
    client.post(lifecycle_url(old, "next-day"), {"title": "Floods: day two"})
    assert Story.objects.count() == 2
    assert LogEntry.objects.filter(object_id=str(new.pk)).count() == 1


# Paste import ------------------------------------------------------------------

PASTED = """\
UPDATE 1010 GMT: The river is falling.
“Stay away from the water.” — Coastguard (@coastguard) November 25, 2026

UPDATE 0905 GMT:
HEADLINE: Roads closed
KEY EVENT

Police have closed the A12.
- Diversions via Harlby
"""


def test_paste_import_previews_then_saves_once(client, story, editor):
    page = client.get(import_url(story))
    token = re.search(r'name="token" value="([^"]+)"', page.content.decode())[1]
    data = {"text": PASTED, "date": "2026-11-24", "token": token, "preview": "1"}
    preview = client.post(import_url(story), data)
    assert preview.status_code == 200
    html = preview.content.decode()
    assert "Preview: 2 updates" in html
    assert "Roads closed" in html and "The river is falling." in html
    assert not Update.objects.exists()

    digest = re.search(r'name="previewed" value="([^"]+)"', html)[1]
    data |= {"save": "1", "previewed": digest}
    del data["preview"]
    response = client.post(import_url(story), data)
    assert response.status_code == 302
    updates = list(story.updates.order_by("published_at"))
    assert [u.stamp for u in updates] == ["0905 GMT", "1010 GMT"]
    assert updates[0].headline == "Roads closed" and updates[0].key_event
    assert updates[1].embeds.get().author_handle == "@coastguard"
    assert all(u.status == Update.Status.PUBLISHED for u in updates)
    assert all(u.versions.get().actor == editor for u in updates)

    # The same form posted again adds nothing.
    client.post(import_url(story), data)
    assert story.updates.count() == 2


def test_paste_import_saves_only_what_was_previewed(client, story, editor):
    data = {"text": PASTED, "date": "2026-11-24", "token": str(uuid.uuid4()), "save": "1"}
    response = client.post(import_url(story), data | {"previewed": "stale"})
    assert response.status_code == 200
    assert "Preview: 2 updates" in response.content.decode()
    assert not Update.objects.exists()


def test_paste_import_errors_keep_the_text(client, story, editor):
    data = {"text": "UPDATE 2561 GMT: no", "date": "2026-11-24", "token": str(uuid.uuid4())}
    response = client.post(import_url(story), data | {"preview": "1"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "hours must be 00-23" in html
    assert "UPDATE 2561 GMT: no" in html
    assert not Update.objects.exists()


def test_a_contributors_paste_import_awaits_approval(client, story, contributor):
    form = ImportForm({"text": PASTED, "date": "2026-11-24", "token": str(uuid.uuid4())})
    assert form.is_valid()
    data = dict(form.data) | {"save": "1", "previewed": form.digest()}
    client.post(import_url(story), data)
    assert set(story.updates.values_list("status", flat=True)) == {"submitted"}


# The classic admin form shares the lock ---------------------------------------


def test_the_classic_update_form_refuses_a_stale_save(client, story, editor):
    update = make_update(story, body="<p>Original</p>")
    loaded = update.version
    edit_update(update.pk, expected_version=loaded, body="<p>Someone else's</p>")
    response = client.post(
        reverse("admin:coverage_update_change", args=[update.pk]),
        admin_update_form(
            story,
            body="<p>Mine</p>",
            published_at_0="2026-11-24",
            published_at_1="10:00:00",
            loaded_version=loaded,
        ),
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Someone else changed what you changed" in html
    assert "&lt;p&gt;Mine&lt;/p&gt;" in html
    update.refresh_from_db()
    assert update.body == "<p>Someone else's</p>"


def test_seed_demo_makes_the_editor_an_editor(settings):

    from coverage.management.commands.seed_demo import EDITOR_USERNAME

    settings.DEBUG = True
    call_command("seed_demo", stdout=io.StringIO())
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.get(username=EDITOR_USERNAME)
    assert list(user.groups.values_list("name", flat=True)) == ["Editor"]
    assert not user.user_permissions.exists()
    assert user.has_perm("coverage.publish_update") and user.has_perm("coverage.run_story")


def test_the_classic_story_actions_are_in_the_admin_history(client, story, editor):
    changelist = reverse("admin:coverage_story_changelist")
    client.post(changelist, {"action": "end_coverage", "_selected_action": [story.pk]})
    entry = LogEntry.objects.get(object_id=str(story.pk))
    assert (entry.user, entry.change_message) == (editor, "Ended coverage.")


@pytest.mark.parametrize("count", [3, 30])
def test_the_desk_page_costs_the_same_queries_however_many_updates(
    client, story, editor, count, django_assert_max_num_queries
):
    for n in range(count):
        update = make_update(story, body=f"<p>Update {n}</p>")
        make_embed(update, kind="link", url="https://example.org/")
        post_update(story, actor=editor, status=Update.Status.DRAFT, body=f"<p>Draft {n}</p>")
    client.get(desk_url(story))  # sessions, permissions and content types cached
    # Session, user, story, two lists of updates with embeds and authors, the
    # previous story, stopped webhooks: a constant, not one per update.
    with django_assert_max_num_queries(13):
        response = client.get(desk_url(story))
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('class="desk-row ') == 2 * count
    assert f"Update {count - 1}" in html and f"Draft {count - 1}" in html
