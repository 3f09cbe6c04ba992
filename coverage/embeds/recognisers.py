"""Links as cards: each provider's URL shapes, recognised and rebuilt from their ids.

A link is validated (http(s) only, a real host, no user@), then each recogniser
tries it in turn; whatever no provider claims becomes a plain link card. Only
URLs rebuilt here (tracking parameters dropped) are ever stored.
"""

import re
from urllib.parse import SplitResult, parse_qs, urlencode, urlsplit, urlunsplit

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from coverage.embeds.fields import EXPECTED, LINK, SOCIAL, VIDEO, EmbedError, EmbedFields
from coverage.embeds.post_dates import mastodon_time, snowflake_time, tid_time, tiktok_time

MAX_URL = 2000  # the model's column size

_web_url = URLValidator(schemes=["http", "https"])
# "youtu.be/abc" or "www.example.com/page": a link without its https://.
_BARE_HOST = re.compile(r"^(?:[a-z0-9-]+\.)+[a-z]{2,}(?:[/?#:]|$)", re.IGNORECASE)
_SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*):", re.IGNORECASE)


def clean_url(raw: str) -> str:
    """An http(s) URL with a lower-case ASCII host (so cards show the real host)."""
    url = raw.strip()
    if len(url) > MAX_URL:
        raise EmbedError("That link is too long (at most 2,000 characters).")
    if _BARE_HOST.match(url):
        url = "https://" + url
    scheme = _SCHEME.match(url)
    if not scheme:
        raise EmbedError(EXPECTED)
    if scheme.group(1).lower() not in ("http", "https"):
        raise EmbedError(
            f"Links must start with https:// or http://, not “{scheme.group(1)[:20]}:”. {EXPECTED}"
        )
    try:
        _web_url(url)
        parts = urlsplit(url)
        port = parts.port
        # Unicode look-alike hosts are shown as what they really are (xn--…).
        host = (parts.hostname or "").encode("idna").decode("ascii")
    except (ValidationError, ValueError, UnicodeError):
        raise EmbedError(f"That is not a valid web link. {EXPECTED}") from None
    if parts.username is not None or parts.password is not None:
        raise EmbedError(
            "Links with a user name or password before the host (user@host) are not "
            "accepted: they hide where the link goes. Paste the plain https:// link."
        )
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port is None else f"{host}:{port}"
    url = urlunsplit((parts.scheme.lower(), netloc, parts.path, parts.query, parts.fragment))
    if len(url) > MAX_URL:
        raise EmbedError("That link is too long (at most 2,000 characters).")
    return url


def recognise_url(raw: str) -> EmbedFields:
    url = clean_url(raw)
    parts = urlsplit(url)
    host = bare_host(parts.hostname or "")
    for recogniser in _RECOGNISERS:
        fields = recogniser(parts, host)
        if fields is not None:
            return fields
    return EmbedFields(kind=LINK, url=url)


def bare_host(host: str) -> str:
    """The host without www., m. or mobile.: the recognisers match the provider's name."""
    for prefix in ("www.", "m.", "mobile."):
        if host.startswith(prefix):
            return host[len(prefix) :]
    return host


def query_params(parts: SplitResult) -> dict[str, str]:
    """Each query parameter's first value."""
    return {key: values[0] for key, values in parse_qs(parts.query).items()}


def _x(parts, host):
    if host not in ("x.com", "twitter.com"):
        return None
    match = re.fullmatch(
        r"/(?:i/web/|i/|(?P<user>[A-Za-z0-9_]{1,15})/)status(?:es)?/(?P<id>\d{1,20})(?:/.*)?",
        parts.path,
    )
    if not match:
        return None
    user, status_id = match["user"], match["id"]
    # Tracking parameters (?s=20&t=…) are dropped: the link says which post, nothing more.
    path = f"/{user}/status/{status_id}" if user else f"/i/web/status/{status_id}"
    return EmbedFields(
        kind=SOCIAL,
        url=f"https://x.com{path}",
        provider="X",
        author_handle=f"@{user}" if user else "",
        posted_at=snowflake_time(int(status_id)),
    )


def _bluesky(parts, host):
    if host != "bsky.app":
        return None
    match = re.fullmatch(
        r"/profile/(?P<actor>[A-Za-z0-9._:%-]{1,253})/post/(?P<rkey>[A-Za-z0-9._~:-]{1,512})/?",
        parts.path,
    )
    if not match:
        return None
    actor, rkey = match["actor"], match["rkey"]
    return EmbedFields(
        kind=SOCIAL,
        url=f"https://bsky.app/profile/{actor}/post/{rkey}",
        provider="Bluesky",
        # A DID (did:plc:…) is an id, not a handle a reader would recognise.
        author_handle="" if actor.startswith("did:") else f"@{actor}",
        posted_at=tid_time(rkey),
    )


