"""Recognise what an editor pastes, a link or a provider's embed code, as an Embed's fields.

Pure functions: no network, no database. An embed code is read for its text,
author, date and link, then thrown away: its HTML is never stored or rendered.
Only links rebuilt from validated http(s) URLs come out of here.
"""

import datetime as dt
import re
from dataclasses import asdict, dataclass
from html.parser import HTMLParser
from typing import NamedTuple
from urllib.parse import SplitResult, parse_qs, urlencode, urlsplit, urlunsplit

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

# The model's kinds, as plain strings so this module needs no app registry.
SOCIAL, VIDEO, LINK = "social", "video", "link"

# Providers whose posts are social posts (a card with author, handle and text).
SOCIAL_PROVIDERS = {"X", "Bluesky", "Mastodon", "Threads", "Instagram", "Facebook", "TikTok"}

MAX_PASTE = 50_000
# The model's column sizes: text read from a paste is cut to fit rather than failing the form.
MAX_URL = 2000
TEXT_LENGTHS = {"provider": 60, "title": 300, "author_name": 200, "author_handle": 200}

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


class VideoPlayer(NamedTuple):
    """A privacy-friendly player: loaded only when the reader presses Play."""

    url: str
    provider: str
    portrait: bool = False


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


# Links --------------------------------------------------------------------------

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
    host = _bare_host(parts.hostname or "")
    for recogniser in _RECOGNISERS:
        fields = recogniser(parts, host)
        if fields is not None:
            return fields
    return EmbedFields(kind=LINK, url=url)


def _bare_host(host: str) -> str:
    for prefix in ("www.", "m.", "mobile."):
        if host.startswith(prefix):
            return host[len(prefix) :]
    return host


def _query(parts: SplitResult) -> dict[str, str]:
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
        posted_at=_snowflake_time(int(status_id)),
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
        posted_at=_tid_time(rkey),
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
    query = _query(parts)
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
            posted_at=_tiktok_time(int(match["id"])),
        )
    if re.fullmatch(r"/(?:t/[A-Za-z0-9]{5,}|embed(?:/v2)?/\d{1,20})/?", parts.path):
        return EmbedFields(kind=VIDEO, url=_without_query(parts), provider="TikTok")
    return None


_YOUTUBE_HOSTS = {"youtube.com", "music.youtube.com", "youtube-nocookie.com", "youtu.be"}
_YOUTUBE_ID = r"[A-Za-z0-9_-]{11}"


def _youtube_video(parts, host) -> tuple[str, int, bool] | None:
    """(video id, start second, is a Short) for any YouTube video link shape."""
    if host not in _YOUTUBE_HOSTS:
        return None
    query = _query(parts)
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
    video = _youtube_video(parts, host)
    if not video:
        return None
    video_id, start, shorts = video
    if shorts:
        url = f"https://www.youtube.com/shorts/{video_id}"
    else:
        url = f"https://www.youtube.com/watch?v={video_id}" + (f"&t={start}s" if start else "")
    return EmbedFields(kind=VIDEO, url=url, provider="YouTube")


def _vimeo_video(parts, host) -> tuple[str, str, int] | None:
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
    unlisted_hash = match[2] or _query(parts).get("h", "")
    if not re.fullmatch(r"[0-9a-f]{0,20}", unlisted_hash):
        unlisted_hash = ""
    fragment = dict(item.partition("=")[::2] for item in parts.fragment.split("&"))
    return match[1], unlisted_hash, _seconds(fragment.get("t", ""))


def _vimeo(parts, host):
    video = _vimeo_video(parts, host)
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
        posted_at=_mastodon_time(int(status_id)),
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


# Video players --------------------------------------------------------------------

