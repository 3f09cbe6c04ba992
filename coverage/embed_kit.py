"""The embed kit: a story's live coverage inside a newsroom's own pages.

- ``/embed.js``: the loader a newsroom pastes (static/js/embed.js); it inserts
  an iframe of the embed page and sizes it to its content.
- ``/embed/<slug>/``: the story page (templates/coverage/story.html, the same
  partials, poller and scripts) on a base without the site's chrome; or, with
  ``mode=teaser``, a compact box of the latest key events (or updates), live.
- ``/embed/<slug>/fragment/``: the coverage as a plain HTML fragment, no
  script, for pages assembled by a CDN (ESI) or a web server (SSI).

Every answer here leaves the session and CSRF token alone (no cookie), and
only the two pages may be framed, by the sites LIVEBLOG_EMBED_ORIGINS names.
"""

import functools
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.cache import caches
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.csp import CSP
from django.views.decorators.http import require_safe

from coverage import live, representation, views
from coverage.models import Update

MODES = ("full", "teaser")
THEMES = ("auto", "light", "dark")
ORDERS = ("newest", "oldest")
TEASER_SHOWS = ("key-events", "updates")
# Items in a teaser, and updates in a fragment, unless the newsroom says how many.
DEFAULT_TEASER_LIMIT = 5
DEFAULT_FRAGMENT_LIMIT = 20
MAX_LIMIT = 50
MAX_URL_LENGTH = 2000


@dataclass(frozen=True)
class EmbedOptions:
    """What the snippet's data-* attributes asked for, checked."""

    mode: str = "full"
    limit: int | None = None
    theme: str = "auto"
    order: str | None = None  # None: the story's own reading order
    # "ours" (the update's page here), "host" (the page the snippet is on, at
    # #liveblog-update-<id>), or the address of the newsroom's page that
    # embeds the full coverage (for a teaser on its home page).
    permalink: str = "ours"
    show: str = "key-events"
    # The origin of the page that frames this one: the only one the frame talks to.
    parent: str | None = None

    def coverage_url(self, base: str, story) -> str:
        """Where "Follow the live coverage" goes (embed-frame.js puts the
        host page's address in for permalink=host)."""
        if self.permalink.startswith(("http://", "https://")):
            return self.permalink
        return base + story.get_absolute_url()

    def update_url(self, base: str, story, update_id: int) -> str:
        if self.permalink.startswith(("http://", "https://")):
            return f"{self.permalink}#liveblog-update-{update_id}"
        return f"{base}{story.get_absolute_url()}?around={update_id}#update-{update_id}"

    def query(self, **extra) -> str:
        """These options as a query string (only those not at their defaults)."""
        defaults = EmbedOptions()
        params = {
            name: getattr(self, name)
            for name in ("mode", "limit", "theme", "order", "permalink", "show", "parent")
            if getattr(self, name) != getattr(defaults, name)
        }
        return urlencode({**params, **extra})


def _choice(query, name: str, choices: tuple[str, ...], default):
    value = query.get(name)
    if value is None or value == "":
        return default
    if value not in choices:
        raise ValueError(f"'{name}' must be one of: {', '.join(choices)} (not {value[:40]!r}).")
    return value


def _origin(raw: str) -> str:
    """An http(s) origin, exactly: scheme, host, optional port, nothing else."""
    parts = urlsplit(raw)
    try:
        port_ok = parts.port is None or 0 < parts.port < 65536
    except ValueError:
        port_ok = False
    if (
        len(raw) > 300
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.username is not None
        or parts.password is not None
        or parts.path
        or parts.query
        or parts.fragment
        or not port_ok
    ):
        raise ValueError("'parent' must be an origin such as https://news.example.com.")
    return raw


def _permalink(raw: str | None) -> str:
    if raw in (None, "", "ours", "host"):
        return raw or "ours"
    parts = urlsplit(raw)
    if len(raw) > MAX_URL_LENGTH or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("'permalink' must be ours, host, or an http(s) address of your page.")
    # The frame adds #liveblog-update-<id>: a fragment of the newsroom's own would clash.
    return raw.split("#", 1)[0]


def parse_options(query) -> EmbedOptions | str:
    """The options from a query string, or a message saying what is wrong."""
    try:
        mode = _choice(query, "mode", MODES, "full")
        raw_limit = query.get("limit") or None
        limit = None
        if raw_limit is not None:
            if not (raw_limit.isascii() and raw_limit.isdigit() and len(raw_limit) <= 2) or not (
                1 <= int(raw_limit) <= MAX_LIMIT
            ):
                raise ValueError(f"'limit' must be a whole number from 1 to {MAX_LIMIT}.")
            limit = int(raw_limit)
        parent = query.get("parent") or None
        return EmbedOptions(
            mode=mode,
            limit=limit,
            theme=_choice(query, "theme", THEMES, "auto"),
            order=_choice(query, "order", ORDERS, None),
            permalink=_permalink(query.get("permalink")),
            show=_choice(query, "show", TEASER_SHOWS, "key-events"),
            parent=_origin(parent) if parent else None,
        )
    except ValueError as error:
        return str(error)


def embeddable(response: HttpResponse) -> HttpResponse:
    """Let the sites LIVEBLOG_EMBED_ORIGINS names (and this one: the desk's
    preview) frame this answer, and no other answer: X-Frame-Options is
    dropped here only, and the CSP (read now, so tests can change it) says who."""
    response._csp_config = {
        **settings.SECURE_CSP,
        "frame-ancestors": [CSP.SELF, *settings.LIVEBLOG_EMBED_ORIGINS],
    }
    response.xframe_options_exempt = True
    return response


