"""Filters for embed cards. Each is cheap (string work, no file or database access):
the poll renders cards too."""

from urllib.parse import urlsplit

from django import template

from coverage import embeds, images

register = template.Library()


@register.filter
def web_url(value: str) -> str:
    """The URL if it is http(s), else "": a legacy row's javascript: never becomes a link."""
    value = (value or "").strip()
    if not value or any(ord(char) < 33 for char in value):
        return ""
    try:
        parts = urlsplit(value)
    except ValueError:
        return ""
    return value if parts.scheme.lower() in ("http", "https") and parts.hostname else ""


@register.filter
def real_host(url: str) -> str:
    """Where a link really goes: the host after any user@, look-alike letters as xn--."""
    try:
        host = urlsplit(url or "").hostname or ""
        return host.encode("idna").decode("ascii")
    except (ValueError, UnicodeError):
        return ""


@register.filter
def video_player(embed) -> embeds.VideoPlayer | None:
    return embeds.video_player(embed.url) if embed.kind == "video" else None


@register.filter
def display_picture(embed) -> images.Picture | None:
    return images.display_picture(embed)


@register.simple_tag(takes_context=True)
def media_url(context, url: str) -> str:
    """Feeds are read away from the site, so their image addresses are absolute.
    (A feed renders cards with "obj", its item; pages do not.)"""
    request = context.get("request")
    if context.get("obj") is not None and request is not None:
        return request.build_absolute_uri(url)
    return url
