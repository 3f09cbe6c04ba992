"""Each story's live state, kept in the cache so that "nothing new" costs no query.

The state is the story's id, current revision, status and reader poll mode. Writers refresh it
right after their transaction commits; readers fall back to one query when it
is missing or expired (see LIVE_STATE_TTL in settings for the trade-off).

The shared cache is an optimisation, never a dependency: when it fails (down,
frozen, refusing writes) every call here falls back to the database, skips it
for CACHE_RETRY_SECONDS, and logs one warning a minute. Each process also
checks a state against the database every LIVE_STATE_VERIFY_SECONDS, so a
state the cache kept while writes could not reach it (a lost write, Redis
frozen then thawed, a database restored under it) is corrected within seconds.
"""

import logging
import time
from typing import NamedTuple

from django.apps import apps
from django.conf import settings
from django.core.cache import cache
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import Min, OuterRef, Subquery

from coverage import routers
from coverage.bounded import BoundedDict


class LiveState(NamedTuple):
    story_id: int
    slug: str
    revision: int
    status: str
    # When the next scheduled update falls due (Unix time), so that its
    # arrival costs no query until then.
    next_due: float | None = None
    # Ranges of revisions (after, up to] handed out before a database restore
    # and reused by nothing since: a page at one may show what a restore removed.
    void: tuple[tuple[int, int], ...] | None = None
    # How often the desk wants open pages to poll (Story.PollMode): every poll
    # answer, the idle 204 included, tells the page without a query.
    poll_mode: str = "normal"

    @property
    def is_live(self) -> bool:
        return self.status == "live"

    def is_void(self, since: int) -> bool:
        return any(after < since <= up_to for after, up_to in self.void or ())


log = logging.getLogger(__name__)

# After a failed cache call, this process leaves the cache alone for this long:
# a frozen Redis costs one socket timeout per second, not one per request.
CACHE_RETRY_SECONDS = 1.0
WARNING_INTERVAL = 60.0
# How long this process trusts a database answer that a story does not exist,
# or is behind a reader's cursor: these cost a query, so at most one a second.
DATABASE_ANSWER_SECONDS = 1.0

_cache_skipped_until = 0.0
_warned_at = -WARNING_INTERVAL
_MISSING = object()
DATABASE_ERRORS = (OperationalError, InterfaceError)
FAILED = object()


def _cache_failed(action: str, error: Exception) -> None:
    global _cache_skipped_until, _warned_at
    now = time.monotonic()
    _cache_skipped_until = now + CACHE_RETRY_SECONDS
    if now - _warned_at >= WARNING_INTERVAL:
        _warned_at = now
        log.warning("Cache unavailable (%s: %r); using the database.", action, error)


def _cache(action: str, *args, default=None):
    """``cache.<action>(*args)``, or ``default`` when the cache fails or was
    failing a moment ago. Any error: the cache must never break a request."""
    if time.monotonic() < _cache_skipped_until:
        return default
    try:
        return getattr(cache, action)(*args)
    except Exception as error:
        _cache_failed(action, error)
        return default


def reset_cache_health() -> None:
    global _cache_skipped_until, _warned_at
    _cache_skipped_until = 0.0
    _warned_at = -WARNING_INTERVAL


def cache_key(slug: str) -> str:
    return f"live-state:{slug}"


STORIES_CHANGED_KEY = "stories-changed"


def stories_changed() -> int | None:
    """A mark that moves on every write to any story (None: the cache cannot say)."""
    return _cache("get", STORIES_CHANGED_KEY)


def high_water_key(story_id: int) -> str:
    return f"live-high-water:{story_id}"


def void_key(story_id: int) -> str:
    return f"live-void:{story_id}"


def load(**lookup) -> LiveState | None:
    """The state from the database, in one query, always the primary's: a
    replica's older revision would be cached as the story's current one."""
    with routers.primary():
        return _load(**lookup)


def _load(**lookup) -> LiveState | None:
    Story = apps.get_model("coverage", "Story")
    Update = apps.get_model("coverage", "Update")
    next_due = (
        Update.objects.awaiting_release()
        .filter(story=OuterRef("pk"))
        .values("story")
        .annotate(first=Min("published_at"))
        .values("first")
    )
    row = (
        Story.objects.filter(**lookup)
        .annotate(next_due=Subquery(next_due))
        .values_list("id", "slug", "revision", "status", "next_due", "poll_mode")
        .first()
    )
    if row is None:
        return None
    *fields, due, poll_mode = row
    return LiveState(*fields, next_due=due.timestamp() if due else None, poll_mode=poll_mode)


