"""When the database is down: readers get the last good copy of a story page
this process rendered, or a small 503 with Retry-After; an editor's write gets
a clear "not saved" 503. Never a bare 500, never a false success."""

import logging
import sys
import time

from django.conf import settings
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.views.defaults import server_error as default_server_error

from coverage.bounded import BoundedDict
from coverage.live import DATABASE_ERRORS
from coverage.postgresql.base import request_deadline

log = logging.getLogger(__name__)

WARNING_INTERVAL = 60.0
# The last good full page of each story this process rendered: {slug: bytes}.
# Bounded: a process serves a handful of stories on a busy day.
MAX_STALE_PAGES = 200
_last_good_pages = BoundedDict(MAX_STALE_PAGES)
_warned_at = -WARNING_INTERVAL


def remember_page(slug: str, content: bytes) -> None:
    _last_good_pages[slug] = content


def forget_pages() -> None:
    _last_good_pages.clear()


def database_unavailable(request, error: Exception) -> HttpResponse:
    global _warned_at
    now = time.monotonic()
    if now - _warned_at >= WARNING_INTERVAL:
        _warned_at = now
        log.warning("Database unavailable (%r): answering 503 or stale pages.", error)
    match = request.resolver_match
    if request.method in ("GET", "HEAD") and match and match.view_name == "coverage:story":
        page = _last_good_pages.get(match.kwargs.get("slug"))
        if page is not None and not request.GET:
            response = HttpResponse(page)
            # Says so, and keeps caches in front from keeping it.
            response["X-Stale"] = "database-unavailable"
            response["Cache-Control"] = "no-store"
            return response
    if request.method in ("GET", "HEAD", "OPTIONS"):
        # Rendered without the request: its context processors would ask the
        # database (the user, the session).
        response = HttpResponse(render_to_string("503.html"), status=503)
    else:
        response = HttpResponse(
            "Not saved: the database is unavailable. Nothing was changed; try again in a moment.\n",
            status=503,
            content_type="text/plain; charset=utf-8",
        )
    response["Retry-After"] = str(settings.RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    # Logged above once a minute; django.request would log every request.
    response._has_been_logged = True
    return response


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # A frozen database must not hold a reader's thread (or an editor's)
        # longer than this: coverage.postgresql enforces it from the client side.
        reading = request.method in ("GET", "HEAD", "OPTIONS")
        seconds = settings.DATABASE_READ_DEADLINE if reading else settings.DATABASE_WRITE_DEADLINE
        with request_deadline(seconds):
            return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, DATABASE_ERRORS):
            return database_unavailable(request, exception)
        return None


def server_error(request, *args, **kwargs):
    """handler500: a database error raised outside a view (a middleware's
    session or user lookup) is still a 503, not a 500."""
    error = sys.exc_info()[1]
    if isinstance(error, DATABASE_ERRORS):
        return database_unavailable(request, error)
    return default_server_error(request, *args, **kwargs)