@require_safe
def embed_page(request, slug):
    """The live coverage for a frame on another site, or its teaser box."""
    options = parse_options(request.GET)
    if isinstance(options, str):
        return views.plain_response(options, 400)
    state = views.public_state(slug)
    if options.mode == "teaser":
        return embeddable(teaser(request, state, options))
    story, _ = views.story_at(state)
    # Slices page in the order this frame shows, from this address (with its options).
    reading_order = options.order or story.reading_order
    parameter = views.CURSOR_PARAMETER[reading_order]
    cursor = views.parse_cursor(request.GET.get(parameter), parameter)
    if isinstance(cursor, str):
        return embeddable(views.plain_response(cursor, 400))
    query = options.query()
    context = views.story_context(
        state,
        cursor,
        reading_order=reading_order,
        slice_base=f"{reverse('coverage:embed', args=[story.slug])}?{query + '&' if query else ''}",
        slice_size=options.limit or views.PAGE_SIZE,
    )
    context.update(base_template="coverage/embed_base.html", embed=options)
    if cursor and request.htmx:
        return embeddable(render(request, "coverage/story.html#update-list", context))
    return embeddable(render(request, "coverage/story.html", context))


def teaser(request, state: live.LiveState, options: EmbedOptions) -> HttpResponse:
    """The teaser box; polled by itself with ?since=<revision>, answered like the
    poll: 204 from the cached live state while nothing changed (no query)."""
    since = request.GET.get("since")
    if since is None:
        return render(
            request, "coverage/embed_teaser.html", teaser_context(request, state, options)
        )
    since = views.parse_since(since)
    if isinstance(since, str):
        return views.plain_response(since, 400)
    etag = f'W/"teaser-{state.story_id}-{since}-{state.revision}"'
    # Like every poll answer, each says when to ask next (the desk's poll mode, the kill switch).
    seconds = views.poll_interval(state)
    if request.headers.get("If-None-Match") == etag:
        return views.with_interval(views.shareable(HttpResponse(status=304), etag), seconds)
    if since == state.revision:
        return views.with_interval(views.shareable(HttpResponse(status=204), etag), seconds)
    # Every reader of this teaser asks the same when the story changes: answer it once.
    key = f"teaser:{state.story_id}:{state.revision}:{seconds}:{request.get_host()}"
    key += f":{options.query()}"
    content = caches["revisions"].get(key)
    if content is None:
        context = teaser_context(request, state, options)
        content = render(request, "coverage/embed_teaser.html#teaser", context).content
        caches["revisions"].set(key, content, settings.LIVE_PAGE_CACHE_SECONDS)
    return views.with_interval(views.shareable(HttpResponse(content), etag), seconds)


def teaser_context(request, state: live.LiveState, options: EmbedOptions) -> dict:
    story, _ = views.story_at(state)
    limit = options.limit or DEFAULT_TEASER_LIMIT
    # What the teaser shows of each: its stamp and headline (else first words).
    published = (
        Update.objects.published()
        .filter(story_id=state.story_id)
        .newest_first()
        .only("id", "story_id", "headline", "body", "key_event", "published_at")
    )
    items = []
    if options.show == "key-events":
        items = list(published.filter(key_event=True)[:limit])
    showing_key_events = bool(items)
    if not items:
        items = list(published[:limit])
    base = representation.base_url(request)
    return {
        "story": story,
        "embed": options,
        "items": [(item, options.update_url(base, story, item.pk)) for item in items],
        "coverage_url": options.coverage_url(base, story),
        "showing_key_events": showing_key_events,
        "revision": state.revision,
        "poll_seconds": views.poll_interval(state),
        "poll_url": f"{request.path}?{options.query(since=state.revision)}",
    }


@require_safe
def fragment(request, slug):
    """The newest updates as plain HTML (no script, absolute links, static
    cards), for an edge or server-side include. Its ETag is the story's
    revision (and the options): a conditional request costs no query."""
    options = parse_options(request.GET)
    if isinstance(options, str):
        return views.plain_response(options, 400)
    state = views.public_state(slug)
    etag = f'W/"fragment-{state.story_id}-{state.revision}-{options.query()}"'
    if request.headers.get("If-None-Match") == etag:
        return views.shareable(HttpResponse(status=304), etag)
    story, following = views.story_at(state)
    base = representation.base_url(request)
    updates = (
        story.updates.published()
        .for_reading()
        .select_related("story")[: options.limit or DEFAULT_FRAGMENT_LIMIT]
    )
    context = {
        "story": story,
        "story_url": base + story.get_absolute_url(),
        "items": [(update, representation.update_data(update, base)) for update in updates],
    }
    return views.shareable(render(request, "coverage/embed_fragment.html", context), etag)


@functools.cache
def _loader_source() -> bytes:
    return Path(finders.find("js/embed.js")).read_bytes()


@require_safe
def loader(request):
    """/embed.js, the snippet's script, at the address newsrooms paste (a static
    file's hashed name would change with every release). Cached for a day:
    fixes still reach every page within one."""
    response = HttpResponse(_loader_source(), content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=86400, stale-while-revalidate=604800"
    return response


def snippet(request, story) -> str:
    """The snippet a newsroom pastes, as the desk shows it."""
    base = representation.base_url(request)
    return f'<script src="{base}/embed.js" data-story="{story.slug}" async></script>'
