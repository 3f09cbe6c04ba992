"""/api/v1/: the operations (every one readable from any origin), the OpenAPI
document, its docs page, and a problem+json 404 for any other address."""

from django.urls import URLPattern, path, re_path
from django.views.decorators.http import require_safe

from coverage.api import docs, views
from coverage.api.http import for_any_origin, unknown

app_name = "api"

operations, _, _ = views.api.urls
# The change stream's front door takes the operation's place (and name).
operations = [
    URLPattern(
        pattern.pattern,
        views.changes_front_door(pattern.callback)
        if pattern.name == "changes"
        else pattern.callback,
        name=pattern.name,
    )
    for pattern in operations
]
urlpatterns = [
    path("openapi.json", for_any_origin(docs.openapi_json), name="openapi"),
    path("docs", require_safe(docs.docs), name="docs"),
    *(
        URLPattern(pattern.pattern, for_any_origin(pattern.callback), name=pattern.name)
        for pattern in operations
    ),
    re_path(r"^", for_any_origin(unknown)),
]