# A copy of recent states in this process's memory, so most polls skip even the
# cache's network round trip: {slug: Remembered}. A state of None remembers
# that no such story exists.
class Remembered(NamedTuple):
    good_until: float  # by time.monotonic()
    state: LiveState | None
    # When this process last read it from the database (monotonic; 0: never).
    verified_at: float


# Stories this process remembers: far more than a site runs at once, few
# enough that a flood of distinct slugs costs a few MB (bench/memory.py).
MAX_REMEMBERED = 10_000
_in_process: BoundedDict = BoundedDict(MAX_REMEMBERED)  # {slug: Remembered}
_verified_at: BoundedDict = BoundedDict(MAX_REMEMBERED)  # {slug: monotonic time}

# A slug longer than the model allows names no story: no query, no cache call.
MAX_SLUG_LENGTH = 120
# "No such story", kept in the shared cache this long: a flood of distinct
# unknown slugs costs the database one query per slug per this many seconds,
# whichever process it reaches. A story created meanwhile overwrites it (refresh).
NO_SUCH_STORY = "no-such-story"
NO_SUCH_STORY_SECONDS = 30


def get(slug: str, at_least: int = 0) -> LiveState | None:
    """The story's live state: from this process's memory, else the shared cache,
    else the database, going on to the next while the state found is older than
    revision ``at_least`` (a reader who saw a newer state elsewhere) — but to
    the database at most once a second per story (see get_checked)."""
    return get_checked(slug, at_least)[0]


def get_checked(slug: str, at_least: int = 0) -> tuple[LiveState | None, bool]:
    """get(), and whether the database vouches for the answer just now: a state
    still older than ``at_least`` is only then proof that the reader is ahead
    of the story. "Just now" is the last DATABASE_ANSWER_SECONDS: every reader
    ahead of a state the database confirmed in that second is judged against
    it at once (after a restore, every page ahead reloads within a poll
    interval), once the shared cache has been asked for a newer state."""
    if len(slug) > MAX_SLUG_LENGTH:
        return None, True
    now = time.monotonic()
    checked = False
    remembered = _in_process.get(slug)
    if remembered and remembered.good_until > now and _answers(remembered, at_least, now):
        state = remembered.state
        if state is None:
            return None, False
        if state.revision < at_least:
            # Verified under a second ago: only another process's newer write,
            # in the shared cache, can still put the story ahead of it.
            newer = _cache("get", cache_key(slug))
            if isinstance(newer, LiveState) and newer.revision >= at_least:
                remember(newer)
                state = newer
            else:
                checked = True
    else:
        state = _MISSING
        check_due = now - _verified_at.get(slug, 0.0) >= settings.LIVE_STATE_VERIFY_SECONDS
        cached = _cache("get", cache_key(slug))
        if cached == NO_SUCH_STORY:
            _in_process[slug] = Remembered(now + DATABASE_ANSWER_SECONDS, None, 0.0)
            return None, False
        if not check_due and cached is not None and cached.revision >= at_least:
            state = cached
        if state is _MISSING:
            try:
                state = _load_and_heal(slug, cached)
            except DATABASE_ERRORS:
                # Database down: the cached state still answers. A reader
                # ahead of it is not proof of anything: asked to wait, not 503.
                if not isinstance(cached, LiveState):
                    raise
                state = cached
                _verified_at[slug] = now
                remember(state)
            else:
                checked = True
                if state is None:
                    return None, True
        else:
            remember(state)
    if state.next_due is not None and time.time() >= state.next_due:
        from coverage import publishing  # which refreshes this state on its writes

        publishing.release_due_updates(state.story_id)
        # Released here or by another process: either way the cache is behind.
        refresh(state.story_id)
        remembered = _in_process.get(slug)
        state = remembered.state if remembered and remembered.state else state
    return state, checked


def _answers(remembered: Remembered, at_least: int, now: float) -> bool:
    state = remembered.state
    if state is not None and state.revision >= at_least:
        return True
    # Unknown, or behind the reader: asked of the database at most once a second.
    return now - remembered.verified_at < DATABASE_ANSWER_SECONDS


