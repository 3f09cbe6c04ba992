"""Outbound webhooks: every change readers see, sent to the newsroom's own systems.

* **Outbox.** coverage.publishing calls :func:`update_changed` and
  :func:`story_changed` inside the write's transaction; each subscribed endpoint
  gets one :class:`~coverage.models.WebhookDelivery` row with the next number of
  its sequence. A rolled-back write leaves none; a committed one exactly one per
  endpoint.
* **Delivery** is the task worker's (:func:`deliver`, queued on commit), never
  the request's. An endpoint's events go out in sequence order and event N+1
  waits until N succeeded; a lease on the endpoint row keeps two workers off
  the same queue.
* **Retries**: exponential back-off with full jitter, seconds apart at first and
  stretching to hours; after WEBHOOK_RETRY_HOURS of failure the event is
  abandoned and the endpoint disabled (a notice on the desk) until someone
  turns it on again in the admin, which resumes its queue.
* **Signing** per the Standard Webhooks spec with its reference library: the same
  ``webhook-id`` on every attempt, a fresh timestamp and signature each time.
* **SSRF guard**: only http(s) to public addresses (unless
  WEBHOOKS_ALLOW_PRIVATE_ADDRESSES), checked when the endpoint is saved and at
  each send, which connects to the very address it checked.
"""

import base64
import concurrent.futures
import datetime as dt
import http.client
import ipaddress
import json
import logging
import random
import secrets
import socket
import ssl
import time
import uuid
from typing import NamedTuple
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.tasks import task
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from coverage import representation
from coverage.models import (
    Story,
    Update,
    UpdateVersion,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)

logger = logging.getLogger(__name__)

USER_AGENT = "liveblog-webhooks/1"
# Enough of a receiver's answer to show in the delivery log; the rest is not read.
MAX_RESPONSE_BYTES = 4096
FIRST_RETRY_SECONDS = 5
LONGEST_RETRY = dt.timedelta(hours=3)
# A worker holding an endpoint's queue renews this lease before each attempt;
# one that dies lets another take over when it runs out.
LEASE_MARGIN_SECONDS = 30
QUEUED = (WebhookDelivery.State.PENDING, WebhookDelivery.State.FAILED)
SECRET_OVERLAP = dt.timedelta(hours=24)

# Each attempt has a hard deadline, even against a receiver that trickles bytes.
_requests = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="webhook")


