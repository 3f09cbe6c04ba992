"""Embed cards: what an editor pastes (a link or a provider's embed code) as an Embed's fields.

A card is static and privacy-first: text, author, date and a link, rendered by
the site itself. No third-party script, iframe or image loads until the reader
asks (a video's player loads when they press Play). Pure functions: no network,
no database; only links rebuilt from validated http(s) URLs come out of here.

- recognisers.py: links, per provider (X, Bluesky, Mastodon, YouTube, ...).
- embed_code.py: embed codes (<blockquote …>, <iframe …>), read and thrown away.
- post_dates.py: a post's time, decoded from its id.
- players.py: the youtube-nocookie / Vimeo player a video card loads on Play.
- fields.py: EmbedFields and EmbedError, what all of them return or raise.
"""

from coverage.embeds.embed_code import read_embed_code
from coverage.embeds.fields import (
    EXPECTED,
    LINK,
    SOCIAL,
    SOCIAL_PROVIDERS,
    VIDEO,
    EmbedError,
    EmbedFields,
)
from coverage.embeds.players import VideoPlayer, video_player
from coverage.embeds.recognisers import clean_url, recognise_url

__all__ = [
    "LINK",
    "SOCIAL",
    "SOCIAL_PROVIDERS",
    "VIDEO",
    "EmbedError",
    "EmbedFields",
    "VideoPlayer",
    "clean_url",
    "read_embed_code",
    "recognise",
    "recognise_url",
    "video_player",
]

MAX_PASTE = 50_000


def recognise(pasted: str) -> EmbedFields:
    """The card for a pasted link or embed code; EmbedError says what was expected."""
    pasted = (pasted or "").strip()
    if not pasted:
        raise EmbedError(EXPECTED)
    if len(pasted) > MAX_PASTE:
        raise EmbedError(f"That is too long to be a link or an embed code. {EXPECTED}")
    if pasted.startswith("<"):
        return read_embed_code(pasted)
    return recognise_url(pasted)
