"""Webhook events: one per change readers see, written with the change (an outbox),
their payload, the SSRF guard and the admin's endpoints. Sending them to a
receiver: tests/test_webhook_delivery.py."""

import datetime as dt
import ipaddress

import pytest
from django.contrib.auth.models import Permission
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from coverage import publishing, webhooks
from coverage.models import Story, Update, WebhookDelivery, WebhookEndpoint, WebhookEvent
from tests.factories import committed, edit, make_editor, make_story, make_update

pytestmark = pytest.mark.django_db

SITE = "https://live.example.com"


@pytest.fixture(autouse=True)
def webhook_settings(settings):
    settings.SITE_URL = SITE
    # Nothing is sent from these tests: the queued deliveries stay in the outbox.
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False


def make_endpoint(events=WebhookEvent.values, **fields) -> WebhookEndpoint:
    fields.setdefault("url", "https://hooks.example.net/liveblog")
    return WebhookEndpoint.objects.create(
        secret=webhooks.new_secret(), events=list(events), **fields
    )


def sent(endpoint) -> list[str]:
    return list(endpoint.deliveries.order_by("sequence").values_list("event_type", flat=True))


def test_every_kind_of_change_is_one_event_per_endpoint_in_sequence():
    first, second = make_endpoint(), make_endpoint(url="https://other.example.net/")
    with committed():
        story = publishing.create_story(slug="floods", title="Floods", status=Story.Status.LIVE)
    update = make_update(story, headline="Bridge closed")
    update = edit(update, body="<p>The bridge is closed both ways.</p>")
    update = edit(update, correction_note="An earlier version named the wrong bridge.")
    with committed():
        publishing.set_pinned(update.pk, True)
        publishing.set_pinned(update.pk, False)
        publishing.set_key_event(update.pk, True)
        publishing.set_key_event(update.pk, False)
        publishing.retract(update.pk)
        publishing.restore(update.pk)
        publishing.end_coverage(story.pk)

    expected = [
        "story.started",
        "update.published",
        "update.edited",
        "update.corrected",
        "update.pinned",
        "update.unpinned",
        "update.key_event",
        "update.key_event",
        "update.retracted",
        "update.restored",
        "story.ended",
    ]
    for endpoint in (first, second):
        assert sent(endpoint) == expected
        sequences = list(endpoint.deliveries.order_by("id").values_list("sequence", flat=True))
        assert sequences == list(range(1, len(expected) + 1))
    ids = WebhookDelivery.objects.values_list("webhook_id", flat=True)
    assert len(set(ids)) == 2 * len(expected)
    assert all(webhook_id.startswith("msg_") for webhook_id in ids)


def test_drafts_and_submissions_are_never_sent_and_approval_is_one_publish():
    endpoint = make_endpoint()
    story = make_story()
    draft = make_update(story, status=Update.Status.DRAFT)
    edit(draft, body="<p>Still a draft</p>")
    with committed():
        publishing.submit(draft.pk)
    assert sent(endpoint) == ["story.started"]

    with committed():
        publishing.publish(draft.pk)
    assert sent(endpoint) == ["story.started", "update.published"]


def test_a_scheduled_update_is_sent_when_it_is_released_not_before():
    endpoint = make_endpoint(events=["update.published"])
    story = make_story()
    due = timezone.now() + dt.timedelta(minutes=5)
    scheduled = make_update(story, published_at=due)
    edit(scheduled, body="<p>Embargoed statement</p>")
    assert sent(endpoint) == []

    with committed():
        assert publishing.release_due_updates(story.pk) == 0
    assert sent(endpoint) == []
    # Its time comes (moved back rather than waited for).
    Update.objects.filter(pk=scheduled.pk).update(published_at=timezone.now())
    with committed():
        assert publishing.release_due_updates(story.pk) == 1
    [delivery] = endpoint.deliveries.all()
    assert delivery.event_type == "update.published"
    assert delivery.payload["data"]["update"]["id"] == scheduled.pk


def test_unpublishing_a_seen_update_tells_receivers_to_drop_it():
    endpoint = make_endpoint(events=["update.retracted"])
    update = make_update(make_story())
    edit(update, status=Update.Status.DRAFT)
    assert sent(endpoint) == ["update.retracted"]


def test_a_rolled_back_write_leaves_no_event_and_no_sequence_number():
    endpoint = make_endpoint()
    story = make_story()
    with pytest.raises(RuntimeError), transaction.atomic():
        publishing.post_update(story, body="<p>Never happened</p>")
        raise RuntimeError("the write fails after the event was written")
    make_update(story)
    assert sent(endpoint) == ["story.started", "update.published"]
    assert [d.sequence for d in endpoint.deliveries.order_by("sequence")] == [1, 2]


def test_only_active_endpoints_get_the_events_they_subscribed_to():
    story_only = make_endpoint(events=["story.started", "story.ended"])
    off = make_endpoint(active=False)
    story = make_story()
    make_update(story)
    with committed():
        publishing.end_coverage(story.pk)
    assert sent(story_only) == ["story.started", "story.ended"]
    assert sent(off) == []


def test_updates_of_a_draft_story_are_not_sent():
    endpoint = make_endpoint()
    make_update(make_story(status=Story.Status.DRAFT))
    assert sent(endpoint) == []


