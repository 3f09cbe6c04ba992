"""Refusals made before any work: an oversized body, a NUL in the query string.

First in MIDDLEWARE, so a refused request never has its body read (let alone
spooled to a temporary file) and never reaches a form, a filter or the database
(PostgreSQL rejects NUL in text, which the admin's filters would turn into a 500).

Every answer also carries an empty ``Server`` header: granian (2.8) has no
option to leave out its "Server: granian", but sends the application's instead.
"""

from django.conf import settings
from django.http import HttpResponse, HttpResponseBadRequest


class RequestEntityTooLarge(HttpResponse):
    status_code = 413


class RequestLimitsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.refusal(request) or self.get_response(request)
        response["Server"] = ""
        return response

    def refusal(self, request) -> HttpResponse | None:
        length = request.META.get("CONTENT_LENGTH")
        # Django reads at most Content-Length bytes, so the declared length is
        # the most this request can make the server read or store.
        if length and length.isdigit() and int(length) > settings.MAX_REQUEST_BODY:
            return RequestEntityTooLarge(
                f"Request too large: the limit is {settings.MAX_REQUEST_BODY / 1024 / 1024:g} MB.",
                content_type="text/plain; charset=utf-8",
            )
        query = request.META.get("QUERY_STRING", "")
        if "%00" in query or "\x00" in query:
            return HttpResponseBadRequest(
                "The address holds a NUL character.", content_type="text/plain; charset=utf-8"
            )
        return None
