"""Each story's live state, kept in the cache so that "nothing new" costs no query.

The state is the story's id, current revision and status. Writers refresh it
right after their transaction commits; readers fall back to one query when it
is missing or expired (see LIVE_STATE_TTL in settings for the trade-off).
"""

import time
from typing import NamedTuple

from django.apps import apps
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
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

    @property
    def is_live(self) -> bool:
        return self.status == "live"


def cache_key(slug: str) -> str:
    return f"live-state:{slug}"


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
        .values_list("id", "slug", "revision", "status", "next_due")
        .first()
    )
    if row is None:
        return None
    *fields, due = row
    return LiveState(*fields, next_due=due.timestamp() if due else None)


# A copy of recent states in this process's memory, so most polls skip even the
# cache's network round trip: {slug: (good until, by time.monotonic(), state)}.
_in_process: dict[str, tuple[float, LiveState]] = {}


def get(slug: str, at_least: int = 0) -> LiveState | None:
    """The story's live state: from this process's memory, else the shared cache,
    else the database, going on to the next while the state found is older than
    revision ``at_least`` (a reader who saw a newer state elsewhere)."""
    now = time.monotonic()
    remembered = _in_process.get(slug)
    if remembered and remembered[0] > now and remembered[1].revision >= at_least:
        state = remembered[1]
    else:
        key = cache_key(slug)
        state = cache.get(key)
        if state is None or state.revision < at_least:
            state = load(slug=slug)
            if state is None:
                return None
            # add, not set: never overwrite a fresher state a writer just stored.
            cache.add(key, state, settings.LIVE_STATE_TTL)
        remember(state)
    if state.next_due is not None and time.time() >= state.next_due:
        from coverage import publishing  # which refreshes this state on its writes

        publishing.release_due_updates(state.story_id)
        # Released here or by another process: either way the cache is behind.
        refresh(state.story_id)
        state = _in_process.get(slug, (0, state))[1]
    return state


def remember(state: LiveState) -> None:
    _in_process[state.slug] = (time.monotonic() + settings.LIVE_STATE_IN_PROCESS, state)


def forget_in_process() -> None:
    _in_process.clear()


def refresh(story_id: int) -> None:
    state = load(pk=story_id)
    if state is not None:
        cache.set(cache_key(state.slug), state, settings.LIVE_STATE_TTL)
        remember(state)


def refresh_on_commit(story_id: int) -> None:
    transaction.on_commit(lambda: refresh(story_id))
