"""Reader-facing views: the home page, a story page and the story's poll."""

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_GET

from coverage import live
from coverage.models import Story, Update

# More changes than this in one answer: the reader reloads the page instead.
MAX_CHANGES_PER_POLL = 200
MAX_REVISION = 2**63 - 1


def plain_response(message: str, status: int) -> HttpResponse:
    return HttpResponse(message + "\n", status=status, content_type="text/plain; charset=utf-8")


@require_GET
def healthz(request):
    """For load balancers: proves a worker answers, touches neither database nor session."""
    return HttpResponse("ok\n", content_type="text/plain")


@require_GET
def home(request):
    stories = Story.objects.for_home_page()[:50]
    return render(request, "coverage/home.html", {"stories": stories})


@require_GET
def story(request, slug):
    story = get_object_or_404(Story.objects.public().select_related("previous"), slug=slug)
    # The revision is read before the updates: anything committed in between
    # reaches the page twice at worst (the poll replaces it in place), never zero times.
    updates = story.updates.published().for_reading()
    return render(
        request,
        "coverage/story.html",
        {
            "story": story,
            "revision": story.revision,
            "updates": updates,
            "following": story.following.public().order_by("started_at").first(),
            "poll_seconds": settings.LIVE_POLL_SECONDS,
        },
    )


def parse_since(raw: str | None) -> int | str:
    """The reader's cursor, or a message saying what is wrong with it."""
    if raw is None or raw == "":
        return "Missing 'since': pass the story revision your page shows."
    if not raw.isascii() or not raw.isdigit():
        return "'since' must be a non-negative whole number."
    if len(raw) > 19 or int(raw) > MAX_REVISION:
        return "'since' is out of range."
    return int(raw)


def shareable(response: HttpResponse, etag: str) -> HttpResponse:
    """Let browsers and any cache in front share one answer among all readers at a state."""
    patch_cache_control(
        response,
        public=True,
        max_age=settings.LIVE_POLL_MAX_AGE,
        stale_while_revalidate=settings.LIVE_POLL_SECONDS,
        stale_if_error=60,
    )
    response["ETag"] = etag
    return response


@require_GET
def poll(request, slug):
    """Answer a reader's "anything new since revision N?".

    Nothing new: 204 from the cached live state, without a query.
    Something new: 200 with every changed update as an out-of-band swap
    (visible ones replace or insert, the rest are removed) and a new poller;
    two queries (updates, their embeds) on a warm cache.
    """
    since = parse_since(request.GET.get("since"))
    if isinstance(since, str):
        return plain_response(since, 400)

    state = live.get(slug)
    if state is not None and since > state.revision:
        # Another process may have moved on since this cache entry was written.
        state = live.load(slug=slug)
    if state is None or state.status == Story.Status.DRAFT:
        return plain_response("No such story.", 404)

    etag = f'W/"{state.story_id}-{since}-{state.revision}"'
    if request.headers.get("If-None-Match") == etag:
        return shareable(HttpResponse(status=304), etag)
    if since == state.revision:
        return shareable(HttpResponse(status=204), etag)
    if since > state.revision:
        response = plain_response(
            f"This page is ahead of the story (revision {state.revision}); reload it.", 409
        )
        response["HX-Refresh"] = "true"
        return response

    # The cached state is enough to answer: every change up to its revision has
    # committed, and anything newer is picked up by the next poll.
    changes = list(
        Update.objects.changed_since(state.story_id, since, state.revision)
        .prefetch_related("embeds")
        .order_by("revision")[: MAX_CHANGES_PER_POLL + 1]
    )
    if len(changes) > MAX_CHANGES_PER_POLL:
        # Far behind: a fresh page is cheaper and safer than a huge fragment.
        response = HttpResponse(status=200)
        response["HX-Refresh"] = "true"
        return shareable(response, etag)

    response = render(
        request,
        "coverage/poll.html",
        {
            "story": state,
            "revision": state.revision,
            "changes": changes,
            "poll_seconds": settings.LIVE_POLL_SECONDS,
        },
    )
    return shareable(response, etag)
