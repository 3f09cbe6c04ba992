from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.contrib.sitemaps.views import sitemap
from django.urls import include, path, re_path

from coverage.api.http import for_any_origin, unknown
from coverage.embed_kit import loader as embed_loader
from coverage.seo import StorySitemap
from coverage.views import favicon, healthz, readyz, robots_txt

admin.site.site_header = "Live blog desk"
admin.site.site_title = "Live blog desk"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("robots.txt", robots_txt, name="robots"),
    # The embed kit's loader, at the address newsrooms paste into their pages.
    path("embed.js", embed_loader, name="embed-js"),
    path("favicon.ico", favicon, name="favicon"),
    path(
        "sitemap.xml",
        sitemap,
        {"sitemaps": {"stories": StorySitemap}, "template_name": "coverage/sitemap.xml"},
        name="sitemap",
    ),
    path("api/v1/", include("coverage.api.urls")),
    # Any other version, or none: a problem+json 404 pointing at the docs.
    re_path(r"^api(/|$)", for_any_origin(unknown)),
    path("", include("coverage.urls")),
]
# Uploaded media in development; production serves MEDIA_ROOT from the web server.
urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

# A database error outside a view (a middleware's lookup) is a 503, not a 500.
handler500 = "coverage.middleware.server_error"
