"""Reader-facing views: the home page (and archive), search, a story page and its poll.

Each answers HEAD as well as GET (require_safe): link checkers and uptime
monitors ask with HEAD, and a 405 reads to them as a broken page."""

import bisect
import datetime as dt
import re
import time

from django.conf import settings
from django.core.cache import cache, caches
from django.core.paginator import Paginator
from django.db import connection
from django.http import (
    Http404,
    HttpResponse,
    HttpResponsePermanentRedirect,
    HttpResponseRedirect,
    JsonResponse,
)
from django.shortcuts import get_object_or_404, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.functional import cached_property
from django.views.decorators.http import require_safe

from coverage import audience, live, middleware, routers
from coverage.forms import SearchForm
from coverage.models import Story, Update

# Updates on a story page; older ones are a "Load older updates" click away.
PAGE_SIZE = 50
# Stories per home page (live ones, then the archive), results per search page.
HOME_PAGE_SIZE = 20
SEARCH_PAGE_SIZE = 20
# A reader further behind than this catches up over several polls.
MAX_CHANGES_PER_POLL = 100
MAX_REVISION = 2**63 - 1


def plain_response(message: str, status: int) -> HttpResponse:
    return HttpResponse(message + "\n", status=status, content_type="text/plain; charset=utf-8")


# Query parameters: a reader's page, poll and feed answers depend on these
# only, and any other is ignored (a cache-buster, a tracker's ?utm_source=):
# nginx keys its cache on them alone (deploy/nginx.conf), so junk reaches one
# entry. A known one given twice is refused: nginx's key takes the first value
# (matching names in any case), Django the last, and the two must never differ.
HOME_PARAMETERS = ("page",)
STORY_PARAMETERS = ("before", "after", "key_events", "around")
POLL_PARAMETERS = ("since",)


def repeated_parameter(request, names) -> HttpResponse | None:
    """A 400 if one of ``names`` is in the query more than once, in any case."""
    given = [name.lower() for name in request.GET for _ in request.GET.getlist(name)]
    for name in names:
        if given.count(name) > 1:
            return plain_response(f"'{name}' is given more than once.", 400)
    return None


@require_safe
def healthz(request):
    """For load balancers: proves a worker answers, touches neither database nor session."""
    return HttpResponse("ok\n", content_type="text/plain")


@require_safe
def readyz(request):
    """For deploys and monitors: can this worker reach the database and the
    cache, and how fast? 200 when both answer, 503 otherwise; each check is
    bounded by that dependency's timeouts (settings)."""
    checks = {"database": _timed(_check_database), "cache": _timed(_check_cache)}
    ready = all(check["ok"] for check in checks.values())
    response = JsonResponse({"ready": ready, **checks}, status=200 if ready else 503)
    response["Cache-Control"] = "no-store"
    return response


