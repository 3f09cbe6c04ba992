"""The app's URLs plus /slow, for tests that stop a server with a request in flight."""

import time
from pathlib import Path

from django.http import HttpResponse
from django.urls import path

from liveblog.urls import urlpatterns as app_urlpatterns


def slow(request):
    # The test waits for this file, so it knows the request is in flight.
    if started := request.GET.get("started"):
        Path(started).touch()
    time.sleep(float(request.GET.get("seconds", "2")))
    return HttpResponse("finished", content_type="text/plain")


urlpatterns = [path("slow", slow), *app_urlpatterns]
