from django.urls import path, register_converter
from django.urls.converters import SlugConverter

from coverage import embed_kit, feeds, live, views


class StorySlugConverter(SlugConverter):
    """A slug no longer than the model's: a 60,000-character one is a 404 from
    the URL resolver, before any cache or database is asked."""

    regex = rf"[-a-zA-Z0-9_]{{1,{live.MAX_SLUG_LENGTH}}}"


register_converter(StorySlugConverter, "story")

app_name = "coverage"

urlpatterns = [
    path("", views.home, name="home"),
    path("feeds/live/", feeds.LiveStoriesFeed(), name="live-feed"),
    path("feeds/live/json/", feeds.LiveStoriesJsonFeed(), name="live-json-feed"),
    path("search/", views.search, name="search"),
    # Before the story's own addresses: "embed" is a slug no story may take.
    path("embed/<story:slug>/", embed_kit.embed_page, name="embed"),
    path("embed/<story:slug>/fragment/", embed_kit.fragment, name="embed-fragment"),
    path("<story:slug>/", views.story, name="story"),
    path("<story:slug>/updates/", views.poll, name="poll"),
    path("<story:slug>/updates/<int:update_id>/", views.update_page, name="update"),
    path("<story:slug>/feed/rss/", feeds.StoryRssFeed(), name="story-rss"),
    path("<story:slug>/feed/atom/", feeds.StoryAtomFeed(), name="story-atom"),
    path("<story:slug>/feed/json/", feeds.StoryJsonFeed(), name="story-json"),
]