YOUTUBE_PLAYER = "https://www.youtube-nocookie.com"
VIMEO_PLAYER = "https://player.vimeo.com"


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
    host = _bare_host(parts.hostname or "")
    youtube = _youtube_video(parts, host)
    if youtube:
        video_id, start, shorts = youtube
        query = urlencode({"autoplay": 1, **({"start": start} if start else {})})
        return VideoPlayer(f"{YOUTUBE_PLAYER}/embed/{video_id}?{query}", "YouTube", shorts)
    vimeo = _vimeo_video(parts, host)
    if vimeo:
        video_id, unlisted_hash, start = vimeo
        query = urlencode({**({"h": unlisted_hash} if unlisted_hash else {}), "dnt": 1})
        fragment = f"#t={start}s" if start else ""
        return VideoPlayer(f"{VIMEO_PLAYER}/video/{video_id}?{query}&autoplay=1{fragment}", "Vimeo")
    return None


# Dates hidden in post ids -------------------------------------------------------------


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


def _snowflake_time(status_id: int) -> dt.datetime | None:
    """X ids since November 2010 carry their creation time (ms since X's epoch)."""
    return _from_ms((status_id >> 22) + 1288834974657, dt.datetime(2010, 11, 5, tzinfo=dt.UTC))


def _mastodon_time(status_id: int) -> dt.datetime | None:
    """Mastodon ids (since 2.0) carry their creation time in the top 48 bits."""
    return _from_ms(status_id >> 16, dt.datetime(2017, 1, 1, tzinfo=dt.UTC))


def _tiktok_time(video_id: int) -> dt.datetime | None:
    return _from_ms((video_id >> 32) * 1000, dt.datetime(2016, 9, 1, tzinfo=dt.UTC))


_TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"