def _threads(parts, host):
    if host not in ("threads.net", "threads.com"):
        return None
    match = re.fullmatch(
        r"/@(?P<user>[A-Za-z0-9._]{1,30})/post/(?P<code>[A-Za-z0-9_-]{5,})/?", parts.path
    )
    if not match:
        return None
    return EmbedFields(
        kind=SOCIAL,
        url=f"https://www.{host}/@{match['user']}/post/{match['code']}",
        provider="Threads",
        author_handle=f"@{match['user']}",
    )


def _instagram(parts, host):
    if host not in ("instagram.com", "instagr.am"):
        return None
    match = re.fullmatch(
        r"/(?:(?P<user>[A-Za-z0-9._]{1,30})/)?(?P<type>p|reels?|tv)/(?P<code>[A-Za-z0-9_-]{5,})/?",
        parts.path,
    )
    if not match:
        return None
    is_video = match["type"] != "p"
    kind_path = "reel" if is_video else "p"
    return EmbedFields(
        kind=VIDEO if is_video else SOCIAL,
        url=f"https://www.instagram.com/{kind_path}/{match['code']}/",
        provider="Instagram",
        author_handle=f"@{match['user']}" if match["user"] else "",
    )


# Facebook's permalinks: (path pattern, query keys that identify the post, kind).
_FACEBOOK_SHAPES = [
    (r"/[A-Za-z0-9.\-]+/posts/[A-Za-z0-9]+/?", (), SOCIAL),
    (r"/groups/[A-Za-z0-9.\-]+/(?:posts|permalink)/\d+/?", (), SOCIAL),
    (r"/[A-Za-z0-9.\-]+/photos/[A-Za-z0-9.\-/]+", (), SOCIAL),
    (r"/(?:permalink|story)\.php", ("story_fbid", "id"), SOCIAL),
    (r"/photo(?:\.php|/)?", ("fbid",), SOCIAL),
    (r"/share/p/[A-Za-z0-9]+/?", (), SOCIAL),
    (r"/[A-Za-z0-9.\-]+/videos/(?:[A-Za-z0-9.\-]+/)?\d+/?", (), VIDEO),
    (r"/watch/?", ("v",), VIDEO),
    (r"/reel/\d+/?", (), VIDEO),
    (r"/share/[rv]/[A-Za-z0-9]+/?", (), VIDEO),
]


def _facebook(parts, host):
    if host == "fb.watch":
        if re.fullmatch(r"/[A-Za-z0-9_-]{4,}/?", parts.path):
            return EmbedFields(kind=VIDEO, url=_without_query(parts), provider="Facebook")
        return None
    if host not in ("facebook.com", "fb.com", "web.facebook.com"):
        return None
    query = query_params(parts)
    for pattern, keys, kind in _FACEBOOK_SHAPES:
        # The first query key names the post: without it the link is no post.
        if re.fullmatch(pattern, parts.path) and all(query.get(key) for key in keys[:1]):
            # Only the parameters that name the post; Facebook's trackers are dropped.
            kept = urlencode({key: query[key] for key in keys if key in query})
            url = urlunsplit(("https", "www.facebook.com", parts.path, kept, ""))
            return EmbedFields(kind=kind, url=url, provider="Facebook")
    return None


def _tiktok(parts, host):
    if host in ("vm.tiktok.com", "vt.tiktok.com"):
        if re.fullmatch(r"/[A-Za-z0-9]{5,}/?", parts.path):
            return EmbedFields(kind=VIDEO, url=_without_query(parts), provider="TikTok")
        return None
    if host != "tiktok.com":
        return None
    match = re.fullmatch(
        r"/@(?P<user>[A-Za-z0-9._]{1,24})/(?P<type>video|photo)/(?P<id>\d{1,20})/?", parts.path
    )
    if match:
        return EmbedFields(
            kind=VIDEO if match["type"] == "video" else SOCIAL,
            url=f"https://www.tiktok.com/@{match['user']}/{match['type']}/{match['id']}",
            provider="TikTok",
            author_handle=f"@{match['user']}",
            posted_at=tiktok_time(int(match["id"])),
        )
    if re.fullmatch(r"/(?:t/[A-Za-z0-9]{5,}|embed(?:/v2)?/\d{1,20})/?", parts.path):
        return EmbedFields(kind=VIDEO, url=_without_query(parts), provider="TikTok")
    return None


_YOUTUBE_HOSTS = {"youtube.com", "music.youtube.com", "youtube-nocookie.com", "youtu.be"}
_YOUTUBE_ID = r"[A-Za-z0-9_-]{11}"


