"""What every part of the package hands back: a card's fields, or an error saying why not."""

import datetime as dt
from dataclasses import asdict, dataclass

# The model's kinds, as plain strings so this package needs no app registry.
SOCIAL, VIDEO, LINK = "social", "video", "link"

# Providers whose posts are social posts (a card with author, handle and text).
SOCIAL_PROVIDERS = {"X", "Bluesky", "Mastodon", "Threads", "Instagram", "Facebook", "TikTok"}

EXPECTED = (
    "Expected a link starting https:// (a post, video or page), "
    "or the embed code a site gives under “Embed” (<blockquote …> or <iframe …>)."
)


class EmbedError(ValueError):
    """The paste cannot become a card; the message says what was expected."""


@dataclass
class EmbedFields:
    kind: str
    url: str
    provider: str = ""
    title: str = ""
    author_name: str = ""
    author_handle: str = ""
    text: str = ""
    posted_at: dt.datetime | None = None

    def as_dict(self) -> dict:
        return asdict(self)
