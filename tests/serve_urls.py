"""The app's URLs plus /slow, for tests that stop a server with a request in flight."""

import time

from django.http import HttpResponse
from django.urls import path

from liveblog.urls import urlpatterns as app_urlpatterns


def slow(request):
    time.sleep(float(request.GET.get("seconds", "2")))
    return HttpResponse("finished", content_type="text/plain")


urlpatterns = [path("slow", slow), *app_urlpatterns]
