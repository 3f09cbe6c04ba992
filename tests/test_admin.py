import datetime as dt
import threading
from urllib.parse import urlencode

import hypothesis
import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from coverage.models import Embed, Story, Update
from tests.factories import (
    admin_update_form,
    make_editor,
    make_embed,
    make_story,
    make_update,
    retract,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor_client(client):
    client.force_login(make_editor())
    return client


def post_update(client, story, **fields):
    return client.post(reverse("admin:coverage_update_add"), admin_update_form(story, **fields))


def test_editor_publishes_an_update_in_one_step_stamped_now(editor_client):
    story = make_story()
    before = timezone.now().replace(microsecond=0)
    response = post_update(editor_client, story, headline="Bridge shut", key_event="on")
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:coverage_story_change", args=[story.pk])
    update = Update.objects.get()
    assert update.status == Update.Status.PUBLISHED
    assert update.headline == "Bridge shut"
    assert update.key_event
    assert before <= update.published_at <= timezone.now()
    assert update.authors.get().username == "editor"
    # It is on the reader's page straight away.
    assert "Posted from the desk" in editor_client.get(story.get_absolute_url()).content.decode()


def test_editor_can_backdate_an_update(editor_client):
    story = make_story()
    post_update(editor_client, story, published_at_0="2026-11-24", published_at_1="09:05")
    assert Update.objects.get().published_at == dt.datetime(2026, 11, 24, 9, 5, tzinfo=dt.UTC)


def test_bodies_posted_through_the_admin_are_sanitised(editor_client):
    story = make_story()
    post_update(editor_client, story, body='<p onmouseover="steal()">Hi</p><script>x()</script>')
    assert Update.objects.get().body == "<p>Hi</p>"


def test_embeds_are_added_inline(editor_client):
    story = make_story()
    response = post_update(
        editor_client,
        story,
        **{
            "embeds-TOTAL_FORMS": "1",
            "embeds-0-kind": "social",
            "embeds-0-position": "0",
            "embeds-0-url": "https://x.com/coastguard/status/123",
            "embeds-0-author_name": "Coastguard",
            "embeds-0-author_handle": "@coastguard",
            "embeds-0-text": "Stay away from the water",
        },
    )
    assert response.status_code == 302
    embed = Embed.objects.get()
    assert embed.update == Update.objects.get()
    assert embed.author_name == "Coastguard"


def test_an_editor_takes_a_wrong_card_off_an_update(editor_client):
    story = make_story(slug="floods")
    update = make_update(story, body="<p>The coastguard says stay away.</p>")
    wrong = make_embed(update, url="https://x.com/someone_else/status/1", text="Wrong post")
    update.refresh_from_db()
    assert "Wrong post" in editor_client.get("/floods/").content.decode()
    url = reverse("admin:coverage_update_change", args=[update.pk])
    assert 'name="embeds-0-DELETE"' in editor_client.get(url).content.decode()
    form = admin_update_form(
        story,
        body=update.body,
        loaded_version=str(update.version),
        **{
            "embeds-TOTAL_FORMS": "1",
            "embeds-INITIAL_FORMS": "1",
            "embeds-0-id": str(wrong.pk),
            "embeds-0-update": str(update.pk),
            "embeds-0-position": "0",
            "embeds-0-kind": wrong.kind,
            "embeds-0-url": wrong.url,
            "embeds-0-text": wrong.text,
            "embeds-0-DELETE": "on",
        },
    )
    response = editor_client.post(url, form)
    assert response.status_code == 302, response.content.decode()
    assert not Embed.objects.exists()
    # One write: the update's version moved on by one, and readers' pages lose the card.
    before = update.version
    update.refresh_from_db()
    assert update.version == before + 1
    assert "Wrong post" not in editor_client.get("/floods/").content.decode()


def test_embed_urls_must_be_http(editor_client):
    story = make_story()
    response = post_update(
        editor_client,
        story,
        **{
            "embeds-TOTAL_FORMS": "1",
            "embeds-0-kind": "link",
            "embeds-0-position": "0",
            "embeds-0-url": "javascript:alert(1)",
        },
    )
    assert response.status_code == 200
    assert "Enter a valid URL" in response.content.decode()
    assert not Update.objects.exists()


def test_empty_body_is_a_form_error(editor_client):
    response = post_update(editor_client, make_story(), body="", headline="Kept headline")
    assert response.status_code == 200
    html = response.content.decode()
    assert "This field is required" in html
    assert "Kept headline" in html
    assert not Update.objects.exists()


def test_story_page_in_admin_links_to_its_updates_instead_of_listing_them(editor_client):
    story = make_story()
    updates = [make_update(story) for _ in range(3)]
    html = editor_client.get(reverse("admin:coverage_story_change", args=[story.pk])).content
    html = html.decode()
    for update in updates:
        assert reverse("admin:coverage_update_change", args=[update.pk]) not in html
    assert "3 published of 3" in html
    listed = reverse("admin:coverage_update_changelist") + f"?story__id__exact={story.pk}"
    assert listed in html
    assert reverse("admin:coverage_story_desk", args=[story.pk]) in html
    assert f"{reverse('admin:coverage_update_add')}?story={story.pk}" in html
    # The link lists this story's updates only.
    other = make_update(make_story(slug="other"))
    listing = editor_client.get(listed).content.decode()
    assert all(reverse("admin:coverage_update_change", args=[u.pk]) in listing for u in updates)
    assert reverse("admin:coverage_update_change", args=[other.pk]) not in listing


def test_stories_list_shows_status_and_update_counts(editor_client):
    story = make_story(title="Counted")
    make_update(story)
    make_update(story)
    retract(make_update(story))
    html = editor_client.get(reverse("admin:coverage_story_changelist")).content.decode()
    assert "Counted" in html
    assert '<td class="field-update_count">2</td>' in html
    assert "Live" in html


def test_retract_and_restore_actions_keep_the_row(editor_client):
    story = make_story()
    update = make_update(story, body="<p>Wrong</p>")
    url = reverse("admin:coverage_update_changelist")
    editor_client.post(url, {"action": "retract", "_selected_action": [update.pk]})
    update.refresh_from_db()
    assert update.is_retracted
    assert "Wrong" not in editor_client.get(story.get_absolute_url()).content.decode()

    editor_client.post(url, {"action": "restore", "_selected_action": [update.pk]})
    update.refresh_from_db()
    assert not update.is_retracted


def test_updates_cannot_be_hard_deleted(editor_client):
    update = make_update(make_story())
    response = editor_client.post(reverse("admin:coverage_update_delete", args=[update.pk]))
    assert response.status_code == 403
    assert Update.objects.filter(pk=update.pk).exists()


def test_editing_keeps_the_time_and_bumps_the_revision(editor_client):
    story = make_story()
    stamp = dt.datetime(2026, 11, 24, 10, 0, tzinfo=dt.UTC)
    update = make_update(story, published_at=stamp)
    revision = update.revision
    response = editor_client.post(
        reverse("admin:coverage_update_change", args=[update.pk]),
        admin_update_form(
            story,
            body="<p>Corrected</p>",
            published_at_0="2026-11-24",
            published_at_1="10:00:00",
            correction_note="An earlier version gave the wrong river.",
            loaded_version=update.version,
        ),
    )
    assert response.status_code == 302
    update.refresh_from_db()
    assert update.published_at == stamp
    assert update.revision > revision
    html = editor_client.get(story.get_absolute_url()).content.decode()
    assert "An earlier version gave the wrong river." in html


def test_story_actions_go_live_and_end(editor_client):
    story = make_story(status=Story.Status.DRAFT)
    url = reverse("admin:coverage_story_changelist")
    editor_client.post(url, {"action": "go_live", "_selected_action": [story.pk]})
    story.refresh_from_db()
    assert story.status == Story.Status.LIVE
    editor_client.post(url, {"action": "end_coverage", "_selected_action": [story.pk]})
    story.refresh_from_db()
    assert story.status == Story.Status.ENDED
    assert story.ended_at is not None


def test_anonymous_readers_cannot_reach_the_desk(client):
    story = make_story()
    response = post_update(client, story)
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
    assert not Update.objects.exists()


# Odd query strings -----------------------------------------------------------

ODD_VALUES = st.sampled_from(
    ["99999999999", "-1", "0", "13", "32", "2026", "1e9", "", "nan", "\x00", "a\x00b", "🙂", "'"]
) | st.text(max_size=12)
UPDATE_FILTERS = [
    "published_at__year",
    "published_at__month",
    "published_at__day",
    "story",
    "story__id__exact",
    "status__exact",
    "key_event__exact",
    "pinned__exact",
    "retracted_at__isempty",
    "q",
    "o",
    "p",
    "e",
    "_facets",
    "all",
]
STORY_FILTERS = ["status__exact", "q", "o", "p", "e", "_facets", "all"]


def query(keys):
    return st.dictionaries(st.sampled_from(keys) | st.text(max_size=8), ODD_VALUES, max_size=4)


@pytest.fixture
def admin_pages(editor_client):
    story = make_story()
    make_update(story)
    return editor_client


@hypothesis.settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture],
)
@given(
    page=st.sampled_from(["update_changelist", "story_changelist", "update_add", "autocomplete"]),
    params=query(UPDATE_FILTERS + STORY_FILTERS + ["term", "story"]),
)
def test_the_admin_never_answers_500_to_a_query_string(admin_pages, page, params):
    if page == "autocomplete":
        url = reverse("admin:autocomplete")
        params = {
            **params,
            "app_label": "coverage",
            "model_name": "update",
            "field_name": "story",
        }
    else:
        url = reverse(f"admin:coverage_{page}")
    response = admin_pages.get(url + "?" + urlencode(params))
    assert response.status_code < 500