def new_secret() -> str:
    """A signing secret in Standard Webhooks' form: "whsec_" and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


# Events (in the write's transaction) -----------------------------------------


def update_changed(update: Update, version: UpdateVersion) -> None:
    """The event for the change ``version`` records, if readers could see it."""
    if version.action == Update.Action.ORIGINAL:
        return
    endpoints = _active_endpoints("update.")
    if not endpoints:
        return
    previous = (
        UpdateVersion.objects.filter(update_id=update.pk, id__lt=version.pk).order_by("-id").first()
    )
    update = (
        Update.objects.select_related("story", "story__previous")
        .with_cards_and_bylines()
        .get(pk=update.pk)
    )
    if update.story.status == Story.Status.DRAFT:
        return
    changed = _changed_fields(previous, update)
    event_type = update_event_type(update, version.action, previous, changed)
    if event_type is None:
        return
    base = representation.base_url()
    data = {
        "revision": update.revision,
        "changed": changed,
        "story": representation.story_data(update.story, base, following=update.story.next_day()),
        "update": representation.update_data(update, base),
    }
    _add_to_outboxes(endpoints, event_type, data)


def _changed_fields(previous: UpdateVersion | None, update: Update) -> list[str]:
    from coverage.publishing import EDITABLE

    if previous is None:
        return []
    return [name for name in EDITABLE if getattr(previous, name) != getattr(update, name)]


def _was_visible(previous: UpdateVersion | None) -> bool:
    """Whether readers saw the update as its previous version left it: published,
    and due by then (a scheduled update is not seen until it is released)."""
    return (
        previous is not None
        and previous.status == Update.Status.PUBLISHED
        and previous.published_at <= previous.at
    )


def update_event_type(
    update: Update, action: str, previous: UpdateVersion | None, changed: list[str]
) -> str | None:
    """One event per change: what a receiver keeping a copy must do about it."""
    visible = update.is_visible()
    if action == Update.Action.RETRACTED:
        return WebhookEvent.UPDATE_RETRACTED if _was_visible(previous) else None
    if action == Update.Action.RESTORED:
        return WebhookEvent.UPDATE_RESTORED if visible else None
    was_visible = _was_visible(previous) and not update.is_retracted
    if not visible:
        # Taken back to a draft, or moved to a later time: gone from the page.
        return WebhookEvent.UPDATE_RETRACTED if was_visible else None
    if not was_visible:
        return WebhookEvent.UPDATE_PUBLISHED
    # One change touching several things is one event, named for what matters
    # most to a reader; "changed" in the payload lists every field.
    if "correction_note" in changed:
        return WebhookEvent.UPDATE_CORRECTED
    if {"headline", "body", "published_at"} & set(changed) or action == Update.Action.CARDS_CHANGED:
        return WebhookEvent.UPDATE_EDITED
    if "key_event" in changed:
        return WebhookEvent.UPDATE_KEY_EVENT
    if "pinned" in changed:
        return WebhookEvent.UPDATE_PINNED if update.pinned else WebhookEvent.UPDATE_UNPINNED
    return None


def story_changed(story: Story, was_status: str | None) -> None:
    """story.started when a story goes live, story.ended when it ends."""
    if story.status == was_status:
        return
    if story.status == Story.Status.LIVE:
        event_type = WebhookEvent.STORY_STARTED
    elif story.status == Story.Status.ENDED:
        event_type = WebhookEvent.STORY_ENDED
    else:
        return
    endpoints = _active_endpoints(event_type)
    if not endpoints:
        return
    story = Story.objects.select_related("previous").get(pk=story.pk)
    base = representation.base_url()
    data = {
        "revision": story.revision,
        "story": representation.story_data(story, base, following=story.next_day()),
    }
    _add_to_outboxes(endpoints, event_type, data)


def _active_endpoints(event_prefix: str) -> list[WebhookEndpoint]:
    """Active endpoints subscribed to an event starting so (filtered here: SQLite
    cannot look inside a JSON list)."""
    endpoints = WebhookEndpoint.objects.filter(active=True).only("pk", "events")
    return [e for e in endpoints if any(t.startswith(event_prefix) for t in e.events)]


def _add_to_outboxes(endpoints: list[WebhookEndpoint], event_type: str, data: dict) -> None:
    now = timezone.now()
    for endpoint in endpoints:
        if event_type not in endpoint.events:
            continue
        # The UPDATE locks the endpoint's row until commit: sequence numbers
        # commit in order, so the worker never sees N+1 before N.
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(next_sequence=F("next_sequence") + 1)
        sequence = (
            WebhookEndpoint.objects.filter(pk=endpoint.pk)
            .values_list("next_sequence", flat=True)
            .get()
        ) - 1
        WebhookDelivery.objects.create(
            endpoint_id=endpoint.pk,
            webhook_id=f"msg_{uuid.uuid4().hex}",
            sequence=sequence,
            event_type=event_type,
            payload={
                "type": event_type,
                "timestamp": representation.iso(now),
                "sequence": sequence,
                "data": data,
            },
            next_attempt_at=now,
        )
        _deliver_on_commit(endpoint.pk)


def _deliver_on_commit(endpoint_id: int) -> None:
    transaction.on_commit(lambda: deliver.enqueue(endpoint_id))


# Admin actions ----------------------------------------------------------------


def enable(endpoint: WebhookEndpoint) -> None:
    """Turn an endpoint (back) on: its queue resumes where it stopped, the
    event it gave up on first."""
    with transaction.atomic():
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
            active=True,
            disabled_at=None,
            disabled_reason="",
            consecutive_failures=0,
            failing_since=None,
        )
        endpoint.deliveries.filter(state=WebhookDelivery.State.ABANDONED).update(
            state=WebhookDelivery.State.PENDING, next_attempt_at=timezone.now()
        )
        _deliver_on_commit(endpoint.pk)


def roll_secret(endpoint: WebhookEndpoint) -> None:
    """A new signing secret; the old one signs alongside it for SECRET_OVERLAP."""
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        secret=new_secret(),
        previous_secret=endpoint.secret,
        previous_secret_expires_at=timezone.now() + SECRET_OVERLAP,
    )


def resend(delivery: WebhookDelivery) -> None:
    """Send an event again, under the same webhook-id (receivers keep it once),
    in its place in the endpoint's order."""
    with transaction.atomic():
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            state=WebhookDelivery.State.PENDING, next_attempt_at=timezone.now()
        )
        _deliver_on_commit(delivery.endpoint_id)


def forget_delivered(older_than: dt.timedelta) -> int:
    """Delete delivered events from the log after a while (failed and abandoned
    ones stay until they are delivered); returns how many."""
    cutoff = timezone.now() - older_than
    deleted, _ = WebhookDelivery.objects.filter(
        state=WebhookDelivery.State.DELIVERED, delivered_at__lt=cutoff
    ).delete()
    return deleted


