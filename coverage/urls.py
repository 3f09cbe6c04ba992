from django.urls import path

from coverage import embed_kit, feeds, views

app_name = "coverage"

urlpatterns = [
    path("", views.home, name="home"),
    path("feeds/live/", feeds.LiveStoriesFeed(), name="live-feed"),
    path("feeds/live/json/", feeds.LiveStoriesJsonFeed(), name="live-json-feed"),
    path("search/", views.search, name="search"),
    # Before the story's own addresses: "embed" is a slug no story may take.
    path("embed/<slug:slug>/", embed_kit.embed_page, name="embed"),
    path("embed/<slug:slug>/fragment/", embed_kit.fragment, name="embed-fragment"),
    path("<slug:slug>/", views.story, name="story"),
    path("<slug:slug>/updates/", views.poll, name="poll"),
    path("<slug:slug>/updates/<int:update_id>/", views.update_page, name="update"),
    path("<slug:slug>/feed/rss/", feeds.StoryRssFeed(), name="story-rss"),
    path("<slug:slug>/feed/atom/", feeds.StoryAtomFeed(), name="story-atom"),
    path("<slug:slug>/feed/json/", feeds.StoryJsonFeed(), name="story-json"),
]