def _tid_time(rkey: str) -> dt.datetime | None:
    """A Bluesky post key is a TID: microseconds since 1970 in its top 53 bits."""
    if not re.fullmatch(r"[2-7a-j][2-7a-z]{12}", rkey):
        return None
    value = 0
    for char in rkey:
        value = value * 32 + _TID_ALPHABET.index(char)
    return _from_ms((value >> 10) // 1000, dt.datetime(2023, 1, 1, tzinfo=dt.UTC))


# Embed codes ------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def plain(text: str) -> str:
    """Text as a card shows it: no control characters, single spaces, trimmed lines."""
    text = _CONTROL.sub("", text or "").replace("\r\n", "\n").replace("\xa0", " ")
    lines = (re.sub(r"[ \t]+", " ", line).strip() for line in text.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


class _Snippet(HTMLParser):
    """What an embed code says, as plain text and links. Markup is read, never kept."""

    SKIPPED = {"script", "style", "svg", "template", "noscript", "iframe", "object"}
    VOID = {"br", "img", "hr", "input", "meta", "link", "source", "wbr", "area", "col", "embed"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root: tuple[str, dict] | None = None  # the first blockquote, iframe or fb- div
        self.iframe_src = ""
        self.links: list[tuple[str, str]] = []  # (href, text)
        self.paragraphs: list[str] = []
        self.times: list[str] = []
        self.trailer: list[str] = []  # text outside the paragraphs: "— Name (@handle) date"
        self.all_text: list[str] = []
        self._skip_depth = 0
        self._paragraph: list[str] | None = None
        self._link: list | None = None

    def handle_starttag(self, tag, attrs):
        attributes = {name: value or "" for name, value in attrs}
        if tag in self.SKIPPED:
            if tag == "iframe" and not self._skip_depth and not self.iframe_src:
                self.iframe_src = attributes.get("src", "")
                self.root = self.root or (tag, attributes)
            self._skip_depth += 1
            return
        if self._skip_depth:
            return
        if tag in self.VOID:
            if tag == "br":
                self._text("\n")
            return
        classes = attributes.get("class", "").split()
        if self.root is None and (
            tag == "blockquote" or any(name.startswith("fb-") for name in classes)
        ):
            self.root = (tag, attributes)
        if tag == "p" and self._paragraph is None:
            self._paragraph = []
        elif tag == "a" and self._link is None:
            self._link = [attributes.get("href", ""), []]
        elif tag == "time" and attributes.get("datetime"):
            self.times.append(attributes["datetime"])

    def handle_endtag(self, tag):
        if self._skip_depth:
            if tag in self.SKIPPED:
                self._skip_depth -= 1
            return
        if tag == "p" and self._paragraph is not None:
            self.paragraphs.append(plain("".join(self._paragraph)))
            self._paragraph = None
        elif tag == "a" and self._link is not None:
            self.links.append((self._link[0], plain("".join(self._link[1]))))
            self._link = None

    def handle_data(self, data):
        if not self._skip_depth:
            self._text(data)

    def _text(self, text):
        self.all_text.append(text)
        if self._link is not None:
            self._link[1].append(text)
        if self._paragraph is not None:
            self._paragraph.append(text)
        else:
            self.trailer.append(text)

    def attribute(self, *names: str) -> str:
        attributes = self.root[1] if self.root else {}
        return next((attributes[name] for name in names if attributes.get(name)), "")

    @property
    def classes(self) -> set[str]:
        return set(self.attribute("class").split())


# The class of each provider's embed-code blockquote.
_SNIPPET_PROVIDERS = {
    "twitter-tweet": "X",
    "twitter-video": "X",
    "bluesky-embed": "Bluesky",
    "mastodon-embed": "Mastodon",
    "instagram-media": "Instagram",
    "text-post-media": "Threads",
    "tiktok-embed": "TikTok",
    "fb-post": "Facebook",
    "fb-video": "Facebook",
}
# "— Name (@handle) date", the line under an X or Bluesky post.
_BYLINE = re.compile(r"[—–-]\s*(?P<name>.*?)\s*\((?P<handle>@[\w.:@-]+)\)\s*(?P<date>.*)$", re.S)
_DATE_FORMATS = ["%B %d, %Y at %I:%M %p", "%b %d, %Y at %I:%M %p", "%B %d, %Y", "%b %d, %Y"]


def read_embed_code(code: str) -> EmbedFields:
    """A provider's embed code as card fields. Only its text and its link are used."""
    snippet = _Snippet()
    snippet.feed(code)
    snippet.close()
    provider = next((_SNIPPET_PROVIDERS[c] for c in snippet.classes if c in _SNIPPET_PROVIDERS), "")
    if snippet.root is None or (snippet.root[0] != "iframe" and not provider):
        raise EmbedError(f"That embed code was not recognised. {EXPECTED}")

    fields = _snippet_link(snippet, provider)
    if provider and fields.provider != provider:
        raise EmbedError(
            f"That looks like a {provider} embed code, but its link is not a {provider} post. "
            "Paste the code exactly as the site gives it, or just the post's link."
        )
    if snippet.root[0] == "iframe":
        # Vimeo's code names the video in a link under the player.
        fields.title = next(
            (text for href, text in snippet.links if _same_post(href, fields.url)), ""
        )
        return _fit(fields)

    reader = _SNIPPET_READERS.get(provider)
    if reader:
        reader(snippet, fields)
    return _fit(fields)


def _snippet_link(snippet: _Snippet, provider: str) -> EmbedFields:
    """The post's own link: from the provider's data attributes, the iframe, or the links."""
    candidates = [
        snippet.attribute("data-instgrm-permalink", "data-text-post-permalink", "cite"),
        snippet.attribute("data-href"),
        snippet.attribute("data-embed-url").removesuffix("/embed"),
        snippet.iframe_src,
        *(href for href, _ in reversed(snippet.links)),
    ]
    found = None
    for candidate in candidates:
        candidate = _facebook_plugin_target(candidate.strip()) if candidate else ""
        if not candidate:
            continue
        try:
            fields = recognise_url(candidate)
        except EmbedError:
            continue
        if fields.provider and (not provider or fields.provider == provider):
            return fields
        found = found or fields
    if found is None or (snippet.root[0] == "iframe" and not found.provider):
        raise EmbedError(f"That embed code has no link to a post or video in it. {EXPECTED}")
    return found


def _facebook_plugin_target(url: str) -> str:
    """Facebook's iframe (…/plugins/post.php?href=…) names the post in its href."""
    try:
        parts = urlsplit(url if "://" in url else "https:" + url if url.startswith("//") else url)
    except ValueError:
        return ""
    if _bare_host(parts.hostname or "") == "facebook.com" and parts.path.startswith("/plugins/"):
        return _query(parts).get("href", "")
    return urlunsplit(parts)


def _same_post(href: str, url: str) -> bool:
    try:
        return recognise_url(href).url == url
    except EmbedError:
        return False


def _read_byline(snippet: _Snippet, fields: EmbedFields) -> None:
    """X and Bluesky: the text in <p>, then "— Name (@handle) <a>date</a>"."""
    links_text = {text for _, text in snippet.links if text.startswith("[")}
    paragraphs = [p for p in snippet.paragraphs if p and p not in links_text]
    text = "\n\n".join(paragraphs)
    for marker in links_text:  # Bluesky's "[image or embed]" placeholder
        text = text.replace(marker, "")
    fields.text = plain(text)
    match = _BYLINE.search(plain(" ".join("".join(snippet.trailer).split())))
    if match:
        fields.author_name = match["name"]
        fields.author_handle = match["handle"]
        fields.posted_at = fields.posted_at or _parse_date(match["date"])


_INSTAGRAM_BYLINE = re.compile(
    r"A post shared by\s+(?P<name>.*?)\s*(?:\((?P<handle>@[\w.]+)\))?(?:\s+on\b.*)?$"
)


def _read_instagram(snippet: _Snippet, fields: EmbedFields) -> None:
    captions = []
    for paragraph in snippet.paragraphs:
        match = _INSTAGRAM_BYLINE.match(" ".join(paragraph.split()))
        if match:
            name, handle = match["name"], match["handle"]
            if name.startswith("@") and not handle:
                name, handle = "", name
            fields.author_name = fields.author_name or name
            fields.author_handle = handle or fields.author_handle
        elif paragraph and paragraph != "View this post on Instagram":
            captions.append(paragraph)
    fields.text = plain("\n\n".join(captions))
    fields.posted_at = fields.posted_at or next(filter(None, map(_parse_iso, snippet.times)), None)


def _read_post_by(snippet: _Snippet, fields: EmbedFields) -> None:
    """Mastodon and Threads codes carry no text, only "Post by @user"."""
    match = re.search(r"Post by (@[\w.@-]+)", " ".join("".join(snippet.all_text).split()))
    if match and not fields.author_handle:
        fields.author_handle = match[1]


def _read_tiktok(snippet: _Snippet, fields: EmbedFields) -> None:
    """The caption sits between the "@user" link and the "♬ sound" link."""
    text = plain(" ".join("".join(snippet.all_text).split()))
    for _, link_text in snippet.links:
        if link_text.startswith("♬"):
            text = text.replace(link_text, "")
    if fields.author_handle and text.startswith(fields.author_handle):
        text = text[len(fields.author_handle) :]
    fields.text = plain(text)


_SNIPPET_READERS = {
    "X": _read_byline,
    "Bluesky": _read_byline,
    "Instagram": _read_instagram,
    "Mastodon": _read_post_by,
    "Threads": _read_post_by,
    "TikTok": _read_tiktok,
}


def _parse_date(raw: str) -> dt.datetime | None:
    raw = " ".join(raw.replace("\u202f", " ").split())
    for date_format in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(raw, date_format).replace(tzinfo=dt.UTC)
        except ValueError:
            continue
    return None


def _parse_iso(raw: str) -> dt.datetime | None:
    try:
        moment = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _fit(fields: EmbedFields) -> EmbedFields:
    """Plain text, cut to the model's column sizes."""
    for name, length in TEXT_LENGTHS.items():
        setattr(fields, name, plain(getattr(fields, name))[:length])
    fields.text = plain(fields.text)
    return fields
