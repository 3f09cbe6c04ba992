"""Webhook delivery to a receiver on 127.0.0.1 that fails, times out and recovers:
each event arrives (same webhook-id on every retry), in sequence order, signed
as the Standard Webhooks reference library verifies; a receiver failing for a
day is disabled, with a notice on the desk, until it is turned on again.

The retry schedule runs on an injected clock (deliver_due(now=...)): no waiting."""

import datetime as dt
import http.server
import io
import json
import socket
import subprocess
import sys
import threading

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from standardwebhooks.webhooks import Webhook

from coverage import publishing, webhooks
from coverage.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from tests.factories import committed, edit, make_editor, make_story, make_update
from tests.processes import ROOT, app_env, database_url

TIMEOUT = 0.5


class Receiver(http.server.ThreadingHTTPServer):
    """Answers each POST with the next of ``answers`` (then 200): a status code,
    or "hang" to answer only after the sender's deadline."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), ReceiverHandler)
        self.answers: list = []
        self.received: list[tuple[dict, bytes]] = []
        self.done = threading.Event()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}/hooks/liveblog?source=test"

    def events(self, secret) -> list[dict]:
        """Each request verified with the reference library, as a receiver would."""
        return [Webhook(secret).verify(body, headers) for headers, body in self.received]


class ReceiverHandler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append((dict(self.headers), body))
        answer = self.server.answers.pop(0) if self.server.answers else 200
        if answer == "hang":
            self.server.done.wait(10)  # the test's end releases it
            answer = 200
        self.send_response(answer)
        if answer == 302:
            self.send_header("Location", "/elsewhere")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"no" if answer >= 300 else b"ok")

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True
    settings.WEBHOOK_TIMEOUT = TIMEOUT
    settings.SITE_URL = "https://live.example.com"
    # Deliveries run when the tests say so, not as each write commits.
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.done.set()
    server.shutdown()
    server.server_close()


@pytest.fixture
def endpoint(receiver, db):
    return WebhookEndpoint.objects.create(
        url=receiver.url, secret=webhooks.new_secret(), events=WebhookEvent.values
    )


@pytest.fixture
def middle_jitter(monkeypatch):
    """Full jitter always drawing half its range: a schedule the test can reason about."""
    monkeypatch.setattr(webhooks.random, "uniform", lambda low, high: (low + high) / 2)


def queue(endpoint):
    return list(endpoint.deliveries.order_by("sequence"))


def head(endpoint):
    return endpoint.deliveries.filter(state__in=webhooks.QUEUED).order_by("sequence").first()


@pytest.mark.django_db
def test_the_receiver_gets_each_change_signed_in_order(receiver, endpoint):
    story = make_story(slug="floods")
    update = make_update(story, headline="Bridge closed")
    edit(update, correction_note="The north bridge, not the south.")

    assert webhooks.deliver_due() == {endpoint.pk: "sent"}
    events = receiver.events(endpoint.secret)
    assert [(e["sequence"], e["type"]) for e in events] == [
        (1, "story.started"),
        (2, "update.published"),
        (3, "update.corrected"),
    ]
    headers, body = receiver.received[1]
    assert headers["Content-Type"] == "application/json"
    assert headers["webhook-id"] == queue(endpoint)[1].webhook_id
    assert headers["webhook-signature"].startswith("v1,")
    assert json.loads(body)["data"]["update"]["headline"] == "Bridge closed"
    for delivery in queue(endpoint):
        assert (delivery.state, delivery.attempts, delivery.last_response_code) == (
            "delivered",
            1,
            200,
        )
        assert delivery.last_duration_ms is not None and delivery.delivered_at is not None
    # A forged or altered body does not verify.
    with pytest.raises(Exception, match="signature"):
        Webhook(endpoint.secret).verify(body.replace(b"Bridge", b"Bridgf"), headers)


@pytest.mark.django_db
def test_failures_and_timeouts_are_retried_with_the_same_id_and_order_kept(
    receiver, endpoint, middle_jitter
):
    receiver.answers = [500, "hang", 503]
    story = make_story()
    make_update(story)
    make_update(story)

    start = timezone.now()
    assert webhooks.deliver_due(start) == {endpoint.pk: "failed, will retry"}
    first = head(endpoint)
    assert (first.sequence, first.state, first.last_response_code) == (1, "failed", 500)
    assert first.last_error == "HTTP 500: no"
    # Head of line: nothing after event 1 went out while it failed.
    assert len(receiver.received) == 1
    # Not due yet: nothing is sent, not even the events behind it.
    assert webhooks.deliver_due(start) == {endpoint.pk: "waiting for a retry"}
    assert len(receiver.received) == 1

    webhooks.deliver_due(first.next_attempt_at)
    first.refresh_from_db()
    assert first.last_error == f"No answer within {TIMEOUT:g} s"
    assert first.last_response_code is None
    webhooks.deliver_due(first.next_attempt_at)
    first.refresh_from_db()
    assert (first.attempts, first.last_response_code) == (3, 503)

    assert webhooks.deliver_due(first.next_attempt_at) == {endpoint.pk: "sent"}
    events = receiver.events(endpoint.secret)
    ids = [headers["webhook-id"] for headers, _ in receiver.received]
    assert ids[:4] == [first.webhook_id] * 4  # four attempts, one event
    # Kept once per webhook-id, as a receiver does: every change once, in order.
    kept = {
        headers["webhook-id"]: event
        for (headers, _), event in zip(receiver.received, events, strict=True)
    }
    assert [event["sequence"] for event in kept.values()] == [1, 2, 3]
    assert [d.state for d in queue(endpoint)] == ["delivered"] * 3
    endpoint.refresh_from_db()
    assert (endpoint.consecutive_failures, endpoint.failing_since) == (0, None)


@pytest.mark.django_db
def test_a_receiver_down_for_half_a_minute_has_its_events_about_a_minute_later(
    receiver, endpoint, middle_jitter
):
    make_update(make_story())
    start = timezone.now()
    at = start
    while head(endpoint) is not None:
        receiver.answers = [500] if at < start + dt.timedelta(seconds=30) else []
        webhooks.deliver_due(at)
        if head(endpoint) is not None:
            at = head(endpoint).next_attempt_at
    delivered = max(d.delivered_at for d in queue(endpoint))
    assert dt.timedelta(seconds=30) <= delivered - start <= dt.timedelta(seconds=90)


def test_the_delay_grows_from_seconds_to_hours_with_full_jitter(monkeypatch):
    monkeypatch.setattr(webhooks.random, "uniform", lambda low, high: high)
    ceilings = [webhooks.retry_delay(n).total_seconds() for n in range(1, 16)]
    assert ceilings[:4] == [5, 10, 20, 40]
    assert ceilings[-1] == 3 * 3600
    monkeypatch.setattr(webhooks.random, "uniform", lambda low, high: low)
    assert webhooks.retry_delay(1) == dt.timedelta(seconds=1)


@pytest.mark.django_db
def test_a_receiver_failing_for_a_day_is_disabled_with_a_notice_and_resumes_when_on(
    client, receiver, endpoint, middle_jitter
):
    story = make_story()
    make_update(story, headline="First")
    receiver.answers = [500] * 1000
    start = at = timezone.now()
    while endpoint.active:
        webhooks.deliver_due(at)
        endpoint.refresh_from_db()
        if endpoint.active:
            at = head(endpoint).next_attempt_at
    assert at - start >= dt.timedelta(hours=24)
    assert len(receiver.received) < 40  # hours apart by then, not a hammering
    given_up, waiting = queue(endpoint)
    assert waiting.state == "pending"
    assert (given_up.state, given_up.attempts) == ("abandoned", len(receiver.received))
    assert endpoint.disabled_at == at
    assert endpoint.disabled_reason.startswith(f"{len(receiver.received)} failed attempts")
    # Disabled: no new events for it.
    make_update(story, headline="While it was off")
    assert queue(endpoint) == [given_up, waiting]

    editor = make_editor()
    client.force_login(editor)
    desk = client.get(reverse("admin:coverage_story_desk", args=[story.pk])).content.decode()
    assert "Webhook stopped:" in desk and "Ask whoever manages webhooks" in desk
    editor.user_permissions.add(Permission.objects.get(codename="manage_webhooks"))
    desk = client.get(reverse("admin:coverage_story_desk", args=[story.pk])).content.decode()
    change = reverse("admin:coverage_webhookendpoint_change", args=[endpoint.pk])
    assert f'href="{change}"' in desk

    receiver.answers, receiver.received = [], []
    response = client.post(
        change,
        {"url": endpoint.url, "description": "", "events": WebhookEvent.values, "active": "on"},
    )
    assert response.status_code == 302
    assert webhooks.deliver_due() == {endpoint.pk: "sent"}
    # Where it stopped: the event it gave up on first, then the one behind it.
    assert [e["sequence"] for e in receiver.events(endpoint.secret)] == [1, 2]
    assert receiver.received[0][0]["webhook-id"] == given_up.webhook_id
    assert (
        "Webhook stopped:"
        not in client.get(reverse("admin:coverage_story_desk", args=[story.pk])).content.decode()
    )


@pytest.mark.django_db
def test_redirects_are_not_followed(receiver, endpoint):
    receiver.answers = [302]
    make_story()
    webhooks.deliver_due()
    assert len(receiver.received) == 1
    delivery = head(endpoint)
    assert (delivery.state, delivery.last_response_code) == ("failed", 302)


@pytest.mark.django_db
def test_the_ssrf_guard_holds_at_send_time(receiver, endpoint, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False
    make_story()
    webhooks.deliver_due()
    assert receiver.received == []
    delivery = head(endpoint)
    assert delivery.state == "failed"
    assert "127.0.0.1, a private, loopback or reserved address" in delivery.last_error


@pytest.mark.django_db
def test_one_worker_at_a_time_sends_an_endpoints_queue(receiver, endpoint):
    make_story()
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        lease_expires_at=timezone.now() + dt.timedelta(minutes=1)
    )
    assert webhooks.deliver_queue(endpoint.pk).startswith("busy")
    assert receiver.received == []
    # A lease its worker did not give back (it died) runs out.
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        lease_expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    assert webhooks.deliver_queue(endpoint.pk) == "sent"
    assert len(receiver.received) == 1


@pytest.mark.django_db
def test_changes_are_sent_once_their_write_commits(receiver, endpoint, settings):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    story = make_story()
    with committed() as callbacks:
        publishing.post_update(story, body="<p>Queued on commit</p>")
        assert len(receiver.received) == 1  # only the story's start, sent as it committed
    assert len(callbacks) >= 1
    assert [e["type"] for e in receiver.events(endpoint.secret)] == [
        "story.started",
        "update.published",
    ]


@pytest.mark.django_db(transaction=True)  # committed: the worker is another process
def test_a_worker_process_delivers_to_the_receiver(receiver, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    endpoint = WebhookEndpoint.objects.create(
        url=receiver.url, secret=webhooks.new_secret(), events=["update.published"]
    )
    make_update(make_story())
    [queued] = DBTaskResult.objects.all()
    assert queued.task_path == webhooks.deliver.module_path
    assert receiver.received == []

    worker = subprocess.run(
        [sys.executable, "manage.py", "db_worker", "--batch", "--no-startup-delay", "--no-reload"],
        cwd=ROOT,
        env=app_env(
            database_url(connection.settings_dict),
            TASKS_BACKEND="django_tasks_db.DatabaseBackend",
            WEBHOOKS_ALLOW_PRIVATE_ADDRESSES="true",
        ),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert worker.returncode == 0, worker.stderr
    queued.refresh_from_db()
    assert queued.status == "SUCCESSFUL", queued.traceback
    [event] = receiver.events(endpoint.secret)
    assert event["type"] == "update.published"
    assert WebhookDelivery.objects.get().state == "delivered"


@pytest.mark.django_db
def test_the_backstop_command_sends_what_is_due(receiver, endpoint):
    make_story()
    out = io.StringIO()
    call_command("deliver_webhooks", stdout=out)
    assert out.getvalue() == f"endpoint {endpoint.pk}: sent\n"
    assert [e["type"] for e in receiver.events(endpoint.secret)] == ["story.started"]


@pytest.mark.django_db
def test_the_log_forgets_delivered_events_after_the_days_it_keeps(receiver, endpoint):
    receiver.answers = [200, 500]
    story = make_story()
    make_update(story)
    webhooks.deliver_due()
    delivered, failed = queue(endpoint)
    assert (delivered.state, failed.state) == ("delivered", "failed")
    WebhookDelivery.objects.update(delivered_at=timezone.now() - dt.timedelta(days=31))
    out = io.StringIO()
    call_command("deliver_webhooks", "--keep-days", "30", stdout=out)
    assert "forgot 1 delivered event(s) older than 30 days" in out.getvalue()
    assert queue(endpoint) == [failed]


@pytest.mark.django_db
def test_the_send_connects_to_the_address_it_checked(receiver, endpoint, monkeypatch):
    """One DNS answer per attempt, checked and then connected to: a name that
    resolves elsewhere a moment later (DNS rebinding) cannot redirect the POST."""
    port = receiver.server_address[1]
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(url=f"http://receiver.test:{port}/in")
    resolved = []
    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        resolved.append(host)
        return real_getaddrinfo("127.0.0.1" if host == "receiver.test" else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    make_story()
    assert webhooks.deliver_due() == {endpoint.pk: "sent"}
    assert resolved.count("receiver.test") == 1
    [(headers, _)] = receiver.received
    assert headers["Host"] == f"receiver.test:{port}"


@pytest.mark.django_db
def test_https_verifies_the_receivers_certificate(receiver, endpoint):
    port = receiver.server_address[1]
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(url=f"https://127.0.0.1:{port}/")
    make_story()
    webhooks.deliver_due()
    delivery = head(endpoint)
    assert delivery.state == "failed"
    assert delivery.last_error.startswith("SSL")


@pytest.mark.django_db
def test_a_rolled_secret_signs_beside_the_old_one_for_a_day(client, receiver, endpoint):
    manager = make_editor("integrations")
    manager.user_permissions.add(Permission.objects.get(codename="manage_webhooks"))
    client.force_login(manager)
    old_secret = endpoint.secret
    response = client.post(
        reverse("admin:coverage_webhookendpoint_changelist"),
        {"action": "roll_secret", "_selected_action": [endpoint.pk]},
    )
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.secret.startswith("whsec_") and endpoint.secret != old_secret

    make_story()
    webhooks.deliver_due()
    # A receiver still on the old secret, and one already on the new, both verify.
    assert receiver.events(old_secret) == receiver.events(endpoint.secret)

    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        previous_secret_expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    receiver.received = []
    webhooks.resend(queue(endpoint)[0])
    webhooks.deliver_due()
    [event] = receiver.events(endpoint.secret)
    assert event["type"] == "story.started"
    with pytest.raises(Exception, match="signature"):
        receiver.events(old_secret)
