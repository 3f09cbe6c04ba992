"""Roughly how many readers follow a story, from the polls of their open pages.

A reader's poll carries no cookie and no id, and must stay free of queries and
cache round trips (see coverage.live), so readers are not told apart: each
process counts the polls it answers per story in memory, and at most every
AUDIENCE_FLUSH_SECONDS the request that finds the flush due adds those counts
to the shared cache, one key per story and time window (add, else incr).
Every process adds to the same keys, so a key holds the whole site's polls of
that window. An open, visible page polls once per poll interval, so

    readers ≈ polls in the last whole window × poll interval / window.

What is counted: poll requests that reach the app for a public story. A page
load is not a poll (a page's first poll comes one interval after it loads), so
a reader is never counted twice for opening the page. The README's "Readers
now" says where the estimate goes wrong.
"""

import time

from django.conf import settings

from coverage import live
from coverage.bounded import BoundedDict

# Wall-clock seconds (shared by every process: windows must line up); tests set it.
clock = time.time

# Polls not yet sent to the cache: {(story id, window number): polls}. A rare
# lost increment between threads (get, then set) is noise next to the
# estimate's own error. Counted for public stories only, and emptied every
# flush; bounded all the same, like every map in a process.
_pending = BoundedDict(live.MAX_REMEMBERED)
_flush_due = 0.0


def window_key(story_id: int, window: int) -> str:
    return f"audience:{story_id}:{window}"


def _window(now: float) -> int:
    return int(now // settings.AUDIENCE_WINDOW_SECONDS)


def count_poll(story_id: int) -> None:
    """Count one reader poll: memory only, except on the request that finds a flush due."""
    now = clock()
    key = (story_id, _window(now))
    _pending[key] = _pending.get(key, 0) + 1
    if now >= _flush_due:
        flush(now)


def flush(now: float | None = None) -> None:
    """Add this process's pending counts to the shared cache, one call or two per
    story and window. A failing cache loses them: a count is not worth a retry."""
    global _pending, _flush_due
    now = clock() if now is None else now
    _flush_due = now + settings.AUDIENCE_FLUSH_SECONDS
    pending, _pending = _pending, BoundedDict(live.MAX_REMEMBERED)
    # Kept a little past the window the desk reads, whatever the flush pace.
    ttl = 3 * settings.AUDIENCE_WINDOW_SECONDS
    for (story_id, window), polls in pending.items():
        key = window_key(story_id, window)
        # add is one round trip and succeeds for a window's first flush; later
        # ones find the key and increment it (Redis's INCRBY: atomic across processes).
        if live._cache("add", key, polls, ttl, default=None) is False:
            live._cache("incr", key, polls)


def readers(story_id: int, poll_seconds: float) -> int | None:
    """Readers estimated from the last whole window's polls (one cache read), or
    None when the cache cannot say. ``poll_seconds``: the story's poll interval."""
    window = _window(clock()) - 1
    polls = live._cache("get", window_key(story_id, window), default=live.FAILED)
    if polls is live.FAILED:
        return None
    # This process's own counts not yet flushed belong to the same window.
    polls = (polls or 0) + _pending.get((story_id, window), 0)
    return round(polls * poll_seconds / settings.AUDIENCE_WINDOW_SECONDS)


def forget_in_process() -> None:
    global _pending, _flush_due
    _pending = BoundedDict(live.MAX_REMEMBERED)
    _flush_due = 0.0