def _timed(check) -> dict:
    started = time.perf_counter()
    try:
        check()
    except Exception as error:
        result = {"ok": False, "error": f"{type(error).__name__}: {error}"[:200]}
    else:
        result = {"ok": True}
    result["latency_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_cache() -> None:
    # Straight to the cache, not through live's fallback: this is the question.
    cache.set("readyz", "ok", 10)
    if cache.get("readyz") != "ok":
        raise RuntimeError("the cache did not keep a value")


@require_safe
def robots_txt(request):
    """Crawl everything readers see; the admin (and the desk in it) is no page to index."""
    sitemap = request.build_absolute_uri(reverse("sitemap"))
    response = HttpResponse(
        f"User-agent: *\nDisallow: /admin/\n\nSitemap: {sitemap}\n",
        content_type="text/plain; charset=utf-8",
    )
    response["Cache-Control"] = "public, max-age=86400"
    return response


@require_safe
def favicon(request):
    """Pages link their icon (static/img/favicon.svg); this answers whatever asks
    for /favicon.ico all the same (a browser opening a feed or a plain answer)."""
    return HttpResponsePermanentRedirect(static("img/favicon.svg"))


@require_safe
def home(request):
    """Live stories, then the archive of ended ones, HOME_PAGE_SIZE a page.
    A page number that is not one, or past the end, gets the nearest page.

    Each page's stories are cached until any story changes (live's mark), so
    a repeat of ``?page=N`` costs no query, and junk page numbers all land on
    one of the real pages' entries."""
    refused = repeated_parameter(request, HOME_PARAMETERS)
    if refused:
        return refused
    stories = Story.objects.for_home_page()
    mark = live.stories_changed()
    if mark is None and live._cache("add", live.STORIES_CHANGED_KEY, time.time_ns(), None):
        mark = live.stories_changed()
    if mark is not None:
        count = cached_or(f"home-count:{mark}", stories.count)
        number = Paginator(range(count), HOME_PAGE_SIZE).get_page(request.GET.get("page")).number
        rows = cached_or(
            f"home-page:{mark}:{number}",
            lambda: list(stories[(number - 1) * HOME_PAGE_SIZE : number * HOME_PAGE_SIZE]),
        )
        paginator = Paginator(stories, HOME_PAGE_SIZE)
        paginator.count = count  # a cached_property: set, it is never queried
        page = paginator.page(number)
        page.object_list = rows
    else:
        page = Paginator(stories, HOME_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request, "coverage/home.html", {"page": page, "stories": page, "form": SearchForm()}
    )


def cached_or(key: str, build):
    """The value cached under ``key`` (the revisions cache), built and kept if missing."""
    per_revision = caches["revisions"]
    value = per_revision.get(key)
    if value is None:
        value = build()
        per_revision.set(key, value, settings.LIVE_PAGE_CACHE_SECONDS)
    return value


@require_safe
def search(request):
    """Updates matching the reader's words, best first: two queries (the count
    and the page), whatever the archive's size. A blank or oversized query is a
    400 with the form saying why."""
    form = SearchForm(request.GET if "q" in request.GET else None)
    page = None
    if form.is_valid():
        page = Paginator(Update.objects.search(form.cleaned_data["q"]), SEARCH_PAGE_SIZE).get_page(
            request.GET.get("page")
        )
    status = 400 if form.errors else 200
    return render(request, "coverage/search.html", {"form": form, "page": page}, status=status)


NEWEST_FIRST = Story.ReadingOrder.NEWEST_FIRST.value
OLDEST_FIRST = Story.ReadingOrder.OLDEST_FIRST.value
# The query parameter carrying a slice's cursor, by reading order: newest
# first pages on to older updates, oldest first to newer ones.
CURSOR_PARAMETER = {NEWEST_FIRST: "before", OLDEST_FIRST: "after"}


class UpdateSlice:
    """One slice of a story's updates in reading order: on the first page every
    pinned update, then the first PAGE_SIZE others (the newest, or the oldest
    for ``reading_order="oldest"``); each further slice the next PAGE_SIZE
    unpinned ones, from the cursor of the last one shown (a pinned update's
    time says nothing of where the unpinned ones stopped).

    Read only when the template asks: a page whose update list is already in
    the fragment cache never queries for it.
    """

    def __init__(self, story, cursor, key_events_only=False, reading_order=None, size=PAGE_SIZE):
        self.story = story
        self.cursor = cursor
        self.key_events_only = key_events_only
        self.reading_order = reading_order or story.reading_order
        # Smaller in an embed that asked for fewer (its "limit").
        self.size = size

    @cached_property
    def _rows(self):
        updates = self.story.updates.published().for_reading()
        if self.reading_order == OLDEST_FIRST:
            updates = updates.order_by("-pinned", "published_at", "pk")
        if self.key_events_only:
            updates = updates.filter(key_event=True)
        unpinned = updates.filter(pinned=False)
        if self.cursor:
            if self.reading_order == OLDEST_FIRST:
                unpinned = unpinned.newer_than(*self.cursor)
            else:
                unpinned = unpinned.older_than(*self.cursor)
            return [], list(unpinned[: self.size + 1])
        # Pinned ones are few by nature: the desk pins a handful at most.
        return list(updates.filter(pinned=True)), list(unpinned[: self.size + 1])

    @property
    def updates(self):
        pinned, unpinned = self._rows
        return pinned + unpinned[: self.size]

    @property
    def next_cursor(self):
        """Where the next slice starts ("Load older updates", or "Load newer
        updates" oldest first), or None after the last."""
        _, unpinned = self._rows
        return unpinned[self.size - 1].cursor if len(unpinned) > self.size else None


class StorySummary:
    """The key events box and "Last updated", from one query, run only when the
    template asks (a cached page never does). "Last updated" is the newest
    published update's time: what readers can see changed, where the story's
    own last change would move on drafts and scheduled posts they cannot see."""

    def __init__(self, story_id: int):
        self.story_id = story_id

    @cached_property
    def _rows(self):
        return list(
            Update.objects.published()
            .filter(story_id=self.story_id)
            .key_events_and_newest()
            .only("id", "story_id", "headline", "body", "key_event", "published_at")
        )

    @property
    def key_events(self):
        return [update for update in self._rows if update.key_event]

    @property
    def last_updated(self):
        return self._rows[0].published_at if self._rows else None


@require_safe
def story(request, slug):
    """The story page: the newest PAGE_SIZE updates (pinned first), then a
    "Load older updates" link carrying a cursor (?before=) to the next slice;
    oldest first (the story's reading order), the oldest PAGE_SIZE and "Load
    newer updates" (?after=). ?key_events=1 shows key events only (the filter
    without JavaScript); ?around=<id> sends the reader to the page that holds
    that update."""
    refused = repeated_parameter(request, STORY_PARAMETERS)
    if refused:
        return refused
    key_events_only = request.GET.get("key_events") == "1"
    # The live state (usually in this process's memory) names the revision;
    # the story and its next day are cached per revision, so a repeat view
    # of an unchanged story costs no query at all.
    state = public_state(slug)
    story, _ = story_at(state)
    reading_order = story.reading_order
    if "around" in request.GET:
        raw_id = request.GET["around"]
        if not raw_id.isascii() or not raw_id.isdigit() or len(raw_id) > 18:
            return plain_response("'around' must be an update's number.", 400)
        # Where an update's page is changes only with the story's revision.
        location = cached_or(
            f"around:{state.story_id}:{state.revision}:{int(raw_id)}:{reading_order}",
            lambda: redirect_around(state, raw_id, reading_order)["Location"],
        )
        return HttpResponseRedirect(location)
    parameter = CURSOR_PARAMETER[reading_order]
    if any(name in request.GET for name in CURSOR_PARAMETER.values() if name != parameter):
        # A link from before the desk turned the order round: its cursor
        # pages the other way, so the reader starts from the top instead.
        return HttpResponseRedirect(story.get_absolute_url())
    cursor = parse_cursor(request.GET.get(parameter), parameter)
    if isinstance(cursor, str):
        return plain_response(cursor, 400)
    context = story_context(state, cursor, key_events_only, reading_order)
    if cursor and request.htmx:
        return render(request, "coverage/story.html#update-list", context)
    response = render(request, "coverage/story.html", context)
    if not request.GET:
        # Served in its place while the database is down (middleware).
        middleware.remember_page(slug, response.content)
    return response


def story_context(
    state: live.LiveState,
    cursor=None,
    key_events_only=False,
    reading_order=None,
    *,
    slice_base=None,
    slice_size=PAGE_SIZE,
) -> dict:
    """What templates/coverage/story.html renders: the story page's, and the
    embed kit's (coverage/embed_kit.py), which renders it in a frame, perhaps
    in the other reading order and fewer at a time, its slices fetched from its
    own address (``slice_base``: where "Load older/newer updates" links start,
    up to the cursor; it names the slice size too, so it is in the cache keys)."""
    story, following = story_at(state)
    reading_order = reading_order or story.reading_order
    # The revision is read before the updates: anything committed in between
    # reaches the page twice at worst (the poll replaces it in place), never zero times.
    return {
        "story": story,
        "following": following,
        "revision": story.revision,
        "slice": UpdateSlice(story, cursor, key_events_only, reading_order, slice_size),
        "slice_base": slice_base or f"{story.get_absolute_url()}?",
        "summary": StorySummary(story.pk),
        "key_events_only": key_events_only,
        "show_bylines": settings.SHOW_BYLINES,
        # "newest" or "oldest": the templates and the page's script follow it.
        "reading_order": reading_order,
        "cursor": cursor,
        "cache_seconds": settings.LIVE_PAGE_CACHE_SECONDS,
        "poll_seconds": poll_interval(state),
    }


def public_state(slug: str) -> live.LiveState:
    state = live.get(slug)
    if state is None or state.status == Story.Status.DRAFT:
        raise Http404("No such story.")
    return state


def story_at(state: live.LiveState) -> tuple[Story, Story | None]:
    """The story and the day its coverage continues on, cached per revision."""
    per_revision = caches["revisions"]
    story, following = per_revision.get(f"story:{state.story_id}:{state.revision}") or (None, None)
    if story is None:
        story = get_object_or_404(
            Story.objects.public().select_related("previous"), pk=state.story_id
        )
        following = story.next_day()
        key = f"story:{story.pk}:{story.revision}"
        per_revision.set(key, (story, following), settings.LIVE_PAGE_CACHE_SECONDS)
    return story, following


# Newer updates shown above one opened by its address on an older page, for context.
UPDATES_ABOVE = 2


def redirect_around(
    state: live.LiveState, raw_id: str, reading_order: str = NEWEST_FIRST
) -> HttpResponse:
    """Send the reader to the page of the story that shows this update (``raw_id``:
    digits, checked by the caller): the live
    page while it is among the first PAGE_SIZE (or pinned), else the slice that
    starts UPDATES_ABOVE updates above it. The reader's #update-<id> stays on
    the address (a Location without a fragment keeps the request's)."""
    story_url = reverse("coverage:story", kwargs={"slug": state.slug})
    visible = Update.objects.published().filter(story_id=state.story_id)
    update = visible.filter(pk=int(raw_id)).only("pk", "published_at", "pinned").first()
    if update is None:
        # Retracted, or never this story's: the live page is the best answer.
        return HttpResponseRedirect(story_url)
    unpinned = visible.filter(pinned=False)
    if reading_order == OLDEST_FIRST:
        above = unpinned.older_than(update.published_at, update.pk)
        nearest_first = ("-published_at", "-pk")
    else:
        above = unpinned.newer_than(update.published_at, update.pk)
        nearest_first = ("published_at", "pk")
    if update.pinned or above.count() < PAGE_SIZE:
        return HttpResponseRedirect(story_url)
    context = above.order_by(*nearest_first).only("pk", "published_at")[:UPDATES_ABOVE]
    top = [update, *context][-1]
    # The cursor is exclusive: one past the top update's id (one before, oldest
    # first) includes it.
    seconds = int(top.published_at.timestamp())
    if reading_order == OLDEST_FIRST:
        return HttpResponseRedirect(f"{story_url}?after={seconds}-{top.pk - 1}")
    return HttpResponseRedirect(f"{story_url}?before={seconds}-{top.pk + 1}")


@require_safe
def update_page(request, slug, update_id):
    """One update on a page of its own: what a reader shares. Cached per story
    revision, like the story (an edit or retraction bumps it)."""
    state = public_state(slug)
    story, _ = story_at(state)
    per_revision = caches["revisions"]
    key = f"update:{state.story_id}:{state.revision}:{update_id}"
    update = per_revision.get(key)
    if update is None:
        update = (
            story.updates.published().with_cards_and_bylines().filter(pk=update_id).first()
            or False  # cached too: a missing update's address costs no query either
        )
        per_revision.set(key, update, settings.LIVE_PAGE_CACHE_SECONDS)
    if not update:
        raise Http404("No such update: it may have been withdrawn.")
    update.story = story
    return render(
        request,
        "coverage/update.html",
        {"story": story, "update": update, "show_bylines": settings.SHOW_BYLINES},
    )


def parse_cursor(raw: str | None, parameter: str = "before"):
    """``?before=<unix seconds>-<id>`` (or ``?after=``): (datetime, id), None, or a message."""
    if raw is None:
        return None
    match = re.fullmatch(r"(\d{1,11})-(\d{1,18})", raw)
    if not match:
        link = "Load newer updates" if parameter == "after" else "Load older updates"
        return f"'{parameter}' must look like 1764086460-123 (from a {link} link)."
    seconds, pk = map(int, match.groups())
    return dt.datetime.fromtimestamp(seconds, dt.UTC), pk


def parse_since(raw: str | None) -> int | str:
    """The reader's cursor, or a message saying what is wrong with it."""
    if raw is None or raw == "":
        return "Missing 'since': pass the story revision your page shows."
    if not raw.isascii() or not raw.isdigit():
        return "'since' must be a non-negative whole number."
    if len(raw) > 19 or int(raw) > MAX_REVISION:
        return "'since' is out of range."
    return int(raw)


# Reader poll modes, slowest last: the site's kill switch and the story's own
# setting combine toward the slower.
POLL_MODES = tuple(Story.PollMode.values)
POLL_INTERVAL_HEADER = "Poll-Interval"


def poll_mode(state: live.LiveState) -> str:
    """The story's poll mode, or the site's (READER_POLLING) where that is slower."""
    return max(state.poll_mode, settings.READER_POLLING, key=POLL_MODES.index)


def pace_of(mode: str) -> int:
    """Seconds between polls of a live story in this poll mode."""
    if mode == Story.PollMode.PAUSED:
        # The heartbeat: a paused page learns that the desk resumed it.
        return max(settings.LIVE_PAUSED_POLL_SECONDS, settings.LIVE_POLL_SECONDS)
    if mode == Story.PollMode.SLOW:
        return max(settings.LIVE_SLOW_POLL_SECONDS, settings.LIVE_POLL_SECONDS)
    return settings.LIVE_POLL_SECONDS


def live_pace(state: live.LiveState) -> int:
    """Seconds between polls of a live story, as its poll mode (and the site's) has it."""
    return pace_of(poll_mode(state))


def poll_interval(state: live.LiveState) -> int:
    """Seconds between a page's polls: its poll mode's pace; an ended story's
    pages poll slowly, unless an update scheduled before the end is still to fall due."""
    if state.is_live or state.next_due is not None:
        return live_pace(state)
    return max(settings.LIVE_ENDED_POLL_SECONDS, live_pace(state))


def with_interval(response: HttpResponse, seconds: int) -> HttpResponse:
    """Every poll answer tells the page when to ask next (live.js obeys it)."""
    response[POLL_INTERVAL_HEADER] = str(seconds)
    return response


def nothing_to_send(since: int, revision: int) -> HttpResponse | None:
    """The answers to a poll (readers' or the desk's) that carry no changes:
    204 at the story's revision, 409 + HX-Refresh ahead of it; None otherwise."""
    if since == revision:
        return HttpResponse(status=204)
    if since > revision:
        response = plain_response(
            f"This page is ahead of the story (revision {revision}); reload it.", 409
        )
        response["HX-Refresh"] = "true"
        return response
    return None


# Poll answers are fragments swapped into a page that has its own policy; this
# one only matters if someone opens a fragment directly, and then nothing in it
# may run. Fixed, so the CSP middleware need not build a policy per poll.
FRAGMENT_CSP = "default-src 'none'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'"


def shareable(response: HttpResponse, etag: str) -> HttpResponse:
    """Let browsers and any cache in front share one answer among all readers at a state."""
    max_age = settings.LIVE_POLL_MAX_AGE
    # A browser reuses a stale answer this long while it refetches in the
    # background: it must lapse before the next poll, or every reader would
    # see each change one poll late.
    revalidate = max(0, settings.LIVE_POLL_SECONDS - max_age - 2)
    response["Cache-Control"] = (
        f"public, max-age={max_age}, stale-while-revalidate={revalidate}, stale-if-error=60"
    )
    response["ETag"] = etag
    response["Content-Security-Policy"] = FRAGMENT_CSP
    return response


@require_safe
def poll(request, slug):
    """Answer a reader's "anything new since revision N?".

    Nothing new: 204 from the cached live state, without a query.
    Something new: 200 with every changed update as an out-of-band swap
    (visible ones replace or insert, the rest are removed), a new poller, and
    the key events box, "Last updated" and badge; four queries (updates,
    their embeds, their authors, the key events) on a warm cache.
    Every answer but a 400 or 404 carries Poll-Interval: the seconds until the
    page's next poll, as the desk and the site's kill switch want it.
    """
    refused = repeated_parameter(request, POLL_PARAMETERS)
    if refused:
        return refused
    since = parse_since(request.GET.get("since"))
    if isinstance(since, str):
        return plain_response(since, 400)
    # at_least: a reader who saw a newer revision (served by another process)
    # makes this one look further, up to the database, before calling it ahead.
    state, checked = live.get_checked(slug, at_least=since)
    if state is None or state.status == Story.Status.DRAFT:
        return plain_response("No such story.", 404)
    # In memory; to the cache every few seconds. A page behind the story has not
    # heard of the latest change yet: it polls at the live pace it was told.
    audience.count_poll(
        state.story_id, poll_interval(state) if since == state.revision else live_pace(state)
    )
    response, seconds = answer_poll(request, state, checked, since)
    return with_interval(response, seconds)


def answer_poll(request, state, checked: bool, since: int) -> tuple[HttpResponse, int]:
    """The answer to a poll, and the seconds until the page's next one."""
    seconds = poll_interval(state)
    if since > state.revision and not checked:
        # Ahead of a state the database confirmed under a second ago: another
        # process's newer write, or a cursor that is simply wrong. Not proof
        # enough for a reload, and not worth a query per request: ask again later.
        response = HttpResponse(status=204)
        response["Cache-Control"] = "no-store"
        return response, seconds

    if state.is_void(since):
        # The page shows a revision from before a database restore.
        return nothing_to_send(state.revision + 1, state.revision), seconds
    etag = f'W/"{state.story_id}-{since}-{state.revision}"'
    if request.headers.get("If-None-Match") == etag:
        return shareable(HttpResponse(status=304), etag), seconds
    answer = nothing_to_send(since, state.revision)
    if answer is not None:
        return (shareable(answer, etag) if answer.status_code == 204 else answer), seconds

    # Every reader at this state asks the same question: answer it once. The
    # pace is in the key: the site's kill switch changes it without a revision.
    # Far cursors with the same changes after them get the same answer, so
    # junk cursors between two changes share one entry, and all those too far
    # behind share the reload.
    if state.revision - since <= MAX_CHANGES_PER_POLL:
        # Near: a few cursors per revision, each answered once from the changes.
        question = since
    else:
        # Far by revisions (any number of cursors): judged from one query per
        # story revision, without loading an update.
        revisions = change_revisions(state)
        if too_far_behind(revisions, since):
            question = "far"
        elif since >= revisions[0]:
            question = revisions[bisect.bisect_right(revisions, since) - 1]
        else:
            question = 0
    bylines = settings.SHOW_BYLINES
    key = f"poll-answer:{state.story_id}:{question}:{state.revision}:{bylines:d}:{seconds}"
    cached = caches["revisions"].get(key)
    if cached is None:
        if question == "far":
            response, seconds = reload_answer(), live_pace(state)
        else:
            response, seconds = answer_changes(request, state, since)
        cached = (response.content, seconds, "HX-Refresh" in response)
        caches["revisions"].set(key, cached, settings.LIVE_PAGE_CACHE_SECONDS)
    content, seconds, refresh = cached
    if refresh:
        return reload_answer(content), seconds
    return shareable(HttpResponse(content), etag), seconds


# A reader further behind than this many changes reloads the page (one request
# for the newest PAGE_SIZE) instead of catching up over many polls.
MAX_CHANGES_TO_CATCH_UP = 5 * MAX_CHANGES_PER_POLL


def change_revisions(state: live.LiveState) -> list[int]:
    """The revisions of the story's newest MAX_CHANGES_TO_CATCH_UP + 1 changes,
    oldest first: one query on the (story, revision) index per story revision,
    and every poll cursor is judged from it without loading an update."""
    key = f"change-revisions:{state.story_id}:{state.revision}"
    revisions = caches["revisions"].get(key)
    if revisions is None:
        with routers.primary():
            revisions = list(
                Update.objects.changed_since(state.story_id, 0, state.revision)
                .order_by("-revision")
                .values_list("revision", flat=True)[: MAX_CHANGES_TO_CATCH_UP + 1]
            )
        revisions.reverse()
        caches["revisions"].set(key, revisions, settings.LIVE_PAGE_CACHE_SECONDS)
    return revisions or [0]


def too_far_behind(revisions: list[int], since: int) -> bool:
    """More changes after ``since`` than a reader catches up with, or a first
    revision after it bigger than one answer (never split across answers)."""
    if len(revisions) > MAX_CHANGES_TO_CATCH_UP and since < revisions[0]:
        return True
    after = revisions[bisect.bisect_right(revisions, since) :]
    return len(after) > MAX_CHANGES_PER_POLL and after[0] == after[MAX_CHANGES_PER_POLL]


def reload_answer(content: bytes = b"Too much has changed; reload the page.\n") -> HttpResponse:
    response = HttpResponse(content, content_type="text/plain; charset=utf-8")
    response["HX-Refresh"] = "true"
    return response


def whole_revisions(changes: list, revision: int) -> tuple[list, int]:
    """A page of changes (fetched by revision, MAX_CHANGES_PER_POLL + 1 at most)
    and the revision it brings a reader to: far behind, one page, the cursor
    moved only past whole revisions (a release can stamp several updates with
    one revision). The list comes back empty when one revision is bigger than
    a page. The poll and the API's change stream both page so."""
    if len(changes) <= MAX_CHANGES_PER_POLL:
        return changes, revision
    cut = changes[MAX_CHANGES_PER_POLL].revision
    return [update for update in changes if update.revision < cut], cut - 1


def answer_changes(request, state: live.LiveState, since: int) -> tuple[HttpResponse, int]:
    """Every update changed after ``since``, as out-of-band swaps, and the poller
    (with the seconds until the next poll: a reader catching up goes on at the
    live pace).

    The cached state is enough to answer: every change up to its revision has
    committed, and anything newer is picked up by the next poll.
    """
    # From the primary: a lagging replica would miss changes the state vouches
    # for, and this answer is cached for every reader at this state.
    with routers.primary():
        changes = list(
            Update.objects.changed_since(state.story_id, since, state.revision)
            .select_related("story")
            .with_cards_and_bylines()
            .order_by("revision", "pk")[: MAX_CHANGES_PER_POLL + 1]
        )
    changes, cursor = whole_revisions(changes, state.revision)
    if not changes and cursor < state.revision:
        # One revision bigger than a page: too_far_behind() said so first,
        # unless a release raced it.
        return reload_answer(), live_pace(state)
    # Everything in the answer from the primary, like its changes: it is
    # cached for every reader at this state, and must agree with it.
    seconds = live_pace(state) if cursor < state.revision else poll_interval(state)
    with routers.primary():
        story, following = state, None
        if state.status == Story.Status.ENDED:
            # Readers of a finished day learn when it ended, and where coverage
            # continues, without reloading.
            story = Story.objects.get(pk=state.story_id)
            following = story.next_day()
        response = render(
            request,
            "coverage/poll.html",
            {
                "story": story,
                "revision": cursor,
                "catching_up": cursor < state.revision,
                "changes": changes,
                "following": following,
                # Re-sent whole in every answer: any key event marked, unmarked,
                # edited or retracted, and any newer update, shows on open pages.
                "summary": StorySummary(state.story_id),
                "show_bylines": settings.SHOW_BYLINES,
                "poll_seconds": seconds,
            },
        )
    return response, seconds
