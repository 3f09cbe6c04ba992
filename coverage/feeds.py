"""RSS 2.0 and Atom: one item per published update, and a feed of live stories."""

from django.contrib.syndication.views import Feed
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import escape

from coverage.models import Story

FEED_LENGTH = 100


class StoryRssFeed(Feed):
    description_template = "coverage/feed_item.html"

    def get_object(self, request, slug):
        return get_object_or_404(Story.objects.public(), slug=slug)

    def title(self, story):
        return story.title

    def link(self, story):
        return story.get_absolute_url()

    def description(self, story):
        # RSS readers render descriptions as HTML: the standfirst is plain text.
        return escape(story.standfirst or story.title)

    def items(self, story):
        updates = story.updates.published().newest_first()
        updates = updates.prefetch_related("embeds")[:FEED_LENGTH]
        for update in updates:
            update.story = story  # item links need the story; no query per item
        return updates

    def item_title(self, update):
        return f"UPDATE {update.stamp}" + (f": {update.headline}" if update.headline else "")

    def item_link(self, update):
        return update.get_absolute_url()

    def item_guid(self, update):
        # Stable for the update's life, whatever happens to the story's slug.
        return f"urn:liveblog:update:{update.pk}"

    item_guid_is_permalink = False

    def item_pubdate(self, update):
        return update.published_at

    def item_updateddate(self, update):
        return update.updated_at


class StoryAtomFeed(StoryRssFeed):
    feed_type = Atom1Feed

    def subtitle(self, story):
        # Atom's <subtitle> has no type, so it is text: readers show it as it is.
        return story.standfirst or story.title


class LiveStoriesFeed(Feed):
    title = "Live coverage"
    description = "Stories being covered live now."

    def link(self):
        return reverse("coverage:home")

    def items(self):
        return Story.objects.live().order_by("-started_at", "-id")[:FEED_LENGTH]

    def item_title(self, story):
        return story.title

    def item_description(self, story):
        # Rendered as HTML by feed readers; the standfirst is plain text.
        return escape(story.standfirst)

    def item_pubdate(self, story):
        return story.started_at

    def item_updateddate(self, story):
        return story.updated_at