def youtube_video(parts, host) -> tuple[str, int, bool] | None:
    """(video id, start second, is a Short) for any YouTube video link shape."""
    if host not in _YOUTUBE_HOSTS:
        return None
    query = query_params(parts)
    shorts = False
    if host == "youtu.be":
        match = re.fullmatch(rf"/({_YOUTUBE_ID})/?", parts.path)
        video_id = match and match[1]
    elif parts.path in ("/watch", "/watch/"):
        video_id = query.get("v", "")
        video_id = video_id if re.fullmatch(_YOUTUBE_ID, video_id) else None
    else:
        match = re.fullmatch(rf"/(shorts|embed|live|v|e)/({_YOUTUBE_ID})/?", parts.path)
        video_id = match and match[2]
        shorts = bool(match) and match[1] == "shorts"
    if not video_id:
        return None
    fragment = dict(item.partition("=")[::2] for item in parts.fragment.split("&"))
    raw_start = query.get("t") or query.get("start") or fragment.get("t") or ""
    return video_id, _seconds(raw_start), shorts


def _youtube(parts, host):
    video = youtube_video(parts, host)
    if not video:
        return None
    video_id, start, shorts = video
    if shorts:
        url = f"https://www.youtube.com/shorts/{video_id}"
    else:
        url = f"https://www.youtube.com/watch?v={video_id}" + (f"&t={start}s" if start else "")
    return EmbedFields(kind=VIDEO, url=url, provider="YouTube")


def vimeo_video(parts, host) -> tuple[str, str, int] | None:
    """(video id, unlisted hash, start second) for any Vimeo video link shape."""
    if host == "player.vimeo.com":
        match = re.fullmatch(r"/video/(\d{1,12})/?()", parts.path)
    elif host == "vimeo.com":
        match = re.fullmatch(
            r"/(?:channels/[\w-]+/|groups/[\w-]+/videos/|(?:album|showcase)/\d+/video/|video/)?"
            r"(\d{1,12})(?:/([0-9a-f]{6,20}))?/?",
            parts.path,
        )
    else:
        return None
    if not match:
        return None
    unlisted_hash = match[2] or query_params(parts).get("h", "")
    if not re.fullmatch(r"[0-9a-f]{0,20}", unlisted_hash):
        unlisted_hash = ""
    fragment = dict(item.partition("=")[::2] for item in parts.fragment.split("&"))
    return match[1], unlisted_hash, _seconds(fragment.get("t", ""))


def _vimeo(parts, host):
    video = vimeo_video(parts, host)
    if not video:
        return None
    video_id, unlisted_hash, start = video
    url = f"https://vimeo.com/{video_id}" + (f"/{unlisted_hash}" if unlisted_hash else "")
    return EmbedFields(kind=VIDEO, url=url + (f"#t={start}s" if start else ""), provider="Vimeo")


def _mastodon(parts, host):
    """Any instance: https://host/@user/123 (or @user@elsewhere, or /users/user/statuses/123)."""
    match = re.fullmatch(
        r"/@(?P<user>[A-Za-z0-9_]{1,30})(?:@(?P<domain>[A-Za-z0-9.-]{1,253}))?/(?P<id>\d{1,20})"
        r"(?:/embed)?/?",
        parts.path,
    ) or re.fullmatch(
        r"/users/(?P<user>[A-Za-z0-9_]{1,30})/statuses/(?P<id>\d{1,20})/?", parts.path
    )
    if not match:
        return None
    user, status_id = match["user"], match["id"]
    domain = match.groupdict().get("domain")
    account = f"{user}@{domain}" if domain else user
    return EmbedFields(
        kind=SOCIAL,
        url=urlunsplit((parts.scheme, parts.netloc, f"/@{account}/{status_id}", "", "")),
        provider="Mastodon",
        author_handle=f"@{user}@{domain or parts.hostname}",
        posted_at=mastodon_time(int(status_id)),
    )


# Specific hosts first: the Mastodon shape (/@user/123) could match any host.
_RECOGNISERS = [_x, _bluesky, _threads, _instagram, _facebook, _tiktok, _youtube, _vimeo, _mastodon]


def _without_query(parts: SplitResult) -> str:
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def _seconds(raw: str) -> int:
    """'90', '90s', '1m30s', '1h2m3s' as seconds; 0 for anything else."""
    raw = raw.strip().lower()
    if raw.isdigit():
        return int(raw)
    match = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?", raw)
    if not match or not raw:
        return 0
    hours, minutes, seconds = (int(group or 0) for group in match.groups())
    return hours * 3600 + minutes * 60 + seconds
