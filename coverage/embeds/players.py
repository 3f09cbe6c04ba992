"""The video player a card loads when the reader presses Play: YouTube or Vimeo only.

These two hosts are the only frames the Content Security Policy allows
(frame-src in settings.SECURE_CSP); nothing else ever plays inline.
"""

from typing import NamedTuple
from urllib.parse import urlencode, urlsplit

from coverage.embeds.recognisers import bare_host, vimeo_video, youtube_video

YOUTUBE_PLAYER = "https://www.youtube-nocookie.com"
VIMEO_PLAYER = "https://player.vimeo.com"


class VideoPlayer(NamedTuple):
    """A privacy-friendly player: loaded only when the reader presses Play."""

    url: str
    provider: str
    portrait: bool = False


def video_player(url: str) -> VideoPlayer | None:
    """The privacy-friendly player for a YouTube or Vimeo link, or None.

    youtube-nocookie.com sets no cookies until the video plays; Vimeo's dnt=1
    turns its tracking off. Built from the video's id only, never from the
    stored URL's text.
    """
    try:
        parts = urlsplit(url or "")
    except ValueError:
        return None
    if parts.scheme not in ("http", "https"):
        return None
    host = bare_host(parts.hostname or "")
    youtube = youtube_video(parts, host)
    if youtube:
        video_id, start, shorts = youtube
        query = urlencode({"autoplay": 1, **({"start": start} if start else {})})
        return VideoPlayer(f"{YOUTUBE_PLAYER}/embed/{video_id}?{query}", "YouTube", shorts)
    vimeo = vimeo_video(parts, host)
    if vimeo:
        video_id, unlisted_hash, start = vimeo
        query = urlencode({**({"h": unlisted_hash} if unlisted_hash else {}), "dnt": 1})
        fragment = f"#t={start}s" if start else ""
        return VideoPlayer(f"{VIMEO_PLAYER}/video/{video_id}?{query}&autoplay=1{fragment}", "Vimeo")
    return None
