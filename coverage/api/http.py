"""What every API answer shares: JSON bytes, problem+json errors, conditional
GET (ETag and Last-Modified, 304), the poll's caching headers, and CORS for
reading from any origin without credentials."""

import functools
import hashlib
import json
import time

from django.http import HttpResponse
from django.urls import resolve
from django.utils.http import http_date, parse_etags, parse_http_date_safe

from coverage import middleware
from coverage.live import DATABASE_ERRORS
from coverage.representation import base_url
from coverage.views import shareable

JSON = "application/json"
PROBLEM_JSON = "application/problem+json"
SAFE_METHODS = ("GET", "HEAD")
ALLOW = "GET, HEAD, OPTIONS"
# Any page may read the API (no cookies are read or set, so no credentials);
# scripts see the validators and the pagination links too.
CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": "ETag, Link, Retry-After",
}
PREFLIGHT = {
    "Access-Control-Allow-Methods": ALLOW,
    # Not CORS-safelisted, so a script revalidating its copy is preflighted.
    "Access-Control-Allow-Headers": "If-None-Match, If-Modified-Since",
    "Access-Control-Max-Age": "86400",
}


def dumps(data) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def strong_etag(body: bytes) -> str:
    return f'"{hashlib.sha256(body).hexdigest()[:32]}"'


# Problem types: (status, title); each one's "type" is its section of the docs page.
PROBLEMS = {
    "invalid-parameter": (400, "A parameter is not valid"),
    "not-found": (404, "Not found"),
    "method-not-allowed": (405, "Method not allowed"),
    "resync": (409, "Start again from the story"),
    "unavailable": (503, "Unavailable for a moment"),
}


class Problem(Exception):
    """An error answer (RFC 9457); ``extra`` members are added to the document."""

    def __init__(self, kind: str, detail: str, **extra):
        self.kind = kind
        self.status, self.title = PROBLEMS[kind]
        self.detail = detail
        self.extra = extra
        super().__init__(detail)


def problem_response(request, problem: Problem) -> HttpResponse:
    document = {
        "type": f"{base_url(request)}/api/v1/docs#problem-{problem.kind}",
        "title": problem.title,
        "status": problem.status,
        "detail": problem.detail,
        **problem.extra,
    }
    response = HttpResponse(dumps(document), status=problem.status, content_type=PROBLEM_JSON)
    # Answers about one moment's state (409) or a typo: never worth keeping.
    response["Cache-Control"] = "no-store"
    if problem.status == 405:
        response["Allow"] = ALLOW
    return response


def _opaque(tag: str) -> str:
    return tag.removeprefix("W/")


def not_modified(request, etag: str, changed_at: float | None) -> bool:
    """Whether the client's copy is current: If-None-Match (weak comparison)
    when sent, else If-Modified-Since."""
    if_none_match = request.META.get("HTTP_IF_NONE_MATCH")
    if if_none_match is not None:
        tags = parse_etags(if_none_match)
        return "*" in tags or _opaque(etag) in map(_opaque, tags)
    if_modified_since = request.META.get("HTTP_IF_MODIFIED_SINCE")
    if if_modified_since and changed_at is not None:
        moment = parse_http_date_safe(if_modified_since)
        return moment is not None and int(changed_at) <= moment
    return False


def last_modified(response: HttpResponse, changed_at: float | None) -> None:
    """Last-Modified, once its second is over: HTTP dates have whole seconds,
    so a client given the current second could take a second change within it
    for "not modified"."""
    if changed_at is not None and time.time() >= int(changed_at) + 1:
        response["Last-Modified"] = _http_date(int(changed_at))


# Formatting a date costs more than the rest of an idle answer: once per second.
_http_date = functools.lru_cache(maxsize=256)(http_date)


def answer(request, body: bytes, etag: str, changed_at: float | None) -> HttpResponse:
    """A JSON document, or 304 when the client has it; cacheable like the poll."""
    if not_modified(request, etag, changed_at):
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(body, content_type=JSON)
    last_modified(response, changed_at)
    return shareable(response, etag)


def for_any_origin(view):
    """An API view readable from any origin: OPTIONS is a CORS preflight, HEAD
    a GET, any other method a 405 problem; every answer carries CORS headers."""

    def api_view(request, *args, **kwargs):
        if request.method == "OPTIONS":
            response = HttpResponse(status=204)
            response["Allow"] = ALLOW
            for name, value in PREFLIGHT.items():
                response[name] = value
        elif request.method not in SAFE_METHODS:
            response = problem_response(
                request,
                Problem("method-not-allowed", f"The API is read-only: {ALLOW} only."),
            )
        else:
            # The operations are declared for GET; HEAD is the same answer
            # without its body.
            head = request.method == "HEAD"
            request.method = "GET"
            try:
                response = view(request, *args, **kwargs)
            except DATABASE_ERRORS as error:
                response = unavailable(request, error)
            if head:
                response.content = b""
        for name, value in CORS.items():
            response[name] = value
        return response

    # Nothing here reads a cookie or changes anything: a POST gets the 405
    # above, not the CSRF check's HTML page.
    api_view.csrf_exempt = True
    return api_view


def unavailable(request, error) -> HttpResponse:
    """The site's 503 (logged, with Retry-After), as a problem a script can read."""
    retry_after = middleware.database_unavailable(request, error)["Retry-After"]
    detail = f"The database is unavailable: try again in {retry_after} seconds."
    response = problem_response(request, Problem("unavailable", detail))
    response["Retry-After"] = retry_after
    return response


def unknown(request, *args, **kwargs):
    detail = "No such API resource: see /api/v1/docs."
    path = request.path_info
    if path.endswith("/") and _names_a_resource(path.rstrip("/")):
        # The site's pages end in a slash; the API's addresses do not.
        detail = f"No such API resource; without the final slash it is {path.rstrip('/')}"
    return problem_response(request, Problem("not-found", detail))


def _names_a_resource(path: str) -> bool:
    # Anything under /api resolves (to this view at worst, which has no name).
    return bool(resolve(path).url_name)
