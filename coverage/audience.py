"""Roughly how many readers follow a story, from the polls of their open pages.

A reader's poll carries no cookie and no id, and must stay free of queries and
cache round trips (see coverage.live), so readers are not told apart: each
process counts the polls it answers per story in memory, and at most every
AUDIENCE_FLUSH_SECONDS the request that finds the flush due adds those counts
to the shared cache, one key per story and time window (add, else incr).
Every process adds to the same keys, so a key holds the whole site's polls of
that window. An open, visible page polls once per poll interval, so each poll
stands for that many seconds of reading, and

    readers ≈ seconds of reading counted in the last whole window / window.

Each poll is weighed when it is counted, at the interval its page was polling
at: a page at the story's revision was told the current interval; a page
behind it has not yet heard of the latest change (End coverage, a new poll
mode) and still polls at the pace it was told before, the live pace. Weighing
at read time with the current interval made an ended story's desk multiply a
window of 10 s polls by 300 s.

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

# Polls not yet sent to the cache: {(story id, window number): seconds of reading}.
# A rare lost increment between threads (get, then set) is noise next to the
# estimate's own error. Counted for public stories only, and emptied every
# flush; bounded all the same, like every map in a process.
_pending = BoundedDict(live.MAX_REMEMBERED)
_flush_due = 0.0


def window_key(story_id: int, window: int) -> str:
    return f"audience:{story_id}:{window}"


def _window(now: float) -> int:
    return int(now // settings.AUDIENCE_WINDOW_SECONDS)


def count_poll(story_id: int, seconds: int) -> None:
    """Count one reader poll, standing for ``seconds`` of reading (the interval
    its page polls at): memory only, except on the request that finds a flush due."""
    now = clock()
    key = (story_id, _window(now))
    _pending[key] = _pending.get(key, 0) + seconds
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
    for (story_id, window), seconds in pending.items():
        key = window_key(story_id, window)
        # add is one round trip and succeeds for a window's first flush; later
        # ones find the key and increment it (Redis's INCRBY: atomic across processes).
        if live._cache("add", key, seconds, ttl, default=None) is False:
            live._cache("incr", key, seconds)


def readers(story_id: int) -> int | None:
    """Readers estimated from the last whole window's polls (one cache read), or
    None when the cache cannot say."""
    window = _window(clock()) - 1
    seconds = live._cache("get", window_key(story_id, window), default=live.FAILED)
    if seconds is live.FAILED:
        return None
    # This process's own counts not yet flushed belong to the same window.
    seconds = (seconds or 0) + _pending.get((story_id, window), 0)
    return round(seconds / settings.AUDIENCE_WINDOW_SECONDS)


def forget_in_process() -> None:
    global _pending, _flush_due
    _pending = BoundedDict(live.MAX_REMEMBERED)
    _flush_due = 0.0