def test_the_payload_carries_the_representation_revision_and_sequence():
    endpoint = make_endpoint(events=["update.edited"])
    story = make_story(slug="election-night", title="Election night")
    update = make_update(story, headline="Turnout up")
    update = edit(update, body="<p>Turnout is <strong>up</strong> on 2019.</p>")
    story.refresh_from_db()

    [delivery] = endpoint.deliveries.all()
    payload = delivery.payload
    assert set(payload) == {"type", "timestamp", "sequence", "data"}
    assert payload["type"] == "update.edited"
    assert payload["sequence"] == delivery.sequence == 1
    assert payload["timestamp"].endswith("Z")
    data = payload["data"]
    # The poll's and the API's cursor: a receiver can cross-check with "changes since".
    assert data["revision"] == update.revision == story.revision
    assert data["changed"] == ["body"]
    assert data["story"]["slug"] == "election-night"
    assert data["story"]["url"] == f"{SITE}/election-night/"
    assert data["update"]["id"] == update.pk
    assert data["update"]["url"].startswith(f"{SITE}/election-night/")
    assert data["update"]["content_text"] == "Turnout is up on 2019."
    assert "<strong>up</strong>" in data["update"]["content_html"]


def test_the_next_days_story_starts_and_the_old_one_ends():
    endpoint = make_endpoint(events=["story.started", "story.ended"])
    story = make_story(title="Storm")
    with committed():
        following, created = publishing.start_next_day(story.pk, "Storm, day two")
    assert created
    events = list(endpoint.deliveries.order_by("sequence"))
    assert [(e.event_type, e.payload["data"]["story"]["slug"]) for e in events] == [
        ("story.started", story.slug),
        ("story.started", following.slug),
        ("story.ended", story.slug),
    ]
    assert events[-1].payload["data"]["story"]["next"]["slug"] == following.slug


# The SSRF guard -----------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "127.0.0.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
    ],
)
def test_private_and_reserved_addresses_are_refused(address):
    assert not webhooks.is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"])
def test_public_addresses_are_allowed(address):
    assert webhooks.is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8000/", "http://[::1]/", "http://localhost/", "https://10.0.0.5/hook"],
)
def test_urls_resolving_to_private_addresses_are_refused(url):
    with pytest.raises(webhooks.UnsafeURL, match="public addresses only"):
        webhooks.checked_address(url)


@pytest.mark.parametrize("url", ["ftp://example.com/", "file:///etc/passwd", "gopher://x/"])
def test_only_http_and_https(url):
    with pytest.raises(webhooks.UnsafeURL, match="Only http"):
        webhooks.checked_address(url)


def test_private_addresses_pass_when_the_setting_allows_them(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True
    assert webhooks.checked_address("http://127.0.0.1:9/") == "127.0.0.1"


# The admin ------------------------------------------------------------------------


@pytest.fixture
def manager(client):
    """An editor who was given the webhooks permission."""
    user = make_editor("integrations")
    user.user_permissions.add(Permission.objects.get(codename="manage_webhooks"))
    client.force_login(user)
    return user


def endpoint_form(**fields) -> dict:
    return {
        "url": "http://127.0.0.1:8000/hook",
        "description": "Apps",
        "events": ["update.published", "update.retracted"],
        "active": "on",
    } | fields


def test_editors_without_the_permission_see_no_webhooks(client, editor):
    assert client.get(reverse("admin:coverage_webhookendpoint_changelist")).status_code == 403
    assert client.get(reverse("admin:coverage_webhookdelivery_changelist")).status_code == 403
    assert "Webhook" not in client.get(reverse("admin:index")).content.decode()


def test_an_address_inside_the_network_is_a_form_error(client, manager):
    response = client.post(reverse("admin:coverage_webhookendpoint_add"), endpoint_form())
    assert response.status_code == 200
    assert "127.0.0.1, a private, loopback or reserved address" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_adding_an_endpoint_shows_its_secret_to_copy(client, manager, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True
    add = client.get(reverse("admin:coverage_webhookendpoint_add")).content.decode()
    assert 'type="checkbox" name="events" value="update.corrected"' in add

    response = client.post(reverse("admin:coverage_webhookendpoint_add"), endpoint_form())
    endpoint = WebhookEndpoint.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "admin:coverage_webhookendpoint_change", args=[endpoint.pk]
    )
    assert endpoint.secret.startswith("whsec_") and len(endpoint.secret) > 40
    assert endpoint.events == ["update.published", "update.retracted"]
    page = client.get(response["Location"]).content.decode()
    assert f"<code>{endpoint.secret}</code>" in page


def test_saving_an_endpoint_keeps_the_workers_counters(client, manager, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True
    endpoint = make_endpoint(url="http://127.0.0.1:8000/hook")
    make_update(make_story())
    change = reverse("admin:coverage_webhookendpoint_change", args=[endpoint.pk])
    response = client.post(change, endpoint_form(description="Renamed"))
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert (endpoint.description, endpoint.next_sequence) == ("Renamed", 3)


def test_the_delivery_log_and_resend_keep_the_webhook_id(client, manager):
    endpoint = make_endpoint()
    make_update(make_story())
    first = endpoint.deliveries.get(sequence=1)
    WebhookDelivery.objects.filter(pk=first.pk).update(
        state="delivered", attempts=2, last_response_code=204, last_duration_ms=38
    )

    log = client.get(reverse("admin:coverage_webhookdelivery_changelist")).content.decode()
    assert "story.started" in log and "update.published" in log
    assert "38 ms" in log and "204" in log
    detail = client.get(reverse("admin:coverage_webhookdelivery_change", args=[first.pk]))
    assert first.webhook_id in detail.content.decode()
    assert "&quot;type&quot;: &quot;story.started&quot;" in detail.content.decode()

    response = client.post(
        reverse("admin:coverage_webhookdelivery_changelist"),
        {"action": "resend", "_selected_action": [first.pk]},
    )
    assert response.status_code == 302
    first.refresh_from_db()
    assert (first.state, first.webhook_id) == ("pending", first.webhook_id)
    assert first.next_attempt_at <= timezone.now()