def _load_and_heal(slug: str, cached=None) -> LiveState | None:
    """The state from the database; the shared cache is set to it where it
    held another (a lost write, a restore) and filled where it held none.
    ``cached``: what the shared cache held a moment ago."""
    now = time.monotonic()
    state = load(slug=slug)
    _verified_at[slug] = now
    key = cache_key(slug)
    if state is None:
        _in_process[slug] = Remembered(now + DATABASE_ANSWER_SECONDS, None, now)
        # add: a writer's fresh state, stored meanwhile, wins.
        _cache("add", key, NO_SUCH_STORY, NO_SUCH_STORY_SECONDS)
        return None
    state = _with_void(state)
    if cached is None:
        # add, not set: never overwrite a fresher state a writer just stored.
        stored = _cache("add", key, state, settings.LIVE_STATE_TTL, default=FAILED)
    elif cached != state:
        stored = _cache("set", key, state, settings.LIVE_STATE_TTL, default=FAILED)
    else:
        stored = True
    remember(state, verified=True, written_through=stored is not FAILED)
    return state


def _with_void(state: LiveState) -> LiveState:
    void = void_ranges(_cache("get", void_key(state.story_id)))
    return state._replace(void=void) if void else state


def void_ranges(stored) -> tuple[tuple[int, int], ...]:
    """The void ranges as stored; one bare (after, up to) pair is how they were
    kept before a story could have several."""
    if not stored:
        return ()
    if isinstance(stored[0], int):
        return (tuple(stored),)
    return tuple(tuple(pair) for pair in stored)


def remember(state: LiveState, *, verified=False, written_through=True) -> None:
    now = time.monotonic()
    # A state the cache did not take may already be older than what other
    # processes hold: keep it only as long as a database answer.
    lifetime = settings.LIVE_STATE_IN_PROCESS if written_through else DATABASE_ANSWER_SECONDS
    _in_process[state.slug] = Remembered(
        now + min(lifetime, settings.LIVE_STATE_IN_PROCESS), state, now if verified else 0.0
    )


def forget_in_process() -> None:
    _in_process.clear()
    _verified_at.clear()


def refresh(story_id: int) -> None:
    """After a write: the state from the database to the cache and this process.

    Runs on commit, inside the writer's request, so it never raises: the write
    is saved whatever happens here, and readers' checks heal a missed refresh.
    """
    try:
        state = load(pk=story_id)
    except Exception:
        log.exception("Could not reload story %s's live state after a write.", story_id)
        return
    if state is None:
        return
    state = _with_void(state)
    _verified_at[state.slug] = time.monotonic()
    stored = _cache("set", cache_key(state.slug), state, settings.LIVE_STATE_TTL, default=FAILED)
    if stored is FAILED:
        # Refusing writes (maxmemory, a read-only replica): at least drop the
        # old state, so that readers go to the database instead of trusting it.
        _cache("delete", cache_key(state.slug))
    else:
        _cache("set", high_water_key(story_id), state.revision, None)
        # Lists of stories (the home page) are cached until any story changes.
        _cache("set", STORIES_CHANGED_KEY, time.time_ns(), None)
    # Not "verified" for a reader ahead of it: that reader may have seen a
    # later write of another process, which only a query can tell.
    remember(state, written_through=stored is not FAILED)


def refresh_on_commit(story_id: int) -> None:
    transaction.on_commit(lambda: refresh(story_id))


def high_water(story_id: int) -> int:
    """The highest revision this story has shown readers, as far as the cache
    knows (0 if it does not). Outlives a database restore: see publishing."""
    return _cache("get", high_water_key(story_id)) or 0


def note_restore(story_id: int, restored: int, high_water: int) -> None:
    """Revisions (restored, high_water] went out before a restore: pages at them
    must reload, since the numbers will not come back with the same content.

    Added to the ranges of earlier restores as a union: revisions between two
    restores were published after the first and are in the second's backup,
    so pages at them stay valid."""
    ranges = sorted([*void_ranges(_cache("get", void_key(story_id))), (restored, high_water)])
    merged: list[tuple[int, int]] = []
    for after, up_to in ranges:
        if merged and after <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], up_to))
        else:
            merged.append((after, up_to))
    _cache("set", void_key(story_id), tuple(merged), None)