def disabled_by_failure():
    """Endpoints that repeated failure turned off (the desk's notice)."""
    return WebhookEndpoint.objects.filter(active=False, disabled_at__isnull=False)


# Delivery (the worker) ----------------------------------------------------------


@task
def deliver(endpoint_id: int) -> str:
    """Send the endpoint's due events, in order."""
    return deliver_queue(endpoint_id)


def deliver_due(now=None) -> dict[int, str]:
    """Every endpoint's due events (`manage.py deliver_webhooks`): a backstop for
    a lost task, and retries where the task backend cannot defer them."""
    due = (
        WebhookDelivery.objects.filter(
            state__in=QUEUED, endpoint__active=True, next_attempt_at__lte=now or timezone.now()
        )
        .order_by()
        .values_list("endpoint_id", flat=True)
        .distinct()
    )
    return {endpoint_id: deliver_queue(endpoint_id, now) for endpoint_id in sorted(set(due))}


def deliver_queue(endpoint_id: int, now=None) -> str:
    """Send the endpoint's queue until it is empty, its head must wait for a
    retry, or the endpoint is off. ``now`` (tests) is the time the retry
    schedule is read and written at; signatures always carry the real time."""
    while True:
        if not _take_lease(endpoint_id):
            return "busy: another worker is sending this endpoint's queue"
        try:
            outcome = _send_queue(endpoint_id, now)
        finally:
            WebhookEndpoint.objects.filter(pk=endpoint_id).update(lease_expires_at=None)
        # An event committed while the lease was held found it taken: send it now.
        if outcome != "sent" or not _queue(endpoint_id, now).exists():
            return outcome


def _queue(endpoint_id: int, now=None):
    return WebhookDelivery.objects.filter(
        endpoint_id=endpoint_id,
        endpoint__active=True,
        state__in=QUEUED,
        next_attempt_at__lte=now or timezone.now(),
    )


def _take_lease(endpoint_id: int) -> bool:
    now = timezone.now()
    return bool(
        WebhookEndpoint.objects.filter(pk=endpoint_id)
        .filter(Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now))
        .update(lease_expires_at=now + _lease())
    )


def _lease() -> dt.timedelta:
    return dt.timedelta(seconds=settings.WEBHOOK_TIMEOUT + LEASE_MARGIN_SECONDS)


def _send_queue(endpoint_id: int, now) -> str:
    while True:
        endpoint = WebhookEndpoint.objects.filter(pk=endpoint_id).first()
        if endpoint is None or not endpoint.active:
            return "endpoint off"
        head = (
            WebhookDelivery.objects.filter(endpoint=endpoint, state__in=QUEUED)
            .order_by("sequence")
            .first()
        )
        if head is None:
            return "sent"
        at = now or timezone.now()
        if head.next_attempt_at > at:
            return "waiting for a retry"
        WebhookEndpoint.objects.filter(pk=endpoint_id).update(
            lease_expires_at=timezone.now() + _lease()
        )
        result = attempt(endpoint, head)
        if not result.ok:
            _failed(endpoint, head, result, at)
            return "failed, will retry" if endpoint.active else "endpoint disabled"
        _succeeded(endpoint, head, result, at)


class Result(NamedTuple):
    """One attempt, as the delivery log keeps it."""

    ok: bool
    code: int | None
    error: str
    duration_ms: int


def _succeeded(endpoint, delivery, result: Result, at) -> None:
    with transaction.atomic():
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            state=WebhookDelivery.State.DELIVERED,
            attempts=F("attempts") + 1,
            last_response_code=result.code,
            last_error="",
            last_duration_ms=result.duration_ms,
            delivered_at=at,
        )
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
            consecutive_failures=0, failing_since=None
        )


def _failed(endpoint, delivery, result: Result, at) -> None:
    failures = endpoint.consecutive_failures + 1
    failing_since = endpoint.failing_since or at
    give_up = at - failing_since >= dt.timedelta(hours=settings.WEBHOOK_RETRY_HOURS)
    next_attempt_at = at + retry_delay(failures)
    logger.warning(
        "Webhook %s to %s failed (attempt %d): %s",
        delivery.webhook_id,
        urlsplit(endpoint.url).hostname,
        delivery.attempts + 1,
        result.error,
    )
    with transaction.atomic():
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            state=WebhookDelivery.State.ABANDONED if give_up else WebhookDelivery.State.FAILED,
            attempts=F("attempts") + 1,
            next_attempt_at=next_attempt_at,
            last_response_code=result.code,
            last_error=result.error[:500],
            last_duration_ms=result.duration_ms,
        )
        stopped = {}
        if give_up:
            hours = settings.WEBHOOK_RETRY_HOURS
            stopped = {
                "active": False,
                "disabled_at": at,
                "disabled_reason": (
                    f"{failures} failed attempts in a row over {hours:g} hours; "
                    f"the last: {result.error}"
                )[:300],
            }
            endpoint.active = False
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
            consecutive_failures=failures, failing_since=failing_since, **stopped
        )
    if not give_up:
        _retry_at(endpoint.pk, next_attempt_at)


