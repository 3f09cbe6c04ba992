"""A provider's embed code (the HTML snippet under "Embed") read as a card's fields.

The code is parsed for its text, author, date and link, then thrown away: its
HTML is never stored or rendered, and its scripts never run. The card's link is
the post's own URL, rebuilt by the recognisers; the code must agree with it.
"""

import datetime as dt
import re
from html.parser import HTMLParser
from urllib.parse import urlsplit, urlunsplit

from coverage.embeds.fields import EXPECTED, EmbedError, EmbedFields
from coverage.embeds.recognisers import bare_host, query_params, recognise_url
from coverage.sanitize import plain_text

# The model's column sizes: text read from a paste is cut to fit rather than failing the form.
TEXT_LENGTHS = {"provider": 60, "title": 300, "author_name": 200, "author_handle": 200}


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
            self.paragraphs.append(plain_text("".join(self._paragraph), keep_lines=True))
            self._paragraph = None
        elif tag == "a" and self._link is not None:
            self.links.append((self._link[0], plain_text("".join(self._link[1]), keep_lines=True)))
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
    if bare_host(parts.hostname or "") == "facebook.com" and parts.path.startswith("/plugins/"):
        return query_params(parts).get("href", "")
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
    fields.text = plain_text(text, keep_lines=True)
    match = _BYLINE.search(plain_text("".join(snippet.trailer)))
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
        match = _INSTAGRAM_BYLINE.match(plain_text(paragraph))
        if match:
            name, handle = match["name"], match["handle"]
            if name.startswith("@") and not handle:
                name, handle = "", name
            fields.author_name = fields.author_name or name
            fields.author_handle = handle or fields.author_handle
        elif paragraph and paragraph != "View this post on Instagram":
            captions.append(paragraph)
    fields.text = plain_text("\n\n".join(captions), keep_lines=True)
    fields.posted_at = fields.posted_at or next(filter(None, map(_parse_iso, snippet.times)), None)


def _read_post_by(snippet: _Snippet, fields: EmbedFields) -> None:
    """Mastodon and Threads codes carry no text, only "Post by @user"."""
    match = re.search(r"Post by (@[\w.@-]+)", plain_text("".join(snippet.all_text)))
    if match and not fields.author_handle:
        fields.author_handle = match[1]


def _read_tiktok(snippet: _Snippet, fields: EmbedFields) -> None:
    """The caption sits between the "@user" link and the "♬ sound" link."""
    text = plain_text("".join(snippet.all_text))
    for _, link_text in snippet.links:
        if link_text.startswith("♬"):
            text = text.replace(link_text, "")
    if fields.author_handle and text.startswith(fields.author_handle):
        text = text[len(fields.author_handle) :]
    fields.text = plain_text(text)


_SNIPPET_READERS = {
    "X": _read_byline,
    "Bluesky": _read_byline,
    "Instagram": _read_instagram,
    "Mastodon": _read_post_by,
    "Threads": _read_post_by,
    "TikTok": _read_tiktok,
}


def _parse_date(raw: str) -> dt.datetime | None:
    raw = plain_text(raw)  # also "4:12\u202fPM": newer locale data puts a narrow space there
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
        setattr(fields, name, plain_text(getattr(fields, name))[:length])
    fields.text = plain_text(fields.text, keep_lines=True)
    return fields