@pytest.mark.parametrize(
    "url",
    [
        "/admin/coverage/update/?published_at__year=99999999999",
        "/admin/coverage/update/?published_at__year=2026&published_at__month=99999999999",
        "/admin/coverage/update/?story=%00",
        "/admin/coverage/update/add/?story=%00",
        "/admin/coverage/update/add/?story=junk",
        "/admin/autocomplete/?app_label=coverage&model_name=update&field_name=story&term=%00",
    ],
)
def test_query_strings_seen_to_500_now_answer_4xx_or_the_page(admin_pages, url):
    assert admin_pages.get(url).status_code < 500


# The admin against the desk: no edit lost -----------------------------------


@pytest.fixture
def desk_client():
    from tests.conftest import CommittingClient

    client = CommittingClient()
    client.force_login(make_editor("desk-editor"))
    return client


def desk_edit(client, update, **fields):
    from tests.test_desk import edit

    response = edit(client, update, **fields)
    assert response.status_code in (200, 302), response.content
    update.refresh_from_db()
    return update


def change_form(update, **fields):
    """The admin change form as an editor loaded it, with their changes."""
    loaded = {
        "headline": update.headline,
        "body": update.body,
        "published_at_0": f"{update.published_at:%Y-%m-%d}",
        "published_at_1": f"{update.published_at:%H:%M:%S}",
        "loaded_version": update.version,
    }
    return admin_update_form(update.story, **{**loaded, **fields})


