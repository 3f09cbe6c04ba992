"""Each story's live state, kept in the cache so that "nothing new" costs no query.

The state is the story's id, current revision and status. Writers refresh it
right after their transaction commits; readers fall back to one query when it
is missing or expired (see LIVE_STATE_TTL in settings for the trade-off).
"""

from typing import NamedTuple

from django.apps import apps
from django.conf import settings
from django.core.cache import cache
from django.db import transaction


class LiveState(NamedTuple):
    story_id: int
    slug: str
    revision: int
    status: str

    @property
    def is_live(self) -> bool:
        return self.status == "live"


def cache_key(slug: str) -> str:
    return f"live-state:{slug}"


def load(**lookup) -> LiveState | None:
    Story = apps.get_model("coverage", "Story")
    row = Story.objects.filter(**lookup).values_list("id", "slug", "revision", "status").first()
    return LiveState(*row) if row else None


def get(slug: str) -> LiveState | None:
    """The story's live state, from the cache when possible."""
    key = cache_key(slug)
    state = cache.get(key)
    if state is None:
        state = load(slug=slug)
        if state is not None:
            # add, not set: never overwrite a fresher state a writer just stored.
            cache.add(key, state, settings.LIVE_STATE_TTL)
    return state


def refresh(story_id: int) -> None:
    state = load(pk=story_id)
    if state is not None:
        cache.set(cache_key(state.slug), state, settings.LIVE_STATE_TTL)


def refresh_on_commit(story_id: int) -> None:
    transaction.on_commit(lambda: refresh(story_id))
