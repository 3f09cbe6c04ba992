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


class LiveState(NamedTuple):
    story_id: int
    slug: str
    revision: int
    status: str
    # When the next scheduled update falls due (Unix time), so that its
    # arrival costs no query until then.
    next_due: float | None = None
    # Revisions (after, up to] handed out before a database restore and reused
    # by nothing since: a page at one of them may show what the restore removed.
    void: tuple[int, int] | None = None
    # How often the desk wants open pages to poll (Story.PollMode): every poll
    # answer, the idle 204 included, tells the page without a query.
    poll_mode: str = "normal"

    @property
    def is_live(self) -> bool:
        return self.status == "live"

    def is_void(self, since: int) -> bool:
        return self.void is not None and self.void[0] < since <= self.void[1]


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


_in_process: dict[str, Remembered] = {}
_verified_at: dict[str, float] = {}


def get(slug: str, at_least: int = 0) -> LiveState | None:
    """The story's live state: from this process's memory, else the shared cache,
    else the database, going on to the next while the state found is older than
    revision ``at_least`` (a reader who saw a newer state elsewhere) — but to
    the database at most once a second per story (see get_checked)."""
    return get_checked(slug, at_least)[0]


def get_checked(slug: str, at_least: int = 0) -> tuple[LiveState | None, bool]:
    """get(), and whether the database was asked just now: a state still older
    than ``at_least`` is only then proof that the reader is ahead of the story."""
    now = time.monotonic()
    checked = False
    remembered = _in_process.get(slug)
    if remembered and remembered.good_until > now and _answers(remembered, at_least, now):
        state = remembered.state
        if state is None:
            return None, False
    else:
        state = _MISSING
        check_due = now - _verified_at.get(slug, 0.0) >= settings.LIVE_STATE_VERIFY_SECONDS
        if not check_due:
            state = _cache("get", cache_key(slug)) or _MISSING
            if state is not _MISSING and state.revision < at_least:
                state = _MISSING
        if state is _MISSING:
            try:
                state = _load_and_heal(slug)
            except DATABASE_ERRORS:
                # Database down: a due check can wait; the cached state still answers.
                state = _cache("get", cache_key(slug)) if check_due else None
                if state is None or state.revision < at_least:
                    raise
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
        state = _in_process[slug].state if slug in _in_process else state
    return state, checked


def _answers(remembered: Remembered, at_least: int, now: float) -> bool:
    state = remembered.state
    if state is not None and state.revision >= at_least:
        return True
    # Unknown, or behind the reader: asked of the database at most once a second.
    return now - remembered.verified_at < DATABASE_ANSWER_SECONDS


def _load_and_heal(slug: str) -> LiveState | None:
    """The state from the database; the shared cache is set to it where it
    held another (a lost write, a restore) and filled where it held none."""
    now = time.monotonic()
    state = load(slug=slug)
    _verified_at[slug] = now
    if state is None:
        _in_process[slug] = Remembered(now + DATABASE_ANSWER_SECONDS, None, now)
        return None
    state = _with_void(state)
    key = cache_key(slug)
    cached = _cache("get", key)
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
    void = _cache("get", void_key(state.story_id))
    return state._replace(void=tuple(void)) if void else state


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
    must reload, since the numbers will not come back with the same content."""
    previous = _cache("get", void_key(story_id))
    if previous:
        restored, high_water = min(restored, previous[0]), max(high_water, previous[1])
    _cache("set", void_key(story_id), (restored, high_water), None)