def test_an_admin_save_over_a_desk_edit_merges_without_losing_it(editor_client, desk_client):
    update = make_update(make_story(), body="<p>First text</p>")
    url = reverse("admin:coverage_update_change", args=[update.pk])
    assert editor_client.get(url).status_code == 200
    loaded = change_form(update, pinned="on", key_event="on")  # what the admin editor submits
    desk_edit(desk_client, update, body="Desk text")
    response = editor_client.post(url, loaded)
    assert response.status_code == 302
    update.refresh_from_db()
    assert "Desk text" in update.body  # the desk's edit is kept
    assert update.pinned and update.key_event  # and the admin's flags applied


def test_an_admin_text_edit_over_a_desk_text_edit_is_refused_not_lost(editor_client, desk_client):
    update = make_update(make_story(), body="<p>First text</p>")
    url = reverse("admin:coverage_update_change", args=[update.pk])
    loaded = change_form(update, body="<p>Admin text</p>")
    desk_edit(desk_client, update, body="Desk text")
    response = editor_client.post(url, loaded)
    assert response.status_code == 200
    assert "Someone else changed what you changed" in response.content.decode()
    update.refresh_from_db()
    assert "Desk text" in update.body


@pytest.mark.parametrize("action", ["pin", "unpin", "retract", "restore"])
def test_admin_list_actions_after_a_desk_edit_keep_it(editor_client, desk_client, action):
    update = make_update(make_story(), body="<p>First text</p>", pinned=action == "unpin")
    if action == "restore":
        retract(update)
    changelist = reverse("admin:coverage_update_changelist")
    assert editor_client.get(changelist).status_code == 200
    update.refresh_from_db()
    desk_edit(desk_client, update, body="Desk text")
    response = editor_client.post(
        changelist, {"action": action, "_selected_action": [update.pk], "index": 0}
    )
    assert response.status_code == 302
    update.refresh_from_db()
    assert "Desk text" in update.body
    assert update.pinned == (action == "pin")
    assert update.is_retracted == (action == "retract")
    assert update.versions.filter(body__contains="Desk text").exists()


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs concurrent writers: SQLite serialises the whole database, PostgreSQL locks rows",
)
@pytest.mark.django_db(transaction=True)
def test_admin_actions_racing_desk_edits_lose_nothing():
    from django.test import Client

    update = make_update(make_story(), body="<p>Desk 0</p>")
    desk, admin_ = Client(), Client()
    desk.force_login(make_editor("desk-editor"))
    admin_.force_login(make_editor("admin-editor"))
    edits, errors = 12, []

    def in_thread(work):
        try:
            work()
        except Exception as error:  # reported by the assertion below
            errors.append(error)
        finally:
            connection.close()

    def desk_edits():
        from tests.test_desk import edit

        for n in range(1, edits + 1):
            current = Update.objects.get(pk=update.pk)
            response = edit(desk, current, body=f"Desk {n}")
            assert response.status_code in (200, 302)

    def admin_actions():
        changelist = reverse("admin:coverage_update_changelist")
        for n in range(edits):
            action = "pin" if n % 2 == 0 else "unpin"
            admin_.post(changelist, {"action": action, "_selected_action": [update.pk]})

    threads = [
        threading.Thread(target=in_thread, args=(work,)) for work in (desk_edits, admin_actions)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    update.refresh_from_db()
    assert update.body == f"<p>Desk {edits}</p>"
    assert not update.pinned  # the admin's last action
    assert update.versions.filter(action__in=["pinned", "unpinned"]).count() == edits
    recorded = set(update.versions.values_list("body", flat=True))
    assert {f"<p>Desk {n}</p>" for n in range(1, edits + 1)} <= recorded
    # One version per change, each with its own number.
    versions = list(update.versions.exclude(action="original").values_list("version", flat=True))
    assert len(versions) == len(set(versions))


@pytest.mark.parametrize("slug", ["search", "admin", "media"])
def test_a_story_cannot_take_an_address_the_site_uses(editor_client, slug):
    # /search/ and /admin/ answer before any story: one there could never be read.
    response = editor_client.post(
        reverse("admin:coverage_story_add"),
        {"title": "Search for the missing walker", "slug": slug, "status": "draft"},
    )
    assert response.status_code == 200
    assert "is an address the site itself uses; choose another slug." in response.content.decode()
    assert not Story.objects.exists()
