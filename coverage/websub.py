"""WebSub: with WEBSUB_HUB_URL set, the feeds name the hub, and the hub is told
each time a story's feeds change, so subscribers hear of an update in seconds
instead of at their next poll.

The ping is a task run after the write commits (coverage.publishing), with a
deadline: a slow or broken hub never fails or holds up an editor's post.
"""

import http.client
import logging
import urllib.request
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.db import transaction
from django.tasks import task
from django.urls import reverse

from coverage import tasks
from coverage.models import Story

logger = logging.getLogger(__name__)

FEEDS = ("coverage:story-rss", "coverage:story-atom")


def feed_url(name: str, slug: str) -> str:
    """The feed's address as subscribers know it: absolute under SITE_URL when set."""
    path = reverse(name, kwargs={"slug": slug})
    return settings.SITE_URL.rstrip("/") + path if settings.SITE_URL else path


def ping_on_commit(story_id: int) -> None:
    if settings.WEBSUB_HUB_URL:
        # On this hub's own queue: only a worker that knows the hub takes it.
        ping = ping_hub.using(queue_name=tasks.websub_queue())
        transaction.on_commit(lambda: ping.enqueue(story_id))


@task
def ping_hub(story_id: int) -> str:
    """Tell the hub that the story's feeds changed (hub.mode=publish)."""
    hub = settings.WEBSUB_HUB_URL
    slug = Story.objects.public().filter(pk=story_id).values_list("slug", flat=True).first()
    if not hub or slug is None:
        return "skipped"
    data = urlencode([("hub.mode", "publish"), *(("hub.url", feed_url(n, slug)) for n in FEEDS)])
    request = urllib.request.Request(
        hub,
        data=data.encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    try:
        with urllib.request.urlopen(request, timeout=settings.WEBSUB_TIMEOUT) as response:
            response.read(1024)
    except (OSError, http.client.HTTPException, ValueError) as error:
        # HTTPError (a 4xx/5xx answer) is an OSError too.
        logger.warning("WebSub ping to %s failed: %r", urlsplit(hub).hostname, error)
        return "failed"
    return "pinged"