def retry_delay(failures: int) -> dt.timedelta:
    """Full jitter: anywhere up to 5 s, 10 s, 20 s... after the 1st, 2nd, 3rd
    failure, up to three hours: receivers coming back are not all hit at once."""
    ceiling = min(LONGEST_RETRY.total_seconds(), FIRST_RETRY_SECONDS * 2 ** (failures - 1))
    return dt.timedelta(seconds=max(1.0, random.uniform(0, ceiling)))


def _retry_at(endpoint_id: int, when: dt.datetime) -> None:
    # A backend that cannot defer (the immediate one, in development) leaves
    # retries to the next change or `manage.py deliver_webhooks`.
    if deliver.get_backend().supports_defer:
        deliver.using(run_after=when).enqueue(endpoint_id)


# One attempt -------------------------------------------------------------------


def body_bytes(payload: dict) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def signed_headers(endpoint: WebhookEndpoint, delivery: WebhookDelivery, body: bytes) -> dict:
    sent_at = timezone.now()
    secrets_in_use = [endpoint.secret]
    if endpoint.previous_secret and sent_at < endpoint.previous_secret_expires_at:
        secrets_in_use.append(endpoint.previous_secret)
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": delivery.webhook_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        # Space-separated signatures, one per secret (the spec's way to roll one).
        "webhook-signature": " ".join(
            Webhook(secret).sign(delivery.webhook_id, sent_at, body) for secret in secrets_in_use
        ),
    }


def attempt(endpoint: WebhookEndpoint, delivery: WebhookDelivery) -> Result:
    """POST the event once. A 2xx answer is success; anything else (a redirect,
    which is not followed, included) a failure to retry."""
    body = body_bytes(delivery.payload)
    headers = signed_headers(endpoint, delivery, body)
    timeout = settings.WEBHOOK_TIMEOUT
    started = time.monotonic()
    code, error = None, ""
    try:
        code, excerpt = _requests.submit(_post, endpoint.url, body, headers, timeout).result(
            timeout=timeout
        )
        if not 200 <= code < 300:
            error = f"HTTP {code}: {excerpt.decode(errors='replace')[:200]}".strip().rstrip(":")
    except UnsafeURL as refused:
        error = str(refused)
    # A missed deadline is a TimeoutError, an OSError like the network's own failures.
    except TimeoutError:
        error = f"No answer within {timeout:g} s"
    except (OSError, http.client.HTTPException, ValueError) as failure:
        error = f"{type(failure).__name__}: {failure}"
    duration_ms = round((time.monotonic() - started) * 1000)
    return Result(not error, code, error, duration_ms)


def _post(url: str, body: bytes, headers: dict, timeout: float) -> tuple[int, bytes]:
    parts = urlsplit(url)
    address = checked_address(url)
    pinned = _PinnedHTTPSConnection if parts.scheme == "https" else _PinnedHTTPConnection
    connection = pinned(parts.hostname, parts.port, address, timeout)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read(MAX_RESPONSE_BYTES)
    finally:
        connection.close()


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the address the guard checked, not to a second DNS answer."""

    def __init__(self, host, port, address, timeout):
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self):
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """The checked address, with the certificate verified for the host name."""

    def __init__(self, host, port, address, timeout):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self.address = address

    def connect(self):
        sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


# The SSRF guard -----------------------------------------------------------------


class UnsafeURL(ValueError):
    """A URL webhooks may not be sent to."""


def checked_address(url: str) -> str:
    """The address to connect to for ``url``: raises UnsafeURL unless it is http(s)
    and every address its host resolves to is public (or private ones allowed)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeURL("Only http:// and https:// addresses can receive webhooks.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        found = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (OSError, ValueError) as error:
        raise UnsafeURL(f"Cannot resolve {parts.hostname}: {error}") from error
    addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in found]
    if not settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES:
        for address in addresses:
            if not is_public(address):
                raise UnsafeURL(
                    f"{parts.hostname} resolves to {address}, a private, loopback or "
                    "reserved address: webhooks go to public addresses only."
                )
    return str(addresses[0])


def is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or (isinstance(address, ipaddress.IPv6Address) and address.is_site_local)
    )
