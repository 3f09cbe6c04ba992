"""When a post was made, read from its id: no network needed to date a card.

X, Mastodon, TikTok and Bluesky put the creation time in their post ids. An id
that decodes to a time before its scheme began (or in the future) is not such an
id: the card is then left undated rather than dated wrongly.
"""

import datetime as dt
import re


def _plausible(moment: dt.datetime, earliest: dt.datetime) -> dt.datetime | None:
    """Ids from before a scheme began (or from the future) decode to nonsense: None."""
    latest = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    return moment.replace(microsecond=0) if earliest <= moment <= latest else None


def _from_ms(ms: int, earliest: dt.datetime) -> dt.datetime | None:
    try:
        moment = dt.datetime.fromtimestamp(ms / 1000, dt.UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return _plausible(moment, earliest)


def snowflake_time(status_id: int) -> dt.datetime | None:
    """X ids since November 2010 carry their creation time (ms since X's epoch)."""
    return _from_ms((status_id >> 22) + 1288834974657, dt.datetime(2010, 11, 5, tzinfo=dt.UTC))


def mastodon_time(status_id: int) -> dt.datetime | None:
    """Mastodon ids (since 2.0) carry their creation time in the top 48 bits."""
    return _from_ms(status_id >> 16, dt.datetime(2017, 1, 1, tzinfo=dt.UTC))


def tiktok_time(video_id: int) -> dt.datetime | None:
    """TikTok ids carry their creation time (seconds) in the top 32 bits."""
    return _from_ms((video_id >> 32) * 1000, dt.datetime(2016, 9, 1, tzinfo=dt.UTC))


_TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"


def tid_time(rkey: str) -> dt.datetime | None:
    """A Bluesky post key is a TID: microseconds since 1970 in its top 53 bits."""
    if not re.fullmatch(r"[2-7a-j][2-7a-z]{12}", rkey):
        return None
    value = 0
    for char in rkey:
        value = value * 32 + _TID_ALPHABET.index(char)
    return _from_ms((value >> 10) // 1000, dt.datetime(2023, 1, 1, tzinfo=dt.UTC))
